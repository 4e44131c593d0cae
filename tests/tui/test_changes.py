"""What changed: others' changes to my customers since I last looked."""

from crmcli.repo import assignments, customers
from crmcli.repo.dashboard import last_look, newest_seq
from crmcli.tui.screens.changes import ChangesScreen
from crmcli.tui.screens.customer import CustomerScreen

from .helpers import another_session, press, screen_text, settle


def rows(app) -> list[tuple[str, str, str]]:
    table = app.screen.query_one("RecordTable")
    return [tuple(str(cell) for cell in table.get_row_at(i)[1:4]) for i in range(table.row_count)]


async def test_changes_by_others_to_my_customers_are_listed_newest_first(demo, app):
    with another_session(demo, "bob") as (s, bob):
        customers.update(s, customers.resolve(s, "Olivia Brown"), {"city": "Leeds"}, by=bob)
    with another_session(demo, "carol") as (s, carol):
        customers.update(s, customers.resolve(s, "周杰"), {"city": "无锡"}, by=carol)
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f3")
        assert isinstance(dashboard.screen, ChangesScreen)
        assert rows(dashboard) == [
            ("carol", "Emma Schmidt", "customer.update"),
            ("bob", "王芳", "customer.update"),
            ("carol", "刘洋", "assignment.create"),
            ("bob", "王芳", "note.create"),
        ]  # not bob's own Olivia, not carol's 周杰, nothing alice did herself
        shown = screen_text(dashboard)
        assert "4 changes by others to your customers\n" in shown
        assert "level: B → A" in shown


async def test_changes_to_customers_i_am_assigned_to_are_listed_too(demo, app):
    with another_session(demo, "carol") as (s, carol):
        zhou = customers.resolve(s, "周杰")
        assignments.assign(s, zhou, "alice", "service", by=carol, reason=None)
        customers.update(s, zhou, {"stage": "lead"}, by=carol)
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f3")
        assert rows(dashboard)[0] == ("carol", "周杰", "customer.update")


async def test_the_next_visit_shows_only_what_came_after_the_last(demo, app, database):
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f3")
        assert len(rows(dashboard)) == 4
        with another_session(demo, "alice") as (s, me):  # bob, given a role, may change it
            assignments.assign(s, customers.resolve(s, "李伟"), "bob", "service", by=me, reason=None)
        with another_session(demo, "bob") as (s, bob):
            customers.update(s, customers.resolve(s, "李伟"), {"level": "A"}, by=bob)
        await press(pilot, "f1", "f3")
        assert rows(dashboard) == [("bob", "李伟", "customer.update")]
        assert ("1 change by others to your customers since you last looked, 2026-03-02 09:00"
                in screen_text(dashboard))
    with database() as s:
        assert last_look(s, "alice").seq == newest_seq(s)
    restarted = app()
    async with restarted.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f3")
        assert rows(restarted) == []
        assert "No changes by others" in screen_text(restarted)


async def test_enter_opens_the_changed_customer(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f3", "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "Emma Schmidt" in screen_text(dashboard)


async def test_coming_back_from_a_customer_keeps_the_list(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "f3", "down", "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        await press(pilot, "escape")
        assert isinstance(dashboard.screen, ChangesScreen)
        assert len(rows(dashboard)) == 4
        assert "4 changes by others to your customers" in screen_text(dashboard)
        await press(pilot, "f1", "f3")  # leaving the view ends the visit
        assert rows(dashboard) == []
