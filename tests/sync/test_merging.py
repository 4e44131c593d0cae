"""Merging: different fields merge, the same field is a conflict kept in `crm conflicts`."""

import json


def customer(member, ref: str) -> dict:
    return json.loads(member.ok("customer", "show", ref, "--format", "json"))


def conflicts(member, *options: str) -> list[dict]:
    return json.loads(member.ok("conflicts", "list", "--format", "json", *options))


def current_holders(member, ref: str) -> dict[str, list[str]]:
    """role -> the users holding it now (one each, if all is well)."""
    holders: dict[str, list[str]] = {}
    for row in customer(member, ref)["assignments"]:
        if row["until"] is None:
            holders.setdefault(row["role"], []).append(row["user"])
    return holders


def test_changes_to_different_fields_of_one_customer_merge(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "edit", acme, "--city", "Beijing")
    bob.ok("customer", "edit", acme, "--stage", "qualified", "--level", "A")
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    alice.sync()
    for member in (alice, bob):
        record = customer(member, acme)
        assert (record["city"], record["stage"], record["level"]) == ("Beijing", "qualified", "A")
    assert conflicts(alice) == []


def test_the_same_field_changed_to_different_values_keeps_the_first_and_a_conflict_entry(team, acme):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    bob.ok("customer", "edit", acme, "--stage", "won")
    alice.ok("customer", "edit", acme, "--stage", "lost")
    bob.sync()  # bob's value reaches the shared database first
    report = alice.sync()
    assert report["conflicts"] == 1 and report["open_conflicts"] == 1
    bob.sync()
    carol.sync()
    for member in (alice, bob, carol):
        assert customer(member, acme)["stage"] == "won"
        [entry] = conflicts(member)
        assert (entry["field"], entry["theirs"], entry["mine"], entry["base"]) == ("stage", "won", "lost", "lead")
        assert entry["actor"] == "alice" and entry["kind"] == "edit"
        assert entry["record"] == "customer Acme Trading"

    table = alice.ok("conflicts", "list")
    assert "Other" in table and "Current" in table and "lost" in table
    assert "stage: won kept, alice's lost set aside" in carol.ok("customer", "show", acme)
    assert "stage: won kept, alice's lost set aside" in carol.ok("history", acme)
    shown = alice.ok("conflicts", "show", entry["id"][-8:])
    assert "other" in shown and "by alice" in shown


def test_the_same_value_set_on_two_replicas_is_no_conflict(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "edit", acme, "--stage", "won")
    bob.ok("customer", "edit", acme, "--stage", "won")
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    assert conflicts(bob, "--all") == []


