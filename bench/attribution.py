"""How fast `crm report attribution` answers over a long history.

    python bench/attribution.py                  # 100,000 customers
    python bench/attribution.py --customers 20000

The customers are bench/tui.py's generated database (made once in bench/.data/), copied
(a sixth of them are won); then, directly (SQLAlchemy Core): 20 users in four
departments; for every customer a `customer.create` event and three `customer.update`
events (two of other fields, one of its stage, to won for the won ones), spread over the
last year; for every won customer a contract amount and two notes before the win.
Printed: the seconds of `attribution.build` in process (best of 5) for the last 30 days
and for all time, the won customers each counted, and the command line's (start-up
included).
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

USERS = 20
DEPARTMENTS = ("sales", "service", "marketing", "product")
BATCH = 50_000


def prepare(path: Path) -> None:
    from sqlalchemy import insert, select, update

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.models import AuditEvent, Customer, Note
    from crmcli.repo import audit, users

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    now = clock.now()
    with session_scope(database) as s:
        me = users.acting(s, "bench")
        for number in range(USERS):
            users.add(s, f"u{number}", name=f"User {number}",
                      department=DEPARTMENTS[number % len(DEPARTMENTS)], by=me)
    with session_scope(database) as s:
        db = s.connection()
        db.execute(update(Customer).where(Customer.stage == "won")
                   .values(contract_amount="123456.78"))
        rows = db.execute(select(Customer.id, Customer.pk, Customer.stage)).all()
        events, notes = [], []

        def event(customer_id: str, actor: str, action: str, changes: dict, at) -> None:
            events.append(audit.event_row(by=actor, action=action, entity="customer",
                                          entity_id=customer_id, customer_id=customer_id,
                                          changes=changes, at=at))

        for customer_id, pk, stage in rows:
            born = now - timedelta(days=365, minutes=-pk)
            won_at = born + timedelta(days=pk % 360)
            event(customer_id, "bench", "customer.create", {"name": [None, "x"]}, born)
            event(customer_id, f"u{pk % USERS}", "customer.update", {"level": ["A", "B"]},
                  born + timedelta(hours=1))
            event(customer_id, f"u{pk % USERS}", "customer.update", {"city": [None, "沪"]},
                  born + timedelta(hours=2))
            event(customer_id, f"u{(pk + 3) % USERS}", "customer.update",
                  {"stage": ["lead", stage]}, won_at)
            if stage == "won":
                for offset in (1, 2):
                    notes.append(_note(customer_id, f"u{(pk + offset) % USERS}",
                                       won_at - timedelta(days=offset), now))
            if len(events) >= BATCH:
                db.execute(insert(AuditEvent.__table__), events)
                events.clear()
        if events:
            db.execute(insert(AuditEvent.__table__), events)
        for first in range(0, len(notes), BATCH):
            db.execute(insert(Note.__table__), notes[first:first + BATCH])
    database.dispose()


def _note(customer_id: str, author: str, at, now) -> dict:
    from crmcli.ids import new_id

    return {"id": new_id(), "customer_id": customer_id, "kind": "call", "direction": None,
            "body": "followed up", "quote": None, "author": author, "at": at,
            "created_at": now, "updated_at": now, "version": 1}


def in_process(path: Path, since: str | None) -> tuple[float, int]:
    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.repo import users
    from crmcli.repo.reports import attribution
    from crmcli.repo.reports.table import Options, Period

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    best, count = float("inf"), 0
    for _ in range(5):
        started = time.perf_counter()
        with session_scope(database, write=False) as s:
            report = attribution.build(s, users.acting(s, "bench"),
                                       Options(Period.parse(since, None)))
        best, count = min(best, time.perf_counter() - started), len(report.sections[0].rows)
    database.dispose()
    return best, count


def command_line(path: Path, *options: str) -> float:
    return crm_seconds(path, "bench", "report", "attribution", "-f", "json", *options)


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
        print(f"  {count:,} customers with {count * 4:,} events added in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        for label, since in (("last 30 days", "-30d"), ("all time", None)):
            seconds, rows = in_process(path, since)
            cli = command_line(path, *(("--since", since) if since else ()))
            print(f"  attribution {label:14} {rows:7,} won customers  in process "
                  f"{seconds:6.3f} s  command line {cli:6.3f} s", flush=True)


if __name__ == "__main__":
    main()
