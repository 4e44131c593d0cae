"""Proof of convergence: three replicas, random interleavings of work and syncs.

Hypothesis drives three replicas (separate SQLite files) of one team through creates,
edits (standard and custom fields, from small sets of values so that replicas collide
often), deletes, notes, tasks, hand-overs and syncs, calling the repository and sync
functions in-process. After a final round in which every replica syncs twice:

- all three replicas and the shared database hold identical data, record by record and
  event by event, with nothing left unpushed;
- no value was silently lost: every value a replica pushed is still the record's value,
  or is kept in a conflict entry of its author, or it reached the shared record and was
  overwritten there by an edit made on a replica that had pulled it. The test keeps that
  account itself: syncs are numbered and the shared values are noted after each one;
  each replica remembers the number of its last sync (it pulled the shared values of
  then), and each edit notes the value it overwrote if that value came from the shared
  database (not from the replica's own unpushed edits);
- no role of a customer has two current holders, and the owner's is the customer's owner.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row
from sqlalchemy import select

from crmcli.db import Database, session_scope
from crmcli.errors import PermissionDenied
from crmcli.models import Customer, Task
from crmcli.repo import assignments, custom_fields, customers, entities, notes, tasks, users
from crmcli.sync import members, schema, state
from crmcli.sync.run import sync
from crmcli.sync.tables import EVENTS, RECORDS
from helpers import as_login, login_for, scratch_schema

HANDLES = ("alice", "bob", "carol")
EDITS = {
    "stage": ("lead", "qualified", "won", "lost"),
    "level": ("A", "B", "C"),
    "city": ("Beijing", "Shanghai", ""),
    "budget": ("100", "200", ""),  # a custom field, stored in customer.extra
}
PATHS = {"budget": "extra.budget"}

replica_index = st.integers(0, 2)
pick = st.integers(0, 3)  # the team starts with two shared customers: edits collide often
PARAMETERS = {
    "edit": st.tuples(pick, st.sampled_from(sorted(EDITS)), st.integers(0, 3)),
    "sync": st.tuples(),
    "create": st.tuples(st.sampled_from(("Acme", "Globex", "星光科技"))),
    "delete": st.tuples(pick),
    "note": st.tuples(pick, st.sampled_from(("called", "visited"))),
    "task": st.tuples(pick),
    "complete": st.tuples(pick),
    "assign": st.tuples(pick, st.sampled_from(("owner", "service")), st.sampled_from(HANDLES)),
}
# Edits and syncs are the heart of it, so they come up most.
KINDS = ["edit"] * 6 + ["sync"] * 4 + ["create", "delete", "note", "task", "complete", "assign"]
operations = st.tuples(st.sampled_from(KINDS), replica_index).flatmap(
    lambda head: PARAMETERS[head[0]].map(lambda rest: (*head, *rest))
)

@dataclass
class Member:
    database: Database
    handle: str
    unpushed: dict[tuple[str, str], Any] = field(default_factory=dict)  # (customer, path) -> value
    pulled: int = 0  # the number of this replica's last sync: it has seen every push up to it

    def write(self):
        return session_scope(self.database)


@dataclass
class Team:
    conn: Any  # to the shared database
    members: list[Member]
    shared_values: list[dict[tuple[str, str], Any]] = field(default_factory=list)  # after each sync
    # customer, path, value, by, the number of the sync that pushed it
    pushed: list[tuple[str, str, Any, str, int]] = field(default_factory=list)
    # (customer, path, value) -> the numbers of the syncs an edit that overwrote it had pulled
    overwritten: dict[tuple[str, str, Any], set[int]] = field(default_factory=dict)

    def note_shared_values(self) -> None:
        """What the shared customers hold now: sync number len(shared_values) - 1 ended."""
        values = {}
        rows = self.conn.execute("SELECT id, city, stage, level, extra FROM customer")
        for customer_id, *columns in rows:
            row = dict(zip(("city", "stage", "level", "extra"), columns, strict=True))
            for name in EDITS:
                path = PATHS.get(name, name)
                values[(customer_id, path)] = _json(entities.get(row, path))
        self.shared_values.append(values)

    def sync(self, index: int) -> None:
        member = self.members[index]
        sync(member.database, member.handle)
        self.note_shared_values()
        number = len(self.shared_values) - 1
        self.pushed += [
            (cid, path, value, member.handle, number)
            for (cid, path), value in member.unpushed.items()
        ]
        member.unpushed.clear()
        member.pulled = number

    def overwrite(self, member: Member, customer_id: str, path: str, value: Any) -> None:
        """`member` changed a value it had pulled (not one of its own unpushed edits)."""
        if (customer_id, path) not in member.unpushed:
            self.overwritten.setdefault((customer_id, path, _json(value)), set()).add(member.pulled)


def _new_replica(folder: Path, url: str, handle: str) -> Member:
    database = Database(folder / f"{handle}.db")
    database.migrate()
    with session_scope(database) as s:
        users.create_first_admin(s, handle, name=handle.title(), department="sales")
        state.set_remote(s, url)
    return Member(database, handle)


TEAM = {"alice": ("sales", "admin"), "bob": ("service", "member"), "carol": ("marketing", "manager")}


def _set_up(folder: Path, url: str, schema_name: str) -> Team:
    """The server's owner adds the three members with logins of their own; alice (admin)
    declares a custom field and adds two customers; everyone syncs once."""
    with psycopg.connect(url, autocommit=True) as owner:
        for handle, (department, role) in TEAM.items():
            members.add(owner, handle, name=handle.title(), department=department, role=role,
                        login=login_for(schema_name, handle), password=None)
    urls = {handle: as_login(url, login_for(schema_name, handle)) for handle in TEAM}
    alice = _new_replica(folder, urls["alice"], "alice")
    sync(alice.database, "alice")  # she learns of bob and carol
    with alice.write() as s:
        me = users.acting(s, "alice")
        custom_fields.add(s, "budget", "int", [], by=me)
        for name in ("Initech", "Umbrella"):
            customer = customers.create(s, {"name": name}, by=me)
            # Roles on the shared customers let bob and carol change them (the permission
            # rules), so all three replicas edit them and collide; the random hand-overs
            # are of other roles and keep these.
            assignments.assign(s, customer, "bob", "product", by=me, reason=None)
            assignments.assign(s, customer, "carol", "finance", by=me, reason=None)
    sync(alice.database, "alice")
    team_members = [alice]
    for handle in HANDLES[1:]:
        team_members.append(_new_replica(folder, urls[handle], handle))
        sync(team_members[-1].database, handle)
    team = Team(psycopg.connect(url, autocommit=True), team_members)
    team.note_shared_values()  # sync number 0: every replica has pulled these
    return team


def _live(s, model, index: int):
    rows = list(s.scalars(select(model).where(model.deleted_at.is_(None)).order_by(model.id)))
    return rows[index % len(rows)] if rows else None


def _perform(team: Team, operation: tuple) -> None:
    kind, index = operation[0], operation[1]
    if kind == "sync":
        team.sync(index)
        return
    try:
        _write(team, team.members[index], operation)
    except PermissionDenied:  # refused by the permission rules: nothing was written
        event("an operation refused by the permission rules")


def _write(team: Team, member: Member, operation: tuple) -> None:
    kind = operation[0]
    with member.write() as s:
        me = users.acting(s, member.handle)
        if kind == "create":
            customers.create(s, {"name": operation[2]}, by=me, allow_duplicate=True)
            return
        if kind == "complete":
            task = _live(s, Task, operation[2])
            if task is not None:
                tasks.complete(s, task, by=me)
            return
        customer = _live(s, Customer, operation[2])
        if customer is None:
            return
        if kind == "edit":
            name, choice = operation[3], operation[4]
            value = EDITS[name][choice % len(EDITS[name])]
            path = PATHS.get(name, name)
            before = _stored(customer, name)
            changes = customers.update(s, customer, {name: value}, by=me, allow_duplicate=True)
            if changes:
                team.overwrite(member, customer.id, path, before)
                member.unpushed[(customer.id, path)] = _stored(customer, name)
        elif kind == "delete":
            customers.delete(s, customer, by=me)
        elif kind == "note":
            notes.add(s, customer, operation[3], by=me)
        elif kind == "task":
            tasks.add(s, customer, "follow up", by=me)
        elif kind == "assign":
            assignments.assign(s, customer, operation[4], operation[3], by=me, reason=None)


def _stored(customer: Customer, name: str) -> Any:
    return customer.extra.get(name) if name in PATHS else getattr(customer, name)


def _exact(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _local_data(member: Member) -> dict[str, list[dict]]:
    data = {}
    with session_scope(member.database, write=False) as s:
        for synced in (*RECORDS, EVENTS):
            columns = [synced.table.c[name] for name in synced.columns]
            rows = s.connection().execute(select(*columns).order_by(synced.table.c.id))
            data[synced.entity] = [{k: _exact(v) for k, v in row._mapping.items()} for row in rows]
        unsynced = s.connection().exec_driver_sql("SELECT count(*) FROM audit_event WHERE synced = 0")
        data["unsynced"] = unsynced.scalar_one()
    return data


def _shared_data(conn) -> dict[str, list[dict]]:
    data = {}
    with conn.cursor(row_factory=dict_row) as cursor:
        for synced in (*RECORDS, EVENTS):
            names = ", ".join(f'"{name}"' for name in synced.columns)
            cursor.execute(f"SELECT {names} FROM {synced.name} ORDER BY id")
            data[synced.entity] = [{k: _exact(v) for k, v in row.items()} for row in cursor]
    data["unsynced"] = 0
    return data


def _check_nothing_lost(team: Team, shared: dict[str, list[dict]]) -> None:
    """Every pushed value is the record's, or in a conflict entry of its author, or reached
    the shared record and was overwritten by an edit made on a replica that had pulled it
    there (see the module doc)."""
    records = {row["id"]: row for row in shared["customer"]}
    kept = set()
    for entry in shared["conflict"]:
        values = {entry["field"]: entry["mine"]} if entry["kind"] == "edit" else entry["mine"]
        kept |= {
            (entry["entity_id"], path, _json(value), entry["actor"])
            for path, value in values.items()
        }
    for customer_id, path, value, by, pushed_in in team.pushed:
        key, comparable = (customer_id, path), _json(value)
        if _json(entities.get(records[customer_id], path)) == comparable:
            continue
        lost = f"{by}'s {path}={value!r} on {customer_id}, pushed in sync {pushed_in}, was lost"
        if (customer_id, path, comparable, by) in kept:
            continue
        assert team.shared_values[pushed_in][key] == comparable, lost + " (never taken)"
        seen_by = team.overwritten.get((*key, comparable), set())
        assert any(team.shared_values[pulled][key] == comparable for pulled in seen_by), (
            lost + " (overwritten by someone who had not seen it)"
        )


def _check_one_holder_per_role(shared: dict[str, list[dict]]) -> None:
    """No role has two current holders, and the owner's agrees with the customer's owner."""
    owners = {row["id"]: row["owner"] for row in shared["customer"]}
    holders: dict[tuple[str, str], list[str]] = {}
    for row in shared["assignment"]:
        if row["until"] is None and row["deleted_at"] is None:
            holders.setdefault((row["customer_id"], row["role"]), []).append(row["user"])
    for (customer_id, role), held_by in holders.items():
        assert len(held_by) == 1, f"{role} of {customer_id} is held by {held_by}"
        assert role != "owner" or held_by == [owners[customer_id]], f"{customer_id}'s owner"


def _json(value: Any) -> Any:
    """Values as pushed and as kept: an empty text is no value."""
    return None if value in ("", None) else value


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(script=st.lists(operations, min_size=8, max_size=30))
# Interleavings that must always be tried, besides the random ones:
@example(script=[  # three replicas change one field at once, just before the final round
    ("edit", 0, 0, "stage", 1), ("edit", 1, 0, "stage", 2), ("edit", 2, 0, "stage", 3),
])
@example(script=[  # edits to a customer deleted elsewhere, before and after the delete arrives
    ("edit", 1, 0, "city", 0), ("delete", 0, 0), ("sync", 0), ("edit", 2, 0, "level", 1),
    ("sync", 1), ("sync", 2),
])
@example(script=[  # a value seen and changed must not excuse the same value pushed later
    ("edit", 0, 0, "city", 0), ("sync", 0), ("edit", 0, 0, "city", 1), ("sync", 0),
    ("edit", 1, 0, "city", 0),
])
# Hand-overs at once: the service role on two replicas; the owner there and back on one
# while another hands it on (whose change of the owner field is then taken).
@example(script=[
    ("assign", 0, 0, "service", "bob"), ("assign", 1, 0, "service", "carol"),
    ("assign", 0, 0, "owner", "carol"), ("assign", 0, 0, "owner", "alice"),
    ("assign", 2, 0, "owner", "bob"),
])
@example(script=[  # custom fields merge per key; the same key collides
    ("edit", 0, 1, "budget", 0), ("edit", 1, 1, "budget", 1), ("edit", 2, 1, "stage", 2),
    ("sync", 2), ("sync", 1), ("edit", 0, 1, "city", 1),
])
def test_three_replicas_converge_and_lose_nothing_whatever_the_interleaving(pg_url, script):
    with scratch_schema(pg_url, "crm_h") as (url, name):
        with psycopg.connect(url, autocommit=True) as conn:
            schema.init(conn)
        with tempfile.TemporaryDirectory() as folder:
            team = _set_up(Path(folder), url, name)
            with team.conn:
                for operation in script:
                    _perform(team, operation)
                for index in (0, 1, 2, 0, 1, 2):
                    team.sync(index)
                shared = _shared_data(team.conn)
            for member in team.members:
                assert _local_data(member) == shared, f"{member.handle}'s replica differs"
                member.database.dispose()
            _check_nothing_lost(team, shared)
            _check_one_holder_per_role(shared)
            made = sum(entry["entity"] == "customer" for entry in shared["conflict"])
            event(f"conflicts on customers: {'none' if not made else '1-2' if made < 3 else '3 or more'}")
