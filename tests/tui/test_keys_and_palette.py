"""Every action has a key shown in the footer and an entry in the command palette."""

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
