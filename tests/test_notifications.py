"""What people are told: hand-overs waiting for acknowledgement, tasks due soon or
overdue, mentions in notes; recorded once in the outbox, read in the inbox, and listed
as due work by `crm remind`."""

import json

import pytest

from crmcli.repo.notice_sources import mentioned
from helpers import add_customer

NOW = "2026-03-02T09:00:00+00:00"


@pytest.fixture
def now(team, utc, monkeypatch):
    monkeypatch.setenv("CRM_NOW", NOW)


def inbox(crm, handle: str, *options: str) -> list[dict]:
    result = crm("notify", "inbox", "--as", handle, "--format", "json", *options)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_hand_over_waits_in_the_receivers_inbox_until_acknowledged(crm, now):
    add_customer(crm, "王芳")
    crm("assign", "王芳", "--to", "bob", "--role", "service", "--reason", "客户投诉")
    [told] = inbox(crm, "bob")
    assert (told["kind"], told["recipient"]) == ("ack.waiting", "bob")
    assert told["title"] == "Acknowledge: you are service of 王芳"
    assert "alice made you service of 王芳" in told["body"] and "(客户投诉)" in told["body"]
    remind = crm("remind", "--for", "bob", "--format", "ndjson")
    assert [json.loads(line)["kind"] for line in remind.stdout.splitlines()] == ["ack.waiting"]
    crm("ack", "王芳", "--as", "bob")
    assert crm("remind", "--for", "bob", "--format", "ndjson").stdout == ""
    assert len(inbox(crm, "bob")) == 1  # told once, kept in the inbox


def test_an_assignment_one_makes_to_oneself_is_nobodys_news(crm, now):
    add_customer(crm, "王芳")
    crm("assign", "王芳", "--to", "alice", "--role", "sales")
    assert inbox(crm, "alice") == []


def test_tasks_are_told_due_soon_then_overdue_each_once(crm, now, monkeypatch):
    add_customer(crm, "Acme")
    crm("task", "add", "Acme", "send the offer", "--assignee", "bob", "--due", "2026-03-02 20:00")
    crm("task", "add", "Acme", "next month", "--assignee", "bob", "--due", "2026-04-01")
    assert [n["title"] for n in inbox(crm, "bob")] == ["Due soon: send the offer"]
    assert len(inbox(crm, "bob")) == 1
    monkeypatch.setenv("CRM_NOW", "2026-03-02T21:00:00+00:00")
    assert [n["kind"] for n in inbox(crm, "bob")] == ["task.overdue", "task.due"]
    assert inbox(crm, "bob")[0]["due"] == "2026-03-02T20:00:00Z"


def test_a_task_moved_to_another_day_is_told_again_and_a_done_one_not_at_all(crm, now):
    add_customer(crm, "Acme")
    task = crm("task", "add", "Acme", "call", "--assignee", "bob", "--due", "2026-03-01")
    finished = crm("task", "add", "Acme", "finished", "--assignee", "bob", "--due", "2026-03-01")
    assert crm("task", "done", finished.stdout.strip()).exit_code == 0
    assert [n["title"] for n in inbox(crm, "bob")] == ["Overdue: call"]
    crm("task", "edit", task.stdout.strip(), "--due", "2026-03-02 10:00")
    assert [n["title"] for n in inbox(crm, "bob")] == ["Due soon: call", "Overdue: call"]


def test_a_mention_in_a_note_tells_that_user_once(crm, now):
    add_customer(crm, "王芳")
    crm("note", "add", "王芳", "客户要求下周回复，请@bob看一下；抄送 carol@example.com 和 @nobody")
    [told] = inbox(crm, "bob")
    assert (told["kind"], told["title"]) == ("mention", "alice mentioned you on 王芳")
    assert told["body"].startswith("客户要求下周回复")
    assert inbox(crm, "carol") == []  # an e-mail address mentions nobody
    assert crm("remind", "--for", "bob", "--format", "ndjson").stdout == ""  # not due work


