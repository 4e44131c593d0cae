""""Not the same" marks on a team (README "Data quality and duplicates"): a mark made on
one replica reaches the others, so nobody's `crm dedupe` proposes the pair again; the
shared database judges every mark through the member's own login
(`sync/judge_distinct.py`), and a version 9 team database upgrades to hold them.

acme is alice's, with a role for bob and carol (`acme` fixture); its twin is alice's too.
"""

import json

import psycopg
import pytest
from test_hostile_clients import as_member, push_as, pushable, refused, shared_row

from crmcli.ids import new_id
from crmcli.repo.distinct_pairs import ordered


def customer_ids(postgres, name: str) -> list[str]:
    return [row[0] for row in postgres.rows(
        "SELECT id FROM customer WHERE name = %s ORDER BY id", name)]


@pytest.fixture
def twins(team, acme, postgres) -> tuple[str, str]:
    """A second Acme Trading (a copy alice made at an exhibition) on every replica; the
    two ids in their canonical order."""
    alice = team["alice"]
    alice.ok("customer", "add", "Acme Trading", "--city", "Shanghai", "--allow-duplicate")
    alice.sync()
    for handle in ("bob", "carol"):
        team[handle].sync()
    first, second = customer_ids(postgres, "Acme Trading")
    return first, second


def mark_row(first: str, second: str, marked_by: str, **changes) -> dict:
    """A mark as a modified client would push it."""
    return {
        "id": new_id(), "first_id": first, "second_id": second, "marked_by": marked_by,
        "reason": None, "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "version": 1, "deleted_at": None, **changes,
    }


def proposed(replica) -> list[dict]:
    return json.loads(replica.ok("dedupe", "--list", "--format", "json", "--min-score", "0"))


def test_a_mark_made_on_one_replica_reaches_the_others_and_so_does_its_withdrawal(
        team, twins):
    alice, bob = team["alice"], team["bob"]
    assert len(proposed(alice)) == 1
    mark = bob.ok("dedupe", "not-same", "add", twins[0][-8:], twins[1][-8:],
                  "--reason", "两家不同的公司")
    assert bob.sync()["conflicts"] == 0
    alice.sync()
    assert proposed(alice) == []
    [row] = json.loads(alice.ok("dedupe", "not-same", "list", "--format", "json"))
    assert (row["marked_by"], row["reason"], row["first"], row["second"]) == (
        "bob", "两家不同的公司", *twins)
    bob.ok("dedupe", "not-same", "withdraw", mark)
    bob.sync()
    alice.sync()
    assert len(proposed(alice)) == 1
    assert json.loads(alice.ok("dedupe", "not-same", "list", "--format", "json")) == []


def test_two_members_marking_the_same_pair_offline_both_keep_it_out(team, twins, postgres):
    alice, bob = team["alice"], team["bob"]
    alice.ok("dedupe", "not-same", "add", *twins)
    bob.ok("dedupe", "not-same", "add", *twins)
    assert alice.sync()["conflicts"] == 0
    assert bob.sync()["conflicts"] == 0
    alice.sync()
    assert postgres.value("SELECT count(*) FROM distinct_pair WHERE deleted_at IS NULL") == 2
    assert proposed(alice) == [] and proposed(bob) == []


def test_a_merge_on_one_replica_and_a_mark_on_another_agree(team, twins, postgres):
    """bob says acme and a third Acme are not the same; alice merges acme into its twin
    meanwhile: the mark follows the merge, so the twin and the third stay apart."""
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "add", "Acme Trading", "--allow-duplicate")
    alice.sync()
    bob.sync()
    third = next(i for i in customer_ids(postgres, "Acme Trading") if i not in twins)
    bob.ok("dedupe", "not-same", "add", twins[0], third)
    alice.ok("customer", "merge", twins[1], twins[0])
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    alice.sync()
    for member in (alice, bob):
        assert proposed(member) == []


def test_the_server_stamps_who_marked_and_when_not_the_client(team, twins, postgres):
    with as_member(postgres, "bob") as bob:
        made = mark_row(*twins, "alice", created_at="2001-01-01T00:00:00Z")
        push_as(bob, writes={"distinct_pair": [made]})
        stored = shared_row(bob, "distinct_pair", made["id"])
        now = bob.execute("SELECT now()").fetchone()[0]
    assert stored["marked_by"] == "bob"
    assert abs((now - stored["created_at"]).total_seconds()) < 60