def test_custom_fields_merge_one_by_one_and_their_definitions_sync(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("field", "add", "budget", "--type", "int")
    alice.ok("field", "add", "region", "--type", "choice", "--choices", "north,south")
    alice.sync()
    bob.sync()
    assert "region" in bob.ok("field", "list")
    alice.ok("customer", "edit", acme, "--set", "budget=5000")
    bob.ok("customer", "edit", acme, "--set", "region=north")
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    alice.sync()
    for member in (alice, bob):
        record = customer(member, acme)
        assert (record["budget"], record["region"]) == (5000, "north")


def test_an_edit_to_a_customer_deleted_elsewhere_is_a_conflict_and_taking_mine_restores_it(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "delete", acme)
    bob.ok("customer", "edit", acme, "--city", "Hangzhou", "--level", "A")
    alice.sync()
    assert bob.sync()["conflicts"] == 1  # one entry for the record
    assert "Acme" not in bob.ok("customer", "list")  # deleted stays deleted
    [entry] = conflicts(bob)
    assert (entry["kind"], entry["field"], entry["mine"]) == ("deleted", "city, level", {"city": "Hangzhou", "level": "A"})

    alice.sync()
    alice.ok("conflicts", "resolve", entry["id"][-8:], "--restore-other")  # restoring: alice's right
    alice.sync()
    bob.sync()
    for member in (alice, bob):
        assert (customer(member, acme)["city"], customer(member, acme)["level"]) == ("Hangzhou", "A")
        assert conflicts(member) == []
        [closed] = conflicts(member, "--all")
        assert (closed["resolution"], closed["resolved_by"]) == ("mine", "alice")


def test_resolving_with_theirs_or_a_new_value_is_an_ordinary_change_that_syncs(team, acme):
    alice, bob = team["alice"], team["bob"]
    for value_a, value_b, field in (("won", "lost", "--stage"), ("A", "B", "--level")):
        alice.ok("customer", "edit", acme, field, value_a)
        bob.ok("customer", "edit", acme, field, value_b)
    alice.sync()
    bob.sync()
    stage, level = sorted(conflicts(bob), key=lambda entry: entry["field"])[::-1]
    assert bob("conflicts", "resolve", stage["id"][-8:]).exit_code == 2  # none of --keep-current, --restore-other, --value
    bob.ok("conflicts", "resolve", stage["id"][-8:], "--keep-current")
    bob.ok("conflicts", "resolve", level["id"][-8:], "--value", "c")
    again = bob("conflicts", "resolve", level["id"][-8:], "--restore-other")
    assert again.exit_code == 4 and "resolved by bob already" in again.stderr
    bob.sync()
    alice.sync()
    record = customer(alice, acme)
    assert (record["stage"], record["level"]) == ("won", "C")
    assert conflicts(alice) == []
    history = json.loads(alice.ok("history", acme, "--format", "json"))
    assert [e["actor"] for e in history if e["action"] == "conflict.resolve"] == ["bob", "bob"]


def test_several_local_edits_before_a_sync_are_judged_against_what_was_first_seen(team, acme):
    alice, bob = team["alice"], team["bob"]
    bob.ok("customer", "edit", acme, "--city", "Suzhou")
    bob.ok("customer", "edit", acme, "--city", "Nanjing")  # base is still Shanghai
    alice.ok("customer", "edit", acme, "--city", "Beijing")
    alice.sync()
    assert bob.sync()["conflicts"] == 1
    [entry] = conflicts(bob)
    assert (entry["base"], entry["theirs"], entry["mine"]) == ("Shanghai", "Beijing", "Nanjing")


def test_notes_tasks_and_assignments_made_on_several_replicas_all_arrive(team, acme):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("note", "add", acme, "alice called")
    bob.ok("note", "add", acme, "bob visited", "--kind", "visit")
    carol.ok("task", "add", acme, "send brochure", "--assignee", "bob")
    bob.ok("assign", acme, "--to", "bob", "--role", "service")
    for member in (alice, bob, carol, alice, bob, carol):
        member.sync()
    for member in (alice, bob, carol):
        record = customer(member, acme)
        assert sorted(note["body"] for note in record["notes"]) == ["alice called", "bob visited"]
        assert [task["title"] for task in record["tasks"]] == ["send brochure"]
        assert {(a["role"], a["user"]) for a in record["assignments"]} == {("owner", "alice"), ("service", "bob"), ("marketing", "carol")}


def test_attachments_reach_the_other_replicas(team, acme, tmp_path):
    alice, bob = team["alice"], team["bob"]
    contract = tmp_path / "contract.txt"
    contract.write_text("合同 v1")
    alice.ok("note", "add", acme, "contract attached", "--attach", contract)
    alice.sync()
    bob.sync()
    [note] = customer(bob, acme)["notes"]
    [attached] = note["attachments"]
    from crmcli.repo.notes import stored_path

    copy = stored_path(bob.path.parent / "attachments", attached["sha256"])
    assert copy.read_text() == "合同 v1"


def test_every_replica_shows_the_same_history_with_who_made_each_change(team, acme):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    bob.ok("customer", "edit", acme, "--level", "B")
    carol.ok("note", "add", acme, "campaign lead")
    for member in (bob, carol, alice, bob):
        member.sync()
    histories = [
        json.loads(member.ok("history", acme, "--format", "json")) for member in (alice, bob, carol)
    ]
    assert histories[0] == histories[1] == histories[2]
    assert {(e["actor"], e["action"]) for e in histories[0]} >= {
        ("alice", "customer.create"), ("bob", "customer.update"), ("carol", "note.create")
    }


def test_a_state_reached_on_two_replicas_is_no_conflict_and_the_first_time_stamp_stays(
    team, acme, replica
):
    """The same task completed twice, the same hand-over acknowledged on two machines."""
    alice, bob = team["alice"], team["bob"]
    task = alice.ok("task", "add", acme, "send brochure", "--assignee", "bob")
    alice.ok("assign", acme, "--to", "bob", "--role", "service")
    alice.sync()
    bob.sync()
    bobs_phone = replica("bob", "Bob Li", "service")  # bob on a second machine
    bobs_phone.sync()

    alice.ok("task", "done", task, env={"CRM_NOW": "2030-01-01T09:00:00Z"})
    bob.ok("task", "done", task, env={"CRM_NOW": "2030-01-01T10:00:00Z"})
    bobs_phone.ok("ack", acme, env={"CRM_NOW": "2030-01-01T11:00:00Z"})
    bob.ok("ack", acme, env={"CRM_NOW": "2030-01-01T12:00:00Z"})
    for member in (alice, bobs_phone, bob):
        assert member.sync()["conflicts"] == 0
    alice.sync()
    assert conflicts(alice, "--all") == []
    [done] = customer(alice, acme)["tasks"]
    assert (done["status"], done["done_at"]) == ("done", "2030-01-01T09:00:00Z")
    [service] = [a for a in customer(alice, acme)["assignments"] if a["role"] == "service"]
    assert service["acknowledged_at"] == "2030-01-01T11:00:00Z"


def test_a_resolution_is_checked_like_any_edit_of_the_customer(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "add", "Globex", "--phone", "13800138000")
    alice.ok("customer", "edit", acme, "--stage", "won", "--phone", "13900139000")
    bob.ok("customer", "edit", acme, "--stage", "lost", "--phone", "13700137000")
    alice.sync()
    bob.sync()
    entries = {entry["field"]: entry["id"][-8:] for entry in conflicts(bob)}

    empty = bob("conflicts", "resolve", entries["stage"], "--value", "")
    assert empty.exit_code == 4
    assert empty.stderr.strip().splitlines() == ["error: stage: cannot be empty"]
    taken = bob("conflicts", "resolve", entries["phone"], "--value", "13800138000")
    assert taken.exit_code == 4 and "same phone as existing customer" in taken.stderr
    assert len(conflicts(bob)) == 2 and customer(bob, acme)["stage"] == "won"

    bob.ok("conflicts", "resolve", entries["phone"], "--value", "13800138000", "--allow-duplicate")
    assert customer(bob, acme)["phone"] == "+8613800138000"
    assert [entry["field"] for entry in conflicts(bob)] == ["stage"]


def test_what_is_added_to_a_customer_merged_elsewhere_moves_to_the_customer_it_was_merged_into(
    team, acme
):
    alice, bob = team["alice"], team["bob"]
    globex = alice.ok("customer", "add", "Globex")
    alice.sync()
    bob.sync()
    alice.ok("customer", "merge", globex, acme)
    bob.ok("note", "add", acme, "bob called")
    bob.ok("task", "add", acme, "send the quote")
    bob.ok("assign", acme, "--to", "bob", "--role", "service")
    alice.sync()
    assert bob.sync()["conflicts"] == 0
    alice.sync()
    for member in (alice, bob):
        record = customer(member, globex)
        bodies = [note["body"] for note in record["notes"]]  # and the merge's note of Acme's name
        assert bodies[-1].startswith("Merged in Acme Trading") and bodies[:-1] == ["bob called"]
        assert [task["title"] for task in record["tasks"]] == ["send the quote"]
        current = {(a["role"], a["user"]) for a in record["assignments"] if a["until"] is None}
        assert current == {("owner", "alice"), ("service", "bob"), ("marketing", "carol")}
    history = json.loads(alice.ok("history", globex, "--format", "json"))
    moved = [e for e in history if e["action"] == "note.update" and e["detail"].get("merged_from")]
    assert len(moved) == 1  # the move shows in the history, as a local merge's would


def test_what_is_added_to_a_customer_deleted_elsewhere_is_a_conflict_and_taking_mine_restores_it(
    team, acme
):
    alice, bob = team["alice"], team["bob"]
    alice.ok("customer", "delete", acme)
    bob.ok("note", "add", acme, "bob called")
    bob.ok("task", "add", acme, "send the quote")
    bob.ok("assign", acme, "--to", "bob", "--role", "product")
    alice.sync()
    assert bob.sync()["conflicts"] == 3  # one for each record that has nowhere to be seen
    assert "Acme" not in bob.ok("customer", "list")
    entries = {entry["entity"]: entry for entry in conflicts(bob)}
    assert {entry["kind"] for entry in entries.values()} == {"deleted"}
    assert entries["note"]["mine"]["body"] == "bob called"
    assert entries["task"]["mine"]["title"] == "send the quote"
    assert entries["assignment"]["mine"]["user"] == "bob"

    alice.sync()  # restoring the customer is for those who may delete it: alice
    for entity in ("note", "task", "assignment"):
        alice.ok("conflicts", "resolve", entries[entity]["id"][-8:], "--restore-other")
    alice.sync()
    bob.sync()
    for member in (alice, bob):
        record = customer(member, acme)
        assert [note["body"] for note in record["notes"]] == ["bob called"]
        assert [task["title"] for task in record["tasks"]] == ["send the quote"]
        assert current_holders(member, acme) == {
            "owner": ["alice"], "service": ["bob"], "marketing": ["carol"], "product": ["bob"]
        }
        assert conflicts(member) == []


def test_two_hand_overs_of_one_role_at_once_leave_one_holder_on_every_replica(team, acme):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("assign", acme, "--to", "bob", "--role", "service")
    alice.sync()
    bob.sync()
    alice.ok("assign", acme, "--to", "carol", "--role", "owner")
    alice.ok("assign", acme, "--to", "carol", "--role", "service")
    bob.ok("assign", acme, "--to", "bob", "--role", "owner")
    bob.ok("assign", acme, "--to", "alice", "--role", "service")
    alice.sync()  # alice's hand-overs reach the shared database first
    assert bob.sync()["conflicts"] == 2
    alice.sync()
    carol.sync()
    for member in (alice, bob, carol):
        assert current_holders(member, acme) == {
            "owner": ["carol"], "service": ["carol"], "marketing": ["carol"]
        }
        assert customer(member, acme)["owner"] == "carol"
        entries = {entry["field"]: entry for entry in conflicts(member)}
        assert (entries["owner"]["theirs"], entries["owner"]["mine"]) == ("carol", "bob")
        assert entries["user"]["entity"] == "assignment"
        assert (entries["user"]["theirs"], entries["user"]["mine"]) == ("carol", "alice")
        assert entries["user"]["base"] == "bob"  # the holder bob had seen

    # bob holds no role on it any more: taking his hand-overs is for someone entitled
    alice.ok("conflicts", "resolve", entries["owner"]["id"][-8:], "--restore-other")
    alice.ok("conflicts", "resolve", entries["user"]["id"][-8:], "--restore-other")
    alice.sync()
    bob.sync()
    for member in (alice, bob):
        assert current_holders(member, acme) == {
            "owner": ["bob"], "service": ["alice"], "marketing": ["carol"]
        }
        assert conflicts(member) == []


def test_history_reads_the_same_on_every_replica_even_for_changes_made_at_one_moment(team, acme):
    """Events of the same moment come in a stable order (by id, not by when each replica
    received them) and each event's fields in the data dictionary's order."""
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    moment = {"CRM_NOW": "2030-01-01T09:00:00Z"}
    carol.ok("note", "add", acme, "carol called", env=moment)
    bob.ok("customer", "edit", acme, "--tag", "vip", "--level", "A", "--city", "Suzhou", env=moment)
    alice.ok("task", "add", acme, "send the quote", env=moment)
    for member in (carol, bob, alice, carol, bob):
        member.sync()
    shown = {name: member.ok("history", acme, "--format", "json") for name, member in team.items()}
    assert shown["alice"] == shown["bob"] == shown["carol"]
    for name, member in team.items():
        assert member.ok("history", acme) == alice.ok("history", acme), name
    [edit] = [e for e in json.loads(shown["alice"]) if e["action"] == "customer.update"]
    assert list(edit["changes"]) == ["city", "level", "tags"]
