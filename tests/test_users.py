"""`crm user …`: members, roles and offboarding."""

import json

from helpers import add_customer


def users(crm, *options):
    return {u["handle"]: u for u in json.loads(crm("user", "list", *options, "--format", "json").stdout)}


def test_an_admin_adds_members_with_a_role_and_department(crm, team):
    listed = users(crm)
    assert {h: (u["role"], u["department"], u["active"]) for h, u in listed.items()} == {
        "alice": ("admin", "sales", True), "bob": ("member", "service", True),
        "carol": ("manager", "marketing", True)}


def test_only_an_admin_adds_or_deactivates_users(crm, team):
    denied = crm("--as", "carol", "user", "add", "dave", "--name", "Dave")
    assert denied.exit_code == 6 and "admin" in denied.stderr
    assert crm("--as", "bob", "user", "deactivate", "carol", "--transfer-to", "bob").exit_code == 6
    assert "dave" not in users(crm)


def test_bad_users_are_refused(crm, alice):
    assert crm("user", "add", "alice", "--name", "Again").exit_code == 4
    assert crm("user", "add", "Bad Handle!", "--name", "X").exit_code == 4
    assert crm("user", "add", "dave", "--name", "Dave", "--role", "king").exit_code == 4
    assert crm("user", "show", "nobody").exit_code == 3


def test_deactivating_moves_customers_open_tasks_and_assignments_to_the_named_colleague(crm, team):
    owned = add_customer(crm, "Owned by bob", "--owner", "bob")
    served = add_customer(crm, "Served by bob")
    crm("assign", served, "--to", "bob", "--role", "service")
    open_task = crm("task", "add", served, "open one", "--assignee", "bob").stdout.strip()
    done_task = crm("task", "add", served, "done one", "--assignee", "bob").stdout.strip()
    crm("task", "done", done_task)
    result = crm("user", "deactivate", "bob", "--transfer-to", "carol")
    assert result.exit_code == 0, result.output
    assert "1 customers, 1 open tasks, 1 other assignments" in result.stderr
    assert users(crm)["bob"]["active"] is False
    assert "bob" not in users(crm, "--active")
    owned_record = json.loads(crm("customer", "show", owned, "--format", "json").stdout)
    assert owned_record["owner"] == "carol"
    served_record = json.loads(crm("customer", "show", served, "--format", "json").stdout)
    current = {(a["role"], a["user"]) for a in served_record["assignments"] if a["until"] is None}
    assert ("service", "carol") in current and ("service", "bob") not in current
    tasks = {t["id"][-8:]: t for t in served_record["tasks"]}
    assert tasks[open_task]["assignee"] == "carol"
    assert tasks[done_task]["assignee"] == "bob"  # closed work keeps its history
    events = json.loads(crm("history", "--user", "bob", "--format", "json").stdout)
    assert any(e["action"] == "user.deactivate" for e in events)


def test_a_deactivated_user_loses_access_at_once(crm, team):
    crm("user", "deactivate", "bob", "--transfer-to", "alice")
    result = crm("--as", "bob", "customer", "list")
    assert result.exit_code == 6 and "deactivated" in result.stderr


def test_deactivation_needs_an_active_colleague_other_than_the_leaver(crm, team):
    assert crm("user", "deactivate", "bob", "--transfer-to", "bob").exit_code == 4
    assert crm("user", "deactivate", "bob", "--transfer-to", "nobody").exit_code == 3
    crm("user", "deactivate", "carol", "--transfer-to", "alice")
    assert crm("user", "deactivate", "bob", "--transfer-to", "carol").exit_code == 4
    assert crm("user", "deactivate", "carol", "--transfer-to", "alice").exit_code == 4
    assert crm("user", "deactivate", "bob").exit_code == 2


def test_user_show_tells_the_current_workload(crm, team):
    ref = add_customer(crm, "Acme", "--owner", "bob")
    crm("task", "add", ref, "late", "--assignee", "bob", "--due", "2020-01-01")
    crm("task", "add", ref, "later", "--assignee", "bob", "--due", "+1w")
    record = json.loads(crm("user", "show", "bob", "--format", "json").stdout)
    assert (record["customers"], record["open_tasks"], record["overdue_tasks"],
            record["awaiting_ack"]) == (1, 2, 1, 1)


