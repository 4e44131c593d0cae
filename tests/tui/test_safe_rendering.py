"""Names and notes that look like markup or carry escape sequences show literally, everywhere."""

from crmcli.repo import assignments, customers, notes, tasks, users
from crmcli.tui.screens.base import FormScreen
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.widgets.customer_table import CustomerTable
from crmcli.tui.widgets.task_table import TaskTable

from .helpers import another_session, notifications, press, screen_text, settle

NAME = "[bold]Evil[/bold] [@click=app.quit]x[/] \x1b[31mred\u202e"
SHOWN_NAME = "[bold]Evil[/bold] [@click=app.quit]x[/] \\x1b[31mred\\u202e"
BODY = "[red]not red[/red] [@click=app.quit]quit[/]"
QUOTE = "[link=https://example.com]click me[/link] \x1b]8;;x\x07"
SHOWN_QUOTE = "[link=https://example.com]click me[/link] \\x1b]8;;x\\x07"
TITLE = "[b]call back[/b] [@click=app.bell]ring[/]"


def seed_hostile(workspace) -> str:
    with another_session(workspace, "alice") as (s, me):
        customer = customers.create(s, {"name": NAME, "company": "[i]Co[/i]"}, by=me)
        assignments.assign(s, customer, "bob", "service", by=me, reason=None)  # bob may edit it
        notes.add(s, customer, BODY, by=me, kind="call", quote=QUOTE)
        tasks.add(s, customer, TITLE, by=me, due="today")
    with another_session(workspace, "bob") as (s, bob):
        customer = customers.resolve(s, customer.id)
        customers.update(s, customer, {"requirement": "[blink]wants[/blink]"}, by=bob)
    return customer.id


async def test_markup_and_escapes_in_user_data_show_literally_on_every_screen(demo, app):
    target = seed_hostile(demo)
    dashboard = app()
    async with dashboard.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        table = dashboard.screen.query_one(CustomerTable)
        assert str(table.get_row(target)[0]) == SHOWN_NAME
        assert "[bold]Evil[/bold]…  [i]Co[/i]" in screen_text(dashboard)

        table.move_cursor(row=table.get_row_index(target))
        await press(pilot, "enter")
        assert isinstance(dashboard.screen, CustomerScreen)
        shown = screen_text(dashboard)
        for literal in (SHOWN_NAME, "[i]Co[/i]", BODY, f"“{SHOWN_QUOTE}”", "[b]call back[/b]",
                        "[blink]wants[/blink]"):
            assert literal in shown, literal
        assert dashboard.screen.sub_title == SHOWN_NAME

        await press(pilot, "escape", "f2")
        assert "[bold]Evil[/b…  [b]call back[/b] [@click=app.…" in screen_text(dashboard)
        await press(pilot, "f3")
        shown = screen_text(dashboard)
        assert "requirement: [blink]wants[/blink]" in shown
        assert SHOWN_NAME in shown
    assert target


async def test_a_notification_naming_a_hostile_customer_is_not_markup(demo, on_customer):
    seed_hostile(demo)
    seen: list = []
    async with on_customer(NAME, size=(200, 50), notifications=True,
                           message_hook=seen.append) as (dashboard, pilot, _):
        await press(pilot, "k")  # nothing to acknowledge: the message names the customer
        [note] = notifications(seen)
        assert not note.markup
        assert SHOWN_NAME in note.message
        assert "[bold]Evil[/bold]" in screen_text(dashboard)
        assert dashboard.is_running


USER_NAME = "[bold]Dan[/bold] [@click=app.quit]x[/] \x1b]0;PWNED\a\x1b[31m"
SHOWN_USER = "dan — [bold]Dan[/bold] [@click=app.quit]x[/] \\x1b]0;PWNED\\x07\\x1b[31m"


async def choose_in_open_list(pilot, select, handle: str) -> str:
    """Open `select`'s list, read the screen with the list showing, then choose `handle`."""
    select.focus()
    await press(pilot, "enter")
    assert select.expanded
    shown = screen_text(pilot.app)
    await press(pilot, "escape")
    select.value = handle
    await settle(pilot)
    return shown


async def test_a_hostile_user_name_shows_literally_in_the_task_and_hand_over_forms(
    demo, on_customer
):
    with another_session(demo, "alice") as (s, me):
        users.add(s, "dan", name=USER_NAME, department="sales", by=me)
    async with on_customer("王芳", size=(120, 40)) as (dashboard, pilot, _):
        for key, field in (("t", "assignee"), ("a", "user"), ("r", "user")):
            if key == "r":  # reassign the customer's task, from its table
                dashboard.screen.query_one(TaskTable).focus()
            await press(pilot, key)
            form = dashboard.screen
            assert isinstance(form, FormScreen), key
            in_list = await choose_in_open_list(pilot, form.fields[field].control, "dan")
            chosen = screen_text(dashboard)
            for shown in (in_list, chosen):
                assert SHOWN_USER in shown, (key, shown)
                assert "\x1b" not in shown and "\a" not in shown
            await press(pilot, "escape")
            assert dashboard.is_running


async def test_the_edit_form_shows_escapes_visibly_and_saving_leaves_them_stored(
    demo, on_customer, database
):
    requirement = "esc \x1b[31mred\x1b[0m \u202eevil"
    with another_session(demo, "alice") as (s, me):
        customers.update(s, customers.resolve(s, "李伟"), {"requirement": requirement}, by=me)
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        form.fields["requirement"].control.focus()  # scrolled into view
        await pilot.pause()
        shown = screen_text(dashboard)
        assert "\x1b" not in shown and "\u202e" not in shown
        assert "esc \\x1b[31mred\\x1b[0m \\u202eevil" in shown
        form.fields["city"].control.value = "天津"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
    with database() as s:
        customer = customers.by_id(s, target)
        assert (customer.city, customer.requirement) == ("天津", requirement)
