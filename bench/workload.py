"""How fast `crm report workload` answers at 10,000, 100,000 and 1,000,000 customers.

    python bench/workload.py                    # 10,000, 100,000 and 1,000,000 customers
    python bench/workload.py --sizes 100000

The customers are bench/tui.py's generated database (made once in bench/.data/), given
bench/sla.py's owners (u0..u99), slas, notes and service roles; then, directly (SQLAlchemy
Core): the owners spread over five departments with a manager each, every customer an owner
assignment (since 0-180 days ago; one in a hundred not acknowledged, half of those routed
by a rule) and one task for its owner (created 0-180 days ago, due 0-29 days after; 60%
open, 35% done, 5% cancelled), an open approval for the managers on one customer in a
thousand, one customer in five hundred deleted. Each prepared database is kept in
bench/.data/ (workload-N.db). Printed: the seconds of `workload.build` in process (best of
5), with the trend `--by week` over 12 weeks, and of the real command line
(`python -m crmcli report workload -f json`, start-up included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import sla  # noqa: E402 - bench/sla.py: owners, slas, notes and roles

from tui import DATA, database_with  # noqa: E402 - the same generated databases

DEPARTMENTS = ("sales", "service", "marketing", "product", "finance")
BATCH = 50_000


def prepare(path: Path) -> None:
    """Add bench/sla.py's data, then departments, owner assignments, tasks, approvals."""
    from sqlalchemy import insert, select, update

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.ids import new_id
    from crmcli.models import Approval, Assignment, Customer, Task, User
    from crmcli.repo import users

    sla.prepare(path)
    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    now = clock.now()
    with session_scope(database) as s:
        me = users.acting(s, "bench")
        for department in DEPARTMENTS[1:]:
            users.add(s, f"boss-{department}", name=f"Boss of {department}",
                      department=department, role="manager", by=me)
    with session_scope(database) as s:
        db = s.connection()
        for number in range(sla.OWNERS):
            db.execute(update(User).where(User.handle == f"u{number}")
                       .values(department=DEPARTMENTS[number % len(DEPARTMENTS)]))
        ids = db.execute(select(Customer.pk, Customer.id).order_by(Customer.pk)).all()
        tasks, roles, approvals = [], [], []
        for pk, customer_id in ids:
            owner = f"u{pk % sla.OWNERS}"
            began = now - timedelta(days=(pk * 13) % 180, minutes=pk % 1440)
            tasks.append(_task(new_id(), customer_id, owner, pk, began, now))
            roles.append(_owner_row(new_id(), customer_id, owner, pk, began, now))
            if pk % 1000 == 0:
                approvals.append({
                    "id": new_id(), "customer_id": customer_id, "kind": "contract",
                    "amount": "1000", "target": "role:manager", "reason": None,
                    "requested_by": owner, "status": "open", "decided_by": None,
                    "decided_at": None, "decision_reason": None, "created_at": now,
                    "updated_at": now, "version": 1, "deleted_at": None})
        for table, rows in ((Task, tasks), (Assignment, roles), (Approval, approvals)):
            for first in range(0, len(rows), BATCH):
                db.execute(insert(table.__table__), rows[first:first + BATCH])
        db.execute(update(Customer).where(Customer.pk % 500 == 7).values(deleted_at=now))
    database.dispose()


def _task(task_id, customer_id, owner, pk, created, now) -> dict:
    status = "open" if pk % 20 < 12 else "done" if pk % 20 < 19 else "cancelled"
    return {"id": task_id, "customer_id": customer_id, "title": "follow up", "assignee": owner,
            "due": created + timedelta(days=pk % 30), "priority": "normal", "status": status,
            "created_by": owner, "done_at": created + timedelta(days=pk % 10)
            if status == "done" else None, "created_at": created, "updated_at": now,
            "version": 1, "deleted_at": None}


def _owner_row(row_id, customer_id, owner, pk, since, now) -> dict:
    waiting = pk % 100 == 1
    return {"id": row_id, "customer_id": customer_id, "user": owner, "role": "owner",
            "assigned_by": "bench", "reason": "rule expo" if pk % 200 == 1 else None,
            "since": since, "until": None, "acknowledged_at": None if waiting else since,
            "created_at": since, "updated_at": now, "version": 1, "deleted_at": None}


def workload_database(count: int) -> Path:
    """bench/.data/workload-COUNT.db, made once."""
    path = DATA / f"workload-{count}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        shutil.copy(database_with(count), partial)
        started = time.perf_counter()
        prepare(partial)
        partial.rename(path)
        print(f"  prepared {count:,} customers for the workload in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    return path


def in_process(path: Path, by: str | None = None) -> float:
    """Seconds of `workload.build` (best of 5) as the manager bench."""
    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.repo import users
    from crmcli.repo.reports import table, workload

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    options = table.Options(period=table.Period.parse("-12w", None), by=by)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        with session_scope(database, write=False) as s:
            workload.build(s, users.acting(s, "bench"), options)
        best = min(best, time.perf_counter() - started)
    database.dispose()
    return best


def command_line(path: Path) -> float:
    env = {**os.environ, "CRM_DB": str(path), "CRM_USER": "bench"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "crmcli", "report", "workload", "-f", "json"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(count: int) -> str:
    """One line of figures for `count` customers."""
    path = workload_database(count)
    now, trend, cli = in_process(path), in_process(path, "week"), command_line(path)
    return (f"  workload {count:>9,} customers  in process {now:6.3f} s  "
            f"with --by week {trend:6.3f} s  command line {cli:6.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    for count in (int(size) for size in parser.parse_args().sizes.split(",")):
        print(measure(count), flush=True)


if __name__ == "__main__":
    main()
