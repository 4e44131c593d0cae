"""`crm customer restore`: undo a delete, with the customer's notes, tasks and roles; and
`crm customer list --deleted` to find what to restore."""

import json

from helpers import add_customer


def shown(crm, ref: str) -> dict:
    result = crm("customer", "show", ref, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def deleted_list(crm, *options: str) -> list[dict]:
    result = crm("customer", "list", "--deleted", "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_restored_customer_comes_back_with_its_notes_tasks_and_roles_recorded(crm, team):
    ref = add_customer(crm, "Acme", "--city", "上海")
    crm("note", "add", ref, "asked for a quote")
    crm("task", "add", ref, "send the quote", "--assignee", "bob")
    crm("assign", ref, "--to", "carol", "--role", "marketing")
    before = shown(crm, ref)
    assert crm("customer", "delete", ref).exit_code == 0
    assert crm("customer", "show", ref).exit_code == 3

    result = crm("customer", "restore", ref)
    assert result.exit_code == 0, result.output
    assert f"restored {ref}  Acme with 1 notes, 1 tasks and 2 current roles" in result.stderr
    after = shown(crm, ref)
    for part in ("notes", "tasks", "assignments"):
        assert after[part] == before[part]
    assert after["city"] == "上海"
    restored = [e for e in after["history"] if e["action"] == "customer.restore"]
    assert [(e["actor"], e["changes"]["deleted_at"][1]) for e in restored] == [("alice", None)]
    listed = crm("customer", "list", "--format", "json")
    assert [c["name"] for c in json.loads(listed.stdout)] == ["Acme"]
    found = crm("customer", "find", "Acme", "--format", "json")
    assert [c["name"] for c in json.loads(found.stdout)] == ["Acme"]
    assert crm("task", "list", "--format", "json", "--assignee", "bob").stdout.count("send the quote") == 1


def test_list_deleted_shows_when_by_whom_and_where_a_merged_one_went(crm, alice):
    kept = add_customer(crm, "Keeper")
    merged = add_customer(crm, "Merged")
    gone = add_customer(crm, "Gone")
    add_customer(crm, "Live")
    crm("customer", "merge", kept, merged)
    crm("customer", "delete", gone)
    rows = {row["name"]: row for row in deleted_list(crm)}
    assert set(rows) == {"Merged", "Gone"}
    assert rows["Gone"]["deleted_by"] == "alice" and rows["Gone"]["deleted_at"]
    assert rows["Gone"]["merged_into"] is None
    assert rows["Merged"]["merged_into"].endswith(kept)
    table = crm("customer", "list", "--deleted")
    assert "Deleted" in table.stdout and "Merged into" in table.stdout and kept in table.stdout
    assert "Live" not in table.stdout
    assert [row["name"] for row in deleted_list(crm, "--search", "Gone")] == ["Gone"]


def test_a_name_shared_by_deleted_customers_is_ambiguous_and_the_id_decides(crm, alice):
    first = add_customer(crm, "Acme", "--city", "北京")
    crm("customer", "delete", first)
    second = add_customer(crm, "Acme", "--city", "上海")
    crm("customer", "delete", second)
    result = crm("customer", "restore", "Acme")
    assert result.exit_code == 3
    assert "matches several deleted customers" in result.stderr
    assert f"{first}  Acme  deleted" in result.stderr and f"{second}  Acme  deleted" in result.stderr
    assert crm("customer", "restore", second).exit_code == 0
    assert shown(crm, "Acme")["city"] == "上海"


def test_a_name_reused_by_a_live_customer_still_names_the_deleted_one(crm, alice):
    old = add_customer(crm, "Acme", "--phone", "13800138000")
    crm("customer", "delete", old)
    add_customer(crm, "Acme", "--company", "New Acme")
    result = crm("customer", "restore", "Acme")
    assert result.exit_code == 0, result.output
    assert f"restored {old}" in result.stderr


def test_restoring_what_is_not_deleted_or_not_there_says_so(crm, alice):
    ref = add_customer(crm, "Acme")
    live = crm("customer", "restore", ref)
    assert live.exit_code == 4 and f"customer {ref}  Acme is not deleted" in live.stderr
    missing = crm("customer", "restore", "Nobody")
    assert missing.exit_code == 3
    assert "no deleted customer matches 'Nobody'" in missing.stderr
    assert "crm customer list --deleted" in missing.stderr


def test_only_who_may_delete_a_customer_restores_it(crm, team, database):
    ref = add_customer(crm, "Acme", "--owner", "bob")  # bob's, in service
    assert crm("customer", "delete", ref).exit_code == 0
    for handle in ("bob", "carol"):  # its owner; a manager of another department
        refused = crm("--as", handle, "customer", "restore", ref)
        assert refused.exit_code == 6
        assert f"{handle} may not restore customer Acme" in refused.stderr
        assert "only by managers of service and admins" in refused.stderr
    crm("user", "add", "dave", "--name", "Dave", "--dept", "service", "--role", "manager")
    assert crm("--as", "dave", "customer", "restore", ref).exit_code == 0


def test_a_merged_away_customer_is_not_restored(crm, alice):
    keep = add_customer(crm, "Keeper")
    other = add_customer(crm, "Other")
    crm("customer", "merge", keep, other)
    result = crm("customer", "restore", other)
    assert result.exit_code == 4
    assert f"was merged into {keep}  Keeper" in result.stderr
    assert "a merge is not undone by a restore" in result.stderr
    assert [row["name"] for row in deleted_list(crm)] == ["Other"]


def test_a_restore_that_would_duplicate_a_live_customer_asks_for_allow_duplicate(crm, alice):
    old = add_customer(crm, "Acme", "--phone", "13800138000")
    crm("customer", "delete", old)
    add_customer(crm, "Acme Again", "--phone", "13800138000")
    refused = crm("customer", "restore", old)
    assert refused.exit_code == 4 and "--allow-duplicate" in refused.stderr
    assert crm("customer", "restore", old, "--allow-duplicate").exit_code == 0
    assert len(json.loads(crm("customer", "list", "--format", "json").stdout)) == 2


def test_a_restored_customer_whose_owner_left_says_to_hand_it_over(crm, team):
    ref = add_customer(crm, "Acme", "--owner", "bob")
    crm("customer", "delete", ref)
    assert crm("user", "deactivate", "bob", "--transfer-to", "carol").exit_code == 0
    result = crm("customer", "restore", ref)
    assert result.exit_code == 0, result.output
    assert "its owner bob is deactivated" in result.stderr
    assert f"crm assign {ref} --to HANDLE --role owner" in result.stderr
