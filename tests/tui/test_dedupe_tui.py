"""The dashboard's Duplicates screen (README "Data quality and duplicates"): the likely
duplicates best first with the pair under the cursor side by side; merge (the merge form,
already comparing the two), not the same (remembered: never proposed again), skip."""

from textual.widgets import DataTable

from crmcli.repo import customers, distinct_pairs
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.screens.duplicates import DuplicatesScreen
from crmcli.tui.screens.merge_form import MergeFormScreen

from .helpers import another_session, notifications, press, screen_text, settle
from .test_merge import add_duplicate, side_by_side


def add_twin(workspace) -> str:
    """李伟 again, with his phone: the strongest pair (name and phone the same)."""
    with another_session(workspace, "alice") as (s, me):
        return customers.create(s, {"name": "李伟", "phone": "13912345678", "city": "天津"},
                                by=me, allow_duplicate=True).id


def listed(dashboard) -> list[tuple[str, str]]:
    """The pairs on screen: (first, second) as the table shows them."""
    table = dashboard.screen.table
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return [(str(row[1]), str(row[2])) for row in rows]


def compared(dashboard) -> dict[str, tuple[str, str, str]]:
    """The side-by-side table: field -> (≠ or nothing, first, second)."""
    table = dashboard.screen.query_one("#dup-compare", DataTable)
    rows = [[str(value) for value in table.get_row_at(i)] for i in range(table.row_count)]
    return {row[1]: (row[0], row[2], row[3]) for row in rows}


async def open_duplicates(pilot) -> None:
    await settle(pilot)
    await press(pilot, "d")
    assert isinstance(pilot.app.screen, DuplicatesScreen)


async def test_the_screen_lists_the_pairs_best_first_with_the_first_side_by_side(demo, app):
    add_duplicate(demo)  # 王芳（展会）: a weaker pair
    twin = add_twin(demo)
    dashboard = app()
    async with dashboard.run_test(size=(110, 36)) as pilot:
        await open_duplicates(pilot)
        pairs = listed(dashboard)
        assert [("李伟" in a and "李伟" in b) for a, b in pairs] == [True, False]
        assert twin[-8:] in pairs[0][1] and "王芳" in pairs[1][0]
        shown = compared(dashboard)
        assert shown["phone"] == ("", "+8613912345678", "+8613912345678")
        assert shown["city"] == ("≠", "北京", "天津")
        assert "2 likely duplicate pairs, best first" in screen_text(dashboard)
        await press(pilot, "down")
        assert compared(dashboard)["name"] == ("≠", "王芳", "王芳（展会）")
        older = dashboard.screen.selected.first.id
        await press(pilot, "enter")  # the older (left) one on its own screen
        assert isinstance(dashboard.screen, CustomerScreen)
        assert dashboard.screen.customer_id == older
        await press(pilot, "escape", "escape")
        assert isinstance(dashboard.screen, CustomersScreen)


async def test_not_the_same_is_remembered_and_the_pair_leaves_the_list(demo, app, database):
    twin = add_twin(demo)
    seen: list = []
    dashboard = app()
    async with dashboard.run_test(size=(110, 36), message_hook=seen.append) as pilot:
        await open_duplicates(pilot)
        await press(pilot, "n")
        assert listed(dashboard) == []
        assert "No likely duplicates" in screen_text(dashboard)
        assert any(n.message.startswith("marked not the same") for n in notifications(seen))
    with database() as s:
        [mark] = distinct_pairs.list_(s)
        assert (mark.mark.marked_by, twin in (mark.first.id, mark.second.id)) == ("alice", True)
    dashboard = app()
    async with dashboard.run_test(size=(110, 36)) as pilot:  # and stays out
        await open_duplicates(pilot)
        assert listed(dashboard) == []


async def test_merge_opens_the_merge_form_comparing_the_pair_and_merges(demo, app, database):
    twin = add_twin(demo)
    dashboard = app()
    async with dashboard.run_test(size=(110, 36)) as pilot:
        await open_duplicates(pilot)
        keep = dashboard.screen.selected.first.id
        await press(pilot, "m")
        assert isinstance(dashboard.screen, MergeFormScreen)
        assert side_by_side(dashboard)["city"] == ("北京", "天津", "kept in a note")
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, DuplicatesScreen)
        assert listed(dashboard) == []
    with database() as s:
        assert customers.by_id(s, twin).merged_into == keep


async def test_capital_m_keeps_the_right_one(demo, app, database):
    twin = add_twin(demo)
    dashboard = app()
    async with dashboard.run_test(size=(110, 36)) as pilot:
        await open_duplicates(pilot)
        other = dashboard.screen.selected.first.id
        await press(pilot, "M", "ctrl+s")
    with database() as s:
        assert customers.by_id(s, other).merged_into == twin


async def test_skip_hides_the_pair_until_the_screen_opens_again_and_writes_nothing(
        demo, app, database):
    add_duplicate(demo)
    add_twin(demo)
    dashboard = app()
    async with dashboard.run_test(size=(110, 36)) as pilot:
        await open_duplicates(pilot)
        await press(pilot, "s")
        [left] = listed(dashboard)
        assert "王芳" in left[0]
        await press(pilot, "s")
        assert listed(dashboard) == []
        titles = {c.title for c in dashboard.get_system_commands(dashboard.screen)}
        assert not {"Merge", "Not the same", "Skip"} & titles  # nothing to act on
        await press(pilot, "escape", "d")
        assert len(listed(dashboard)) == 2
    with database() as s:
        assert distinct_pairs.list_(s) == []


async def test_the_screen_is_in_the_palette_of_the_customer_list(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(110, 36)) as pilot:
        await settle(pilot)
        titles = {c.title for c in dashboard.get_system_commands(dashboard.screen)}
        assert "Duplicates" in titles


def test_the_duplicates_screen_snapshot(snap_compare, demo, app):
    """Two pairs best first, the first side by side (seeded data, frozen clock, stable
    ids, 100×30)."""
    from .test_snapshots import steps

    add_duplicate(demo)
    add_twin(demo)
    assert snap_compare(app(), terminal_size=(100, 30), run_before=steps("d"))
