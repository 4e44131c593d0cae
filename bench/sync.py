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
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from crmcli.db import Database, session_scope
from crmcli.repo import customers, users
from crmcli.sync import members, schema, security, state
from crmcli.sync.run import sync

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
    default = os.environ.get("CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    base = sys.argv[1] if len(sys.argv) > 1 else default
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE SCHEMA "{name}"')
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}"
    team_roles: tuple = ()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            schema.init(conn)
            server_id = conn.execute("SELECT server_id FROM crm_server").fetchone()[0]
            team_roles = security.roles(server_id)
            logins = {}
            for handle in ("alice", "bob"):
                logins[handle] = f"{name}_{handle}"
                members.add(conn, handle, name=handle.title(), department="sales", role="admin",
                            login=logins[handle], password=None)
        with tempfile.TemporaryDirectory() as folder:
            run(Path(folder), url, logins, admin, name)
    finally:
        admin.execute(f'DROP SCHEMA "{name}" CASCADE')
        for role in (*(f"{name}_{h}" for h in ("alice", "bob")), *team_roles):
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()


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


if __name__ == "__main__":
    main()
