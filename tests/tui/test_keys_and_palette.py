"""Every action has a key shown in the footer and an entry in the command palette."""

from crmcli.repo import tasks
from crmcli.tui.screens.note_form import NoteFormScreen
from crmcli.tui.widgets.task_table import TaskTable

from .helpers import press, screen_text, settle

CUSTOMER_ACTIONS = {"e Edit", "n Note", "t Task", "a Assign", "k Ack", "d Done", "r Reassign"}


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


def palette(app) -> set[str]:
    return {command.title for command in app.get_system_commands(app.screen)}


async def test_the_customer_screens_actions_are_in_the_footer_and_the_palette(on_customer):
    async with on_customer("王芳", size=(100, 30)) as (dashboard, pilot, _):
        dashboard.screen.query_one(TaskTable).focus()
        await pilot.pause()
        for key_and_name in CUSTOMER_ACTIONS:
            assert key_and_name in footer(dashboard), key_and_name
        assert {name.split(" ", 1)[1] for name in CUSTOMER_ACTIONS} | {"Back"} <= palette(
            dashboard)


async def test_the_lists_actions_are_in_the_footer_and_the_palette(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        for key_and_name in ("⏎ Open", "s Sort", "a Add", "/ Search", "F1 F2 F3 Views"):
            assert key_and_name in footer(dashboard)
        assert {"Open", "Sort", "Add", "Search", "Customers", "My work", "What changed"} <= (
            palette(dashboard))
        await press(pilot, "f2")
        for key_and_name in ("⏎ Open", "d Done", "r Reassign", "k Ack"):
            assert key_and_name in footer(dashboard)
        assert {"Open", "Done", "Reassign", "Ack"} <= palette(dashboard)


async def test_an_action_chosen_in_the_palette_runs(on_customer):
    async with on_customer("王芳", size=(100, 30)) as (dashboard, pilot, _):
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Note")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        assert isinstance(dashboard.screen, NoteFormScreen)


async def test_the_theme_switches_between_dark_and_light(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        assert dashboard.theme == "textual-dark"
        await press(pilot, "ctrl+t")
        assert dashboard.theme == "textual-light"
        await press(pilot, "ctrl+t")
        assert dashboard.theme == "textual-dark"


async def test_keys_the_footer_leaves_out_are_in_the_palette(demo, app):
    dashboard = app()
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        assert {"Reverse", "First page", "Last page", "Light/dark", "To list"} <= palette(
            dashboard)
        assert "Cursor up" not in palette(dashboard)  # Textual's own keys stay out


async def test_the_task_actions_are_offered_without_focusing_the_task_table(
    on_customer, database
):
    async with on_customer("王芳", size=(80, 24)) as (dashboard, pilot, target):
        assert not isinstance(dashboard.focused, TaskTable)
        assert "d Done r Reassign" in footer(dashboard)
        assert {"Done", "Reassign"} <= palette(dashboard)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Done")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        assert "done" in str(dashboard.screen.query_one(TaskTable).get_row_at(0)[4])
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert task.status == "done"


async def test_the_customer_screens_footer_fits_80_columns(on_customer):
    async with on_customer("王芳", size=(80, 24)) as (dashboard, pilot, _):
        assert footer(dashboard).startswith("e Edit n Note t Task a Assign k Ack d Done")
        assert "F1 F2 F3 Views" in footer(dashboard)
        dashboard.screen.query_one(TaskTable).focus()
        await pilot.pause()
        assert "F1 F2 F3 Views" in footer(dashboard)
