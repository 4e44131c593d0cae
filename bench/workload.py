"""`crm report workload` for bench/reports.py (`REPORTS["workload"]`): the work on top of
its history database; the kept SLA waits worked out from nothing, caught up after a
hundredth of the customers called, and with nothing new; then each case timed (the
command line includes its catch-up, which finds nothing new).

The work is added once to a copy of the history database (bench/.data/workload-N.db),
directly with SQLAlchemy Core, as of bench/reports.py's NOW: every customer an sla (1h to
2d) and a contact --in up to 3.5 days before NOW, answered --out by its owner for every
other customer; its owner's assignment (since its creation; one in a hundred not
acknowledged yet, half of those routed by a rule); every tenth customer a service role
for another member; one task for its owner (created 0-180 days before NOW, due 0-29 days
after; 60% open, 35% done, 5% cancelled); an open approval for the managers on one
customer in a thousand (one manager per department); one customer in five hundred deleted.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from datetime import timedelta
from pathlib import Path

from reports import DEPARTMENTS as TEAMS
from reports import (
    EVENT_COLUMNS,
    NOW,
    OWNERS,
    STAMP,
    best_of,
    caught_up_figures,
    command_line,
    made_once,
)

BATCH = 50_000
SLAS = (60, 240, 1440, 2880)
CASES = (
    ("the whole team", {}),
    ("--dept south (20 %)", {"dept": ("south",)}),
    ("--owner u7 (1 %)", {"owner": ("u7",)}),
    ("--by week (12 weeks)", {"by": "week"}),
    ("--by month --since -365d", {"by": "month", "since": "-365d"}),
)


def workload(path: Path) -> None:
    """Each case in process (best of RUNS) and on the command line."""
    from crmcli import config
    from crmcli.cli.report_options import options
    from crmcli.db import Database, session_scope
    from crmcli.repo import users
    from crmcli.repo.reports import workload as report

    work = work_database(path)
    database = Database.open(config.Settings(db_path=work, user="bench", region="CN"))
    _waits_caught_up(database)
    for label, asked in CASES:
        chosen = options(**asked)

        def build(chosen=chosen):
            with session_scope(database, write=False) as s:
                return report.build(s, users.acting(s, "bench"), chosen)

        seconds, built = best_of(build)
        late = sum(row["sla_late"] for row in built.sections[0].rows)
        args = [f"--{key}={value}" for key, values in asked.items()
                for value in (values if isinstance(values, tuple) else (values,))]
        cli = command_line(work, "workload", *args)
        print(f"    workload {label:26} sla late {late:8,}  in process {seconds:6.3f} s  "
              f"command line {cli:6.3f} s", flush=True)
    database.dispose()


def _waits_caught_up(database) -> None:
    """Time `sla_waits.catch_up` from nothing, then after a hundredth of the customers had
    a new contact --in (notes and events written in bulk, as an import writes them; taken
    back after), then with nothing new."""
    from crmcli.repo import sla_waits

    caught_up_figures(database, "sla waits", "contacts", sla_waits.catch_up,
                      ("UPDATE sla_mark SET events = -1",), _call_some)


def _call_some(database, back: list[str] = ()) -> list[str]:
    """A contact --in at NOW on a hundredth of the customers, with its note.create event;
    returns the notes' ids. With `back` (those ids), delete them and their events (the
    cached database stays as it was made)."""
    import orjson

    from crmcli.db import session_scope
    from crmcli.ids import new_id

    with session_scope(database) as s:
        run = s.connection().exec_driver_sql
        if back:  # and the waits worked out again from nothing, as they were
            for table, key in (("audit_event", "entity_id"), ("note", "id")):
                run(f"DELETE FROM {table} WHERE {key} IN (SELECT value FROM json_each(?))",
                    (orjson.dumps(back),))
            run("UPDATE sla_mark SET events = -1")
            return []
        stamp = NOW.strftime(STAMP)
        chosen = run("SELECT id, owner FROM customer WHERE pk % 100 = 3").all()
        notes = [(new_id(), customer_id, owner) for customer_id, owner in chosen]
        run("INSERT INTO note (id, customer_id, kind, body, author, direction, at, created_at, "
            "updated_at, version) VALUES (?, ?, 'call', 'called', ?, 'in', ?, ?, ?, 1)",
            [(note, customer, owner, stamp, stamp, stamp) for note, customer, owner in notes])
        run(f"INSERT INTO audit_event ({', '.join(EVENT_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(EVENT_COLUMNS))})",
            [(new_id(), stamp, owner, "note.create", "note", note, customer, "{}", "{}", 0)
             for note, customer, owner in notes])
    return [note for note, _, _ in notes]


def work_database(history: Path) -> Path:
    """bench/.data/workload-N.db: the history database with the work added, made once."""

    def make(path: Path) -> None:
        started = time.perf_counter()
        with closing(sqlite3.connect(history)) as source, closing(sqlite3.connect(path)) as copy:
            source.backup(copy)  # with what its write-ahead log holds, unlike a file copy
        add_work(path)
        print(f"  added the work in {time.perf_counter() - started:.0f} s", flush=True)

    return made_once(history.name.replace("history", "workload"), make)


def add_work(path: Path) -> None:
    from sqlalchemy import insert, select, update

    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.models import Approval, Assignment, Customer, Note, Task
    from crmcli.repo import users

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    with session_scope(database) as s:
        me = users.acting(s, "bench")
        for team in TEAMS:
            users.add(s, f"boss-{TEAMS.index(team)}", name=f"Boss of {team}", department=team,
                      role="manager", by=me)
    with session_scope(database) as s:
        db = s.connection()
        for index, minutes in enumerate(SLAS):
            db.execute(update(Customer).where(Customer.pk % len(SLAS) == index)
                       .values(sla=minutes))
        rows: dict[type, list[dict]] = {Note: [], Assignment: [], Task: [], Approval: []}
        for pk, customer_id, owner, created in db.execute(
                select(Customer.pk, Customer.id, Customer.owner, Customer.created_at)):
            for model, row in _work(pk, customer_id, owner, created):
                rows[model].append(row)
        for model, found in rows.items():
            for first in range(0, len(found), BATCH):
                db.execute(insert(model.__table__), found[first:first + BATCH])
        db.execute(update(Customer).where(Customer.pk % 500 == 7).values(deleted_at=NOW))
    database.dispose()


def _work(pk: int, customer_id: str, owner: str, created) -> list[tuple[type, dict]]:
    """One customer's notes, roles, task and approval (see the module's docstring)."""
    from crmcli.ids import new_id
    from crmcli.models import Approval, Assignment, Note, Task

    came = NOW - timedelta(minutes=(pk * 7) % 5000)
    common = {"created_at": NOW, "updated_at": NOW, "version": 1, "deleted_at": None}
    found = [(Note, _note(new_id(), customer_id, "in", owner, came, common))]
    if pk % 2:
        found.append((Note, _note(new_id(), customer_id, "out", owner,
                                  came + timedelta(minutes=30), common)))
    waiting = pk % 101 == 1
    found.append((Assignment, {
        "id": new_id(), "customer_id": customer_id, "user": owner, "role": "owner",
        "assigned_by": "bench", "reason": "rule expo" if waiting and pk % 2 else None,
        "since": created, "until": None, "acknowledged_at": None if waiting else created,
        **common}))
    if pk % 10 == 0:
        found.append((Assignment, {
            "id": new_id(), "customer_id": customer_id, "user": f"u{(pk // 10) % OWNERS}",
            "role": "service", "assigned_by": owner, "reason": None, "since": NOW,
            "until": None, "acknowledged_at": NOW, **common}))
    began = NOW - timedelta(days=(pk * 13) % 180, minutes=pk % 1440)
    status = "open" if pk % 20 < 12 else "done" if pk % 20 < 19 else "cancelled"
    found.append((Task, {
        "id": new_id(), "customer_id": customer_id, "title": "follow up", "assignee": owner,
        "due": began + timedelta(days=pk % 30), "priority": "normal", "status": status,
        "created_by": owner, "done_at": began + timedelta(days=pk % 10)
        if status == "done" else None, **common, "created_at": began}))
    if pk % 1000 == 0:
        found.append((Approval, {
            "id": new_id(), "customer_id": customer_id, "kind": "contract", "amount": "1000",
            "target": "role:manager", "reason": None, "requested_by": owner, "status": "open",
            "decided_by": None, "decided_at": None, "decision_reason": None, **common}))
    return found


def _note(note_id, customer_id, direction, author, at, common) -> dict:
    return {"id": note_id, "customer_id": customer_id, "kind": "call", "direction": direction,
            "body": f"call {direction}", "quote": None, "author": author, "at": at, **common}
