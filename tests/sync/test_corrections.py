"""Corrections on a team: an edit or a deletion made on one replica reaches the others, and
the shared database refuses, through the member's own login, what the rules refuse."""

import json


def shown(member, *args) -> list[dict]:
    return json.loads(member.ok(*args, "--format", "json"))


def test_a_task_edit_reaches_the_other_replica(team, acme):
    alice, bob = team["alice"], team["bob"]
    task = alice.ok("task", "add", acme, "send quote", "--assignee", "alice")
    alice.sync()
    bob.sync()
    alice.ok("task", "edit", task, "--title", "send the quote", "--priority", "urgent",
             "--assignee", "bob", "--due", "2026-12-24 10:00")
    alice.sync()
    bob.sync()
    [seen] = shown(bob, "task", "list", "--mine")
    assert (seen["title"], seen["priority"], seen["due"]) == (
        "send the quote", "urgent", shown(alice, "task", "show", task)["due"])
    assert "task.update" in [e["action"] for e in shown(bob, "history", acme)]
