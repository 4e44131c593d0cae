"""Corrections on a team: an edit or a deletion made on one replica reaches the others, and
the shared database refuses, through the member's own login, what the rules refuse."""

import json

import psycopg
import pytest
from test_hostile_clients import (  # noqa: F401  (globex is a fixture)
    MAY_NOT_CHANGE_ALICES_NOTE,
    NOW,
    as_member,
    globex,
    push_as,
    pushable,
    refused,
)

from crmcli.ids import new_id
from helpers import schema_version


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


def test_a_note_edit_and_its_deletion_reach_the_other_replicas(team, acme):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    note = alice.ok("note", "add", acme, "pricing call", "--quote", "太贵了")
    alice.sync()
    alice.ok("note", "edit", note, "--body", "pricing call: 报价 by Friday", "--quote", "")
    alice.sync()
    bob.sync()
    [seen] = shown(bob, "note", "list", acme)
    assert (seen["body"], seen["quote"]) == ("pricing call: 报价 by Friday", None)
    assert [c["name"] for c in shown(bob, "customer", "find", "报价 by")] == ["Acme Trading"]
    carol.sync()
    refused_here = carol("note", "delete", note)  # a role on Acme: not on alice's note
    assert refused_here.exit_code == 6, refused_here.output
    assert "carol may not change a note on Acme Trading" in refused_here.stderr
    alice.ok("note", "delete", note)
    alice.sync()
    for member in (bob, carol):
        member.sync()
        assert shown(member, "note", "list", acme) == []
        actions = [e["action"] for e in shown(member, "history", acme)]
        assert {"note.update", "note.delete"} <= set(actions)


def test_the_shared_database_lets_an_author_delete_their_note_and_nobody_else(
    globex, postgres  # noqa: F811  (the fixture imported above)
):
    """Through the members' own logins (plain psycopg): bob wrote a note on Globex, where
    he holds no role; he may correct and delete it, and alice's note stays alice's."""
    with as_member(postgres, "bob") as bob:
        alices = pushable(bob, "note", postgres.value(
            "SELECT id FROM note WHERE customer_id = %s", globex))
        bobs = {**alices, "id": new_id(), "author": "bob", "body": "bob's call"}
        push_as(bob, writes={"note": [bobs]})
        for change in ({"body": "no call"}, {"deleted_at": NOW}):
            refused(bob, "note", {**alices, **change}, MAY_NOT_CHANGE_ALICES_NOTE)
        push_as(bob, writes={"note": [{**pushable(bob, "note", bobs["id"]),
                                       "body": "bob's call, corrected"}]})
        push_as(bob, writes={"note": [{**pushable(bob, "note", bobs["id"]), "deleted_at": NOW}]})
    assert postgres.rows("SELECT author, body, deleted_at IS NOT NULL FROM note "
                         "WHERE customer_id = %s ORDER BY author", globex) == [
        ("alice", "pricing call", False), ("bob", "bob's call, corrected", True)]


def test_a_users_correction_and_reactivation_reach_the_team_and_the_login(team, postgres):
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    alice.ok("user", "edit", "bob", "--dept", "sales", "--role", "manager")
    alice.ok("user", "deactivate", "carol", "--transfer-to", "alice")
    alice.sync()
    assert postgres.rows("SELECT department, role FROM users WHERE handle = 'bob'") == [
        ("sales", "manager")]
    bob.sync()
    listed = {u["handle"]: u for u in shown(bob, "user", "list")}
    assert (listed["bob"]["role"], listed["carol"]["active"]) == ("manager", False)
    with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
        with as_member(postgres, "carol"):
            pass
    alice.ok("user", "reactivate", "carol")
    alice.sync()
    with as_member(postgres, "carol"):
        pass  # her login may connect again
    carol.sync()
    assert {u["handle"]: u for u in shown(carol, "user", "list")}["carol"]["active"] is True


def test_the_shared_database_refuses_a_members_user_changes(team, postgres):
    team["alice"].ok("user", "deactivate", "carol", "--transfer-to", "alice")
    team["alice"].sync()
    rule = "bob may not change users: only an admin adds, changes or deactivates users"
    with as_member(postgres, "bob") as bob:
        ids = dict(bob.execute("SELECT handle, id FROM users").fetchall())
        me, carol = pushable(bob, "users", ids["bob"]), pushable(bob, "users", ids["carol"])
        for row in ({**carol, "active": True}, {**me, "name": "Robert"},
                    {**me, "department": "finance"}, {**carol, "role": "member"}):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=rule):
                push_as(bob, writes={"user": [row]})
    assert postgres.rows("SELECT handle, name, department, active FROM users "
                         "WHERE handle IN ('bob', 'carol') ORDER BY handle") == [
        ("bob", "Bob Li", "service", True), ("carol", "Carol Zhang", "marketing", False)]


def test_an_attachment_made_on_one_replica_is_got_on_another(team, acme, tmp_path):
    alice, bob = team["alice"], team["bob"]
    contract = tmp_path / "合同.pdf"
    contract.write_bytes(b"%PDF-1.4 signed \x00\xff")
    note = alice.ok("note", "add", acme, "contract signed", "--attach", contract)
    alice.sync()
    bob.sync()
    target = tmp_path / "bobs-copy.pdf"
    bob.ok("attachment", "get", note, "-o", target)
    assert target.read_bytes() == contract.read_bytes()


def test_a_fields_new_choice_and_label_reach_the_other_replica(team, acme):
    alice, bob = team["alice"], team["bob"]
    alice.ok("field", "add", "tier", "--type", "choice", "--choices", "gold,silver")
    alice.sync()
    alice.ok("field", "edit", "tier", "--add-choice", "bronze", "--label", "客户层级")
    alice.sync()
    bob.sync()
    [tier] = shown(bob, "field", "list")
    assert (tier["choices"], tier["label"]) == (["gold", "silver", "bronze"], "客户层级")
    bob.ok("customer", "edit", acme, "--set", "tier=bronze")  # he holds a role on Acme
    bob.sync()
    alice.sync()
    assert shown(alice, "customer", "show", acme)["tier"] == "bronze"
    assert "客户层级" in alice.ok("customer", "show", acme)


def test_the_shared_database_refuses_a_members_field_edit(team, postgres):
    team["alice"].ok("field", "add", "tier", "--type", "choice", "--choices", "gold")
    team["alice"].sync()
    tier = postgres.value("SELECT id FROM field_def WHERE name = 'tier'")
    rule = "bob may not declare or change custom fields: only an admin or a manager declares"
    with as_member(postgres, "bob") as bob:
        row = pushable(bob, "field_def", tier)
        for change in ({"choices": ["gold", "bribe"]}, {"label": "层级"}):
            refused(bob, "field_def", {**row, **change}, rule)
    with as_member(postgres, "carol") as carol:  # a manager may
        push_as(carol, writes={"field_def": [{**row, "label": "层级"}]})
    assert postgres.rows("SELECT choices, label FROM field_def") == [(["gold"], "层级")]


def test_upgrading_a_version_4_team_database_gives_custom_fields_their_label(
        crm, blank_shared, postgres):

    with schema_version(4):  # what the crmcli of schema version 4 made
        assert crm("server", "init", "--url", blank_shared).exit_code == 0
    column = ("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
              "current_schema() AND table_name = 'field_def' AND column_name = 'label'")
    assert postgres.value(column) == 0
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    assert postgres.value(column) == 1
    assert "label" in postgres.value("SELECT prosrc FROM pg_proc WHERE proname = "
                                     "'crm_write_field_def' AND pronamespace = "
                                     "current_schema()::regnamespace")
