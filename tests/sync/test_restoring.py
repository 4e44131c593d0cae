"""`crm customer restore` on a team: a restore reaches every replica, and the shared
database judges who may make it, whatever the client."""

import psycopg
import pytest
from test_hostile_clients import as_member, push_as, pushable
from test_merging import customer

from crmcli.ids import new_id


@pytest.fixture
def deleted_initech(team) -> str:
    """Alice's customer Initech (sales), with a note, a task for bob and bob in the service
    role, deleted by alice; every replica synced after."""
    alice = team["alice"]
    ref = alice.ok("customer", "add", "Initech", "--city", "Shanghai")
    alice.ok("note", "add", ref, "wants a demo")
    alice.ok("task", "add", ref, "book the demo", "--assignee", "bob")
    alice.ok("assign", ref, "--to", "bob", "--role", "service")
    alice.sync()
    alice.ok("customer", "delete", ref)
    alice.sync()
    for member in team.values():
        member.sync()
    return ref


def test_a_restore_on_one_replica_reaches_the_others_with_notes_tasks_and_roles(
    team, deleted_initech, replica
):
    bob = team["bob"]
    assert bob("customer", "show", deleted_initech).exit_code == 3
    dave = replica("dave", "Dave", "sales", "manager")  # a manager of the owner's department
    dave.sync()
    dave.ok("customer", "restore", deleted_initech)
    dave.sync()
    bob.sync()
    record = customer(bob, deleted_initech)
    assert record["city"] == "Shanghai"
    assert [n["body"] for n in record["notes"]] == ["wants a demo"]
    assert [t["title"] for t in record["tasks"]] == ["book the demo"]
    assert {(a["role"], a["user"]) for a in record["assignments"] if a["until"] is None} == {
        ("owner", "alice"), ("service", "bob")}
    assert [e["actor"] for e in record["history"] if e["action"] == "customer.restore"] == ["dave"]
    assert "Initech" in bob.ok("customer", "find", "Initech")


def test_a_member_may_not_restore_and_postgresql_refuses_it_through_their_own_login(
    team, deleted_initech, postgres
):
    refused = team["bob"]("customer", "restore", deleted_initech)  # the client says so first
    assert refused.exit_code == 6 and "bob may not restore customer Initech" in refused.stderr
    initech = postgres.value("SELECT id FROM customer WHERE name = 'Initech'")
    with as_member(postgres, "bob") as bob:  # a modified client sends what a restore sends
        row = pushable(bob, "customer", initech)
        restore = {
            "id": new_id(), "at": "2026-01-01T00:00:00+00:00", "actor": "bob",
            "action": "customer.restore", "entity": "customer", "entity_id": initech,
            "customer_id": initech, "changes": {"deleted_at": [row["deleted_at"], None]},
            "detail": {},
        }
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="bob may not restore customer .* only managers of sales and admins delete, merge or restore it"):
            push_as(bob, events=[restore], writes={"customer": [{**row, "deleted_at": None}]})
    assert postgres.value("SELECT deleted_at FROM customer WHERE id = %s", initech)
    assert postgres.value(
        "SELECT count(*) FROM audit_event WHERE action = 'customer.restore'") == 0
