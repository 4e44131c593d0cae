"""My work: open tasks by urgency, response limits passed, hand-overs to acknowledge."""

from crmcli.repo import assignments, customers, notes, tasks
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.my_work import MyWorkScreen
from crmcli.tui.widgets.task_table import TaskTable

from .conftest import NEXT_DAY
from .helpers import another_session, press, screen_text, settle


def column(table, index: int) -> list[str]:
    return [str(table.get_row_at(row)[index]) for row in range(table.row_count)]


async def test_my_open_tasks_are_grouped_overdue_today_upcoming(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        assert isinstance(dashboard.screen, MyWorkScreen)
        table = dashboard.screen.query_one(TaskTable)
        assert column(table, 0) == ["overdue", "today", "upcoming", "upcoming", "upcoming"]
        assert column(table, 3) == ["王芳", "Emma Schmidt", "Aiko Tanaka", "李伟", "刘洋"]
        assert "1 overdue, 1 today, 3 upcoming" in screen_text(dashboard)


async def test_a_day_later_todays_tasks_are_overdue_and_response_limits_have_passed(
    demo, app, frozen
):
    frozen(NEXT_DAY)
    with another_session(demo, "alice") as (s, me):  # a call back answers Aiko
        notes.add(s, customers.resolve(s, "Aiko Tanaka"), "Called back", by=me, kind="call",
                  direction="out")
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        table = dashboard.screen.query_one(TaskTable)
        assert column(table, 0) == ["overdue", "overdue", "today", "upcoming", "upcoming"]
        breaches = dashboard.screen.query_one("#sla")
        # 25 hours after the seeded customers (never answered: waiting since created):
        # 王芳 (2h) first, then the 1-day limits (Emma, 刘洋) and 李伟's 24h. Aiko was
        # just answered; Lucas has no limit; 陈静 is bob's.
        assert column(breaches, 0) == ["王芳", "Emma Schmidt", "刘洋", "李伟"]
        assert column(breaches, 4)[0] == "2026-03-02 11:00"
        assert column(breaches, 6) == ["escalated", "breached", "breached", "breached"]
        assert "SLA clock: 4 waiting for an answer, 4 past due" in screen_text(dashboard)


async def test_enter_on_a_task_opens_its_customer(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2", "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "王芳" in screen_text(dashboard)


async def test_completing_a_task_from_my_work(demo, app, database):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2", "d")
        table = dashboard.screen.query_one(TaskTable)
        assert column(table, 3) == ["Emma Schmidt", "Aiko Tanaka", "李伟", "刘洋"]
    with database() as s:
        [task] = tasks.for_customer(s, customers.resolve(s, "王芳").id)
        assert task.status == "done"


async def test_reassigning_a_task_from_my_work_takes_it_off_my_list(demo, app, database):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2", "down", "r")
        dashboard.screen.fields["user"].control.value = "carol"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, MyWorkScreen)
        assert "Emma Schmidt" not in column(dashboard.screen.query_one(TaskTable), 3)
    with database() as s:
        [task] = tasks.for_customer(s, customers.resolve(s, "Emma Schmidt").id)
        assert task.assignee == "carol"


async def test_acknowledging_from_my_work_empties_the_waiting_list(demo, app, database):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        waiting = dashboard.screen.query_one("#awaiting")
        assert column(waiting, 0) == ["刘洋"]
        assert column(waiting, 3) == ["carol"]
        await press(pilot, "k")
        assert waiting.row_count == 0
        assert "Waiting for my acknowledgement: 0" in screen_text(dashboard)
    with database() as s:
        customer = customers.resolve(s, "刘洋")
        assert assignments.current(s, customer.id, "sales")[0].acknowledged_at is not None


async def test_every_passed_response_limit_shows_at_80x24(demo, app, frozen):
    frozen(NEXT_DAY)
    dashboard = app()
    async with dashboard.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        shown = screen_text(dashboard)
        assert "SLA clock: 5 waiting for an answer, 5 past due" in shown
        for name in ("王芳", "Aiko Tanaka", "Emma Schmidt", "刘洋", "李伟"):
            assert name in shown, name
