"""The part of `crm import customers`' time no design of ours removes: a lower bound.

    python bench/import_floor.py [--rows 100000]

Uses bench/import.py's file of N rows (generated if missing) and prints CPU seconds of:

- reading the CSV (csv.reader, as sqlite-utils does too);
- the validation every row must have: phone numbers to E.164 (crmcli.phones, whose fast
  path handles plain mainland mobiles; and phonenumbers alone, without it), e-mails and
  response-time limits, each through crmcli.fields' own parser;
- SQLite writing the rows an import must write, with executemany and no Python around
  it: customers, their owner assignments, their audit events (customer.create and the
  assignment's), then the search index filled in one statement, as `search.deferred`
  does. The rows are the very ones `crm import customers` wrote for the same file
  (read back from a database it imported into), written again into a fresh database
  of the same schema, in one transaction with the app's settings (WAL, synchronous
  NORMAL, 32 MiB page cache), into an empty database and into one of 100,000 customers.

The sum is what an import in one process cannot go below; parsing, duplicate lookups and
building rows in Python come on top. Data goes to bench/.data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from crmcli.fields import parse_duration, parse_email
from crmcli.migrations import INDEX_ALL
from crmcli.phones import parse_phone
from crmcli.repo.bulk import BULK_CACHE_KIB
from crmcli.repo.search import INSERT_TRIGGER

bench = importlib.import_module("import")  # bench/import.py: the file, homes, our import

WRITTEN = {  # what an import of new customers writes: (table, which of its rows)
    "customers": ("customer", ""),
    "owner assignments": ("assignment", ""),
    "customer.create events": ("audit_event", "WHERE action = 'customer.create'"),
    "assignment.create events": ("audit_event", "WHERE action = 'assignment.create'"),
}


def cpu(work: Callable[[], Any]) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def validation(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        header = next(reader)
        started = time.process_time()
        rows = list(reader)
        read = time.process_time() - started
    phone, email, sla = (header.index(name) for name in ("电话", "邮箱", "响应时限"))
    print(f"  read the CSV (csv.reader)                      {read:6.2f} s CPU")
    timings = {
        "phones to E.164 (crmcli.phones.parse_phone)": lambda: [
            parse_phone(row[phone].strip(), "CN") for row in rows],
        "phones with phonenumbers alone": lambda: [_phonenumbers(row[phone]) for row in rows],
        "e-mails (crmcli.fields.parse_email)": lambda: [
            parse_email(row[email]) for row in rows if row[email].strip()],
        "response-time limits (parse_duration)": lambda: [
            parse_duration(row[sla]) for row in rows if row[sla].strip()],
    }
    for label, work in timings.items():
        print(f"  {label:<46} {cpu(work):6.2f} s CPU")


def _phonenumbers(text: str) -> str:
    import phonenumbers

    parsed = phonenumbers.parse(text, "CN")
    phonenumbers.is_valid_number(parsed)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def rows_written(db: Path) -> dict[str, tuple[str, list[str], list[tuple]]]:
    """The table, columns and rows of each of WRITTEN, but its integer primary key (the rowid:
    SQLite numbers the rows written again, as it numbered them the first time)."""
    with sqlite3.connect(db) as connection:
        found = {}
        for label, (table, where) in WRITTEN.items():
            names = [name for _, name, kind, _, _, key in connection.execute(
                f"PRAGMA table_info({table})") if not (key and kind.upper() == "INTEGER")]
            columns = ", ".join(f'"{name}"' for name in names)
            rows = connection.execute(f"SELECT {columns} FROM {table} {where}").fetchall()
            found[label] = (table, names, rows)
    return found


def write_again(rows: dict[str, tuple[str, list[str], list[tuple]]], db: Path) -> dict[str, float]:
    """CPU seconds of writing each of `rows` into `db`, of indexing them for search and of
    committing, and the wall seconds of it all."""
    connection = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                   f"cache_size = {-BULK_CACHE_KIB}"):
        connection.execute(f"PRAGMA {pragma}")
    started, cpu_started = time.perf_counter(), time.process_time()
    spent: dict[str, float] = {}
    connection.execute("BEGIN IMMEDIATE")
    after = connection.execute("SELECT coalesce(max(pk), 0) FROM customer").fetchone()[0]
    trigger = connection.execute("SELECT sql FROM sqlite_schema WHERE name = ?",
                                 (INSERT_TRIGGER,)).fetchone()[0]
    connection.execute(f"DROP TRIGGER {INSERT_TRIGGER}")
    for label, (table, names, values) in rows.items():
        columns = ", ".join(f'"{name}"' for name in names)
        marks = ", ".join("?" * len(names))
        statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        spent[label] = cpu(partial(connection.executemany, statement, values))
    spent["search index"] = cpu(partial(connection.execute, f"{INDEX_ALL} WHERE c.pk > {int(after)}"))
    connection.execute(trigger)
    spent["commit"] = cpu(partial(connection.execute, "COMMIT"))
    spent["all (CPU)"] = time.process_time() - cpu_started
    spent["all (wall)"] = time.perf_counter() - started
    connection.close()
    return spent


def sqlite_floor(path: Path) -> None:
    source = bench.fresh_home("floor-source")
    bench.our_import(source, path)
    rows = rows_written(source / "crm.db")
    counts = ", ".join(f"{label} {len(values):,}" for label, (_, _, values) in rows.items())
    print(f"  rows an import writes: {counts}")
    empty = bench.fresh_home("floor-empty")
    full = bench.fresh_home("floor-full")
    bench.our_import(full, bench.DATA / "prefill-100000.csv")
    spent = {label: write_again(rows, home / "crm.db")
             for label, home in (("empty db", empty), ("100k in db", full))}
    print(f"  SQLite, executemany (seconds)                  {'  '.join(spent):>20}")
    for step in spent["empty db"]:
        figures = "  ".join(f"{spent[label][step]:>{len(label)}.2f}" for label in spent)
        print(f"    {step:<44} {figures:>20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    bench.DATA.mkdir(exist_ok=True)
    path = bench.DATA / f"customers-{args.rows}.csv"
    if not path.exists():
        bench.generate(path, args.rows, seed=1)
    prefill = bench.DATA / "prefill-100000.csv"
    if not prefill.exists():
        bench.generate(prefill, 100_000, seed=2, offset=50_000_000)
    print(f"{args.rows:,} rows: {path}")
    validation(path)
    sqlite_floor(path)


if __name__ == "__main__":
    main()
