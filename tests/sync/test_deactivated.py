"""Work handed to a member deactivated elsewhere: the push hands it over as the deactivation
did (to the colleague it transferred their work to), recorded in the history, and says so."""

import json

from test_merging import current_holders, customer


def add_eve_everywhere(team) -> None:
    alice = team["alice"]
    alice.ok("user", "add", "eve", "--name", "Eve")
    alice.sync()
    team["bob"].sync()


def give_eve_work(bob, acme: str) -> dict[str, str]:
    """A customer eve owns, a task and a role of acme for her; returns their refs."""
    new = bob.ok("customer", "add", "NewForEve", "--owner", "eve")
    task = bob.ok("task", "add", new, "eve task", "--assignee", "eve")
    bob.ok("assign", acme, "--to", "eve", "--role", "service")
    return {"customer": new, "task": task}


def held_by_eve(postgres) -> int:
    """What the shared database leaves with eve: owned customers, open tasks, current roles."""
    return postgres.value(
        "SELECT (SELECT count(*) FROM customer WHERE owner = 'eve' AND deleted_at IS NULL)"
        " + (SELECT count(*) FROM task WHERE assignee = 'eve' AND status = 'open')"
        " + (SELECT count(*) FROM assignment WHERE \"user\" = 'eve' AND until IS NULL)"
    )


def assert_carol_took_over(members, refs: dict[str, str], acme: str) -> None:
    for member in members:
        record = customer(member, refs["customer"])
        assert record["owner"] == "carol"
        assert current_holders(member, refs["customer"]) == {"owner": ["carol"]}
        assert [task["assignee"] for task in record["tasks"]] == ["carol"]
        assert current_holders(member, acme)["service"] == ["carol"]
        assert member.ok("conflicts", "list", "--format", "json") == "[]"


def test_work_given_offline_to_a_member_deactivated_meanwhile_goes_to_their_successor(
    team, acme, postgres
):
    alice, bob = team["alice"], team["bob"]
    add_eve_everywhere(team)
    alice.ok("user", "deactivate", "eve", "--transfer-to", "carol")
    alice.sync()
    refs = give_eve_work(bob, acme)  # bob has not pulled: eve is active on his replica

    result = bob("sync")
    assert result.exit_code == 0, result.output
    assert "handed 3 (customers, tasks, roles) meant for deactivated members" in result.stderr
    alice.sync()

    assert held_by_eve(postgres) == 0
    assert_carol_took_over((alice, bob), refs, acme)
    history = customer(alice, refs["customer"])["history"]
    [moved] = [e for e in history if e["action"] == "customer.update" and e["actor"] == "bob"]
    assert moved["changes"]["owner"] == ["eve", "carol"]
    assert moved["detail"]["reason"] == "eve deactivated"


def test_a_deactivation_arriving_after_work_its_author_never_saw_hands_that_over_too(
    team, acme, postgres
):
    alice, bob = team["alice"], team["bob"]
    add_eve_everywhere(team)
    refs = give_eve_work(bob, acme)
    bob.sync()
    alice.ok("user", "deactivate", "eve", "--transfer-to", "carol")  # alice never pulled bob's
    assert json.loads(alice.ok("sync", "--format", "json"))["handed_over"] == 3
    bob.sync()

    assert held_by_eve(postgres) == 0
    assert_carol_took_over((alice, bob), refs, acme)


def test_a_successor_deactivated_too_passes_the_work_on_to_their_own(team, acme, postgres):
    alice, bob = team["alice"], team["bob"]
    add_eve_everywhere(team)
    alice.ok("user", "add", "dan", "--name", "Dan")
    alice.ok("user", "deactivate", "eve", "--transfer-to", "dan")
    alice.ok("user", "deactivate", "dan", "--transfer-to", "carol")
    alice.sync()
    refs = give_eve_work(bob, acme)

    assert bob.sync()["handed_over"] == 3
    alice.sync()
    assert held_by_eve(postgres) == 0
    assert_carol_took_over((alice, bob), refs, acme)
