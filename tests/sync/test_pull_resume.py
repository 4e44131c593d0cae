"""A first sync cut off in the middle resumes where it stopped and ends as an uninterrupted one.

The pull streams the shared data in pages (CRM_SYNC_PAGE rows; tiny here) and commits
each page with how far it got. The first sync of a fresh replica is cut off for real: its
connection ended from another one (pg_terminate_backend), or a page the replica refuses
(a failing write in its own SQLite). The replica keeps what it applied, searchable; the
next sync reads only the rest, and the replica ends identical to one that pulled at once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid

from test_faults import eventually, sqlite_write_lock

from conftest import Replica, schema_of
from crmcli.repo import customers, notes, tasks, users
from crmcli.sync.tables import RECORDS
from helpers import as_login, login_for

TINY = {"CRM_SYNC_PAGE": "1"}


def fill(alice: Replica, count: int, tmp_path) -> None:
    """`count` customers of alice's, each with a note and a task; one note has a file."""
    document = tmp_path / "contract.txt"
    document.write_text("the contract")
    with alice.session(write=True) as s:
        me = users.acting(s, "alice")
        for number in range(count):
            customer = customers.create(
                s, {"name": f"客户{number} Customer", "city": "Shanghai"}, by=me,
                allow_duplicate=True)
            notes.add(s, customer, f"called them about order {number}", by=me,
                      attach=[document] if number == 1 else None)
            tasks.add(s, customer, f"follow up {number}", by=me)
    alice.sync()


def dump(replica: Replica) -> dict:
    """Everything a replica holds of the team: records (with their local derived columns),
    events, masks and the search index, keyed by id (not by local row numbers)."""
    conn = sqlite3.connect(replica.path)
    try:
        found = {}
        for synced in RECORDS:
            columns = [*synced.columns, *(("dedupe_key", "sort_key", "spelled")
                                          if synced.entity == "customer" else ())]
            names = ", ".join(f'"{name}"' for name in columns)
            found[synced.entity] = conn.execute(
                f'SELECT {names} FROM "{synced.name}" ORDER BY id').fetchall()
        found["event"] = conn.execute(
            "SELECT id, at, actor, action, entity, entity_id, customer_id, changes, detail, "
            "synced FROM audit_event ORDER BY id").fetchall()
        found["mask"] = conn.execute("SELECT * FROM sensitive_mask ORDER BY 1, 2").fetchall()
        found["search"] = conn.execute(
            "SELECT c.id, f.name, f.notes, f.spelled FROM customer_fts f "
            "JOIN customer c ON c.pk = f.rowid ORDER BY c.id").fetchall()
        found["dirty"] = conn.execute("SELECT count(*) FROM search_dirty").fetchall()
        return found
    finally:
        conn.close()


def another_replica_of(crm, shared: str, handle: str, tmp_path) -> Replica:
    """A second fresh replica of the same member (their own login), in a folder of its own."""
    home = tmp_path / f"{handle}-{uuid.uuid4().hex[:6]}"
    home.mkdir()
    path = home / "crm.db"
    assert crm("init", "--db", path, "--user", handle, "--name", handle.title()).exit_code == 0
    fresh = Replica(crm, path, handle)
    fresh.ok("remote", "set", as_login(shared, login_for(schema_of(shared), handle)))
    return fresh


def count(replica: Replica, table: str) -> int:
    conn = sqlite3.connect(replica.path)
    try:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        conn.close()


def indexes(replica: Replica) -> list[tuple[str, str]]:
    """Every index of a replica, as sqlite_master holds it: name and definition."""
    conn = sqlite3.connect(replica.path)
    try:
        return conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name").fetchall()
    finally:
        conn.close()


def found_by_search(replica: Replica, text: str) -> list[str]:
    shown = json.loads(replica.ok("customer", "find", text, "--format", "json"))
    return [row["name"] for row in shown]


