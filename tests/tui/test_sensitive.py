"""Sensitive fields on the dashboard: masked or `restricted` on the customer screen and in
its edit form; the reveal action records itself before showing anything."""

import pytest
from sqlmodel import select

from crmcli.models import AuditEvent
from crmcli.repo import customers
from crmcli.tui.screens.customer_form import CustomerFormScreen

from .helpers import another_session, notifications, press, screen_text

ID = "11010519491231002X"


@pytest.fixture
def secret(demo):
    with another_session(demo, "alice") as (s, me):
        customers.update(s, customers.resolve(s, "王芳"),
                         {"id_number": ID, "contract_amount": "50万"}, by=me)
    return demo


def reveals(database) -> list[AuditEvent]:
    with database() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "customer.reveal")))


async def test_a_member_sees_restricted_and_cannot_read_the_value_in_the_form(
    secret, on_customer, monkeypatch
):
    monkeypatch.setenv("CRM_USER", "bob")
    async with on_customer("王芳", size=(120, 50)) as (dashboard, pilot, _):
        shown = screen_text(dashboard)
        assert "restricted" in shown
        assert "002X" not in shown and "500000" not in shown and "¥500,000" not in shown
        await press(pilot, "e")
        assert isinstance(dashboard.screen, CustomerFormScreen)
        field = dashboard.screen.fields["id_number"].control
        assert (field.value, field.disabled) == ("restricted", True)
        assert ID not in screen_text(dashboard)
        await press(pilot, "escape", "escape", "a")  # a new customer: not writable either
        assert isinstance(dashboard.screen, CustomerFormScreen)
        assert dashboard.screen.fields["bank_account"].control.disabled


async def test_a_cleared_reader_sees_a_mask_and_reveals_after_it_is_recorded(
    secret, on_customer, database
):
    seen: list = []
    async with on_customer("王芳", size=(120, 50), message_hook=seen.append) as (
        dashboard, pilot, _
    ):
        shown = screen_text(dashboard)
        assert "••••002X" in shown and "≥100,000" in shown and ID not in shown
        await press(pilot, "e")
        field = dashboard.screen.fields["id_number"].control
        assert (field.value, field.disabled) == ("••••002X", False)
        await press(pilot, "escape")
        await press(pilot, "v")
        assert ID in screen_text(dashboard) and "¥500,000" in screen_text(dashboard)
        assert [event.detail["fields"] for event in reveals(database)] == [
            ["contract_amount", "id_number"]]
        said = [n.message for n in notifications(seen)]
        assert "revealed contract_amount, id_number (recorded in the audit trail)" in said
        await press(pilot, "e", "escape")  # leaving the customer (a form on top) hides them
        assert ID not in screen_text(dashboard) and "••••002X" in screen_text(dashboard)


async def test_a_member_cannot_reveal_and_is_told_whose_rule_it_is(
    secret, on_customer, database, monkeypatch
):
    monkeypatch.setenv("CRM_USER", "bob")
    seen: list = []
    async with on_customer("王芳", message_hook=seen.append) as (dashboard, pilot, _):
        await press(pilot, "v")
        assert ID not in screen_text(dashboard)
        errors = [n.message for n in notifications(seen) if n.severity == "error"]
        assert any("bob (a member of service) may not read" in message for message in errors)
    assert reveals(database) == []


async def test_reveal_is_in_the_palette(on_customer):
    async with on_customer("王芳") as (dashboard, pilot, _):
        titles = {command.title for command in dashboard.get_system_commands(dashboard.screen)}
        assert "Reveal" in titles


async def test_what_changed_masks_sensitive_changes_for_a_member(demo, app, monkeypatch):
    with another_session(demo, "alice") as (s, alice):
        customers.update(s, customers.resolve(s, "Olivia Brown"), {"id_number": ID}, by=alice)
    monkeypatch.setenv("CRM_USER", "bob")
    dashboard = app()
    async with dashboard.run_test(size=(100, 30)) as pilot:
        await press(pilot, "f3")
        shown = screen_text(dashboard)
        assert "id_number: restricted" in shown and ID not in shown
