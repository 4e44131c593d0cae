"""Lead routing on the dashboard: the new-customer form routes by the team's rules, and My
work shows the assigner the routed customers not acknowledged in time."""

from crmcli.repo import customers, routing
from crmcli.tui.screens.customer_form import CustomerFormScreen
from crmcli.tui.screens.my_work import MyWorkScreen

from .helpers import another_session, notifications, press, screen_text, settle

FIVE_HOURS_LATER = "2026-03-02T14:00:00+00:00"


async def test_a_customer_added_on_the_form_without_an_owner_is_routed_by_the_rules(
        demo, app, database):
    with another_session(demo, "alice") as (s, me):
        routing.add(s, "expo", when="来源=展会", to=None, how="bob", by=me)
    seen: list = []
    dashboard = app()
    async with dashboard.run_test(size=(100, 40), message_hook=seen.append) as pilot:
        await settle(pilot)
        await press(pilot, "a")
        assert isinstance(dashboard.screen, CustomerFormScreen)
        dashboard.screen.fields["name"].control.value = "展会新客户"
        dashboard.screen.fields["source"].control.value = "展会"
        await press(pilot, "ctrl+s")
    with database() as s:
        assert customers.resolve(s, "展会新客户").owner == "bob"
    told = " ".join(str(n.message) for n in notifications(seen))
    assert "routed to bob by rule expo" in told


async def test_my_work_shows_the_assigner_a_routed_customer_not_acknowledged_in_time(
        demo, app, frozen):
    with another_session(demo, "alice") as (s, me):
        routing.add(s, "expo", when="", to=None, how="carol", by=me)
        customers.create(s, {"name": "迟迟未确认"}, by=me)
    frozen(FIVE_HOURS_LATER)
    dashboard = app()
    async with dashboard.run_test(size=(100, 50)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        assert isinstance(dashboard.screen, MyWorkScreen)
        shown = screen_text(dashboard)
        assert "Routed by me, not acknowledged in time: 1" in shown
        assert "迟迟未确认" in shown and "carol" in shown
