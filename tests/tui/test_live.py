"""Changes made by another process (the CLI in another terminal) reach the open dashboard."""

import asyncio
import time

from crmcli.repo import customer_merges, customers, notes, tasks
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.widgets.customer_table import CustomerTable
from crmcli.tui.widgets.task_table import TaskTable
from crmcli.tui.widgets.timeline import Timeline

from .conftest import SEEDED_AT
from .helpers import (
    another_session,
    drop_from_replica,
    notifications,
    press,
    screen_text,
    settle,
    written_by_a_pull,
)

LIVE_WITHIN = 3.0  # seconds, the promise in the issue


async def wait_until(pilot, condition, timeout: float) -> float:
    """Seconds until `condition()` held, letting the app run meanwhile."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "not seen in time"
        await pilot.pause(0.05)
    return time.monotonic() - started


async def test_a_customer_added_in_another_terminal_appears_in_the_list(demo, app, crm_process):
    dashboard = app(watch_every=1.0)
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        table = dashboard.screen.query_one(CustomerTable)
        result = await asyncio.to_thread(crm_process, "customer", "add", "Aaron Abbott")
        assert result.returncode == 0, result.stderr
        await wait_until(pilot, lambda: str(table.get_row_at(0)[0]) == "Aaron Abbott",
                         LIVE_WITHIN)
        await settle(pilot)
        assert "1–12 of 12" in str(dashboard.screen.query_one("#status").render())


async def test_a_note_added_elsewhere_appears_on_the_open_customer(on_customer, crm_process):
    async with on_customer("张敏", watch_every=1.0) as (dashboard, pilot, target):
        result = await asyncio.to_thread(
            crm_process, "note", "add", target[-8:], "Asked for a discount", "--kind", "call")
        assert result.returncode == 0, result.stderr
        await wait_until(pilot, lambda: "Asked for a discount" in screen_text(dashboard),
                         LIVE_WITHIN)


async def test_a_note_written_offline_hours_ago_appears_when_it_arrives(
    demo, on_customer, frozen
):
    """A colleague's note made offline reaches this replica later (a sync) stamped with the
    time it was written, older than everything the screen shows."""
    async with on_customer("张敏") as (dashboard, pilot, target):
        frozen(SEEDED_AT.replace("T09:", "T03:"))
        with another_session(demo, "bob") as (s, bob):
            notes.add(s, customers.by_id(s, target), "Called from the train", by=bob, kind="call")
        dashboard.check_for_changes()
        await settle(pilot)
        timeline = dashboard.screen.query_one(Timeline)
        shown = [str(part.render()) for part in timeline.query(".body")]
        assert "Called from the train" in shown


async def test_an_edit_made_in_another_terminal_while_the_form_is_open_is_kept(
    on_customer, crm_process, database
):
    async with on_customer("张敏", watch_every=1.0) as (dashboard, pilot, target):
        await press(pilot, "e")
        result = await asyncio.to_thread(
            crm_process, "customer", "edit", target[-8:], "--city", "东莞")
        assert result.returncode == 0, result.stderr
        dashboard.screen.fields["city"].control.value = "佛山"
        await press(pilot, "ctrl+s")
        assert "was changed by alice since you opened it" in screen_text(dashboard)
    with database() as s:
        assert customers.by_id(s, target).city == "东莞"


async def test_a_value_a_pull_wrote_without_an_event_shows_on_the_open_customer(
    demo, on_customer
):
    async with on_customer("张敏", watch_every=0.2) as (dashboard, pilot, target):
        written_by_a_pull(demo, target, city="乌鲁木齐")  # same version, no event of its own
        await wait_until(pilot, lambda: "乌鲁木齐" in screen_text(dashboard), LIVE_WITHIN)


async def test_a_customer_a_pull_drops_leaves_the_open_list(demo, app):
    """A pull that only removes rows records no event, and may remove old events only."""
    dashboard = app(watch_every=0.2)
    async with dashboard.run_test() as pilot:
        await settle(pilot)
        table = dashboard.screen.query_one(CustomerTable)
        with demo.reading() as s:
            target = customers.resolve(s, "张敏").id
        assert target in table.rows
        drop_from_replica(demo, target)
        await wait_until(pilot, lambda: target not in table.rows, LIVE_WITHIN)


async def test_a_customer_that_leaves_the_replica_closes_its_screen_with_a_notice(
    demo, on_customer
):
    seen: list = []
    async with on_customer("张敏", message_hook=seen.append) as (dashboard, pilot, target):
        drop_from_replica(demo, target)  # a pull: the customer left this member's view
        dashboard.screen.reload()  # as on any change the watch sees
        await settle(pilot)
        assert dashboard.is_running
        assert isinstance(dashboard.screen, CustomersScreen)
        assert [n.message for n in notifications(seen)] == [f"no customer with id {target}"]
        assert "张敏" not in screen_text(dashboard)


async def test_a_form_opened_on_a_customer_that_just_left_the_replica_closes_with_a_notice(
    demo, on_customer
):
    seen: list = []
    async with on_customer("张敏", message_hook=seen.append) as (dashboard, pilot, target):
        drop_from_replica(demo, target)  # before the watch noticed
        await press(pilot, "e")
        assert dashboard.is_running
        assert isinstance(dashboard.screen, CustomersScreen)
        assert [n.message for n in notifications(seen)] == [
            f"Edit customer: no customer with id {target}",  # the form closes
            f"no customer with id {target}",  # then the customer screen under it
        ]


async def test_a_member_added_in_another_terminal_can_be_chosen_in_the_owner_filter(
    demo, app, crm_process
):
    dashboard = app(watch_every=1.0)
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        result = await asyncio.to_thread(crm_process, "user", "add", "dave", "--name", "Dave")
        assert result.returncode == 0, result.stderr
        await pilot.pause(LIVE_WITHIN)
        await settle(pilot)
        await pilot.click("#owner")
        await settle(pilot)
        assert "dave" in screen_text(dashboard)


async def test_a_customer_deleted_elsewhere_says_so_and_its_actions_are_off(
    demo, on_customer, database
):
    seen: list = []
    async with on_customer("王芳", message_hook=seen.append) as (dashboard, pilot, target):
        with another_session(demo, "alice") as (s, me):
            customers.delete(s, customers.by_id(s, target), by=me)
            gone = f"customer {customers.describe(customers.by_id(s, target))} was deleted"
        dashboard.check_for_changes()  # what the watch does every second
        await settle(pilot)
        assert f"{gone}; nothing can be changed here" in screen_text(dashboard)
        assert [n.message for n in notifications(seen)] == [gone]
        await press(pilot, "e", "n", "t", "a", "k")
        assert isinstance(dashboard.screen, CustomerScreen)
        dashboard.screen.query_one(TaskTable).focus()
        await press(pilot, "d", "r")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert [n.message for n in notifications(seen)] == [gone]  # nothing else happened
    with database() as s:
        assert [task.status for task in tasks.for_customer(s, target)] == ["open"]


async def test_a_customer_merged_elsewhere_names_the_one_it_was_merged_into(
    demo, on_customer
):
    async with on_customer("张敏") as (dashboard, pilot, target):
        with another_session(demo, "alice") as (s, me):
            keep = customers.resolve(s, "李伟")
            customer_merges.merge(s, keep, customers.by_id(s, target), by=me)
            survivor = customers.describe(keep)
        dashboard.check_for_changes()
        await settle(pilot)
        assert f"was merged into {survivor}" in screen_text(dashboard)


async def test_a_form_left_open_on_a_customer_deleted_meanwhile_says_it_was_deleted(
    demo, on_customer
):
    async with on_customer("王芳") as (dashboard, pilot, target):
        await press(pilot, "n")
        form = dashboard.screen
        form.fields["body"].control.text = "called"
        with another_session(demo, "alice") as (s, me):
            customers.delete(s, customers.by_id(s, target), by=me)
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        assert "王芳 (上海远航科技有限公司) was deleted" in screen_text(dashboard)
