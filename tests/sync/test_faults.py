"""Faults: a sync cut off anywhere leaves both sides consistent, and the next one completes.

The sync runs as a real `crm sync` process. The test stops it at a chosen point by holding
a real lock it needs (a shared row during the push's writes, a table during the pull, the
replica's SQLite write lock after the shared commit), then cuts the connection
(pg_terminate_backend) or kills the process (SIGKILL), releases the lock and checks both
databases.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conftest import shared_with_team


def start(member, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "crmcli", "--db", str(member.path), "--as", member.handle, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def waiting_backend(postgres, kind: str = "Lock") -> int | None:
    """The pid of this test's sync backend while it waits on a lock."""
    rows = postgres.rows(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = %s "
        "AND pid <> pg_backend_pid()",
        postgres.schema, kind,
    )
    return rows[0][0] if rows else None


@contextmanager
def holding(pg_url: str, schema: str, statement: str, *params: Any) -> Iterator[None]:
    """Run `statement` in a transaction of its own and keep it open (and its locks held)."""
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute(f'SET search_path = "{schema}"')
        conn.execute(statement, params or None)
        yield
        conn.rollback()


@contextmanager
def sqlite_write_lock(path) -> Iterator[None]:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def shared_events(postgres, ids: list[str]) -> int:
    return postgres.value("SELECT count(*) FROM audit_event WHERE id = ANY(%s)", ids)


@pytest.fixture
def setting(team, postgres):
    """bob has an unpushed edit of a shared customer; alice added a note bob has not pulled."""
    alice, bob = team["alice"], team["bob"]
    acme = alice.ok("customer", "add", "Acme Trading", "--city", "Shanghai")
    shared_with_team(alice, acme)
    alice.sync()
    bob.sync()
    alice.ok("note", "add", acme, "alice called them")
    alice.sync()
    bob.ok("customer", "edit", acme, "--city", "Hangzhou", "--level", "A")
    acme_id = postgres.value("SELECT id FROM customer")
    return alice, bob, acme, acme_id


def stop_at(point: str, pg_url: str, postgres, acme_id: str, bob):
    """The lock that stops bob's sync at `point`, and how to see it is stopped there."""
    if point == "push":  # after the events are written, at the customer's upsert
        return holding(pg_url, postgres.schema, "SELECT 1 FROM customer WHERE id = %s FOR UPDATE", acme_id), \
            lambda: waiting_backend(postgres)
    if point == "pull":  # after the push committed, reading notes in the pull's snapshot
        return holding(pg_url, postgres.schema, "LOCK TABLE note IN ACCESS EXCLUSIVE MODE"), \
            lambda: waiting_backend(postgres)
    # after the push and the pull's reads, waiting to write the replica
    return sqlite_write_lock(bob.path), lambda: postgres.value(
        "SELECT count(*) FROM audit_event WHERE actor = 'bob' AND action = 'customer.update'")


@pytest.mark.parametrize(("point", "cut"), [
    ("push", "connection"), ("push", "process"),
    ("pull", "connection"), ("pull", "process"),
    ("local", "process"),
])
def test_a_sync_cut_off_leaves_both_sides_consistent_and_the_next_sync_completes(
    setting, pg_url, postgres, point, cut
):
    alice, bob, acme, acme_id = setting
    before = bob.sync_state()
    lock, stopped = stop_at(point, pg_url, postgres, acme_id, bob)
    with lock:
        process = start(bob, "sync")
        found = eventually(stopped)
        if cut == "connection":
            postgres.run("SELECT pg_terminate_backend(%s)", found)
            process.wait(timeout=30)
        else:
            process.kill()
            process.wait(timeout=30)
    out, err = process.communicate()
    if cut == "connection":
        assert process.returncode == 1
        assert len(err.strip().splitlines()) == 1 and "run `crm sync` again" in err
    else:
        assert process.returncode == -9

    # Both sides are as before the sync, or (cut after the shared commit) the shared side
    # holds the push, and the replica marked it pushed (cut in the pull) or will send it
    # again (cut before it could write).
    after = bob.sync_state()
    assert after == {**before, "unpushed": [] if point == "pull" else before["unpushed"]}
    pushed = shared_events(postgres, before["unpushed"])
    assert pushed == (0 if point == "push" else len(before["unpushed"]))
    assert json.loads(bob.ok("customer", "show", acme, "--format", "json"))["notes"] == []

    report = bob.sync()
    assert report["pushed"] == len(before["unpushed"]) - pushed
    assert report["conflicts"] == 0
    assert shared_events(postgres, before["unpushed"]) == len(before["unpushed"])
    assert bob.sync_state()["unpushed"] == []
    alice.sync()
    for member in (alice, bob):
        record = json.loads(member.ok("customer", "show", acme, "--format", "json"))
        assert (record["city"], record["level"]) == ("Hangzhou", "A")
        assert [note["body"] for note in record["notes"]] == ["alice called them"]
    assert postgres.value("SELECT count(*) FROM conflict") == 0


