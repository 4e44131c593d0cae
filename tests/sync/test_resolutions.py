"""One conflict entry resolved differently on two replicas before either synced: the first
resolution to arrive stands, and the second one's sync ends with a new open entry naming
both, the same on every replica (`crmcli.sync.resolutions`)."""

import json


def customer(member, ref: str) -> dict:
    return json.loads(member.ok("customer", "show", ref, "--format", "json"))


def entries(member, *options: str) -> list[dict]:
    return json.loads(member.ok("conflicts", "list", "--format", "json", *options))


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


def test_two_resolutions_that_agree_are_no_conflict(team, acme):
    alice, bob = team["alice"], team["bob"]
    first = stage_conflict(team, acme)
    alice.ok("conflicts", "resolve", first[-8:], "--restore-other")
    bob.ok("conflicts", "resolve", first[-8:], "--restore-other")
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    everyone_syncs(team)
    for member in team.values():
        assert customer(member, acme)["stage"] == "lost"
        assert entries(member) == []

