"""The customers screen: search as you type, filters, sorting, paging."""

import json

from crmcli.repo import customers, users
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.customer_form import CustomerFormScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.widgets.customer_table import PAGE_SIZE, CustomerTable

from .helpers import another_session, press, screen_text, settle, type_into


def names(app) -> list[str]:
    table = app.screen.query_one(CustomerTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def status(app) -> str:
    return str(app.screen.query_one("#status").render())


async def test_the_list_shows_the_customers_sorted_by_name_with_a_count(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        shown = names(dashboard)
        assert shown[:3] == ["Aiko Tanaka", "陈静", "Emma Schmidt"]  # by pinyin: chen
        assert "王芳" in shown and len(shown) == 11
        assert "1–11 of 11" in status(dashboard)


async def test_search_as_you_type_finds_a_two_character_chinese_name(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "#search", "王芳")
        assert names(dashboard) == ["王芳"]
        assert "1–1 of 1" in status(dashboard)


async def test_search_finds_words_in_notes_like_the_command_line(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await type_into(pilot, "#search", "积分到现在")  # the customer's words in a note
        assert names(dashboard) == ["陈静"]
        await pilot.press(*["backspace"] * 5)
        await type_into(pilot, "#search", "")
        assert len(names(dashboard)) == 11


async def test_filters_by_stage_level_owner_and_tag(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = dashboard.screen
        screen.query_one("#stage").chosen = ["won"]
        await settle(pilot)
        assert names(dashboard) == ["陈静", "Lucas Martin"]  # by pinyin: chen, lucas
        screen.query_one("#level").chosen = ["A"]
        await settle(pilot)
        assert names(dashboard) == ["陈静"]
        screen.query_one("#stage").chosen = []
        screen.query_one("#level").chosen = []
        screen.query_one("#owner").chosen = ["carol"]
        await settle(pilot)
        assert names(dashboard) == ["João Silva", "周杰"]
        screen.query_one("#owner").chosen = []
        await type_into(pilot, "#tag", "重点")
        assert names(dashboard) == ["Aiko Tanaka", "陈静", "王芳"]


async def test_choosing_a_stage_with_the_keyboard_filters_the_list(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        dashboard.screen.query_one("#stage").focus()
        await press(pilot, "enter", "down", "space")  # past lead to qualified
        assert names(dashboard) == ["刘洋"]


async def test_two_stages_mean_either_and_two_tags_mean_both_as_on_the_command_line(
    demo, app, crm
):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        stage = dashboard.screen.query_one("#stage")
        stage.focus()
        # open, down to negotiation and tick it, down to won and tick it, close
        await press(pilot, "enter", "down", "down", "down", "space", "down", "space", "escape")
        assert dashboard.focused is stage
        assert names(dashboard) == ["Aiko Tanaka", "陈静", "Lucas Martin", "王芳"]
        assert "1–4 of 4 · stage negotiation or won · sorted by name" in status(dashboard)
        assert "negotiation, won" in str(stage.query_one("#shown").render())

        await type_into(pilot, "#tag", "重点")
        assert names(dashboard) == ["Aiko Tanaka", "陈静", "王芳"]  # Lucas has no 重点
        await type_into(pilot, "#tag", ", ERP")
        assert names(dashboard) == ["王芳"]  # the only one with both tags
        assert "stage negotiation or won · tags 重点 and ERP" in status(dashboard)

    listed = crm("customer", "list", "--stage", "negotiation", "--stage", "won",
                 "--tag", "重点", "--tag", "ERP", "--format", "json")
    assert [row["name"] for row in json.loads(listed.stdout)] == ["王芳"]


async def test_two_owners_mean_either_and_delete_clears_the_filter(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        owner = dashboard.screen.query_one("#owner")
        owner.focus()
        # the choices: alice, bob, carol; a letter jumps to the next starting with it
        await press(pilot, "enter", "b", "space", "c", "enter", "a", "escape")
        assert isinstance(dashboard.screen, CustomersScreen)  # a: to alice, not the add form
        assert names(dashboard) == ["陈静", "João Silva", "Olivia Brown", "周杰"]
        assert "owner bob or carol" in status(dashboard)
        await press(pilot, "enter", "enter", "tab")  # opens on bob: unticked; Tab closes
        assert names(dashboard) == ["João Silva", "周杰"]
        assert "owner carol ·" in status(dashboard)
        owner.focus()
        await press(pilot, "delete")
        assert len(names(dashboard)) == 11
        assert "owner" not in status(dashboard)
        assert "Owner" in str(owner.query_one("#shown").render())


async def test_the_owners_chosen_stay_chosen_when_the_team_changes(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = dashboard.screen
        screen.query_one("#owner").chosen = ["carol", "bob"]
        await settle(pilot)
        with another_session(demo, "alice") as (s, me):
            users.add(s, "dave", name="Dave", department="sales", by=me)
        screen.reload()
        await settle(pilot)
        assert screen.query_one("#owner").chosen == ("bob", "carol")
        assert names(dashboard) == ["陈静", "João Silva", "Olivia Brown", "周杰"]


async def test_sorting_by_a_column_and_reversing_it(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await press(pilot, "s")  # next column: company
        table = dashboard.screen.query_one(CustomerTable)
        assert table.query.sort == "company"
        assert names(dashboard)[0] == "João Silva"  # Atlântico Pescados
        assert "sorted by company ▲" in status(dashboard)
        await press(pilot, "r")
        assert table.query.sort == "-company"
        assert names(dashboard)[-1] == "João Silva"
        await pilot.click(CustomerTable, offset=(45, 0))  # the Stage header
        await settle(pilot)
        assert table.query.sort == "stage"
        assert names(dashboard)[0] in ("Olivia Brown", "张敏")  # leads first
        assert "Stage ▲" in screen_text(dashboard)


async def test_the_list_is_read_a_page_at_a_time_and_pages_to_the_end(demo, app):
    with another_session(demo, "alice") as (s, me):
        for number in range(250):
            customers.create(s, {"name": f"Customer {number:03d}"}, by=me)
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        table = dashboard.screen.query_one(CustomerTable)
        assert table.row_count == PAGE_SIZE
        assert "1–100 of 261" in status(dashboard)
        await press(pilot, "end")
        assert table.row_count == PAGE_SIZE
        assert "162–261 of 261" in status(dashboard)
        assert names(dashboard)[-1] == "周杰"  # zhou: last by pinyin
        assert table.cursor_row == PAGE_SIZE - 1
        await press(pilot, "down")  # nothing after the last row
        assert "162–261 of 261" in status(dashboard)
        await press(pilot, "home")
        assert names(dashboard)[0] == "Aiko Tanaka"
        table.move_cursor(row=PAGE_SIZE - 1)
        await press(pilot, "down")  # past the page: the next page
        assert "101–200 of 261" in status(dashboard)
        assert table.cursor_row == 0
        await press(pilot, "up")  # back before it
        assert "1–100 of 261" in status(dashboard)
        assert table.cursor_row == PAGE_SIZE - 1


async def test_enter_opens_the_customer_under_the_cursor(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "陈静" in screen_text(dashboard)  # second by pinyin (chen)
        await press(pilot, "escape")
        assert dashboard.screen.query_one(CustomerTable).cursor_row == 1


async def test_a_click_on_a_row_opens_that_customer(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        table = dashboard.screen.query_one(CustomerTable)
        await pilot.click(CustomerTable, offset=(3, 3))  # third row: Emma Schmidt
        await pilot.click(CustomerTable, offset=(3, 3))
        await settle(pilot)
        assert isinstance(dashboard.screen, CustomerScreen), table.cursor_row
        assert "Emma Schmidt" in screen_text(dashboard)


async def test_slash_goes_to_the_search_and_escape_back_to_the_list(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert dashboard.focused.id == "search"
        await pilot.press("escape")
        assert isinstance(dashboard.focused, CustomerTable)
        await press(pilot, "a")
        assert isinstance(dashboard.screen, CustomerFormScreen)


async def test_paging_past_exactly_one_full_page_stays_on_it(seeded, app):
    workspace = seeded(with_demo=False)
    with another_session(workspace, "alice") as (s, me):
        for number in range(PAGE_SIZE):
            customers.create(s, {"name": f"Customer {number:03d}"}, by=me)
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        table = dashboard.screen.query_one(CustomerTable)
        table.total = None  # as if the count had not come back yet
        table.move_cursor(row=PAGE_SIZE - 1)
        await press(pilot, "down")
        assert table.row_count == PAGE_SIZE
        assert "1–100 of 100" in status(dashboard)


async def test_a_search_says_it_is_in_relevance_order_and_the_first_sort_is_ascending(
    demo, app
):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#search", "a")
        assert len(names(dashboard)) > 1
        assert "sorted by relevance" in status(dashboard)
        assert "▲" not in screen_text(dashboard)
        await press(pilot, "r")  # relevance has no reverse: nothing happens
        assert "sorted by relevance" in status(dashboard)
        await pilot.click(CustomerTable, offset=(2, 0))  # the Name header
        await settle(pilot)
        assert "sorted by name ▲" in status(dashboard)
        assert "Name ▲" in screen_text(dashboard)
        shown = names(dashboard)
        assert shown == sorted(shown, key=str.casefold)


async def test_the_tag_filter_takes_several_tags_and_keeps_customers_having_all(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await type_into(pilot, "#tag", "重点, ERP")
        assert names(dashboard) == ["王芳"]
        assert dashboard.screen.table.query.tag == ("重点", "ERP")
