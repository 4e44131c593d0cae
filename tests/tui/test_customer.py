"""The customer screen and every action on it, each ending in the repository."""

import pytest
from rich.cells import cell_len
from textual.widgets import Checkbox, Input, Select, TextArea

from crmcli.repo import assignments, custom_fields, customer_lists, customers, notes, tasks
from crmcli.repo.customer_lists import CustomerQuery
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.customer_form import CustomerFormScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.widgets.task_table import TaskTable

from .helpers import (
    another_session,
    notifications,
    press,
    screen_text,
    settle,
    written_by_a_pull,
)


def form_input(dashboard, name: str):
    return dashboard.screen.fields[name].control


async def test_the_customer_screen_shows_grouped_fields_custom_fields_and_the_story(
    demo, on_customer
):
    with another_session(demo, "alice") as (s, me):
        custom_fields.add(s, "合同编号", "text", [], by=me)
        customers.update(s, customers.resolve(s, "王芳"), {"合同编号": "HT-2026-001"}, by=me)
    async with on_customer("王芳", size=(120, 50)) as (dashboard, pilot, _):
        shown = screen_text(dashboard)
        for expected in ("Contact", "Sales", "Service", "Custom", "Responsible",
                         "+8613800138000", "上海远航科技有限公司", "合同编号", "HT-2026-001",
                         "sla         2h", "owner   alice (acknowledged)"):
            assert expected in shown, expected
        headings = [str(label.render()) for label in dashboard.screen.query(".heading")]
        assert [heading.split("  ")[1] for heading in headings] == [  # newest first
            "customer.update · alice",  # the custom field, just now
            "customer.update · bob",
            "assignment · alice",  # bob its service contact (so he may change it)
            "task · alice",
            "visit · bob",
            "call · alice",
            "assignment · alice",
            "customer.create · alice",
        ]
        # The customer's own words are set apart from the summary.
        quote = dashboard.screen.query_one(".quote")
        assert str(quote.render()) == "“如果三月底前迁移不完，我们只能推迟上线。”"


async def test_editing_a_customer_saves_only_what_changed(on_customer, database):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        assert isinstance(dashboard.screen, CustomerFormScreen)
        assert form_input(dashboard, "city").value == "北京"
        form_input(dashboard, "city").value = "天津"
        form_input(dashboard, "stage").value = "谈判"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "天津" in screen_text(dashboard)
    with database() as s:
        customer = customers.by_id(s, target)
        assert (customer.city, customer.stage, customer.version) == ("天津", "negotiation", 2)
        assert customer.phone == "+8613912345678"


async def test_a_refused_value_is_shown_next_to_its_field_and_nothing_is_saved(
    on_customer, database
):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        form_input(dashboard, "phone").value = "12345"
        form_input(dashboard, "level").value = "Z"
        form_input(dashboard, "city").value = "天津"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        assert form.fields["phone"].has_class("-invalid")
        assert form.fields["level"].has_class("-invalid")
        assert not form.fields["city"].has_class("-invalid")
        shown = screen_text(dashboard)
        assert "'12345' is not a valid phone number for region CN" in shown
        assert "'Z' is not one of A, B, C, D" in shown
        await press(pilot, "escape")
        assert isinstance(dashboard.screen, CustomerScreen)
    with database() as s:
        assert customers.by_id(s, target).city == "北京"


async def test_a_stale_edit_is_refused_and_the_other_change_is_kept(
    demo, on_customer, database
):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        with another_session(demo, "alice") as (s, me):  # bob, given a role, may change it
            assignments.assign(s, customers.resolve(s, target), "bob", "service", by=me, reason=None)
        with another_session(demo, "bob") as (s, bob):  # meanwhile, in another terminal
            customers.update(s, customers.resolve(s, target), {"city": "广州"}, by=bob)
        form_input(dashboard, "city").value = "天津"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        shown = screen_text(dashboard)
        assert "was changed by bob since you opened it" in shown
    with database() as s:
        assert customers.by_id(s, target).city == "广州"


