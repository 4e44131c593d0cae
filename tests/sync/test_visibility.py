"""`crm server set visibility own`: members see only the customers they own or hold a role
on, enforced by row-level security, so their replica holds nothing else either."""

import json

import psycopg
import pytest
from test_hostile_clients import as_member, push_as

from crmcli.ids import new_id


@pytest.fixture
def own(crm, team, acme, shared):
    """acme (alice's, bob and carol hold roles) and globex (alice's alone), visibility own."""
    team["alice"].ok("customer", "add", "Globex", "--city", "Beijing")
    team["alice"].ok("note", "add", "Globex", "secret plans")
    team["alice"].sync()
    result = crm("server", "set", "visibility", "own", "--url", shared)
    assert result.exit_code == 0, result.output
    return team


def names(member) -> list[str]:
    return sorted(c["name"] for c in json.loads(member.ok("customer", "list", "--format", "json")))


def test_a_member_sees_and_receives_only_their_customers(own, postgres):
    bob, carol = own["bob"], own["carol"]
    bob.sync()
    carol.sync()
    assert names(bob) == ["Acme Trading"]
    assert names(carol) == ["Acme Trading", "Globex"]  # a manager sees all
    with as_member(postgres, "bob") as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM customer")] == ["Acme Trading"]
        assert "secret plans" not in json.dumps(conn.execute("SELECT body FROM note").fetchall())
        seen = json.dumps(conn.execute("SELECT changes FROM audit_event").fetchall())
        assert "Globex" not in seen


def test_a_reader_reveals_nothing_of_a_customer_out_of_sight(own, postgres):
    own["alice"].ok("field", "access", "id_number", "--grant", "user:bob")
    own["alice"].ok("customer", "edit", "Globex", "--set", "id_number=E12345678")
    own["alice"].sync()
    globex = postgres.value("SELECT id FROM customer WHERE name = 'Globex'")
    with as_member(postgres, "bob") as conn:  # a reader of id_number, Globex out of his sight
        with pytest.raises(psycopg.errors.NoDataFound, match="no customer"):
            conn.execute("SELECT crm_reveal(%s, ARRAY['id_number'])", (globex,))
        with pytest.raises(psycopg.errors.NoDataFound, match="no customer"):
            conn.execute("SELECT crm_reveal(%s, ARRAY['id_number'])", (new_id(),))
    assert postgres.value("SELECT count(*) FROM audit_event WHERE action = 'customer.reveal'") == 0


def test_a_member_cannot_add_to_a_customer_out_of_sight(own, postgres):
    globex = postgres.value("SELECT id FROM customer WHERE name = 'Globex'")
    note = {"id": new_id(), "customer_id": globex, "kind": "internal", "body": "peek",
            "author": "bob", "at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "version": 1}
    with as_member(postgres, "bob") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="visibility = own"):
            push_as(conn, writes={"note": [note]})


def _added(kind: str, customer_id: str) -> dict:
    """A note or task bob adds (as his client would send it) to `customer_id`."""
    stamps = {"created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
              "version": 1, "id": new_id(), "customer_id": customer_id}
    if kind == "note":
        return {**stamps, "kind": "internal", "body": "peek", "author": "bob",
                "at": "2026-01-01T00:00:00Z"}
    return {**stamps, "title": "peek", "assignee": "bob", "priority": "normal",
            "status": "open", "created_by": "bob"}


@pytest.mark.parametrize("kind", ["note", "task"])
def test_one_record_out_of_sight_among_new_ones_in_sight_refuses_the_push(own, postgres, kind):
    """New notes and tasks the shared database writes set-based (schema v6) are judged
    as one by one: one out of sight among several in sight refuses them all."""
    acme = postgres.value("SELECT id FROM customer WHERE name = 'Acme Trading'")
    globex = postgres.value("SELECT id FROM customer WHERE name = 'Globex'")
    records = [_added(kind, acme), _added(kind, acme), _added(kind, globex)]
    with as_member(postgres, "bob") as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="visibility = own"):
            push_as(conn, writes={kind: records})
        push_as(conn, writes={kind: records[:2]})  # those in sight alone are taken
    assert postgres.value(f"SELECT count(*) FROM {kind} WHERE id = ANY(%s)",
                          [r["id"] for r in records]) == 2
    assert postgres.value(f"SELECT count(*) FROM {kind} WHERE customer_id = %s"
                          f" AND {'body' if kind == 'note' else 'title'} = 'peek'", globex) == 0


def test_a_customer_that_leaves_a_members_view_leaves_their_replica(crm, own, shared):
    alice, bob = own["alice"], own["bob"]
    bob.sync()
    acme = json.loads(bob.ok("customer", "list", "--format", "json"))[0]["id"]
    alice.sync()
    alice.ok("assign", acme[-8:], "--to", "carol", "--role", "service")  # bob's role ends
    alice.sync()
    bob.sync()
    assert names(bob) == []
    assert crm("server", "set", "visibility", "all", "--url", shared).exit_code == 0
    bob.sync()
    assert names(bob) == ["Acme Trading", "Globex"]


def test_settings_are_the_owners_and_checked(crm, team, shared):
    assert team["alice"]("server", "set", "visibility", "own").exit_code == 6  # her login
    bad = crm("server", "set", "visibility", "some", "--url", shared)
    assert bad.exit_code == 4 and "one of all, own" in bad.stderr
    assert crm("server", "set", "colour", "red", "--url", shared).exit_code == 4
    assert crm("server", "set", "max_text", "5000", "--url", shared).exit_code == 0
    status = json.loads(crm("server", "status", "--url", shared, "--format", "json").stdout)
    assert status["settings"] == {"max_text": 5000}


def test_a_role_given_on_a_customer_out_of_sight_brings_it_with_its_story(own):
    alice, bob = own["alice"], own["bob"]
    bob.sync()
    alice.sync()
    alice.ok("assign", "Globex", "--to", "bob", "--role", "sales")
    alice.sync()
    bob.sync()
    assert names(bob) == ["Acme Trading", "Globex"]
    shown = json.loads(bob.ok("customer", "show", "Globex", "--format", "json"))
    assert [note["body"] for note in shown["notes"]] == ["secret plans"]


@pytest.mark.parametrize("table", ["customer", "note", "assignment", "audit_event"])
def test_a_members_read_asks_the_visibility_setting_once_not_for_every_row(own, postgres, table):
    with as_member(postgres, "bob") as conn:
        plan = [row[0] for row in conn.execute(
            f"EXPLAIN SELECT id FROM {table} WHERE server_seq > 0 ORDER BY server_seq")]
    assert any("InitPlan" in step for step in plan), plan
    assert not any("crm_visibility_own()" in step for step in plan if "Filter" in step), plan
