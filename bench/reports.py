"""How fast the reports answer, at 10,000, 100,000 and 1,000,000 customers with history.

    python bench/reports.py                       # every report, all three sizes
    python bench/reports.py --sizes 10000,100000 --reports funnel

The databases are made once in bench/.data/ (not committed; the million takes a few
minutes): customers of 100 owners in 5 departments, from 5 sources, created over the two
years before NOW, each with the history a real one has: its `customer.create` event
(every field it was made with), an `assignment.create`, a note, and a `customer.update`
for every move of its stage along a plausible path (most leads stay leads; a fifth of
each stage is lost; a tenth of the won churn; a few lost ones come back), a step every
few days to weeks. Written with SQLAlchemy Core in bulk, the search index built once.
Every figure is measured under CRM_NOW=NOW, so the periods fall where the history is.

For each report (`REPORTS`: its name -> a function timing it on a database) it prints the
best of RUNS in process (the repo function a front end calls) and the command line end to
end (`python -m crmcli report NAME -f json`, start-up included), for a few sets of options.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import crm_seconds  # noqa: E402 - a crm process timed

from tui import made_once  # noqa: E402 - bench/.data/, made once

NOW = datetime(2026, 6, 1, tzinfo=UTC)
RUNS = 5
BATCH = 50_000
OWNERS = 100
DEPARTMENTS = ("华东销售", "华北销售", "south", "key accounts", "渠道")
SOURCES = ("展会", "官网", "referral", "ad", "cold call")
# stage -> its possible next stages with their chances (the rest: it stays)
MOVES = {
    "lead": (("qualified", 0.45), ("lost", 0.2)),
    "qualified": (("proposal", 0.55), ("lost", 0.2)),
    "proposal": (("negotiation", 0.55), ("lost", 0.25)),
    "negotiation": (("won", 0.55), ("lost", 0.3)),
    "won": (("churned", 0.1),),
    "lost": (("qualified", 0.05),),
    "churned": (),
}
STAMP = "%Y-%m-%d %H:%M:%S.%f"


def history_database(count: int) -> Path:
    """The database of `count` customers with history, made once."""

    def make(path: Path) -> None:
        started = time.perf_counter()
        make_history(path, count)
        print(f"  made {count:,} customers with history in "
              f"{time.perf_counter() - started:.0f} s", flush=True)

    return made_once(f"history-{count}.db", make)


def make_history(path: Path, count: int) -> None:
    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.repo import search, users

    database = Database.create(config.Settings(db_path=path, user="bench", region="CN"))
    with session_scope(database) as s:
        me = users.create_first_admin(s, "bench", name="Bench Mark", department="sales")
    with session_scope(database) as s:
        me = users.acting(s, "bench")
        for number in range(OWNERS):
            users.add(s, f"u{number}", name=f"User {number}",
                      department=DEPARTMENTS[number * len(DEPARTMENTS) // OWNERS], by=me)
    chance = random.Random(count)
    with session_scope(database) as s, search.deferred(s):
        run = s.connection().exec_driver_sql
        for first in range(0, count, BATCH):
            customers, events = [], []
            for number in range(first, min(count, first + BATCH)):
                customer, made = _customer(chance, number)
                customers.append(customer)
                events.extend(made)
            run(f"INSERT INTO customer ({', '.join(CUSTOMER_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(CUSTOMER_COLUMNS))})", customers)
            run(f"INSERT INTO audit_event ({', '.join(EVENT_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(EVENT_COLUMNS))})", events)
    database.dispose()


CUSTOMER_COLUMNS = (
    "id", "name", "company", "phone", "source", "stage", "level", "owner", "department",
    "tags", "extra", "dedupe_key", "sort_key", "spelled", "created_by", "updated_by",
    "created_at", "updated_at", "version",
)
EVENT_COLUMNS = ("id", "at", "actor", "action", "entity", "entity_id", "customer_id",
                 "changes", "detail", "synced")


def _customer(chance: random.Random, number: int) -> tuple[tuple, list[tuple]]:
    """One customer's row and its history's events."""
    import orjson

    from crmcli.ids import new_id
    from crmcli.repo.customers import derived

    customer_id = new_id()
    owner = f"u{number % OWNERS}"
    department = DEPARTMENTS[(number % OWNERS) * len(DEPARTMENTS) // OWNERS]
    source = chance.choice(SOURCES)
    name, company, phone = f"Customer {number}", f"Company {number % 9973}", f"+86139{number:08d}"
    at = NOW - timedelta(seconds=chance.uniform(0, 730 * 86400))
    stage = "qualified" if chance.random() < 0.15 else "lead"
    made = {"name": [None, name], "company": [None, company], "phone": [None, phone],
            "source": [None, source], "stage": [None, stage], "owner": [None, owner],
            "department": [None, department], "created_by": [None, "bench"]}

    def event(moment: datetime, action: str, entity: str, changes: dict) -> tuple:
        return (new_id(), moment.strftime(STAMP), owner, action, entity,
                customer_id if entity == "customer" else new_id(), customer_id,
                orjson.dumps(changes).decode(), "{}", 1)

    events = [event(at, "customer.create", "customer", made),
              event(at, "assignment.create", "assignment", {
                  "customer_id": [None, customer_id], "user": [None, owner],
                  "role": [None, "owner"], "assigned_by": [None, "bench"],
                  "reason": [None, "created"]}),
              event(at + timedelta(hours=chance.uniform(1, 72)), "note.create", "note", {
                  "customer_id": [None, customer_id], "kind": [None, "call"],
                  "body": [None, "called, wants a quote for next quarter"],
                  "author": [None, owner]})]
    created, updated = at, at
    while True:
        roll, nxt = chance.random(), None
        for target, share in MOVES[stage]:
            if roll < share:
                nxt = target
                break
            roll -= share
        at += timedelta(seconds=chance.expovariate(1 / (12 * 86400)))
        if nxt is None or at >= NOW:
            break
        events.append(event(at, "customer.update", "customer", {"stage": [stage, nxt]}))
        stage, updated = nxt, at
    row = {"id": customer_id, "name": name, "company": company, "phone": phone,
           "source": source, "stage": stage, "level": chance.choice("ABCD"), "owner": owner,
           "department": department, "tags": "[]", "extra": "{}", **derived(name, company),
           "created_by": "bench", "updated_by": owner, "created_at": created.strftime(STAMP),
           "updated_at": updated.strftime(STAMP), "version": 1}
    return tuple(row[column] for column in CUSTOMER_COLUMNS), events


# --- timing --------------------------------------------------------------------------------

def best_of(work: Callable[[], object], runs: int = RUNS) -> tuple[float, object]:
    """The best time of `runs` runs of `work`, and what it returned."""
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - started)
    return best, result


def command_line(path: Path, *args: str) -> float:
    """The best of 3 runs of `crm report ARGS -f json` as a new process, start-up included."""
    frozen = {"CRM_NOW": NOW.isoformat()}
    return min(crm_seconds(path, "bench", "report", *args, "-f", "json", env=frozen)
               for _ in range(3))


FUNNEL_CASES = (
    ("all history", ()),
    ("--since -30d", ("--since", "-30d")),
    ("--since -365d", ("--since", "-365d")),
    ("--owner u7 (1 %)", ("--owner", "u7")),
    ("--dept south (20 %)", ("--dept", "south")),
    ("--by month", ("--by", "month")),
)


def funnel(path: Path) -> None:
    """`crm report funnel`: building the stage history from nothing (once per database:
    after the upgrade that brings it, or a first sync), catching up with a hundredth of
    the leads moved on since, then each case in process and on the command line."""
    from crmcli import config
    from crmcli.cli.report_options import options
    from crmcli.db import Database, session_scope
    from crmcli.repo import users
    from crmcli.repo.reports import funnel as report

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    _history_caught_up(database)
    for label, args in FUNNEL_CASES:
        chosen = options(**_pairs(args))

        def build(chosen=chosen):
            with session_scope(database, write=False) as s:
                return report.build(s, users.acting(s, "bench"), chosen)

        seconds, built = best_of(build)
        entered = sum(row["entered"] for row in built.sections[0].rows)
        cli = command_line(path, "funnel", *args)
        print(f"    funnel {label:22} entered {entered:9,}  in process {seconds:6.3f} s  "
              f"command line {cli:6.3f} s", flush=True)
    database.dispose()


def _history_caught_up(database) -> None:
    """Time `stage_history.catch_up` from nothing, then after a hundredth of the leads moved
    on a stage (events written in bulk, as an import writes them), then with nothing new."""
    from crmcli.repo.reports import stage_history

    caught_up_figures(database, "stage history", "stage changes", stage_history.catch_up,
                      ("DELETE FROM stage_entry",
                       "UPDATE stage_mark SET events = 0, customers = 0"), _move_some)


def caught_up_figures(database, what: str, changes: str, catch_up: Callable,
                      reset: tuple[str, ...], change: Callable) -> None:
    """Print how long `catch_up` (of derived state) takes from nothing (after the `reset`
    statements), after `change(database)` wrote some more (returning what `change(database,
    back=...)` takes back), and with nothing new."""
    from crmcli.db import session_scope

    def caught_up() -> float:
        started = time.perf_counter()
        with session_scope(database) as s:
            catch_up(s)
        return time.perf_counter() - started

    with session_scope(database) as s:
        for statement in reset:
            s.connection().exec_driver_sql(statement)
    built = caught_up()
    changed = change(database)
    after = caught_up()
    change(database, back=changed)
    caught_up()
    print(f"    {what}: built in {built:.2f} s; after {len(changed):,} more {changes} "
          f"{after:.2f} s; with nothing new {best_of(caught_up)[0] * 1000:.1f} ms", flush=True)


def _move_some(database, back: list[str] = ()) -> list[str]:
    """Qualify a hundredth of the leads at NOW, their events written as bulk writes write
    them; returns the events' ids. With `back` (those ids), undo that: the cached
    database stays as it was made."""
    import orjson

    from crmcli.db import session_scope
    from crmcli.ids import new_id

    with session_scope(database) as s:
        run = s.connection().exec_driver_sql
        if back:
            run("UPDATE customer SET stage = 'lead' WHERE id IN (SELECT customer_id FROM "
                "audit_event WHERE id IN (SELECT value FROM json_each(?)))", (orjson.dumps(back),))
            run("DELETE FROM audit_event WHERE id IN (SELECT value FROM json_each(?))",
                (orjson.dumps(back),))
            return []
        ids = run("SELECT id FROM customer WHERE stage = 'lead' AND pk % 100 = 7").scalars().all()
        change = orjson.dumps({"stage": ["lead", "qualified"]}).decode()
        events = [(new_id(), NOW.strftime(STAMP), "bench", "customer.update", "customer", i, i,
                   change, "{}", 0) for i in ids]
        run(f"INSERT INTO audit_event ({', '.join(EVENT_COLUMNS)}) VALUES "
            f"({', '.join('?' * len(EVENT_COLUMNS))})", events)
        run("UPDATE customer SET stage = 'qualified' WHERE stage = 'lead' AND pk % 100 = 7")
    return [event[0] for event in events]


def _pairs(args: tuple[str, ...]) -> dict[str, object]:
    found: dict[str, object] = {}
    for option, value in zip(args[::2], args[1::2], strict=True):
        key = option.lstrip("-")
        if key in ("owner", "dept", "source"):
            found[key] = (*found.get(key, ()), value)
        else:
            found[key] = value
    return found


def workload(path: Path) -> None:
    """`crm report workload` (bench/workload.py: its work added to a copy, made once)."""
    from workload import workload as timed

    timed(path)


REPORTS: dict[str, Callable[[Path], None]] = {"funnel": funnel, "workload": workload}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--reports", default=",".join(REPORTS))
    arguments = parser.parse_args()
    sizes = [int(size) for size in arguments.sizes.split(",")]
    os.environ["CRM_HOME"] = tempfile.mkdtemp(prefix="crm-bench-")  # no settings touched
    os.environ["CRM_NOW"] = NOW.isoformat()
    for size in sizes:
        path = history_database(size)
        print(f"{size:,} customers ({path.stat().st_size / 2**20:,.0f} MiB)", flush=True)
        for name in arguments.reports.split(","):
            REPORTS[name](path)


if __name__ == "__main__":
    sys.exit(main())