def test_a_mark_never_changes_and_is_withdrawn_only_by_its_author_or_an_admin(
        team, twins, postgres):
    with as_member(postgres, "bob") as bob:
        made = mark_row(*twins, "bob")
        push_as(bob, writes={"distinct_pair": [made]})
        row = pushable(bob, "distinct_pair", made["id"])
        for change in ({"reason": "changed my mind"}, {"marked_by": "carol"},
                       {"first_id": twins[1], "second_id": twins[0]}):
            refused(bob, "distinct_pair", {**row, **change},
                    'bob may not change the "not the same" mark .*: a mark never changes')
    withdrawn = {**row, "deleted_at": "2026-01-02T00:00:00Z"}
    with as_member(postgres, "carol") as carol:  # a manager, but not its author
        refused(carol, "distinct_pair", withdrawn,
                "carol may not withdraw .*: only bob, who made it, or an admin withdraws it")
    with as_member(postgres, "bob") as bob:
        push_as(bob, writes={"distinct_pair": [withdrawn]})
        gone = pushable(bob, "distinct_pair", made["id"])
        assert gone["deleted_at"] is not None
        refused(bob, "distinct_pair", {**gone, "deleted_at": None},
                "a mark never changes once made; it is only withdrawn")


def test_two_customers_in_their_canonical_order_only(team, twins, postgres):
    with as_member(postgres, "bob") as bob:
        with pytest.raises(psycopg.errors.CheckViolation, match="distinct_pair_in_order"):
            push_as(bob, writes={"distinct_pair": [mark_row(twins[1], twins[0], "bob")]})
        with pytest.raises(psycopg.errors.CheckViolation, match="distinct_pair_in_order"):
            push_as(bob, writes={"distinct_pair": [mark_row(twins[0], twins[0], "bob")]})
    assert postgres.value("SELECT count(*) FROM distinct_pair") == 0


def test_with_visibility_own_a_member_marks_and_reads_only_customers_they_see(
        crm, team, twins, shared, postgres):
    team["alice"].ok("customer", "add", "Globex", "--city", "Beijing")  # alice's alone
    team["alice"].sync()
    [globex] = customer_ids(postgres, "Globex")
    assert crm("server", "set", "visibility", "own", "--url", shared).exit_code == 0
    with as_member(postgres, "bob") as bob:  # holds a role on acme, none on Globex
        refused(bob, "distinct_pair", mark_row(*ordered(twins[0], globex), "bob"),
                "bob may not say customers .* are not the same: with visibility = own, "
                "members mark only customers they own or hold a role on")
    with as_member(postgres, "alice") as alice:
        theirs = mark_row(*ordered(twins[0], globex), "alice")
        push_as(alice, writes={"distinct_pair": [theirs]})
    with as_member(postgres, "bob") as bob:
        assert bob.execute("SELECT count(*) FROM distinct_pair").fetchone()[0] == 0
    with as_member(postgres, "carol") as carol:  # a manager sees every customer
        assert carol.execute("SELECT count(*) FROM distinct_pair").fetchone()[0] == 1
        push_as(carol, writes={"distinct_pair": [mark_row(*ordered(twins[1], globex), "carol")]})
        assert carol.execute("SELECT count(*) FROM distinct_pair").fetchone()[0] == 2


def test_a_version_9_team_database_upgrades_and_then_syncs_marks(
        crm, blank_shared, postgres, request):
    from crmcli.sync import schema
    from helpers import schema_version

    with schema_version(9):  # what the crmcli of schema version 9 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    assert postgres.value("SELECT to_regclass('distinct_pair')") is None
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 9 to {schema.LATEST}" in result.stderr
    team = request.getfixturevalue("team")  # members join the upgraded database
    alice, bob = team["alice"], team["bob"]
    for _ in range(2):
        alice.ok("customer", "add", "Initech", "--phone", "13800138000", "--allow-duplicate")
    alice.sync()
    bob.sync()
    first, second = customer_ids(postgres, "Initech")
    bob.ok("dedupe", "not-same", "add", first, second)
    bob.sync()
    alice.sync()
    assert proposed(alice) == []
    assert postgres.value("SELECT marked_by FROM distinct_pair") == "bob"
