"""The shared round-robin turns through a member's own login (plain psycopg): a member takes
turns of an existing round-robin rule through `crm_route_take` and can do nothing else with
it, and cannot read or write the turn counters directly."""

from __future__ import annotations

import psycopg
import pytest
from test_hostile_clients import as_member

WRITTEN = ("users", "setting", "customer", "assignment", "audit_event")


@pytest.fixture
def expo(team, member, postgres) -> None:
    """alice's round-robin rule `expo` to sales (alice and dan), synced; bob is a member
    in service."""
    member("dan", "Dan Zhou", "sales", "member")
    alice = team["alice"]
    alice.sync()
    alice.ok("rule", "add", "expo", "--to", "dept:sales")
    alice.ok("rule", "add", "closest", "--how", "least-open", "--to", "dept:sales")
    alice.sync()


def snapshot(postgres) -> dict[str, int]:
    return {table: postgres.value(f"SELECT count(*) || ':' || coalesce(max(server_seq), 0) "
                                  f"FROM {table}") for table in WRITTEN}


def test_a_member_takes_turns_through_their_own_login_and_writes_nothing_else(expo, postgres):
    before = snapshot(postgres)
    with as_member(postgres, "bob") as bob:
        first = bob.execute("SELECT crm_route_take('expo', 3)").fetchone()[0]
        then = bob.execute("SELECT crm_route_take('expo', 2)").fetchone()[0]
    assert first + then == ["alice", "dan", "alice", "dan", "alice"]
    assert postgres.rows("SELECT rule, last_handle, taken FROM crm_route_turn") == [
        ("expo", "alice", 5)]
    assert snapshot(postgres) == before


def test_the_turn_counters_are_neither_readable_nor_writable_by_a_member(expo, postgres):
    with as_member(postgres, "bob") as bob:
        bob.execute("SELECT crm_route_take('expo', 1)")
        for statement in (
            "SELECT * FROM crm_route_turn",
            "UPDATE crm_route_turn SET last_handle = 'dan'",
            "INSERT INTO crm_route_turn (rule, last_handle) VALUES ('other', 'bob')",
            "DELETE FROM crm_route_turn",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                bob.execute(statement)
    assert postgres.rows("SELECT rule, last_handle, taken FROM crm_route_turn") == [
        ("expo", "alice", 1)]


@pytest.mark.parametrize(("rule", "n", "refusal"), [
    ("closest", 1, "no round-robin rule closest"),  # least-open: no turns to take
    ("nosuch", 1, "no round-robin rule nosuch"),
    ("expo'; DELETE FROM crm_route_turn; --", 1, "no round-robin rule"),
    ("expo", 0, "1 to 10000 at a time"),
    ("expo", 10_001, "1 to 10000 at a time"),
])
def test_a_member_cannot_take_turns_of_what_is_no_round_robin_rule_nor_too_many(
        expo, postgres, rule, n, refusal):
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.Error, match=refusal):
            bob.execute("SELECT crm_route_take(%s, %s)", (rule, n))
    assert postgres.rows("SELECT * FROM crm_route_turn") == []
