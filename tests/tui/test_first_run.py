"""`crm tui` on a machine with no database: the friendly first-run screen."""

from crmcli import config
from crmcli.repo import customer_lists, users
from crmcli.repo.customer_lists import CustomerQuery
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.screens.first_run import FirstRunScreen

from .helpers import screen_text, settle, type_into


async def test_with_no_database_the_dashboard_offers_to_create_one(app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        assert isinstance(dashboard.screen, FirstRunScreen)
        shown = screen_text(dashboard)
        assert "Welcome to crm" in shown
        assert "There is no database at" in shown
    assert not config.resolve().db_path.exists()


async def test_creating_the_database_with_demo_data_opens_the_customer_list(app, database):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "Input", "zhao")
        await pilot.press("tab")
        await pilot.press(*"赵丽 Zhao Li")
        await pilot.press("tab")
        await pilot.press(*"service")
        await pilot.click("#demo")
        await pilot.click("#create")
        await settle(pilot)
        assert isinstance(dashboard.screen, CustomersScreen)
        shown = screen_text(dashboard)
        assert "王芳" in shown and "Emma Schmidt" in shown
    assert config.resolve().user == "zhao"
    with database() as s:
        me = users.get(s, "zhao")
        assert (me.name, me.department, me.role) == ("赵丽 Zhao Li", "service", "admin")
        assert customer_lists.count(s, CustomerQuery()) == 11
        assert customer_lists.count(s, CustomerQuery(owner="zhao")) == 7


async def test_creating_the_database_without_demo_data_shows_an_empty_list(app, database):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "Input", "alice")
        await pilot.press("tab", *"Alice", "tab")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(dashboard.screen, CustomersScreen)
        assert "no customers match" in screen_text(dashboard)
    with database() as s:
        assert customer_lists.count(s, CustomerQuery()) == 0


async def test_a_bad_handle_is_shown_next_to_its_field_and_nothing_is_created(app, database):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "Input", "Bad Handle!")
        await pilot.press("tab", *"Someone")
        await pilot.press("ctrl+s")
        await settle(pilot)
        screen = dashboard.screen
        assert isinstance(screen, FirstRunScreen)
        assert screen.fields["handle"].has_class("-invalid")
        assert not screen.fields["name"].has_class("-invalid")
        assert "a handle is lower-case letters" in screen_text(dashboard)
    with database() as s:
        assert not users.any_exist(s)


async def test_a_missing_name_is_shown_next_to_the_name_field(app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "Input", "alice")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert dashboard.screen.fields["name"].has_class("-invalid")
        assert "is required" in screen_text(dashboard)


async def test_a_database_path_that_cannot_be_written_is_explained(app, monkeypatch, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "file").write_text("")
    monkeypatch.setenv("CRM_DB", str(locked / "file" / "crm.db"))  # a file is no folder
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "Input", "alice")
        await pilot.press("tab", *"Alice")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(dashboard.screen, FirstRunScreen)
        assert "cannot create the database" in screen_text(dashboard)
