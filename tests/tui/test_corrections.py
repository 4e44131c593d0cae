"""Corrections in the dashboard: a task edited where it is shown (the customer screen and
My work), through the same repository functions as `crm task edit`."""

from crmcli.models import AuditEvent
from crmcli.repo import customers, tasks
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.my_work import MyWorkScreen
from crmcli.tui.screens.task_form import TaskFormScreen

from .helpers import press, screen_text, settle
from .test_keys_and_palette import palette


def task_events(s, task_id: str) -> list[AuditEvent]:
    from sqlmodel import select

    query = select(AuditEvent).where(AuditEvent.entity_id == task_id,
                                     AuditEvent.action == "task.update")
    return list(s.exec(query))


async def test_a_task_is_edited_from_the_customer_screen_and_only_what_changed_is_saved(
    on_customer, database
):
    async with on_customer("王芳") as (dashboard, pilot, target):
        assert "Edit task" in palette(dashboard)
        await press(pilot, "E")
        form = dashboard.screen
        assert isinstance(form, TaskFormScreen)
        with database() as s:
            [before] = tasks.for_customer(s, target)
        assert form.fields["title"].control.value == before.title  # the task as it is
        assert form.fields["assignee"].control.value == before.assignee
        form.fields["title"].control.value = "报价 (第二版)"
        other = "low" if before.priority != "low" else "high"
        form.fields["priority"].control.value = other
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "报价 (第二版)" in screen_text(dashboard)
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert (task.title, task.priority, task.due, task.assignee) == (
            "报价 (第二版)", other, before.due, before.assignee)
        [event] = task_events(s, task.id)
        assert set(event.changes) == {"title", "priority"}


async def test_a_task_is_edited_from_my_work_and_a_bad_due_date_is_shown_at_its_field(
    demo, app, database
):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2", "E")
        form = dashboard.screen
        assert isinstance(form, TaskFormScreen) and "王芳" in form.form_title
        form.fields["due"].control.value = "someday"
        await press(pilot, "ctrl+s")
        assert form.fields["due"].has_class("-invalid")
        form.fields["due"].control.value = "2026-03-20 09:30"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, MyWorkScreen)
    with database() as s:
        [task] = tasks.for_customer(s, customers.resolve(s, "王芳").id)
        assert task.due.isoformat() == "2026-03-20T09:30:00+00:00"