@pytest.mark.parametrize("pulled", [{"city": "广州"}, {"phone": "+8613900139000"}])
async def test_a_change_that_arrived_by_sync_while_the_form_was_open_is_not_saved_over(
    demo, on_customer, database, pulled
):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        written_by_a_pull(demo, target, **pulled)  # the field edited, or one left alone
        form_input(dashboard, "city").value = "天津"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        assert "was changed by bob since you opened it" in screen_text(dashboard)
    with database() as s:
        customer = customers.by_id(s, target)
        assert customer.city != "天津"
        assert {name: getattr(customer, name) for name in pulled} == pulled


async def test_adding_a_customer_from_the_list(demo, app, database):
    dashboard = app()
    seen: list = []
    async with dashboard.run_test(size=(100, 40), message_hook=seen.append) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        form = dashboard.screen
        assert isinstance(form, CustomerFormScreen)
        await pilot.press(*"孙悦")
        form_input(dashboard, "phone").value = "138 0013 8001"
        form_input(dashboard, "sla").value = "24小时"
        form_input(dashboard, "tags").value = "展会，重点"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomersScreen)
        assert any("added" in n.message and "孙悦" in n.message for n in notifications(seen))
        assert "孙悦" in screen_text(dashboard)
    with database() as s:
        added = customers.resolve(s, "孙悦")
        assert (added.phone, added.sla, added.tags, added.owner) == (
            "+8613800138001", 1440, ["展会", "重点"], "alice")


async def test_a_duplicate_is_refused_unless_the_user_keeps_it(demo, app, database):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        form = dashboard.screen
        form_input(dashboard, "name").value = "王芳 (new)"
        form_input(dashboard, "phone").value = "13800138000"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        assert form.fields["duplicate"].has_class("-invalid")
        assert "same phone as existing customer" in screen_text(dashboard)
        form.query_one("#allow-duplicate", Checkbox).value = True
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomersScreen)
    with database() as s:
        assert customer_lists.count(s, CustomerQuery(search="13800138000")) == 2


async def test_adding_a_note_keeps_the_customers_own_words(on_customer, database):
    async with on_customer("张敏") as (dashboard, pilot, target):
        await press(pilot, "n")
        form = dashboard.screen
        form.fields["kind"].control.value = "complaint"
        form.fields["body"].control.text = "维保响应太慢"
        form.fields["quote"].control.text = "上次等了三天才有人来！"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "“上次等了三天才有人来！”" in screen_text(dashboard)
    with database() as s:
        [note] = notes.for_customer(s, target)
        assert (note.kind, note.body, note.quote, note.author) == (
            "complaint", "维保响应太慢", "上次等了三天才有人来！", "alice")


async def test_a_note_needs_a_summary(on_customer):
    async with on_customer("张敏") as (dashboard, pilot, _):
        await press(pilot, "n", "ctrl+s")
        assert dashboard.screen.fields["body"].has_class("-invalid")
        assert isinstance(dashboard.focused, TextArea)


async def test_adding_a_task_for_a_colleague(on_customer, database):
    async with on_customer("张敏") as (dashboard, pilot, target):
        await press(pilot, "t")
        form = dashboard.screen
        assert form.fields["assignee"].control.value == "alice"
        await pilot.press(*"报价")
        form.fields["assignee"].control.value = "bob"
        form.fields["due"].control.value = "+3d"
        form.fields["priority"].control.value = "high"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
        assert "报价" in screen_text(dashboard)
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert (task.title, task.assignee, task.priority, task.status) == (
            "报价", "bob", "high", "open")
        assert task.due.isoformat() == "2026-03-05T23:59:00+00:00"


async def test_a_task_with_a_bad_due_date_is_refused_next_to_the_field(demo, app):
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "t")
        form = dashboard.screen
        form.fields["title"].control.value = "Call back"
        form.fields["due"].control.value = "someday"
        await press(pilot, "ctrl+s")
        assert form.fields["due"].has_class("-invalid")
        assert isinstance(dashboard.focused, Input)


async def test_completing_a_task_from_the_customer_screen(on_customer, database):
    async with on_customer("王芳") as (dashboard, pilot, target):
        dashboard.screen.query_one(TaskTable).focus()
        await press(pilot, "d")
        assert "done" in str(dashboard.screen.query_one(TaskTable).get_row_at(0)[4])
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert task.status == "done" and task.done_at is not None


async def test_reassigning_a_task(on_customer, database):
    async with on_customer("王芳") as (dashboard, pilot, target):
        dashboard.screen.query_one(TaskTable).focus()
        await press(pilot, "r")
        form = dashboard.screen
        form.fields["user"].control.value = "bob"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, CustomerScreen)
    with database() as s:
        [task] = tasks.for_customer(s, target)
        assert task.assignee == "bob"


