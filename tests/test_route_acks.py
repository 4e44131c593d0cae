"""A routed owner acknowledges like a hand-over; one who does not within route.ack_within is
overdue to whoever created the customer: `crm rule pending`, My work, a notification."""

from __future__ import annotations

import json

import pytest

from crmcli.repo import dashboard, notifications

START = "2026-03-02T09:00:00+08:00"
LATER = "2026-03-02T13:30:00+08:00"  # 4h30 later: past the default 4h


@pytest.fixture
def routed(crm, alice, monkeypatch) -> str:
    """alice (admin) adds 展会客户 at START; rule expo routes it to bob."""
    monkeypatch.setenv("CRM_NOW", START)
    assert crm("user", "add", "bob", "--name", "Bob", "--dept", "sales").exit_code == 0
    assert crm("rule", "add", "expo", "--how", "bob").exit_code == 0
    result = crm("customer", "add", "展会客户")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def pending(crm, *args) -> list[dict]:
    result = crm("rule", "pending", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_routed_customer_waits_and_is_overdue_after_four_hours_by_default(
        crm, routed, monkeypatch):
    [waiting] = pending(crm)
    assert (waiting["name"], waiting["owner"], waiting["rule"], waiting["overdue"]) == \
        ("展会客户", "bob", "expo", False)
    assert pending(crm, "--overdue") == []
    monkeypatch.setenv("CRM_NOW", LATER)
    assert [row["overdue"] for row in pending(crm, "--overdue")] == [True]
    assert "overdue" in crm("rule", "pending").stdout
    assert pending(crm, "--as", "bob") == []  # bob created none
    assert len(pending(crm, "--as", "bob", "--all")) == 1


def test_the_time_to_acknowledge_is_a_team_setting(crm, routed, monkeypatch):
    assert crm("setting", "set", "route.ack_within", "1天").exit_code == 0
    assert "1d" in crm("setting", "list").stdout
    monkeypatch.setenv("CRM_NOW", LATER)
    assert pending(crm, "--overdue") == []
    assert crm("setting", "set", "route.ack_within", "soon").exit_code == 4


def test_acknowledging_ends_the_wait(crm, routed, monkeypatch):
    monkeypatch.setenv("CRM_NOW", LATER)
    assert crm("--as", "bob", "ack", routed).exit_code == 0
    assert pending(crm, "--all") == []


def test_an_overdue_routed_owner_shows_in_the_assigners_my_work_and_is_notified(
        crm, routed, monkeypatch, database):
    from crmcli import clock

    with database() as s:
        assert dashboard.my_work(s, "alice").unacknowledged == []
    monkeypatch.setenv("CRM_NOW", LATER)
    with database() as s:
        [late] = dashboard.my_work(s, "alice").unacknowledged
        assert (late.customer.name, late.assignment.user, late.rule) == ("展会客户", "bob", "expo")
        assert dashboard.my_work(s, "bob").unacknowledged == []
        told = [notice for notice in notifications.notices(s, clock.now()).values()
                if notice.kind == "route.overdue"]
    assert [(notice.recipient, notice.title) for notice in told] == [
        ("alice", "Not acknowledged: 展会客户, routed to bob")]
