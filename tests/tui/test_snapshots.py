"""How each screen looks (pytest-textual-snapshot): seeded data, frozen clock, stable ids,
no blinking cursor, 80×24 unless said. `pytest --snapshot-update` accepts a new look after
checking it in the report."""

import pytest

from crmcli.repo import customers

from .conftest import NEXT_DAY
from .helpers import another_session, press, settle
from .test_reports_tui import wins  # noqa: F401  (a fixture)


def steps(*keys: str, then=None):
    """A run_before that waits for the data, presses `keys` (each settling), freezes the
    cursors and optionally runs `then(pilot)`."""

    async def run(pilot) -> None:
        await settle(pilot)
        await press(pilot, *keys)
        if then is not None:
            await then(pilot)
            await settle(pilot)
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False
        await pilot.pause()

    return run


def test_the_first_run_screen(snap_compare, app, monkeypatch, frozen):
    monkeypatch.setenv("CRM_DB", "/home/you/.local/share/crmcli/crm.db")
    assert snap_compare(app(), run_before=steps())


def test_the_customer_list_with_chinese_names(snap_compare, demo, app):
    assert snap_compare(app(), run_before=steps())


def test_two_stages_ticked_in_the_stage_filter(snap_compare, demo, app):
    """The drop-down open over the list of customers in either stage; the status line says
    what the filters hold."""

    async def tick(pilot):
        pilot.app.screen.query_one("#stage").focus()
        await press(pilot, "enter", "down", "down", "down", "space", "down", "space")

    assert snap_compare(app(), run_before=steps(then=tick))


def test_the_customer_list_in_the_light_theme_on_a_wide_terminal(snap_compare, demo, app):
    assert snap_compare(app(), terminal_size=(120, 30), run_before=steps("ctrl+t"))


def test_a_customer_at_the_smallest_size(snap_compare, demo, app):
    assert snap_compare(app(), run_before=steps("end", "up", "up", "enter"))


def test_my_work_a_day_later(snap_compare, demo, app, frozen):
    frozen(NEXT_DAY)
    assert snap_compare(app(), terminal_size=(100, 30), run_before=steps("f2"))


def test_what_changed(snap_compare, demo, app):
    assert snap_compare(app(), run_before=steps("f3"))


def test_the_customer_form_with_a_refused_phone(snap_compare, demo, app):
    async def refuse(pilot):
        form = pilot.app.screen
        form.fields["phone"].control.value = "12345"
        await press(pilot, "ctrl+s")

    assert snap_compare(app(), terminal_size=(100, 30),
                        run_before=steps("end", "up", "up", "enter", "e", then=refuse))


def test_the_note_form(snap_compare, demo, app):
    async def write(pilot):
        form = pilot.app.screen
        form.fields["body"].control.text = "客户要求下周三前给出迁移计划"
        form.fields["quote"].control.text = "别再拖了，我们老板每天都在问。"

    assert snap_compare(app(), run_before=steps("end", "up", "up", "enter", "n", then=write))


def test_the_task_form(snap_compare, demo, app):
    assert snap_compare(app(), run_before=steps("end", "up", "up", "enter", "t"))


def test_the_assign_form(snap_compare, demo, app):
    assert snap_compare(app(), run_before=steps("end", "up", "up", "enter", "a"))


def test_a_stale_edit_banner(snap_compare, demo, app):
    async def collide(pilot):
        with another_session(demo, "bob") as (s, bob):
            customers.update(s, customers.resolve(s, "王芳"), {"city": "苏州"}, by=bob)
        pilot.app.screen.fields["city"].control.value = "杭州"
        await press(pilot, "ctrl+s")

    assert snap_compare(app(), terminal_size=(100, 30),
                        run_before=steps("end", "up", "up", "enter", "e", then=collide))


def test_the_merge_form_side_by_side(snap_compare, demo, app):
    from crmcli.tui.screens.customer import CustomerScreen

    from .test_merge import add_duplicate, name_the_duplicate

    duplicate = add_duplicate(demo)
    with another_session(demo, "alice") as (s, _):
        target = customers.resolve(s, "王芳").id

    async def compare(pilot):
        await pilot.app.push_screen(CustomerScreen(target))
        await settle(pilot)  # the record is read before `m` may act on it
        await press(pilot, "m")
        await name_the_duplicate(pilot, duplicate[-8:])

    assert snap_compare(app(), terminal_size=(100, 30), run_before=steps(then=compare))


def test_the_inbox_a_day_later(snap_compare, demo, app, frozen):
    frozen(NEXT_DAY)
    assert snap_compare(app(), terminal_size=(100, 24), run_before=steps("f5"))


def test_the_hand_over_form_refusing_an_incomplete_record(snap_compare, demo, app):
    from crmcli.repo import settings

    with another_session(demo, "alice") as (s, me):
        settings.put(s, "handoff.require.service", ["wechat", "requirement"], by=me)

    async def refuse(pilot):
        form = pilot.app.screen
        form.fields["user"].control.value = "carol"
        form.fields["role"].control.value = "service"
        form.fields["note"].control.value = "客户很着急，先打电话"
        await press(pilot, "ctrl+s")

    assert snap_compare(app(), terminal_size=(100, 30),
                        run_before=steps("end", "up", "up", "enter", "h", then=refuse))


def test_a_customer_with_a_hand_over_waiting_for_me(snap_compare, demo, app):
    from crmcli.repo import handoffs

    with another_session(demo, "bob") as (s, bob):
        handoffs.hand_over(s, customers.resolve(s, "王芳"), "alice", "sales", by=bob,
                           note="老板亲自跟进，周五前回电")

    assert snap_compare(app(), terminal_size=(100, 30),
                        run_before=steps("end", "up", "up", "enter"))


@pytest.mark.usefixtures("wins")
def test_the_reports_view_with_its_bar_charts(snap_compare, app):
    """Attribution over the hand-built wins of test_reports_tui: tables, bars, figures."""
    from .test_reports_tui import open_report

    async def attribution(pilot):
        await open_report(pilot, "attribution")

    assert snap_compare(app(), terminal_size=(100, 40), run_before=steps(then=attribution))


@pytest.mark.usefixtures("wins")
def test_the_funnel_by_month_with_its_line_chart(snap_compare, app, frozen):
    """The funnel's trend, scrolled to: the months' table and its plotext lines."""
    frozen(NEXT_DAY)

    async def to_the_trend(pilot):
        from crmcli.tui.widgets.trend_chart import SectionTrend

        screen = pilot.app.screen
        screen.query_one("#report-body").scroll_to_widget(screen.query_one(SectionTrend),
                                                          animate=False)

    assert snap_compare(app(), terminal_size=(100, 40),
                        run_before=steps("f4", "b", "b", then=to_the_trend))
