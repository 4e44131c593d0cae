"""Merging from the dashboard: the duplicate is named, the two records are shown side by
side with what the merge does to each field, and only then merged (`customer_merges.merge`)."""

from textual.widgets import DataTable

from crmcli.repo import customers, notes
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.merge_form import MergeFormScreen

from .helpers import another_session, notifications, press, screen_text, settle


def add_duplicate(workspace) -> str:
    """A second record of 王芳 from an exhibition badge: another phone, an e-mail."""
    with another_session(workspace, "alice") as (s, me):
        duplicate = customers.create(s, {
            "name": "王芳（展会）", "company": "上海远航科技有限公司", "phone": "13900001111",
            "email": "wangfang@yuanhang.cn", "city": "上海"}, by=me, allow_duplicate=True)
        notes.add(s, duplicate, "在展会上留了名片", by=me, kind="visit")
        return duplicate.id


async def name_the_duplicate(pilot, ref: str) -> None:
    control = pilot.app.screen.fields["other"].control
    control.value = ref
    control.focus()
    await press(pilot, "enter")


def side_by_side(dashboard) -> dict[str, tuple[str, str, str]]:
    table = dashboard.screen.query_one("#merge-table", DataTable)
    rows = [[str(value) for value in table.get_row_at(i)] for i in range(table.row_count)]
    return {row[0]: tuple(row[1:]) for row in rows}


async def test_merge_shows_both_records_side_by_side_then_merges_keeping_what_differs(
    demo, on_customer, database
):
    duplicate = add_duplicate(demo)
    seen: list = []
    async with on_customer("王芳", message_hook=seen.append) as (dashboard, pilot, target):
        await press(pilot, "m")
        assert isinstance(dashboard.screen, MergeFormScreen)
        await press(pilot, "ctrl+s")  # not before the user has seen the two
        assert isinstance(dashboard.screen, MergeFormScreen)
        assert "press Enter to see the two side by side first" in screen_text(dashboard)
        await name_the_duplicate(pilot, duplicate[-8:])
        shown = side_by_side(dashboard)
        assert shown["phone"] == ("+8613800138000", "+8613900001111", "kept in a note")
        assert shown["email"] == ("", "wangfang@yuanhang.cn", "filled in")
        assert shown["name"] == ("王芳", "王芳（展会）", "kept in a note")
        assert shown["city"] == ("上海", "上海", "")
        assert shown["stage"][2] == "kept in a note"  # negotiation / lead
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert any(n.message.startswith("merged ") and "kept in a note: name, phone" in n.message
                   for n in notifications(seen))
        assert "在展会上留了名片" in screen_text(dashboard)
    with database() as s:
        keep, gone = customers.by_id(s, target), customers.by_id(s, duplicate)
        assert (gone.merged_into, keep.email, keep.phone) == (
            target, "wangfang@yuanhang.cn", "+8613800138000")
        bodies = [note.body for note in notes.for_customer(s, target)]
        assert any(body.startswith("Merged in 王芳（展会）") and "phone: +8613900001111" in body
                   for body in bodies)


async def test_an_unknown_duplicate_or_the_customer_itself_is_refused_in_the_form(
    demo, on_customer, database
):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "m")
        await name_the_duplicate(pilot, "nobody-here")
        assert "no customer matches 'nobody-here'" in screen_text(dashboard)
        await name_the_duplicate(pilot, target[-8:])
        assert "that is this customer; name the duplicate" in screen_text(dashboard)
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, MergeFormScreen)
        assert dashboard.screen.fields["other"].control.value == target[-8:]  # kept as typed
    with database() as s:
        assert customers.by_id(s, target).deleted_at is None


async def test_merge_is_in_the_palette_and_off_for_a_deleted_customer(demo, on_customer):
    async with on_customer("张敏") as (dashboard, pilot, target):
        titles = {command.title for command in dashboard.get_system_commands(dashboard.screen)}
        assert "Merge a duplicate in" in titles
        with another_session(demo, "alice") as (s, me):
            customers.delete(s, customers.by_id(s, target), by=me)
        dashboard.screen.reload()
        await settle(pilot)
        titles = {command.title for command in dashboard.get_system_commands(dashboard.screen)}
        assert "Merge a duplicate in" not in titles
        await press(pilot, "m")
        assert isinstance(dashboard.screen, CustomerScreen)
