"""The dashboard's hand-over (`crm handoff`): the form on the customer screen, its refusal
naming the empty fields, and what the receiver reads first (customer screen, My work)."""

from datetime import UTC, datetime

from sqlmodel import func, select
from textual.widgets import Static

from crmcli.models import Assignment, AuditEvent, Task
from crmcli.repo import assignments, customers, handoffs, settings, tasks
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.handoff_form import HandoffFormScreen

from .helpers import another_session, press, screen_text, settle

QUOTE = "如果三月底前迁移不完，我们只能推迟上线。"  # the demo's 王芳 said it (the newest quote)


def counts(database) -> tuple[int, int, int]:
    with database() as s:
        return tuple(s.exec(select(func.count()).select_from(model)).one()
                     for model in (Assignment, Task, AuditEvent))


async def test_the_hand_over_form_refuses_an_incomplete_record_then_hands_it_over(
    demo, on_customer, database
):
    with another_session(demo, "alice") as (s, me):
        settings.put(s, "handoff.require.service", ["wechat", "requirement"], by=me)
    async with on_customer("王芳", size=(100, 40)) as (dashboard, pilot, target):
        assert "Hand over" in {c.title for c in dashboard.get_system_commands(dashboard.screen)}
        await press(pilot, "h")
        form = dashboard.screen
        assert isinstance(form, HandoffFormScreen)
        form.fields["user"].control.value = "carol"
        form.fields["role"].control.value = "service"
        form.fields["note"].control.value = "[b]迁移[/b] is urgent"
        before = counts(database)
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form  # refused: the form stays with what was typed
        banner = str(form.query_one("#form-error", Static).render())
        assert "cannot hand 王芳 over to carol as service: wechat is empty" in banner
        assert counts(database) == before
        with another_session(demo, "alice") as (s, me):
            customers.update(s, customers.resolve(s, "王芳"), {"wechat": "wangfang88"}, by=me)
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        await settle(pilot)
        shown = str(dashboard.screen.query_one("#handovers", Static).render())
        assert "Hand-over: alice handed service to carol" in shown
        assert "note: [b]迁移[/b] is urgent" in shown and f"“{QUOTE}”" in shown
    with database() as s:
        [service] = assignments.current(s, target, "service")
        assert (service.user, service.acknowledged_at) == ("carol", None)
        [task] = [t for t in tasks.for_customer(s, target) if t.assignee == "carol"]
        assert task.title == "contact within sla (2h)"
        assert task.due == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # CRM_NOW + 2h
        assert handoffs.of(s, [service.id])[service.id].quote == QUOTE


async def test_my_work_shows_the_words_a_hand_over_carried(demo, app):
    with another_session(demo, "bob") as (s, bob):
        handoffs.hand_over(s, customers.resolve(s, "王芳"), "alice", "sales", by=bob,
                           note="她很着急")
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        waiting = dashboard.screen.query_one("#awaiting")
        rows = {str(waiting.get_row_at(i)[0]): waiting.get_row_at(i) for i in range(
            waiting.row_count)}
        assert str(rows["王芳"][1]) == f"“{QUOTE}”"
        assert str(rows["王芳"][5]) == "她很着急"
        assert str(rows["刘洋"][1]) == ""  # a plain assignment carries no words
        assert "Customer said" in screen_text(dashboard)