async def test_handing_a_customer_over_with_a_reason(on_customer, database):
    async with on_customer("王芳") as (dashboard, pilot, target):
        await press(pilot, "a")
        form = dashboard.screen
        assert form.fields["role"].control.value == "owner"
        form.fields["user"].control.value = "bob"
        form.fields["reason"].control.value = "alice moves to the Beijing office"
        await press(pilot, "ctrl+s")
        assert "owner   bob (waiting)" in screen_text(dashboard)  # beside bob's service
    with database() as s:
        assert customers.by_id(s, target).owner == "bob"
        [owner] = assignments.current(s, target, "owner")
        assert (owner.user, owner.reason, owner.acknowledged_at) == (
            "bob", "alice moves to the Beijing office", None)


async def test_assigning_needs_someone_to_take_over(on_customer):
    async with on_customer("王芳") as (dashboard, pilot, _):
        await press(pilot, "a", "ctrl+s")
        assert dashboard.screen.fields["user"].has_class("-invalid")
        assert isinstance(dashboard.focused, Select)


async def test_acknowledging_an_assignment(on_customer, database):
    seen: list = []
    async with on_customer("刘洋", message_hook=seen.append) as (dashboard, pilot, target):  # carol made alice its sales contact
        assert "sales     alice (waiting)" in screen_text(dashboard)  # beside carol's marketing
        await press(pilot, "k")
        assert "sales     alice (acknowledged)" in screen_text(dashboard)
        await press(pilot, "k")
        assert [n.message for n in notifications(seen)][-1].startswith("nothing of yours")
    with database() as s:
        current = assignments.current(s, target)
        assert all(row.acknowledged_at for row in current if row.user == "alice")
        assert [row.user for row in current if row.acknowledged_at is None] == ["carol"]  # hers


async def test_a_duplicate_refused_at_80x24_is_shown_in_sight_and_points_at_the_checkbox(
    demo, app
):
    dashboard = app()
    async with dashboard.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        form_input(dashboard, "name").value = "陈静"
        form_input(dashboard, "company").value = "杭州云栖茶业"
        await press(pilot, "ctrl+s")
        shown = screen_text(dashboard)  # the reason wraps under the checkbox
        assert "same name and company as existing customer" in shown
        assert "tick the box above" in shown
        assert "--allow-duplicate" not in shown


LONG_REQUIREMENT = "需要在三月底前完成全部业务系统的迁移并保证历史数据一条不丢还要培训门店员工"


def fields_pane(dashboard) -> str:
    """The text of the customer screen's fields pane (left of its border), its lines
    joined without spaces, so a value folded over several lines reads whole."""
    pane = dashboard.screen.query_one("#fields").content_region
    kept = []
    for line in screen_text(dashboard).splitlines()[pane.y:pane.bottom]:
        cells, cut = 0, ""
        for char in line:
            cells += cell_len(char)
            if cells > pane.right:
                break
            cut += char
        kept.append("".join(cut.split()))
    return "".join(kept)


async def test_a_long_value_without_spaces_wraps_in_the_fields_pane(demo, on_customer):
    with another_session(demo, "alice") as (s, me):
        customer = customers.resolve(s, "李伟")
        customers.update(s, customer, {"requirement": LONG_REQUIREMENT}, by=me)
    async with on_customer("李伟", size=(80, 24)) as (dashboard, pilot, _):
        dashboard.screen.query_one("#fields").scroll_end(animate=False)
        await pilot.pause()
        assert LONG_REQUIREMENT in fields_pane(dashboard)


async def test_an_unknown_owner_is_refused_under_the_owner_field(on_customer, database):
    async with on_customer("李伟") as (dashboard, pilot, target):
        await press(pilot, "e")
        form = dashboard.screen
        form_input(dashboard, "owner").value = "nobody"
        await press(pilot, "ctrl+s")
        assert dashboard.screen is form
        assert form.fields["owner"].has_class("-invalid")
        assert not form.query_one("#form-error").display  # not in the banner
        assert "no user 'nobody'" in screen_text(dashboard)
    with database() as s:
        assert customers.by_id(s, target).owner == "alice"
