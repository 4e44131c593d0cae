"""The pull of a sync leaves out what its push stored exactly as the replica holds it.

`crm_push` says which rows it stored as sent (schema version 7); the pull that follows
reads the others only. What is watched is what the pull writes into the replica
(`pull_apply`, spied on, nothing replaced); what is asserted is the replica afterwards,
compared with a fresh replica of the same member that pulled everything.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict

import pytest
from test_clocks import shifted
from test_deactivated import add_eve_everywhere
from test_pull_resume import another_replica_of, dump
from test_refusals import legacy_write

from helpers import schema_version

BATCH = {"CRM_SYNC_BATCH": "3"}


@pytest.fixture
def pulled(monkeypatch) -> dict[str, set[str]]:
    """entity -> the ids of the rows (and events) the pulls of this test wrote in."""
    from crmcli.sync import pull_apply

    seen: dict[str, set[str]] = defaultdict(set)
    rows, events = pull_apply.apply_rows, pull_apply.apply_events

    def apply_rows(s, synced, page, unpushed):
        seen[synced.entity].update(row["id"] for row in page)
        return rows(s, synced, page, unpushed)

    def apply_events(s, page):
        seen["event"].update(event["id"] for event in page)
        return events(s, page)

    monkeypatch.setattr(pull_apply, "apply_rows", apply_rows)
    monkeypatch.setattr(pull_apply, "apply_events", apply_events)
    return seen


def ids(member, query: str) -> set[str]:
    with sqlite3.connect(member.path) as conn:
        return {row[0] for row in conn.execute(query)}


def test_after_a_push_the_replica_holds_what_a_fresh_replica_of_its_member_pulls(
        crm, shared, team, tmp_path, pulled):
    alice, bob = team["alice"], team["bob"]
    document = tmp_path / "offer.txt"
    document.write_text("the offer")
    for number in range(3):
        ref = alice.ok("customer", "add", f"Customer {number}", "--city", "Shanghai")
        alice.ok("note", "add", ref, f"called {number}", "--attach", str(document))
        alice.ok("task", "add", ref, f"send offer {number}")
    alice.ok("customer", "edit", ref, "--level", "A")
    # made by a clock five hours ahead: the shared database stamps it no later than now
    ahead = alice.ok("customer", "add", "Ahead Ltd", env=shifted(+5))
    bob.ok("customer", "add", "Bob's Own")
    bob.sync()
    pulled.clear()

    report = alice.sync(env=BATCH)

    assert report["pushed"] == len(ids(alice, "SELECT id FROM audit_event WHERE actor = 'alice'"
                                           " AND action NOT LIKE 'user.%'"))
    ahead_id = json.loads(alice.ok("customer", "show", ahead, "--format", "json"))["id"]
    bobs = ids(alice, "SELECT id FROM customer WHERE name = 'Bob''s Own'")
    assert pulled["customer"] == bobs | {ahead_id}  # the rest came back as it left
    assert not pulled["note"] and not pulled["task"] and not pulled["attachment"]
    assert pulled["event"] == ids(alice, "SELECT id FROM audit_event WHERE actor = 'bob'")

    held = dump(alice)
    fresh = another_replica_of(crm, shared, "alice", tmp_path)
    fresh.sync()
    alice.sync()  # (its own `crm init` left an event alice's replica pulls now)
    assert dump(alice) == dump(fresh)
    assert all(dump(alice)[kind] == held[kind]
               for kind in ("customer", "note", "attachment", "task", "assignment"))


def test_new_records_the_shared_database_changed_on_the_way_arrive_as_it_holds_them(
        team, postgres, pulled):
    """A customer meant for a member deactivated meanwhile goes to their successor (the
    push changed it), and one holding a NUL travels with U+FFFD in its place (the shared
    database cannot hold one): the replica that pushed them shows them as shared."""
    alice, bob = team["alice"], team["bob"]
    add_eve_everywhere(team)
    alice.ok("user", "deactivate", "eve", "--transfer-to", "carol")
    alice.sync()
    for_eve = bob.ok("customer", "add", "NewForEve", "--owner", "eve")
    legacy = bob.ok("customer", "add", "Legacy Ltd")
    legacy_write(bob, legacy, city="Bei\x00jing")
    pulled.clear()

    assert bob.sync()["handed_over"] == 1

    shown = {ref: json.loads(bob.ok("customer", "show", ref, "--format", "json"))
             for ref in (for_eve, legacy)}
    assert shown[for_eve]["owner"] == "carol"
    assert shown[legacy]["city"] == "Bei\ufffdjing"
    assert pulled["customer"] == {record["id"] for record in shown.values()}
    assert postgres.rows("SELECT name, owner, city FROM customer WHERE id = ANY(%s) "
                         "ORDER BY name", [record["id"] for record in shown.values()]) == [
        ("Legacy Ltd", "bob", "Bei\ufffdjing"), ("NewForEve", "carol", None)]


def test_a_team_database_of_version_6_whose_push_returned_a_number_upgrades(
        crm, blank_shared, postgres, request):
    """Before version 7 `crm_push` returned the change numbering's head: a type no
    CREATE OR REPLACE may change, so the upgrade drops it first. (The database is made
    as version 6 made it: rerunning later versions' scripts over a newer one would
    create their tables twice.)"""
    from crmcli.sync import schema

    with schema_version(6):
        made = crm("server", "init", "--url", blank_shared)
        assert made.exit_code == 0, made.output
    postgres.run("DROP FUNCTION crm_push(bigint, jsonb, jsonb, jsonb, text[], bytea[]);"
                 "CREATE FUNCTION crm_push(bigint, jsonb, jsonb, jsonb, text[], bytea[]) "
                 "RETURNS bigint LANGUAGE sql AS 'SELECT crm_head()'")
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 6 to {schema.LATEST}" in result.stderr
    alice = request.getfixturevalue("replica")("alice")  # its `shared`: up to date already
    alice.ok("customer", "add", "Initech")
    assert alice.sync()["pushed"] >= 1
    assert postgres.value("SELECT name FROM customer") == "Initech"
