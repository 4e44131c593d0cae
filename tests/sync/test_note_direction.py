"""A note's direction (the SLA clock's input) travels both ways, and the shared database
keeps it to in, out or none, never on an internal note, for every writer."""

from __future__ import annotations

import json

import psycopg
import pytest
from test_hostile_clients import as_member, push_as, pushable

from crmcli.ids import new_id

NOW = "2026-01-01T00:00:00+00:00"


def directions(replica, ref: str) -> dict[str, str | None]:
    """The replica's notes on `ref`: body → direction."""
    return {n["body"]: n["direction"]
            for n in json.loads(replica.ok("note", "list", ref, "--format", "json"))}


def test_a_notes_direction_reaches_the_other_replica_and_back(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("note", "add", acme, "they called about the order", "--kind", "call", "--in")
    alice.ok("note", "add", acme, "pricing talk", "--kind", "internal")
    alice.sync()
    bob.sync()
    bob.ok("note", "add", acme, "called them back", "--kind", "call", "--out")
    bob.sync()
    alice.sync()
    expected = {"they called about the order": "in", "pricing talk": None,
                "called them back": "out"}
    assert directions(alice, acme) == directions(bob, acme) == expected
    note = json.loads(alice.ok("note", "list", acme, "--format", "json"))[-1]["id"]
    alice.ok("note", "edit", note, "--out")  # a change, not a new record: the other path
    alice.sync()
    bob.sync()
    assert directions(bob, acme)["they called about the order"] == "out"


def new_note(customer_id: str, author: str, **values) -> dict:
    return {"id": new_id(), "customer_id": customer_id, "kind": "call", "body": "hello",
            "quote": None, "author": author, "at": NOW, "direction": "in",
            "created_at": NOW, "updated_at": NOW, "version": 1, **values}


@pytest.mark.parametrize("values", [{"direction": "sideways"},
                                    {"direction": "in", "kind": "internal"}])
def test_a_member_cannot_store_a_direction_outside_in_and_out(team, acme, postgres, values):
    customer_id = postgres.value("SELECT id FROM customer")
    with as_member(postgres, "bob") as bob:  # holds a role on Acme: adds notes to it
        with pytest.raises(psycopg.errors.CheckViolation, match="note_direction_is_known"):
            push_as(bob, writes={"note": [new_note(customer_id, "bob", **values)]})
        mine = new_note(customer_id, "bob")
        push_as(bob, writes={"note": [mine]})
        stored = pushable(bob, "note", mine["id"])
        with pytest.raises(psycopg.errors.CheckViolation, match="note_direction_is_known"):
            push_as(bob, writes={"note": [{**stored, **values}]})
        assert pushable(bob, "note", mine["id"]) == stored
    assert postgres.rows("SELECT direction FROM note") == [("in",)]


GENERATED = ("crm_insert_fresh_note", "crm_sent_note", "crm_write_note")


def test_a_version_8_team_database_gains_the_direction_and_writes_it(crm, blank_shared, postgres):
    from crmcli.sync import schema
    from helpers import schema_version

    def functions_naming_direction() -> list[str]:
        return [name for (name,) in postgres.rows(
            "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace "
            "AND proname = ANY(%s) AND prosrc LIKE '%%direction%%' ORDER BY proname",
            list(GENERATED))]

    with schema_version(8):  # what the crmcli of schema version 8 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    assert functions_naming_direction() == []
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 8 to {schema.LATEST}" in result.stderr
    assert functions_naming_direction() == sorted(GENERATED)
