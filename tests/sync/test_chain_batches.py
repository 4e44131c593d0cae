"""Schema version 8 chains a push's events in one statement (`judge_chain`): the same chain
as the row triggers made, which still chain every other insert; nothing of it comes from
the client; and a database of version 7 upgrades with its chain running on."""

from __future__ import annotations

import json

import psycopg
import pytest
from test_hostile_clients import as_member, event, push_as

from crmcli.ids import new_id
from crmcli.sync import schema, security
from helpers import schema_version


def verified(crm, url: str) -> dict:
    result = crm("audit", "verify", "--url", url, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def link_after(postgres, event_id: str) -> tuple[str, str]:
    """(prev_hash of the event, hash of the one before it in the chain)."""
    return postgres.rows(
        "SELECT e.prev_hash, (SELECT p.hash FROM audit_event p WHERE p.server_seq < e.server_seq "
        "ORDER BY p.server_seq DESC LIMIT 1) FROM audit_event e WHERE e.id = %s", event_id)[0]


def owners_event(postgres) -> str:
    """An event the owner inserts by hand, as psql would (the row triggers chain it)."""
    event_id = new_id()
    postgres.run(
        "INSERT INTO audit_event (id, at, actor, action, entity, changes, detail) "
        "VALUES (%s, now(), 'owner', 'note.create', 'note', '{}', '{}')", event_id)
    return event_id


def test_a_version_7_team_database_upgrades_and_its_chain_runs_on(
        crm, blank_shared, postgres):
    with schema_version(7):  # what the crmcli of schema version 7 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    before = [event("@postgres") for _ in range(3)]
    push_as(postgres.conn, events=before)  # chained by version 7's row triggers
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 7 to {schema.LATEST}" in result.stderr
    after = [event("@postgres") for _ in range(3)]
    push_as(postgres.conn, events=after)  # chained in one statement
    by_hand = owners_event(postgres)
    push_as(postgres.conn, events=[event("@postgres")])
    verdict = verified(crm, blank_shared)
    assert verdict["intact"] is True and verdict["events"] == 8
    for event_id in (after[0]["id"], after[1]["id"], by_hand):
        prev_hash, previous = link_after(postgres, event_id)
        assert prev_hash == previous is not None
    assert postgres.value("SELECT login FROM audit_event WHERE id = %s", by_hand) == "postgres"


def test_a_member_cannot_give_a_pushed_event_its_stamps_or_links(team, acme, crm, shared, postgres):
    """Whatever a modified client puts in an event beside its contents (a number, a time,
    a login, hashes), the server's own are stored; an id given twice, or one the trail
    holds, is stored once; the chain holds."""
    stored = postgres.value("SELECT id FROM audit_event ORDER BY server_seq LIMIT 1")
    newest = postgres.value("SELECT max(server_seq) FROM audit_event")
    forged = {"server_seq": 1, "server_at": "2000-01-01T00:00:00+00:00", "login": "alice",
              "prev_hash": "0" * 64, "hash": "f" * 64}
    first, second = event("bob", **forged), event("bob", **forged)
    twice = {**first, "detail": {"again": True}}
    with as_member(postgres, "bob") as bob:
        push_as(bob, events=[first, twice, {**event("bob"), "id": stored}, second])
        now = bob.execute("SELECT now()").fetchone()[0]
    rows = postgres.rows(
        "SELECT id, server_seq, server_at, login, detail FROM audit_event "
        "WHERE server_seq > %s ORDER BY server_seq", newest)
    assert [row[0] for row in rows] == [first["id"], second["id"]]
    for _id, server_seq, server_at, login, detail in rows:
        assert server_seq > newest and abs((now - server_at).total_seconds()) < 60
        assert login.endswith("_bob") and detail == {}
    verdict = verified(crm, shared)
    assert verdict["intact"] is True and verdict["head"] != "f" * 64
    assert link_after(postgres, first["id"])[0] != "0" * 64


@pytest.mark.parametrize(("text", "refused"), [
    ("x" * 1001, True),
    ("长" * 1001, True),
    ("长" * 400, False),  # 1,200 bytes: characters are counted, not bytes
])
def test_a_value_in_a_pushed_event_is_held_to_max_text(team, acme, postgres, text, refused):
    postgres.run("""UPDATE crm_server SET settings = settings || '{"max_text": 1000}'""")
    sent = event("bob", changes={"requirement": [None, text]})
    with as_member(postgres, "bob") as bob:
        if refused:
            with pytest.raises(psycopg.errors.StringDataRightTruncation,
                               match="changes is longer than 1000 characters"):
                push_as(bob, events=[sent])
        else:
            push_as(bob, events=[sent])
    assert postgres.value("SELECT count(*) FROM audit_event WHERE id = %s", sent["id"]) == (
        0 if refused else 1)


def test_a_member_may_call_only_the_functions_members_use(team, postgres):
    """The chain's pieces (`crm_insert_events`, the aggregate `crm_chained`) and every other
    `crm_` function run inside `crm_push`, not on their own: a member's login may execute
    security.FUNCTIONS and nothing else of the team's schema."""
    with as_member(postgres, "bob") as bob:
        callable_by_bob = {row[0] for row in bob.execute(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "WHERE p.pronamespace = current_schema()::regnamespace "
            "AND p.proname LIKE 'crm\\_%' AND has_function_privilege(p.oid, 'EXECUTE')")}
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function crm_insert_events"):
            bob.execute("SELECT crm_insert_events('[]'::jsonb)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for function crm_chained"):
            bob.execute("SELECT crm_chained(NULL, 'x') OVER () FROM (VALUES (1)) v")
    assert callable_by_bob == {f.replace(", ", ",") for f in security.FUNCTIONS}  # (as pg prints)
