"""`crm task …`: follow-ups with assignees, due dates and status."""

import json

from helpers import add_customer

NOW = "2026-11-23T12:00:00+00:00"


def tasks(crm, *options, env=None):
    result = crm("task", "list", *options, "--format", "json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_task_has_assignee_due_and_priority(crm, team):
    ref = add_customer(crm, "Acme")
    result = crm("task", "add", ref, "send quote", "--assignee", "bob", "--due", "2026-12-01",
                 "--priority", "urgent")
    assert result.exit_code == 0, result.output
    [task] = tasks(crm)
    assert (task["title"], task["assignee"], task["priority"], task["status"],
            task["created_by"]) == ("send quote", "bob", "urgent", "open", "alice")
    assert task["due"].startswith("2026-12-01")


def test_the_assignee_defaults_to_the_acting_user(crm, team):
    ref = add_customer(crm, "Acme")
    crm("task", "add", ref, "call back")
    assert tasks(crm)[0]["assignee"] == "alice"


def test_relative_due_dates_count_from_today(crm, alice, utc):
    ref = add_customer(crm, "Acme")
    env = {"CRM_NOW": NOW}
    for due in ("tomorrow", "+3d", "+2w", "friday"):
        assert crm("task", "add", ref, f"due {due}", "--due", due, env=env).exit_code == 0
    dues = {t["title"]: t["due"] for t in tasks(crm, env=env)}
    assert dues == {"due tomorrow": "2026-11-24T23:59:00Z", "due +3d": "2026-11-26T23:59:00Z",
                    "due +2w": "2026-12-07T23:59:00Z", "due friday": "2026-11-27T23:59:00Z"}


def test_bad_task_input_is_refused(crm, team):
    ref = add_customer(crm, "Acme")
    assert crm("task", "add", ref, "x", "--due", "someday").exit_code == 4
    assert crm("task", "add", ref, "x", "--priority", "asap").exit_code == 4
    assert crm("task", "add", ref, "x", "--assignee", "nobody").exit_code == 3
    assert crm("task", "add", "no such customer", "x").exit_code == 3
    assert tasks(crm) == []


def test_list_filters_mine_assignee_customer_overdue_due_before_and_status(crm, team):
    acme, globex = add_customer(crm, "Acme"), add_customer(crm, "Globex")
    env = {"CRM_NOW": NOW}
    crm("task", "add", acme, "late", "--due", "2026-11-20", env=env)
    crm("task", "add", acme, "soon", "--due", "2026-11-25", "--assignee", "bob", env=env)
    crm("task", "add", globex, "later", "--due", "2026-12-20", env=env)
    crm("task", "add", globex, "whenever", "--assignee", "bob", env=env)

    def titles(*options):
        return [t["title"] for t in tasks(crm, *options, env=env)]

    assert titles() == ["late", "soon", "later", "whenever"]
    assert titles("--mine") == ["late", "later"]
    assert titles("--as", "bob", "--mine") == ["soon", "whenever"]
    assert titles("--assignee", "bob") == ["soon", "whenever"]
    assert titles("--customer", "Globex") == ["later", "whenever"]
    assert titles("--overdue") == ["late"]
    assert titles("--due-before", "2026-12-01") == ["late", "soon"]
    done = tasks(crm, env=env)[0]["id"]
    crm("task", "done", done, env=env)
    assert titles("--overdue") == []
    assert titles("--status", "done") == ["late"]
    assert len(titles("--status", "all")) == 4


def test_done_reopen_cancel_and_reassign_are_recorded(crm, team):
    ref = add_customer(crm, "Acme")
    task = crm("task", "add", ref, "send quote").stdout.strip()
    assert crm("task", "done", task).exit_code == 0
    [closed] = tasks(crm, "--status", "done")
    assert closed["done_at"] is not None
    again = crm("task", "done", task)
    assert again.exit_code == 0 and "already done" in again.stderr
    assert crm("task", "reopen", task).exit_code == 0
    assert tasks(crm)[0]["done_at"] is None
    assert crm("task", "reassign", task, "--to", "bob").exit_code == 0
    assert tasks(crm)[0]["assignee"] == "bob"
    assert crm("task", "reassign", task, "--to", "nobody").exit_code == 3
    assert crm("task", "cancel", task).exit_code == 0
    assert tasks(crm, "--status", "cancelled")[0]["title"] == "send quote"
    history = crm("history", ref, "--format", "json").stdout
    actions = [e["action"] for e in json.loads(history)]
    for action in ("task.create", "task.done", "task.reopen", "task.reassign", "task.cancel"):
        assert action in actions
    show = json.loads(crm("task", "show", task, "--format", "json").stdout)
    assert (show["status"], show["customer_name"]) == ("cancelled", "Acme")


def test_tasks_of_a_deleted_customer_are_not_listed(crm, alice):
    ref = add_customer(crm, "Acme")
    crm("task", "add", ref, "x")
    crm("customer", "delete", ref)
    assert tasks(crm) == []


def test_a_task_is_corrected_with_edit_and_the_change_is_in_the_history(crm, team, utc):
    ref = add_customer(crm, "Acme")
    env = {"CRM_NOW": NOW}
    task = crm("task", "add", ref, "send quote", "--due", "friday", env=env).stdout.strip()
    result = crm("task", "edit", task, "--title", "send the quote", "--due", "2026-12-24 10:00",
                 "--priority", "high", "--assignee", "bob", env=env)
    assert result.exit_code == 0, result.output
    assert "changed title, due, priority, assignee" in result.stderr
    [edited] = tasks(crm, env=env)
    assert (edited["title"], edited["due"], edited["priority"], edited["assignee"],
            edited["created_by"]) == ("send the quote", "2026-12-24T10:00:00Z", "high", "bob",
                                      "alice")
    [event] = [e for e in json.loads(crm("history", ref, "--format", "json").stdout)
               if e["action"] == "task.update"]
    assert event["changes"] == {
        "title": ["send quote", "send the quote"], "assignee": ["alice", "bob"],
        "due": ["2026-11-27T23:59:00Z", "2026-12-24T10:00:00Z"], "priority": ["normal", "high"]}
    assert crm("task", "edit", task, "--due", "", env=env).exit_code == 0  # no due date now
    assert tasks(crm, env=env)[0]["due"] is None
    same = crm("task", "edit", task, "--priority", "high", env=env)
    assert same.exit_code == 0 and "nothing changed" in same.stderr


def test_a_bad_edit_changes_nothing_and_says_why(crm, team):
    ref = add_customer(crm, "Acme")
    task = crm("task", "add", ref, "send quote").stdout.strip()
    for options, code, said in (
        ((), 2, "say what changes"),
        (("--title", " "), 4, "title: is required"),
        (("--due", "someday"), 4, "due: 'someday' is not a date"),
        (("--priority", "asap"), 4, "priority"),
        (("--assignee", "nobody"), 3, "no user 'nobody'"),
    ):
        result = crm("task", "edit", task, *options)
        assert (result.exit_code, said in result.stderr) == (code, True), result.output
    assert crm("task", "edit", "ffffffff", "--title", "x").exit_code == 3
    assert [(t["title"], t["priority"], t["assignee"]) for t in tasks(crm)] == [
        ("send quote", "normal", "alice")]


def test_only_the_assignee_creator_or_who_may_change_the_customer_edits_a_task(crm, team):
    ref = add_customer(crm, "Acme")  # alice's, in sales
    task = crm("task", "add", ref, "send quote").stdout.strip()
    refused = crm("--as", "bob", "task", "edit", task, "--title", "mine now")
    assert refused.exit_code == 6
    assert "bob may not change task 'send quote' of Acme" in refused.stderr
    assert crm("task", "reassign", task, "--to", "bob").exit_code == 0
    assert crm("--as", "bob", "task", "edit", task, "--title", "send it").exit_code == 0
    assert tasks(crm)[0]["title"] == "send it"


def test_repeated_task_filters_mean_any_of_them(crm, team):
    acme, globex, initech = (add_customer(crm, name) for name in ("Acme", "Globex", "Initech"))
    crm("task", "add", acme, "a-alice")
    crm("task", "add", globex, "g-bob", "--assignee", "bob")
    crm("task", "add", initech, "i-carol", "--assignee", "carol")
    cancelled = crm("task", "add", initech, "i-cancelled", "--assignee", "bob").stdout.strip()
    crm("task", "cancel", cancelled)

    def titles(*options):
        return sorted(t["title"] for t in tasks(crm, *options))

    assert titles("--assignee", "bob", "--assignee", "carol") == ["g-bob", "i-carol"]
    assert titles("--mine", "--assignee", "carol") == ["a-alice", "i-carol"]
    assert titles("--customer", "Acme", "--customer", "Initech") == ["a-alice", "i-carol"]
    assert titles("--status", "open", "--status", "cancelled", "--assignee", "bob") == [
        "g-bob", "i-cancelled"]
    assert crm("task", "list", "--status", "open", "--status", "later").exit_code == 4


def test_a_cut_task_list_says_how_many_it_left_out(crm, team):
    ref = add_customer(crm, "Acme")
    for number in range(5):
        crm("task", "add", ref, f"task {number}")
    for fmt in ("table", "json", "ndjson", "csv"):
        result = crm("task", "list", "--limit", "3", "--format", fmt)
        assert result.exit_code == 0
        assert result.stderr.strip() == "showing 3 of 5 (--limit)"
    assert crm("task", "list", "--limit", "5", "-f", "json").stderr == ""
