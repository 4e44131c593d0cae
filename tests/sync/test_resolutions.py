"""One conflict entry resolved differently on two replicas before either synced: the first
resolution to arrive stands, and the second one's sync ends with a new open entry naming
both, the same on every replica (`crmcli.sync.resolutions`)."""

import json

import psycopg
import pytest
from test_merging import conflicts as entries
from test_merging import current_holders, customer

from crmcli.ids import new_id
from helpers import schema_version


def stage_conflict(team, acme) -> str:
    """bob's stage "won" reaches the shared database first, alice's "lost" is the other
    value; every replica holds the entry. Returns its id."""
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    bob.ok("customer", "edit", acme, "--stage", "won")
    alice.ok("customer", "edit", acme, "--stage", "lost")
    bob.sync()
    assert alice.sync()["conflicts"] == 1
    bob.sync()
    carol.sync()
    [entry] = entries(bob)
    return entry["id"]


def everyone_syncs(team, first: str = "alice") -> None:
    """`first` syncs, then everyone, then `first` again: all replicas hold the same."""
    for member in (first, "alice", "bob", "carol", first):
        team[member].sync()


def test_two_different_resolutions_make_a_new_entry_naming_both_on_every_replica(team, acme):
    alice, bob = team["alice"], team["bob"]
    first = stage_conflict(team, acme)
    alice.ok("conflicts", "resolve", first[-8:], "--keep-current")  # won stays
    bob.ok("conflicts", "resolve", first[-8:], "--restore-other")  # lost, here
    assert customer(bob, acme)["stage"] == "lost"
    assert alice.sync()["conflicts"] == 0
    report = bob.sync()
    assert (report["conflicts"], report["open_conflicts"]) == (1, 1)
    everyone_syncs(team)
    for member in team.values():
        assert customer(member, acme)["stage"] == "won"  # the first resolution stands
        [closed] = [e for e in entries(member, "--all") if e["id"] == first]
        assert (closed["resolution"], closed["resolved_by"]) == ("theirs", "alice")
        [entry] = entries(member)
        assert (entry["kind"], entry["entity"], entry["entity_id"]) == (
            "resolution", "conflict", first)
        assert (entry["theirs"]["resolution"], entry["theirs"]["by"]) == ("theirs", "alice")
        assert (entry["mine"]["resolution"], entry["mine"]["by"]) == ("mine", "bob")
        assert entry["actor"] == "bob"
        assert entry["record"] == f"customer Acme Trading: stage (conflict {first[-8:]})"
    shown = team["carol"].ok("conflicts", "show", entry["id"][-8:])
    lines = {line.split()[0]: line for line in shown.splitlines() if line.strip()}
    assert "keep current" in lines["current"] and "by alice" in lines["current"]
    assert "restore other" in lines["other"] and "by bob" in lines["other"]

    # deciding between them: bob's way after all, for everyone
    alice.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")
    everyone_syncs(team)
    for member in team.values():
        assert customer(member, acme)["stage"] == "lost"
        assert entries(member) == []
    assert len({json.dumps(entries(member, "--all"), sort_keys=True)
                for member in team.values()}) == 1  # the same entries everywhere


def test_an_overruled_hand_over_leaves_no_second_holder_on_its_replica(team, acme):
    """A resolution that handed a role over, arriving second: the role stays with the
    standing holder on every replica, the handed-over role leaves the resolver's."""
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    bob.ok("assign", acme, "--to", "alice", "--role", "service")
    alice.ok("assign", acme, "--to", "carol", "--role", "service")
    alice.sync()
    assert bob.sync()["conflicts"] == 1
    everyone_syncs(team)
    [first] = entries(carol)
    assert (first["entity"], first["theirs"], first["mine"]) == ("assignment", "carol", "alice")
    carol.ok("conflicts", "resolve", first["id"][-8:], "--keep-current")
    alice.ok("conflicts", "resolve", first["id"][-8:], "--restore-other")
    assert current_holders(alice, acme)["service"] == ["alice"]
    carol.sync()
    assert alice.sync()["conflicts"] == 1
    everyone_syncs(team)
    for member in team.values():
        assert current_holders(member, acme)["service"] == ["carol"]
        [entry] = entries(member)
        assert (entry["kind"], entry["mine"]["by"], entry["theirs"]["by"]) == (
            "resolution", "alice", "carol")
    alice.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")
    everyone_syncs(team)
    for member in team.values():
        assert current_holders(member, acme)["service"] == ["alice"]
        assert entries(member) == []
    assert len({json.dumps(entries(member, "--all"), sort_keys=True)
                for member in team.values()}) == 1  # the same entries everywhere

