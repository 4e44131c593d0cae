"""A database made by crmcli's first schema version opens, upgrades and keeps everything.

The file in tests/data was written by the first released schema (see tests/data/README.md),
so this test fails if a migration step is edited after it shipped, or a new step cannot run
on real old data (not just on a schema made by today's code).
"""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from crmcli import migrations

FIRST_VERSION = Path(__file__).parent / "data" / "first_version.db"


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    copy = tmp_path / "old.db"
    shutil.copyfile(FIRST_VERSION, copy)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    return copy


def test_the_first_version_database_upgrades_to_the_latest_schema(crm, old_db):
    result = crm("--db", old_db, "--as", "alice", "customer", "list", "--format", "json")
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(old_db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == migrations.LATEST
    listed = json.loads(result.stdout)
    assert [c["name"] for c in listed] == ["张三"]  # Acme Ltd was deleted


def test_the_old_record_keeps_its_fields_notes_tasks_roles_and_history(crm, old_db):
    show = crm("--db", old_db, "--as", "alice", "customer", "show", "张三", "--format", "json")
    assert show.exit_code == 0, show.stderr
    card = json.loads(show.stdout)
    assert card["phone"] == "+8613800138000"
    assert card["email"] == "zs@example.com"
    assert card["tags"] == ["vip"]
    assert card["sla"] == "4h"
    assert card["budget_code"] == "B-7"
    roles = {(a["user"], a["role"]): a["acknowledged_at"] for a in card["assignments"]}
    assert set(roles) == {("alice", "owner"), ("bob", "service")}
    assert roles[("bob", "service")] is not None
    assert [n["quote"] for n in card["notes"]] == ["我们下周一之前需要报价"]
    tasks = crm("--db", old_db, "--as", "bob", "task", "list", "--mine", "--format", "json")
    assert [t["title"] for t in json.loads(tasks.stdout)] == ["Send the quote"]
    history = crm("--db", old_db, "--as", "alice", "history", "张三", "--format", "json")
    actions = [e["action"] for e in json.loads(history.stdout)]
    for action in ("customer.create", "note.create", "task.create", "assignment.create"):
        assert action in actions


def test_the_upgraded_database_takes_new_writes(crm, old_db):
    added = crm("--db", old_db, "--as", "alice", "customer", "add", "李四", "--phone", "13900139000")
    assert added.exit_code == 0, added.stderr
    found = crm("--db", old_db, "--as", "alice", "customer", "find", "李四", "--format", "json")
    assert [c["name"] for c in json.loads(found.stdout)] == ["李四"]


def test_the_upgraded_database_finds_short_queries_through_its_rebuilt_index(crm, old_db):
    for text in ("zs", "张三", "張三", "三"):
        result = crm("--db", old_db, "--as", "alice", "customer", "find", text, "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert [c["name"] for c in json.loads(result.stdout)] == ["张三"], text