def test_mentions_are_read_as_handles_of_active_users():
    handles = {"bob", "carol", "li.wei"}
    assert mentioned("请@bob看一下", handles) == ["bob"]
    assert mentioned("@Bob, @carol. @li.wei.", handles) == ["bob", "carol", "li.wei"]
    assert mentioned("mail bob@example.com; @dave", handles) == []
    assert mentioned("@bob @bob", handles) == ["bob"]


def test_nobody_is_told_what_they_wrote_themselves_or_as_a_deactivated_user(crm, now):
    add_customer(crm, "Acme")
    crm("task", "add", "Acme", "x", "--assignee", "bob", "--due", "2026-03-01")
    assert crm("user", "deactivate", "bob", "--transfer-to", "carol").exit_code == 0
    crm("note", "add", "Acme", "note to self @alice, and @bob who left")
    assert inbox(crm, "alice") == []
    assert [n["title"] for n in inbox(crm, "carol")] == ["Overdue: x"]  # carol has it now
    assert "bob" not in crm("remind", "--format", "json").stdout


def test_notifications_are_marked_read_one_by_one_or_all_and_only_ones_own(crm, now):
    add_customer(crm, "Acme")
    for title in ("one", "two"):
        crm("task", "add", "Acme", title, "--assignee", "bob", "--due", "2026-03-01")
    first, second = inbox(crm, "bob")
    assert crm("notify", "read", first["id"][-8:], "--as", "alice").exit_code == 3
    result = crm("notify", "read", first["id"][-8:], "--as", "bob")
    assert result.exit_code == 0 and "1 marked read" in result.stderr
    assert [n["id"] for n in inbox(crm, "bob", "--unread")] == [second["id"]]
    assert crm("notify", "read", "--all", "--as", "bob").exit_code == 0
    assert inbox(crm, "bob", "--unread") == []
    assert crm("notify", "read", "--as", "bob").exit_code == 2


def test_remind_prints_everyones_due_work_by_person(crm, now):
    add_customer(crm, "Acme")
    crm("task", "add", "Acme", "bob's", "--assignee", "bob", "--due", "2026-03-01")
    crm("task", "add", "Acme", "carol's", "--assignee", "carol", "--due", "2026-03-02 12:00")
    crm("assign", "Acme", "--to", "carol", "--role", "marketing")
    result = crm("remind", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [(r["recipient"], r["kind"]) for r in rows] == [
        ("bob", "task.overdue"), ("carol", "task.due"), ("carol", "ack.waiting")]
    assert set(rows[0]) == {"key", "kind", "recipient", "customer", "title", "body", "due"}
    table = crm("remind", "--for", "carol")
    assert "carol's" in table.stdout and "bob's" not in table.stdout
    assert crm("remind", "--for", "nobody").exit_code == 3


def test_collecting_twice_records_each_notification_once(crm, now, database):
    from crmcli.repo import notifications

    add_customer(crm, "Acme")
    crm("task", "add", "Acme", "x", "--assignee", "bob", "--due", "2026-03-01")
    with database(write=True) as s:
        assert notifications.collect(s) == 1
        assert notifications.collect(s) == 0


def test_the_team_says_how_soon_before_its_due_time_a_task_is_told(crm, now, database):
    add_customer(crm, "Acme")
    crm("task", "add", "Acme", "in ten hours", "--assignee", "bob", "--due", "2026-03-02 19:00")
    crm("task", "add", "Acme", "in two hours", "--assignee", "bob", "--due", "2026-03-02 11:00")
    result = crm("setting", "set", "notify.due_soon", "4小时")
    assert result.exit_code == 0, result.output
    assert [n["title"] for n in inbox(crm, "bob")] == ["Due soon: in two hours"]
    assert crm("setting", "set", "notify.due_soon", "soon").exit_code == 4


def test_a_due_soon_setting_that_is_no_duration_counts_as_unset(crm, now, database):
    from crmcli.repo import settings, users

    add_customer(crm, "Acme")
    crm("task", "add", "Acme", "in ten hours", "--assignee", "bob", "--due", "2026-03-02 19:00")
    with database(write=True) as s:
        settings.put(s, "notify.due_soon", "a day", by=users.acting(s, "alice"))
    assert [n["title"] for n in inbox(crm, "bob")] == ["Due soon: in ten hours"]
