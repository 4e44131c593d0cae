"""How long the dashboard takes to show customers, at 100, 10,000 and 1,000,000 of them.

    python bench/tui.py                  # all three sizes (the million takes ~1 min to make)
    python bench/tui.py --sizes 100,10000

For each size it prints the time from building the app (`make_app`, as `crm tui` does) to
the first page of customers on screen, and the time from pressing End to the last page on
screen; also, for comparison, the first page sorted by another column (company), which
has no index and so does grow with the data. Each figure is the median of a few runs,
after a warm-up. The target: first paint at a million within 0.3 s of the time at 100,
and the last page in under 0.2 s.

The databases are made once in bench/.data/ (not committed): customers are inserted
directly with SQLAlchemy Core, the search index deferred and built in one statement
(`search.deferred`). bench/search.py uses the same databases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parent / ".data"
BATCH = 50_000
RUNS = 5
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
LATIN = ("Smith", "García", "Müller", "Rossi", "Dubois", "Silva", "Tanaka", "Kowalski")
STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")


def make_database(path: Path, count: int) -> None:
    from sqlalchemy import insert

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.ids import new_id
    from crmcli.models import Customer
    from crmcli.repo import search, users
    from crmcli.repo.customers import derived

    database = Database.create(config.Settings(db_path=path, user="bench", region="CN"))
    with session_scope(database) as s:
        users.create_first_admin(s, "bench", name="Bench Mark", department="sales")
    chance = random.Random(count)
    now = clock.now()

    def row(number: int) -> dict:
        if number % 2:
            name = f"{chance.choice(SURNAMES)}{chance.choice(GIVEN)}{number}"
        else:
            name = f"{chance.choice(LATIN)} {number}"
        company = f"Company {number % 9973}"
        return {
            "id": new_id(), "name": name, "company": company, "stage": chance.choice(STAGES),
            "level": chance.choice("ABCD"), "owner": "bench", "department": "sales",
            "phone": f"+86138{number:08d}", "tags": [], "extra": {}, **derived(name, company),
            "created_at": now, "updated_at": now, "version": 1,
            "created_by": "bench", "updated_by": "bench",
        }

    started = time.perf_counter()
    with session_scope(database) as s, search.deferred(s):
        for first in range(0, count, BATCH):
            rows = [row(number) for number in range(first, min(count, first + BATCH))]
            s.connection().execute(insert(Customer.__table__), rows)
    database.dispose()
    print(f"  made {count:,} customers in {time.perf_counter() - started:.1f} s", flush=True)


def database_with(count: int) -> Path:
    return made_once(f"customers-{count}.db", lambda path: make_database(path, count))


def made_once(name: str, make) -> Path:
    """bench/.data/NAME, made by `make(path)` the first time (under a temporary name, so
    a make cut off is made again next time); bench/reports.py makes its own this way."""
    DATA.mkdir(exist_ok=True)
    path = DATA / name
    if not path.exists():
        partial = path.with_suffix(".partial")
        for leftover in DATA.glob(f"{partial.name}*"):
            leftover.unlink()
        make(partial)
        partial.rename(path)
    return path


async def until(condition, pilot) -> None:
    while not condition():
        await asyncio.sleep(0.001)
    await pilot.pause()  # let the frame with the rows be drawn


async def one_run(path: Path, sort: str | None) -> tuple[float, float]:
    """(seconds to the first page on screen, seconds from End to the last page on screen)."""
    from crmcli import config
    from crmcli.repo.customer_lists import CustomerQuery
    from crmcli.tui.app import make_app
    from crmcli.tui.widgets.customer_table import CustomerTable

    started = time.perf_counter()
    app = make_app(config.Settings(db_path=path, user="bench", region="CN"), watch_every=None)
    async with app.run_test(size=(120, 40)) as pilot:

        def shown() -> bool:
            found = app.screen.query(CustomerTable)
            return bool(found) and found.first().row_count > 0

        await until(shown, pilot)
        first = time.perf_counter() - started
        table = app.screen.query_one(CustomerTable)
        await until(lambda: table.total is not None, pilot)
        if sort:
            started = time.perf_counter()
            table.show_query(CustomerQuery(sort=sort))
            await until(lambda: table.row_count > 0, pilot)
            first = time.perf_counter() - started
            await until(lambda: table.total is not None, pilot)
        pressed = time.perf_counter()
        table.action_last_page()  # what the End key does, without the test harness's waits
        await until(lambda: table.start + table.row_count == table.total, pilot)
        last = time.perf_counter() - pressed
    return first, last


def measure(path: Path, sort: str | None = None) -> tuple[float, float]:
    runs = [asyncio.run(one_run(path, sort)) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,10000,1000000")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    os.environ["CRM_HOME"] = tempfile.mkdtemp(prefix="crm-bench-")  # no settings touched
    os.environ.pop("CRM_NOW", None)
    paths = {size: database_with(size) for size in sizes}
    measure(paths[sizes[0]])  # warm-up: imports, caches
    print(f"{'customers':>10}  {'first paint':>11}  {'End → last page':>15}  "
          f"{'first paint sorted by company':>29}", flush=True)
    baseline = None
    for size in sizes:
        first, last = measure(paths[size])
        sorted_first, _ = measure(paths[size], sort="company")
        baseline = first if baseline is None else baseline
        print(f"{size:>10,}  {first * 1000:>8.0f} ms  {last * 1000:>12.0f} ms  "
              f"{sorted_first * 1000:>26.0f} ms", flush=True)
        if size != sizes[0]:
            print(f"{'':>10}  ({(first - baseline) * 1000:+.0f} ms against {sizes[0]:,})")


if __name__ == "__main__":
    sys.exit(main())
