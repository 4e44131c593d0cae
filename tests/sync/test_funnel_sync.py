"""The funnel on a team replica: stage changes pulled from the team count as the member's
own do, and what leaves the member's view leaves the figures (the stage history is
derived from the replica's events and customers, whichever way they arrive)."""

import json

from test_pull import narrow_members_to_their_own_customers


def entered(replica, *options: str) -> dict[str, int]:
    found = json.loads(replica.ok("report", "funnel", "--format", "json", *options))
    return {row["stage"]: row["entered"] for rows in found.values() for row in rows
            if row["entered"]}


def test_stage_changes_pulled_from_the_team_count_and_leave_with_the_view(replica, postgres):
    alice = replica("alice", "Alice Wang", "sales")
    bob = replica("bob", "Bob Li", "service")
    narrow_members_to_their_own_customers(postgres)
    alice.sync()
    bob.sync()
    assert entered(bob) == {}  # the history is made (empty) before anything arrives
    mine = alice.ok("customer", "add", "Bob's customer", "--owner", "bob")
    alice.ok("customer", "edit", mine, "--stage", "proposal")
    theirs = alice.ok("customer", "add", "Alice's customer", "--stage", "qualified")
    alice.ok("customer", "edit", theirs, "--stage", "won")
    alice.sync()

    bob.sync()
    assert entered(bob) == {"lead": 1, "proposal": 1}
    assert entered(bob, "--owner", "bob") == {"lead": 1, "proposal": 1}
    bob.ok("customer", "edit", mine, "--stage", "negotiation")
    bob.sync()
    alice.sync()
    assert entered(alice) == {"lead": 1, "proposal": 1, "negotiation": 1, "qualified": 1,
                              "won": 1}

    alice.ok("assign", mine, "--to", "alice")  # the customer leaves bob's view
    alice.sync()
    postgres.run("UPDATE crm_server SET view_epoch = view_epoch + 1")
    bob.sync()
    assert entered(bob) == {}
    assert entered(alice, "--owner", "alice") == {
        "lead": 1, "proposal": 1, "negotiation": 1, "qualified": 1, "won": 1}