def test_pushing_the_same_changes_twice_applies_them_once(team, postgres):
    alice, bob = team["alice"], team["bob"]
    acme = alice.ok("customer", "add", "Acme Trading", "--stage", "lead")
    shared_with_team(alice, acme)
    alice.sync()
    bob.sync()
    bob.ok("customer", "edit", acme, "--stage", "won")
    bob.ok("note", "add", acme, "signed")
    copy = bob.path.read_bytes()  # as if bob's machine died right after the shared commit
    assert bob.sync()["pushed"] == 2
    alice.sync()
    alice.ok("customer", "edit", acme, "--stage", "lost")  # alice saw "won": no conflict
    alice.sync()
    bob.path.write_bytes(copy)
    for suffix in ("-wal", "-shm"):
        bob.path.with_name(bob.path.name + suffix).unlink(missing_ok=True)

    again = bob.sync()
    assert again["pushed"] == 0 and again["conflicts"] == 0
    assert postgres.value("SELECT count(*) FROM note") == 1
    assert postgres.value("SELECT stage FROM customer") == "lost"
    assert json.loads(bob.ok("customer", "show", acme, "--format", "json"))["stage"] == "lost"


def test_two_replicas_syncing_at_the_same_moment_both_succeed(team, pg_url, postgres):
    alice, bob = team["alice"], team["bob"]
    acme = alice.ok("customer", "add", "Acme Trading", "--stage", "lead")
    shared_with_team(alice, acme)
    alice.sync()
    bob.sync()
    alice.ok("customer", "edit", acme, "--city", "Beijing", "--stage", "won")
    bob.ok("customer", "edit", acme, "--level", "B", "--stage", "lost")
    bob.ok("customer", "add", "Globex")
    # Hold the shared writer lock so that both pushes start together and queue on it.
    lock = "SELECT pg_advisory_xact_lock(hashtext('crmcli:' || current_schema()))"
    with holding(pg_url, postgres.schema, lock):
        processes = [start(member, "sync", "--format", "json") for member in (alice, bob)]
        eventually(lambda: postgres.value(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event = 'advisory'", postgres.schema) == 2)
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        reports.append(json.loads(out))
    assert sum(report["conflicts"] for report in reports) == 1
    alice.sync()
    bob.sync()
    for member in (alice, bob):
        record = json.loads(member.ok("customer", "show", acme, "--format", "json"))
        assert (record["city"], record["level"]) == ("Beijing", "B")
        assert record["stage"] in ("won", "lost")
        assert "Globex" in member.ok("customer", "list")
        assert len(json.loads(member.ok("conflicts", "list", "--format", "json"))) == 1


def test_a_push_waits_for_an_administrators_idle_session_holding_the_lock(team, pg_url, postgres):
    """The lock breaker (`judge_lock`) ends a member's idle session, never a superuser's:
    no role of ours may, and trying made the push fail instead of waiting."""
    from crmcli.sync.judge_lock import IDLE_SECONDS

    alice = team["alice"]
    alice.ok("customer", "add", "Acme Trading")
    lock = "SELECT pg_advisory_xact_lock(hashtext('crmcli:' || current_schema()))"
    with holding(pg_url, postgres.schema, lock):  # as postgres, a superuser, left idle
        time.sleep(IDLE_SECONDS + 1)
        process = start(alice, "sync", "--format", "json")
        eventually(lambda: waiting_backend(postgres))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert json.loads(out)["pushed"] == 2  # the customer and its owner's assignment
    assert postgres.rows("SELECT name FROM customer") == [("Acme Trading",)]


def test_with_the_shared_database_unreachable_sync_fails_in_one_line_and_changes_nothing(replica):
    alice = replica("alice", "Alice Wang", "sales")
    alice.sync()
    acme = alice.ok("customer", "add", "Acme Trading")
    alice.ok("remote", "set", "postgresql://postgres@127.0.0.1:1/test")
    before = alice.sync_state()

    result = alice("sync")
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot reach the shared database 127.0.0.1:1/test")
    assert alice.sync_state() == before

    alice.ok("note", "add", acme, "works offline")
    alice.ok("task", "add", acme, "call back", "--due", "tomorrow")
    alice.ok("customer", "edit", acme, "--city", "Shanghai")
    assert "works offline" in alice.ok("customer", "show", acme)
    assert len(json.loads(alice.ok("history", acme, "--format", "json"))) >= 4
    assert json.loads(alice.ok("remote", "show", "--format", "json"))["unpushed"] == 5


def test_commands_other_than_sync_do_not_load_the_postgresql_driver(replica):
    alice = replica("alice")
    code = (
        "import sys\n"
        "from crmcli.cli.app import app\n"
        f"sys.argv = ['crm', '--db', {str(alice.path)!r}, 'customer', 'list']\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print('psycopg' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
