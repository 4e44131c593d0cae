"""How fast the SLA clock answers: `crm sla list` at 100,000 customers with notes.

    python bench/sla.py                 # 100,000 customers
    python bench/sla.py --customers 20000

The customers are bench/tui.py's generated database (made once in bench/.data/), copied;
then, directly (SQLAlchemy Core): every customer gets an sla (1h to 2d), one of 100 owners
in sales (u0..u99) and two notes, a contact --in and, for every other customer, an answer
--out by its owner; every tenth customer a service role for u0. The manager `boss`
manages sales, so `--mine` as boss looks at every customer (for the escalated ones).
Printed: the seconds of `sla.clocks` in process (best of 5) and of the real command line
(`python -m crmcli sla list ...`, start-up included), and how many rows each gave.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import crm_seconds  # noqa: E402 - a crm process timed

from tui import database_with  # noqa: E402 - the same generated databases

OWNERS = 100
SLAS = (60, 240, 1440, 2880)


def prepare(path: Path) -> None:
    from sqlalchemy import insert, select, update

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.ids import new_id
    from crmcli.models import Assignment, Customer, Note
    from crmcli.repo import users

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    now = clock.now()
    with session_scope(database) as s:
        me = users.acting(s, "bench")
        for number in range(OWNERS):
            users.add(s, f"u{number}", name=f"User {number}", department="sales", by=me)
        users.add(s, "boss", name="Boss", department="sales", role="manager", by=me)
    with session_scope(database) as s:
        db = s.connection()
        ids = db.execute(select(Customer.pk, Customer.id).order_by(Customer.pk)).all()
        for number in range(OWNERS):
            db.execute(update(Customer).where(Customer.pk % OWNERS == number)
                       .values(owner=f"u{number}"))
        for index, sla in enumerate(SLAS):
            db.execute(update(Customer).where(Customer.pk % len(SLAS) == index).values(sla=sla))
        notes, roles = [], []
        for pk, customer_id in ids:
            owner = f"u{pk % OWNERS}"
            came = now - timedelta(minutes=(pk * 7) % 5000)
            notes.append(_note(new_id(), customer_id, "in", owner, came, now))
            if pk % 2:
                notes.append(_note(new_id(), customer_id, "out", owner,
                                   came + timedelta(minutes=30), now))
            if pk % 10 == 0:
                roles.append({"id": new_id(), "customer_id": customer_id, "user": "u0",
                              "role": "service", "assigned_by": "bench", "reason": None,
                              "since": now, "until": None, "acknowledged_at": now,
                              "created_at": now, "updated_at": now, "version": 1})
        for first in range(0, len(notes), 50_000):
            db.execute(insert(Note.__table__), notes[first:first + 50_000])
        db.execute(insert(Assignment.__table__), roles)
    database.dispose()


def _note(note_id, customer_id, direction, author, at, now) -> dict:
    return {"id": note_id, "customer_id": customer_id, "kind": "call", "direction": direction,
            "body": f"call {direction}", "quote": None, "author": author, "at": at,
            "created_at": now, "updated_at": now, "version": 1}


def in_process(path: Path, handle: str, **scope) -> tuple[float, int]:
    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.repo import sla

    database = Database.open(config.Settings(db_path=path, user=handle, region="CN"))
    best, count = float("inf"), 0
    for _ in range(5):
        started = time.perf_counter()
        with session_scope(database, write=False) as s:
            found = sla.clocks(s, clock.now(), sla.Scope(
                mine=handle if scope.get("mine") else None, breached=scope.get("breached", False)))
        best, count = min(best, time.perf_counter() - started), len(found)
    database.dispose()
    return best, count


def command_line(path: Path, handle: str, *options: str) -> float:
    return crm_seconds(path, handle, "sla", "list", "-f", "json", *options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    count = parser.parse_args().customers
    source = database_with(count)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "crm.db"
        shutil.copy(source, path)
        started = time.perf_counter()
        prepare(path)
        print(f"  {count:,} customers with an sla, notes and roles added in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        for label, handle, options in (
            ("--mine (owner of 1%, a role on 10%)", "u0", ("--mine",)),
            ("--mine (manager of every owner)", "boss", ("--mine",)),
            ("--breached (everyone)", "bench", ("--breached",)),
            ("all (everyone)", "bench", ()),
        ):
            seconds, rows = in_process(path, handle, mine="--mine" in options,
                                       breached="--breached" in options)
            cli = command_line(path, handle, *options)
            print(f"  sla list {label:40} {rows:7,} rows  in process {seconds:6.3f} s  "
                  f"command line {cli:6.3f} s", flush=True)


if __name__ == "__main__":
    main()