def test_the_last_active_admin_cannot_be_deactivated(crm, team):
    result = crm("user", "deactivate", "alice", "--transfer-to", "bob")
    assert result.exit_code == 4 and "last active admin" in result.stderr
    assert crm("user", "add", "dave", "--name", "Dave", "--role", "admin").exit_code == 0
    assert crm("user", "deactivate", "alice", "--transfer-to", "bob").exit_code == 0
    assert crm("init", "--user", "dave").exit_code == 0  # alice can no longer act, nor as dave
    assert crm("user", "add", "erin", "--name", "Erin").exit_code == 0


def test_work_on_deleted_customers_is_not_counted_as_workload(crm, team):
    ref = add_customer(crm, "Gone soon", "--owner", "bob")
    crm("task", "add", ref, "late", "--assignee", "bob", "--due", "2020-01-01")
    crm("customer", "delete", ref)
    record = json.loads(crm("user", "show", "bob", "--format", "json").stdout)
    assert (record["customers"], record["open_tasks"], record["overdue_tasks"],
            record["awaiting_ack"]) == (0, 0, 0, 0)


def user_events(crm, handle: str) -> list[dict]:
    return json.loads(crm("history", "--user", handle, "--format", "json").stdout)


def test_an_admin_corrects_a_members_name_department_and_role(crm, team):
    result = crm("user", "edit", "bob", "--name", "李波", "--dept", "sales", "--role", "manager")
    assert result.exit_code == 0, result.output
    assert "changed name, department, role: bob" in result.stderr
    assert (users(crm)["bob"]["name"], users(crm)["bob"]["department"],
            users(crm)["bob"]["role"]) == ("李波", "sales", "manager")
    [event] = [e for e in user_events(crm, "bob") if e["action"] == "user.update"]
    assert event["changes"]["role"] == ["member", "manager"] and event["actor"] == "alice"
    ref = add_customer(crm, "Acme")  # alice's, in sales: bob manages sales now
    assert crm("--as", "bob", "customer", "edit", ref, "--city", "上海").exit_code == 0
    assert crm("user", "edit", "bob", "--dept", "").exit_code == 0
    assert users(crm)["bob"]["department"] is None


def test_only_an_admin_edits_or_reactivates_users_and_bad_edits_change_nothing(crm, team):
    crm("user", "deactivate", "carol", "--transfer-to", "alice")
    before = users(crm)
    for args in (("edit", "bob", "--role", "admin"), ("reactivate", "carol")):
        denied = crm("--as", "bob", "user", *args)
        assert denied.exit_code == 6 and "only an admin may" in denied.stderr, denied.output
    for args, code in ((("edit", "bob"), 2), (("edit", "bob", "--role", "boss"), 4),
                       (("edit", "bob", "--name", " "), 4), (("edit", "nobody", "--name", "X"), 3),
                       (("edit", "alice", "--role", "member"), 4),  # the last active admin
                       (("reactivate", "bob"), 4), (("reactivate", "nobody"), 3)):
        assert crm("user", *args).exit_code == code, args
    assert users(crm) == before


def test_a_reactivated_member_acts_again_and_their_work_stays_where_it_went(crm, team):
    ref = add_customer(crm, "Acme", "--owner", "carol")
    crm("user", "deactivate", "carol", "--transfer-to", "bob")
    assert crm("--as", "carol", "note", "add", ref, "x").exit_code == 6
    result = crm("user", "reactivate", "carol")
    assert result.exit_code == 0 and "reactivated carol" in result.stderr
    assert users(crm)["carol"]["active"] is True
    assert crm("--as", "carol", "note", "add", ref, "back again").exit_code == 0
    shown = json.loads(crm("customer", "show", ref, "--format", "json").stdout)
    assert shown["owner"] == "bob"
    assert "user.reactivate" in [e["action"] for e in user_events(crm, "carol")]