def test_the_second_of_two_new_values_is_kept_and_can_be_restored(team, acme):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    first = stage_conflict(team, acme)
    bob.ok("conflicts", "resolve", first[-8:], "--value", "proposal")
    carol.ok("conflicts", "resolve", first[-8:], "--value", "negotiation")
    bob.sync()
    assert carol.sync()["conflicts"] == 1
    everyone_syncs(team)
    for member in team.values():
        assert customer(member, acme)["stage"] == "proposal"
        [entry] = entries(member)
        assert entry["theirs"] | {"at": None} == {"resolution": "value", "by": "bob", "at": None}
        assert entry["mine"] | {"at": None} == {
            "resolution": "value", "by": "carol", "at": None, "value": "negotiation"}
    assert "new value negotiation" in alice.ok("conflicts", "show", entry["id"][-8:])
    carol.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")
    everyone_syncs(team, "carol")
    for member in team.values():
        assert customer(member, acme)["stage"] == "negotiation"
        assert entries(member) == []


def test_keeping_the_current_resolution_closes_the_new_entry_and_changes_nothing(team, acme):
    alice, bob = team["alice"], team["bob"]
    first = stage_conflict(team, acme)
    alice.ok("conflicts", "resolve", first[-8:], "--restore-other")  # lost
    bob.ok("conflicts", "resolve", first[-8:], "--keep-current")  # won
    alice.sync()
    assert bob.sync()["conflicts"] == 1
    [entry] = entries(bob)
    assert customer(bob, acme)["stage"] == "lost"
    bob.ok("conflicts", "resolve", entry["id"][-8:], "--keep-current")  # his own: he may
    everyone_syncs(team, "bob")
    for member in team.values():
        assert customer(member, acme)["stage"] == "lost"
        assert entries(member) == []


@pytest.mark.parametrize("choice", [("--restore-other",), ("--value", "proposal")])
def test_two_resolutions_that_agree_are_no_conflict(team, acme, choice):
    alice, bob = team["alice"], team["bob"]
    first = stage_conflict(team, acme)
    alice.ok("conflicts", "resolve", first[-8:], *choice)
    bob.ok("conflicts", "resolve", first[-8:], *choice)
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    everyone_syncs(team)
    for member in team.values():
        assert customer(member, acme)["stage"] == ("lost" if len(choice) == 1 else "proposal")
        assert entries(member) == []


def test_a_sensitive_value_only_an_overruled_resolution_set_is_not_sent():
    from crmcli.models import AuditEvent
    from crmcli.sync.resolutions import taken_secrets

    def event(changes: dict) -> AuditEvent:
        return AuditEvent(id=new_id(), actor="bob", action="customer.update",
                          entity="customer", entity_id="c1", changes=changes)

    overruled = event({"contract_amount": ["restricted", "100"],
                       "extra": [{}, {"salary": "9000"}]})
    edit = event({"id_number": ["restricted", "11010519491231002X"],
                  "extra": [{"region": "north"}, {"region": "south"}]})
    secrets = {"c1": {"contract_amount": "100", "salary": "9000",
                      "id_number": "11010519491231002X"}}
    assert taken_secrets(secrets, [overruled, edit], frozenset({overruled.id})) == {
        "c1": {"id_number": "11010519491231002X"}}
    assert taken_secrets(secrets, [overruled, edit], frozenset()) == secrets