def test_a_first_sync_whose_connection_is_ended_resumes_where_it_stopped(
    replica, postgres, crm, shared, tmp_path
):
    alice = replica("alice", "Alice Wang", "sales")
    bob = replica("bob", "Bob Li", "sales")
    fill(alice, 40, tmp_path)  # pages enough that the cut comes before the sync ends,
    total = postgres.value("SELECT count(*) FROM audit_event")  # on a loaded machine too

    process = subprocess.Popen(
        [sys.executable, "-m", "crmcli", "--db", str(bob.path), "--as", "bob", "sync"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **TINY},
    )
    eventually(lambda: count(bob, "customer") >= 3)
    with sqlite_write_lock(bob.path):  # holds bob's next page; meanwhile the cut
        backend = eventually(lambda: postgres.rows(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
            "AND state = 'idle in transaction' AND pid <> pg_backend_pid()", postgres.schema))
        postgres.run("SELECT pg_terminate_backend(%s)", backend[0][0])
    process.wait(timeout=60)
    _, err = process.communicate()
    assert process.returncode == 1, err
    assert len(err.strip().splitlines()) == 1 and "run `crm sync` again" in err

    # It kept what it applied (customers, searchable), and the cursor has not moved.
    kept = bob.sync_state()["state"]
    assert kept.cursor == 0 and kept.pulling is not None
    assert count(bob, "customer") >= 3 and count(bob, "audit_event") < total
    assert found_by_search(bob, "客户0") == ["客户0 Customer"]
    held = count(bob, "audit_event")

    # The team goes on meanwhile; the next sync brings the rest and what changed.
    alice.ok("customer", "edit", "客户3 Customer", "--name", "客户3 Renamed")
    late = alice.ok("customer", "add", "Late Arrival", "--city", "Beijing")
    alice.ok("note", "add", late, "met them at the fair")
    alice.sync()
    report = bob.sync(env=TINY)
    assert report["pulled"] == count(bob, "audit_event") - held  # what it lacked, once
    assert bob.sync_state()["state"].pulling is None

    at_once = another_replica_of(crm, shared, "bob", tmp_path)
    made = indexes(at_once)  # a replica that never synced: every index its schema makes
    at_once.sync()
    assert indexes(at_once) == made  # those a first sync builds at its end too
    bob.sync()  # the other replica's own joining, an event of the team's like any
    assert dump(bob) == dump(at_once)
    assert found_by_search(bob, "Renamed") == ["客户3 Renamed"]
    assert count(bob, "audit_event") == postgres.value("SELECT count(*) FROM audit_event")


def test_a_first_sync_a_page_of_which_fails_keeps_the_pages_before_and_reads_only_the_rest(
    replica, postgres, crm, shared, tmp_path
):
    alice = replica("alice", "Alice Wang", "sales")
    bob = replica("bob", "Bob Li", "sales")
    fill(alice, 6, tmp_path)
    with sqlite3.connect(bob.path) as conn:  # the replica refuses one note: a failing write
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON note WHEN NEW.body LIKE '%order 4' "
                     "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END")

    failed = bob("sync", env=TINY)
    assert failed.exit_code != 0
    assert count(bob, "customer") == 6 and count(bob, "note") == 4  # the pages before it
    # The fill built its indexes at the end, which it did not reach: the next command
    # builds them first, and they are all there, as in a replica that never synced.
    assert found_by_search(bob, "order 3") == ["客户3 Customer"]
    at_once = another_replica_of(crm, shared, "bob", tmp_path)
    assert indexes(bob) == indexes(at_once)
    with sqlite3.connect(bob.path) as conn:
        conn.execute("DROP TRIGGER refuse")

    # A customer bob holds already changes on the server without a new stamp (as no
    # writer can): the resumed pull does not read it again, so bob keeps what he had.
    renamed = "UPDATE customer SET name = %s WHERE name = %s"
    postgres.run("SET session_replication_role = replica")
    postgres.run(renamed, "客户0 Unseen", "客户0 Customer")
    bob.sync(env=TINY)
    assert found_by_search(bob, "客户0") == ["客户0 Customer"]
    postgres.run(renamed, "客户0 Customer", "客户0 Unseen")
    postgres.run("SET session_replication_role = origin")

    at_once.sync()
    bob.sync()
    assert dump(bob) == dump(at_once)
    assert count(bob, "note") == 6 and len(list((bob.path.parent / "attachments").rglob("*"))) > 0
