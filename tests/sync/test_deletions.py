"""Deletions against concurrent work: every order of arrival keeps the work that did not
survive in a conflict entry."""

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
    member.ok("conflicts", "resolve", entry["id"][-8:], "--take", "mine")
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

    restore_with_take_mine(bob, entry, (alice,))
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