def test_the_shared_database_refuses_an_entry_between_resolutions_that_is_not_true(
        team, acme, postgres, member):
    from test_hostile_clients import NOW, as_member, push_as, pushable, refused

    first = stage_conflict(team, acme)
    team["alice"].ok("conflicts", "resolve", first[-8:], "--keep-current")
    team["alice"].sync()
    acme_id, resolved_at = postgres.rows(
        "SELECT customer_id, resolved_at FROM conflict WHERE id = %s", first)[0]
    true = {
        "id": new_id(), "kind": "resolution", "entity": "conflict", "entity_id": first,
        "customer_id": acme_id, "field": "resolution", "base": None,
        "mine": {"resolution": "mine", "by": "bob", "at": NOW},
        "theirs": {"resolution": "theirs", "by": "alice", "at": resolved_at.isoformat()},
        "actor": "bob", "made_at": NOW, "event_id": new_id(), "resolution": None,
        "resolved_by": None, "resolved_at": None, "created_at": NOW, "updated_at": NOW,
        "version": 1,
    }
    rule = f"bob may not keep two resolutions of conflict entry {first[-8:]}: "
    untrue = {
        "the resolution that stands is alice's": [
            {"theirs": {**true["theirs"], "by": "carol"}},
            {"theirs": {**true["theirs"], "resolution": "mine"}},
            {"theirs": {**true["theirs"], "at": NOW}}],
        "the other resolution is the entry's author's own": [
            {"mine": {**true["mine"], "by": "carol"}},
            {"mine": {**true["mine"], "resolution": "both"}}],
        "it is about an entry resolved already": [{"entity_id": new_id()}],
        "an entry about a conflict entry is of kind resolution": [{"kind": "edit"}],
        "it is about the customer of the entry it is about": [{"customer_id": None}],
    }
    with as_member(postgres, "bob") as bob:
        for reason, changes in untrue.items():
            for change in changes:
                wrong = {**true, **change, "id": new_id()}
                if "entity_id" in change:
                    rule_here = rule.replace(first[-8:], change["entity_id"][-8:])
                else:
                    rule_here = rule
                with pytest.raises(psycopg.errors.InsufficientPrivilege) as refusal:
                    push_as(bob, entries=[wrong])
                assert str(refusal.value).startswith(rule_here + reason), str(refusal.value)
        push_as(bob, entries=[true])
    assert postgres.rows("SELECT kind, actor FROM conflict WHERE entity = 'conflict'") == [
        ("resolution", "bob")]

    # resolving it takes what writing into Acme takes, or giving up one's own
    member("dan", "Dan Wu", "sales", "member")  # no role on Acme
    with as_member(postgres, "dan") as dan:
        entry = pushable(dan, "conflict", true["id"])
        keep = {**entry, "resolution": "theirs", "resolved_at": NOW}
        refused(dan, "conflict", keep, r"dan may not change customer \w+ \(Acme Trading\)")
    with as_member(postgres, "bob") as bob:
        push_as(bob, writes={"conflict": [keep]})
    assert postgres.rows("SELECT resolution, resolved_by FROM conflict WHERE id = %s",
                         true["id"]) == [("theirs", "bob")]


def test_upgrading_a_version_4_team_database_brings_the_check_of_entries_between_resolutions(
        crm, blank_shared, postgres):
    from crmcli.sync import schema

    with schema_version(4):  # what the crmcli of schema version 4 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    postgres.run(  # as version 4 left it: a new entry was checked for its author alone
        "CREATE OR REPLACE FUNCTION crm_check_entry(who crm_who, item jsonb, writes jsonb, "
        "adding jsonb) RETURNS void LANGUAGE plpgsql AS $$ BEGIN END $$")
    body = ("SELECT prosrc FROM pg_proc WHERE proname = %s "
            "AND pronamespace = current_schema()::regnamespace")
    assert postgres.rows(body, "crm_check_resolution_entry") == []
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert f"from schema version 4 to {schema.LATEST}" in result.stderr
    assert "crm_check_resolution_entry" in postgres.value(body, "crm_check_entry")
    assert "the resolution that stands is" in postgres.value(body, "crm_check_resolution_entry")
    assert "WHEN 'conflict'" in postgres.value(body, "crm_require_resolves")
