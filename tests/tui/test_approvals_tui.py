"""Approvals in the dashboard: My work lists those waiting for my decision (approve y,
reject x, each with a reason), the customer screen shows its open ones and asks for one
(p); every action is in the palette too (its bindings)."""

from sqlmodel import select

from crmcli.models import Approval
from crmcli.repo import approvals, customers
from crmcli.tui.screens.my_work import MyWorkScreen

from .helpers import another_session, press, screen_text, settle


def ask_as_bob(demo, name: str = "王芳") -> None:
    with another_session(demo, "bob") as (s, me):
        approvals.request(s, customers.resolve(s, name), kind="contract", amount="50万",
                          reason="renewal", by=me)


async def test_approving_from_my_work_with_a_reason(demo, app, database):
    ask_as_bob(demo)
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        assert isinstance(dashboard.screen, MyWorkScreen)
        assert "Approvals: 1 waiting for me, 0 of mine decided" in screen_text(dashboard)
        assert "¥500,000" in screen_text(dashboard)
        await press(pilot, "y")
        dashboard.screen.fields["reason"].control.value = "signed off"
        await press(pilot, "ctrl+s")
        assert isinstance(dashboard.screen, MyWorkScreen)
        assert "Approvals: 0 waiting for me" in screen_text(dashboard)
    with database() as s:
        [row] = s.exec(select(Approval)).all()
        assert (row.status, row.decided_by, row.decision_reason) == (
            "approved", "alice", "signed off")


async def test_my_requests_decided_by_others_show_in_my_work(demo, app):
    with another_session(demo, "alice") as (s, me):
        approval = approvals.request(s, customers.resolve(s, "李伟"), kind="discount", by=me,
                                     to="dept:marketing")
        approval_id = approval.id
    with another_session(demo, "carol") as (s, me):
        approvals.decide(s, approvals.resolve(s, approval_id), "rejected", by=me,
                         reason="too deep")
    dashboard = app()
    async with dashboard.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "f2")
        text = screen_text(dashboard)
        assert "0 waiting for me, 1 of mine decided" in text
        assert "rejected" in text and "too deep" in text


async def test_the_customer_screen_shows_open_approvals_and_asks_for_one(
        on_customer, database):
    async with on_customer("王芳") as (dashboard, pilot, customer_id):
        assert "Open approvals" not in screen_text(dashboard)
        await press(pilot, "p")
        dashboard.screen.fields["amount"].control.value = "12万"
        dashboard.screen.fields["reason"].control.value = "two-year deal"
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert "Open approvals: contract ¥120,000 (alice → role:manager)" in screen_text(
            dashboard)
    with database() as s:
        [row] = s.exec(select(Approval)).all()
        assert (row.customer_id, row.kind, str(row.amount), row.reason) == (
            customer_id, "contract", "120000", "two-year deal")
