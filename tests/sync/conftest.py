"""Sync fixtures: a shared database of the test's own, and replicas as separate SQLite files.

Every test gets its own PostgreSQL schema in the CRM_TEST_PG_URL database (other tests run
concurrently against the same server), reached through `options=-csearch_path=…` in the
URL, and dropped afterwards. The URL also carries an application_name unique to the test,
so fault tests can find (and teardown can end) the backends of their own syncs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers import as_login, login_for, scratch_schema

TEAM = (
    ("bob", "Bob Li", "service", "member"),
    ("carol", "Carol Zhang", "marketing", "manager"),
)


class Postgres:
    """An admin connection to the test server, for setting up and inspecting the shared side."""

    def __init__(self, url: str, schema: str):
        import psycopg

        self.url = url
        self.schema = schema
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(f'SET search_path = "{schema}"')

    def rows(self, query: str, *params: Any) -> list[tuple]:
        return self.conn.execute(query, params or None).fetchall()

    def value(self, query: str, *params: Any) -> Any:
        return self.conn.execute(query, params or None).fetchone()[0]

    def run(self, query: str, *params: Any) -> None:
        self.conn.execute(query, params or None)


@pytest.fixture
def blank_shared(pg_url: str) -> Iterator[str]:
    """The URL of an empty schema of this test's own (not prepared)."""
    with scratch_schema(pg_url) as (url, _name):
        yield url


@pytest.fixture
def shared(crm, blank_shared: str) -> str:
    """The URL of a shared database prepared with `crm server init`."""
    result = crm("server", "init", "--url", blank_shared)
    assert result.exit_code == 0, result.output
    return blank_shared


@pytest.fixture
def postgres(pg_url: str, blank_shared: str) -> Iterator[Postgres]:
    schema = blank_shared.split("application_name=")[1]
    server = Postgres(blank_shared, schema)
    try:
        yield server
    finally:
        server.conn.close()


@dataclass
class Replica:
    """One member's local database, driven through the real command line (in-process)."""

    crm: Callable
    path: Path
    handle: str

    def __call__(self, *args: Any, env: dict | None = None, input: str | None = None):
        return self.crm("--db", self.path, "--as", self.handle, *args, env=env, input=input)

    def ok(self, *args: Any, env: dict | None = None) -> str:
        result = self(*args, env=env)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    def sync(self, env: dict | None = None) -> dict:
        import json

        return json.loads(self.ok("sync", "--format", "json", env=env))

    def sync_state(self) -> dict:
        """The replica's sync state (cursor, server…) and the ids of its unpushed events."""
        from crmcli.sync import local, state

        with self.session() as s:
            return {"state": state.load(s), "unpushed": sorted(e.id for e in local.unsynced(s))}

    def pull_only(self) -> None:
        """A pull alone, without the push before it: as if the replica's unpushed changes
        were made while a sync was running (after it read the outbox)."""
        from crmcli.db import Database, session_scope
        from crmcli.sync import connection, pull, schema, state

        database = Database(self.path)
        try:
            with session_scope(database, write=False) as s:
                known = state.load(s)
            conn = connection.connect(known.remote)
            try:
                pull.pull(conn, database, schema.check(conn))
            finally:
                conn.close()
        finally:
            database.dispose()

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Any]:
        from crmcli.db import Database, session_scope

        database = Database(self.path)
        try:
            with session_scope(database, write=write) as s:
                yield s
        finally:
            database.dispose()


@pytest.fixture
def member(crm, shared: str) -> Callable[..., str]:
    """`member(handle, name, dept, role)`: the server's owner adds a member with a login of
    their own (`crm server member add`); returns the URL that member connects with."""

    def add(handle: str, name: str, dept: str, role: str) -> str:
        login = login_for(schema_of(shared), handle)
        result = crm("server", "member", "add", handle, "--name", name, "--dept", dept,
                     "--role", role, "--login", login, "--url", shared)
        assert result.exit_code == 0, result.output
        return as_login(shared, login)

    return add


def schema_of(url: str) -> str:
    return url.split("application_name=")[1]


@pytest.fixture
def replica(crm, tmp_path: Path, member) -> Callable[..., Replica]:
    """`replica(handle, name, dept, role)`: a fresh local database of this member, linked to
    the shared one with their own login (not synced yet). The first member a test makes is
    an admin unless it says otherwise, the others members."""
    made: list[str] = []

    def make(handle: str, name: str | None = None, dept: str = "sales",
             role: str | None = None) -> Replica:
        name = name or handle.title()
        url = member(handle, name, dept, role or ("member" if made else "admin"))
        made.append(handle)
        path = tmp_path / f"{handle}-{uuid.uuid4().hex[:6]}.db"
        result = crm("init", "--db", path, "--user", handle, "--name", name, "--dept", dept)
        assert result.exit_code == 0, result.output
        replica = Replica(crm, path, handle)
        replica.ok("remote", "set", url)
        return replica

    return make


@pytest.fixture
def team(replica) -> dict[str, Replica]:
    """alice (admin), bob (member, service) and carol (manager, marketing), each with a
    login of their own, each replica synced once."""
    members = {"alice": replica("alice", "Alice Wang", "sales", "admin")}
    for handle, name, dept, role in TEAM:
        members[handle] = replica(handle, name, dept, role)
    for each in members.values():
        each.sync()
    return members


def shared_with_team(alice: Replica, ref: str) -> None:
    """Give bob (service) and carol (marketing) a role on alice's customer, so both may
    change its fields (record permissions: owner, role holders, owner's managers, admins)."""
    alice.ok("assign", ref, "--to", "bob", "--role", "service")
    alice.ok("assign", ref, "--to", "carol", "--role", "marketing")


@pytest.fixture
def acme(team) -> str:
    """A customer everybody has and may change: created (and owned) by alice, who gave bob
    the service role and carol the marketing role on it; synced to both."""
    ref = team["alice"].ok("customer", "add", "Acme Trading", "--city", "Shanghai", "--stage", "lead")
    shared_with_team(team["alice"], ref)
    team["alice"].sync()
    team["bob"].sync()
    team["carol"].sync()
    return ref
