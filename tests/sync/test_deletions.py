"""Deletions and merges against concurrent work: every order of arrival keeps the work that
did not survive in a conflict entry, and merges never form a cycle."""

import json

import pytest
from test_merging import conflicts, customer


def assert_gone_everywhere_with_one_entry(members, ref: str) -> dict:
    """The customer is deleted on every replica, each of which holds the same one open
    conflict entry about it; returns that entry."""
    entries = []
    for member in members:
        assert member("customer", "show", ref).exit_code == 3
        [entry] = conflicts(member)
        entries.append(entry)
    assert all(entry == entries[0] for entry in entries)
    return entries[0]


def restore_with_take_mine(member, entry: dict, others) -> None:
    member.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")
    for each in (member, *others):
        each.sync()


def test_a_deletion_arriving_after_an_edit_it_never_saw_keeps_the_edit_in_a_conflict(team, acme):
    alice, bob = team["alice"], team["bob"]
    bob.ok("customer", "edit", acme, "--city", "Hangzhou", "--stage", "won")
    bob.sync()
    alice.ok("customer", "delete", acme)  # alice never pulled bob's edit
    assert alice.sync()["conflicts"] == 1
    bob.sync()
    entry = assert_gone_everywhere_with_one_entry((alice, bob), acme)
    assert (entry["kind"], entry["field"], entry["actor"]) == ("deleted", "city, stage", "bob")
    assert entry["mine"] == {"city": "Hangzhou", "stage": "won"}
    assert entry["base"] == {"city": "Shanghai", "stage": "lead"}  # what alice had seen

    restore_with_take_mine(alice, entry, (bob,))  # restoring is deleting's right: alice's
    for member in (alice, bob):
        record = customer(member, acme)
        assert (record["city"], record["stage"]) == ("Hangzhou", "won")
        assert conflicts(member) == []


def test_a_deletion_of_what_the_deleter_had_seen_is_no_conflict(team, acme):
    alice, bob = team["alice"], team["bob"]
    bob.ok("customer", "edit", acme, "--city", "Hangzhou")
    bob.sync()
    alice.sync()
    alice.ok("customer", "delete", acme)
    assert alice.sync()["conflicts"] == 0
    assert conflicts(bob, "--all") == []


def test_an_edit_pulled_while_a_deletion_waits_to_be_pushed_is_kept_in_a_conflict(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "delete", acme)  # not pushed
    bob.ok("customer", "edit", acme, "--stage", "won")
    bob.sync()
    alice.pull_only()  # as if alice deleted while a sync of hers was running
    assert alice.sync()["conflicts"] == 1
    bob.sync()
    entry = assert_gone_everywhere_with_one_entry((alice, bob), acme)
    assert (entry["kind"], entry["mine"], entry["actor"]) == ("deleted", {"stage": "won"}, "bob")

    restore_with_take_mine(alice, entry, (bob,))
    assert customer(bob, acme)["stage"] == "won"


def names_and_notes(member) -> dict[str, list[str]]:
    """Each live customer's name -> the bodies of its notes (but the notes merges made of
    the values they kept: `merge_notes`)."""
    listed = json.loads(member.ok("customer", "list", "--format", "json"))
    return {
        row["name"]: sorted(note["body"] for note in customer(member, row["id"])["notes"]
                            if not note["body"].startswith("Merged in "))
        for row in listed
    }


def merge_notes(member) -> list[str]:
    """Whom each merge's note on the replica (on any customer, deleted ones too) says was
    merged in."""
    from sqlmodel import select

    from crmcli.models import Note

    with member.session() as s:
        bodies = s.exec(select(Note.body).where(Note.body.startswith("Merged in "))).all()
    return sorted(body.split(" (")[0] for body in bodies)


@pytest.fixture
def pair(team) -> tuple[str, str]:
    """Two customers with a note each, on every replica (their full ids), owned by carol:
    a manager of her own department, she may merge and delete them, as alice (admin) may."""
    alice = team["alice"]
    refs = []
    for name in ("Pine", "Palm"):
        refs.append(customer(alice, alice.ok("customer", "add", name, "--owner", "carol"))["id"])
        alice.ok("note", "add", refs[-1], f"{name} note")
    for member in team.values():
        member.sync()
    return refs[0], refs[1]


def test_two_members_merging_one_pair_in_opposite_directions_make_no_cycle(team, pair):
    alice, carol = team["alice"], team["carol"]
    pine, palm = pair
    alice.ok("customer", "merge", pine, palm)  # keep Pine
    carol.ok("customer", "merge", palm, pine)  # keep Palm
    alice.sync()
    assert carol.sync()["conflicts"] == 1  # carol's merge arrives second: refused
    alice.sync()
    for member in (alice, carol):
        assert names_and_notes(member) == {"Pine": ["Palm note", "Pine note"]}
        assert merge_notes(member) == ["Merged in Palm"]  # carol's refused merge left none
        [entry] = conflicts(member)
        assert (entry["kind"], entry["actor"]) == ("merge", "carol")
        assert (entry["entity_id"], entry["mine"], entry["theirs"]) == (pine, palm, pine)

    carol.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")  # carol's way after all
    carol.sync()
    alice.sync()
    for member in (alice, carol):
        assert names_and_notes(member) == {"Palm": ["Palm note", "Pine note"]}
        assert merge_notes(member) == ["Merged in Palm", "Merged in Pine"]
        assert conflicts(member) == []


def test_a_merge_into_a_customer_deleted_elsewhere_is_refused_into_a_conflict(team, pair):
    alice, carol = team["alice"], team["carol"]
    pine, palm = pair
    alice.ok("customer", "delete", pine)
    carol.ok("customer", "merge", pine, palm)  # keep Pine, which alice deleted
    alice.sync()
    assert carol.sync()["conflicts"] == 1
    alice.sync()
    for member in (alice, carol):
        assert names_and_notes(member) == {"Palm": ["Palm note"]}  # nothing removed
        assert merge_notes(member) == []  # nor its note of what it kept
        [entry] = conflicts(member)
        assert (entry["kind"], entry["entity_id"], entry["mine"], entry["theirs"]) == (
            "merge", palm, pine, None
        )

    carol.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")
    carol.sync()
    alice.sync()
    for member in (alice, carol):
        assert names_and_notes(member) == {"Pine": ["Palm note", "Pine note"]}
        assert merge_notes(member) == ["Merged in Palm"]
