"""The dashboard's own queries: the change marker, response limits, the last look."""

from crmcli import clock
from crmcli.repo import customers, dashboard, notes
from crmcli.repo.users import Actor

ALICE = Actor("alice", "admin", "sales")


def test_the_change_marker_moves_with_every_write(alice, database):
    with database() as s:
        before = dashboard.change_marker(s)
    with database(write=True) as s:
        customers.create(s, {"name": "王芳"}, by=ALICE)
    with database() as s:
        assert dashboard.change_marker(s) > before


def test_only_contact_with_the_customer_restarts_the_response_limit(
    alice, database, monkeypatch
):
    monkeypatch.setenv("CRM_NOW", "2026-03-02T09:00:00+00:00")
    with database(write=True) as s:
        customer = customers.create(s, {"name": "王芳", "sla": "2h"}, by=ALICE)
        customers.create(s, {"name": "No limit"}, by=ALICE)
    monkeypatch.setenv("CRM_NOW", "2026-03-02T10:30:00+00:00")
    with database(write=True) as s:
        notes.add(s, customer, "Checked the contract", by=ALICE, kind="internal")
    monkeypatch.setenv("CRM_NOW", "2026-03-02T11:01:00+00:00")
    with database() as s:
        [breach] = dashboard.sla_breaches(s, "alice", clock.now())
        assert breach.customer.name == "王芳"
        assert breach.due.isoformat() == "2026-03-02T11:00:00+00:00"
    with database(write=True) as s:
        notes.add(s, customers.resolve(s, "王芳"), "Called her", by=ALICE, kind="call")
    with database() as s:
        assert dashboard.sla_breaches(s, "alice", clock.now()) == []


def test_the_last_look_is_remembered_per_user_and_never_moves_back(alice, database):
    with database(write=True) as s:
        assert dashboard.last_look(s, "alice").seq == 0
        dashboard.remember_look(s, "alice", 7)
        dashboard.remember_look(s, "alice", 3)
    with database() as s:
        assert dashboard.last_look(s, "alice").seq == 7
        assert dashboard.last_look(s, "bob").seq == 0
