"""Sync benchmark: prints push/pull times for 10,000 changes and no-op syncs by data size.

    python bench/sync.py [POSTGRES_URL]

The URL defaults to CRM_TEST_PG_URL, then postgresql://postgres@127.0.0.1:5432/test. The
benchmark works in a schema of its own, dropped at the end. Replicas are SQLite files in
a temporary folder, driven in-process through the repository and sync functions (what
`crm sync` runs, without the process start-up).

Every member connects with a login of their own, as on a real team, so pushes go through
the shared database's `crm_push` function (record permissions, stamps, audit chain).

Measured: a replica pushes 10,000 changes (5,000 new customers, each with its owner
assignment), another pulls them; then 10,000 edits of those customers, pushed and pulled;
then a no-op sync against shared databases of 1,000 and 100,000 customers (the larger
one filled server-side, and pulled once by a fresh replica, which is timed too).

Volume mode, for push and pull at scale (issue 13: bounded memory):

    python bench/sync.py [POSTGRES_URL] --volume 20000 100000 200000

For each N, in a schema of its own and entirely through the command line, each step a
`crm` process with a CRM_HOME of its own, as a team would: `crm server init`, two members
added with logins of their own (`crm server member add`), alice joins (`crm init`,
`crm remote set`, `crm sync`) and imports N generated customers (`crm import customers` of
bench/import.py's CSV rows, about 2 % repeated leads, which the import merges). Timed, each
a process of its own whose peak RSS is its own `ru_maxrss` (from `wait4`): alice's
`crm sync` pushing the created customers and their events (PUSH), then bob's first
`crm sync` on a fresh replica joining the team, receiving them (FIRST SYNC). Rows/s count
customers; the events column is what the push added to the shared audit trail; load is
the 1-minute load average when the row was measured (compare runs at similar load).
On a loaded machine the wall time grows with the others' work, so beside it: the `crm`
process's CPU seconds (CPU) and the shared database's seconds in `crm_push` (the two take
turns: on an idle machine a push takes about their sum, plus the pull that follows it).
A size whose push or first sync fails prints its first error line and the run goes on.
With --no-timeouts the owner lifts the member logins' statement and idle-in-transaction
timeouts (120 s and 60 s by default, README "limits"), to time a sync that outlasts them.
The schema and every role the team made are dropped after each N, also on a failure or
Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from crmcli.db import Database, session_scope
from crmcli.repo import customers, users
from crmcli.sync import members, schema, security, state
from crmcli.sync.run import sync

import_bench = importlib.import_module("import")  # bench/import.py: its rows and process timer
CRM = [sys.executable, "-m", "crmcli"]

FILL = """
INSERT INTO customer (id, name, stage, tags, extra, created_at, updated_at, version, owner)
SELECT gen_random_uuid()::text, 'Customer ' || n, 'lead', '[]', '{}', now(), now(), 1, 'alice'
  FROM generate_series(1, %s) AS n
"""


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def replica(folder: Path, url: str, handle: str) -> Database:
    database = Database(folder / f"{handle}-{uuid.uuid4().hex[:6]}.db")
    database.migrate()
    with session_scope(database) as s:
        users.create_first_admin(s, handle, name=handle.title(), department="sales")
        state.set_remote(s, url)
    return database


def no_op(database: Database, handle: str, runs: int = 7) -> float:
    return statistics.median(timed(lambda: sync(database, handle)) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", nargs="?", help="PostgreSQL URL of a database to work in",
                        default=os.environ.get("CRM_TEST_PG_URL",
                                               "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--volume", type=int, nargs="+", metavar="N",
                        help="push and first sync of N imported customers, for each N")
    parser.add_argument("--no-timeouts", action="store_true",
                        help="with --volume: lift the member logins' statement timeouts")
    args = parser.parse_args()
    if args.volume:
        volume(args.url, args.volume, args.no_timeouts)
        return
    with scratch_team(args.url) as (url, name, admin):
        with psycopg.connect(url, autocommit=True) as conn:
            schema.init(conn)
            logins = {}
            for handle in ("alice", "bob"):
                logins[handle] = f"{name}_{handle}"
                members.add(conn, handle, name=handle.title(), department="sales", role="admin",
                            login=logins[handle], password=None)
        with tempfile.TemporaryDirectory() as folder:
            run(Path(folder), url, logins, admin, name)


@contextmanager
def scratch_team(base: str) -> Iterator[tuple[str, str, psycopg.Connection]]:
    """A schema of the benchmark's own: yields (URL that uses it, its name, an admin
    connection). Afterwards, even after a failure or Ctrl-C, its backends are ended and the
    schema is dropped with every role its team made (roles are cluster-wide): the member
    logins, named after the schema, and the team's owner and member roles."""
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{name}"')
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}&application_name={name}"
    try:
        yield url, name, admin
    finally:
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C: clean anyway
        try:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = %s AND pid <> pg_backend_pid()", (name,))
            made = admin.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s "
                                 "AND tablename = 'crm_server'", (name,)).fetchone()
            server = made and admin.execute(f'SELECT server_id FROM "{name}".crm_server').fetchone()
            logins = [row[0] for row in admin.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (name + "_",))]
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')
            with admin.transaction():  # one team at a time touches the catalog's ACLs
                admin.execute("SELECT pg_advisory_xact_lock(hashtext('crmcli-secure'))")
                for role in (*logins, *(security.roles(server[0]) if server else ())):
                    if admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                     (role,)).fetchone():
                        admin.execute(f'DROP OWNED BY "{role}"')
                        admin.execute(f'DROP ROLE "{role}"')
        finally:
            admin.close()
            signal.signal(signal.SIGINT, interrupt)


def as_login(url: str, login: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{login}@{rest.split('@', 1)[1]}"


def run(folder: Path, url: str, logins: dict, admin, name: str) -> None:
    print(f"sync benchmark, PostgreSQL {admin.info.server_version // 10000}, schema {name}")
    alice_url, bob_url = as_login(url, logins["alice"]), as_login(url, logins["bob"])
    alice = replica(folder, alice_url, "alice")
    sync(alice, "alice")
    bob = replica(folder, bob_url, "bob")
    sync(bob, "bob")

    with session_scope(alice) as s:
        me = users.acting(s, "alice")
        made = [customers.create(s, {"name": f"Customer {n}", "city": "Shanghai"}, by=me,
                                 allow_duplicate=True).id for n in range(5_000)]
    push = timed(lambda: sync(alice, "alice"))
    pull = timed(lambda: sync(bob, "bob"))
    print(f"push 10,000 changes (5,000 new customers + owner assignments): {push:6.2f} s")
    print(f"pull them into another replica:                                 {pull:6.2f} s")

    with session_scope(alice) as s:
        me = users.acting(s, "alice")
        for number, customer_id in enumerate(made):
            customer = customers.by_id(s, customer_id)
            customers.update(s, customer, {"city": "Beijing", "level": "ABCD"[number % 4]}, by=me)
            customers.update(s, customer, {"stage": "qualified"}, by=me)
    push = timed(lambda: sync(alice, "alice"))
    pull = timed(lambda: sync(bob, "bob"))
    print(f"push 10,000 edits of existing customers:                        {push:6.2f} s")
    print(f"pull them into another replica:                                 {pull:6.2f} s")

    for size in (1_000, 100_000):
        admin.execute(f'SET search_path = "{name}"')
        admin.execute(  # the owner empties the append-only trail for the next round
            "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only; "
            "DELETE FROM audit_event; DELETE FROM conflict; DELETE FROM customer; "
            "ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"
        )
        admin.execute(FILL, (size,))
        fresh = replica(folder, alice_url, "alice")
        first = timed(lambda fresh=fresh: sync(fresh, "alice"))
        print(f"first sync of a fresh replica, {size:>7,} customers shared:        {first:6.2f} s")
        print(f"no-op sync, {size:>7,} customers shared (median of 7):         "
              f"{no_op(fresh, 'alice') * 1000:6.1f} ms")


VOLUME_COLUMNS = ("N", "customers", "events", "push s", "rows/s", "push RSS MiB",
                  "push CPU s", "crm_push s", "first sync s", "rows/s", "first RSS MiB",
                  "first CPU s", "load")


def volume(base: str, sizes: list[int], no_timeouts: bool) -> None:
    timeouts = "member timeouts lifted" if no_timeouts else "default member timeouts"
    print(f"sync at volume ({timeouts}), {' | '.join(VOLUME_COLUMNS)}", flush=True)
    for size in sizes:
        with scratch_team(base) as (url, name, admin), tempfile.TemporaryDirectory() as folder:
            try:
                figures = push_and_join(Path(folder), url, name, admin, size, no_timeouts)
            except SystemExit as failure:  # one size failing says why and the others still run
                figures = [f"{size:,}", str(failure)]
        print(" | ".join(figures), flush=True)


def crm(home: Path, user: str, *args: str) -> tuple[float, int, float]:
    """Run one `crm` command as `user` with CRM_HOME `home`: (seconds, peak RSS in MiB,
    CPU seconds of the process)."""
    home.mkdir(exist_ok=True)
    return import_bench.run([*CRM, *args], import_bench.crm_env(home, user))


def join(home: Path, url: str, handle: str) -> None:
    """A member's fresh replica linked with their own login (README, "Join"), not synced."""
    crm(home, handle, "init", "--user", handle, "--name", handle.title(), "--dept", "sales")
    crm(home, handle, "remote", "set", url)


def timed_sync(label: str, home: Path, user: str) -> tuple[float, int, float]:
    started = time.perf_counter()
    try:
        return crm(home, user, "sync")
    except SystemExit as failure:
        said = [line for line in str(failure).splitlines() if line.strip()]
        raise SystemExit(f"{label} failed after {time.perf_counter() - started:.0f} s: "
                         f"{said[-1]}") from None


def push_and_join(folder: Path, url: str, name: str, admin, size: int,
                  no_timeouts: bool) -> list[str]:
    owner = folder / "owner"
    crm(owner, "owner", "server", "init", "--url", url)
    for handle, role in (("alice", "admin"), ("bob", "member")):
        crm(owner, "owner", "server", "member", "add", handle, "--name", handle.title(),
            "--dept", "sales", "--role", role, "--login", f"{name}_{handle}", "--url", url)
        admin.execute(f'ALTER ROLE "{name}_{handle}" IN DATABASE "{admin.info.dbname}" '
                      "SET track_functions = 'pl'")  # for `server_seconds`
        if no_timeouts:
            for setting in ("statement_timeout", "idle_in_transaction_session_timeout"):
                admin.execute(f'ALTER ROLE "{name}_{handle}" IN DATABASE "{admin.info.dbname}" '
                              f"SET {setting} = 0")  # where `member add` set them
    alice, bob = folder / "alice", folder / "bob"
    join(alice, as_login(url, f"{name}_alice"), "alice")
    crm(alice, "alice", "sync")
    rows = folder / "customers.csv"
    import_bench.generate(rows, size, seed=1)
    crm(alice, "alice", "import", "customers", str(rows))

    def events() -> int:
        return admin.execute(f'SELECT count(*) FROM "{name}".audit_event').fetchone()[0]

    before, judged = events(), server_seconds(admin, name)
    push, push_rss, push_cpu = timed_sync("push", alice, "alice")
    pushed = events() - before
    judged = server_seconds(admin, name) - judged
    shared = admin.execute(f'SELECT count(*) FROM "{name}".customer').fetchone()[0]
    figures = [f"{size:,}", f"{shared:,}", f"{pushed:,}", f"{push:.1f}",
               f"{shared / push:,.0f}", f"{push_rss:,}", f"{push_cpu:.1f}", f"{judged:.1f}"]
    join(bob, as_login(url, f"{name}_bob"), "bob")
    try:
        first, first_rss, first_cpu = timed_sync("first sync", bob, "bob")
    except SystemExit as failure:
        return [*figures, str(failure)]
    with sqlite3.connect(bob / "crm.db") as local:
        received = local.execute("SELECT count(*) FROM customer").fetchone()[0]
    if received != shared:
        raise SystemExit(f"bob's first sync received {received:,} of {shared:,} customers")
    return [*figures, f"{first:.1f}", f"{shared / first:,.0f}", f"{first_rss:,}",
            f"{first_cpu:.1f}", f"{os.getloadavg()[0]:.2f}"]


def server_seconds(admin, name: str) -> float:
    """The seconds the shared database has spent in `crm_push` (with what it calls) in
    schema `name`: the server's share of a push, which the client's CPU time leaves out
    (members' logins track their functions: `push_and_join`)."""
    time.sleep(1)  # a session's function statistics arrive when it ends
    admin.execute("SELECT pg_stat_clear_snapshot()")
    return admin.execute(
        "SELECT coalesce(sum(total_time), 0) / 1000 FROM pg_stat_user_functions "
        "WHERE schemaname = %s AND funcname = 'crm_push'", (name,)).fetchone()[0]

if __name__ == "__main__":
    main()
