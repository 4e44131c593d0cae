"""How fast search and the pinyin-sorted list answer, at 1,000,000 customers.

    python bench/search.py                 # a million (made once, ~2 min; shared with tui.py)
    python bench/search.py --size 10000

For each kind of query `crm customer find` meets it prints the median time of its
`customer_lists.list_` (the first 50, best first) over a few runs, and how many customers
match: a Chinese substring and a full pinyin spelling (both answered by the trigram
index's MATCH), a two-character name, two initials and one character (shorter than a
trigram: answered by the index's terms), a pinyin syllable matching about as many
customers as the initials (a trigram query, to compare: past the index, a query costs
what reading and ranking its matches costs), a phone typed with spaces; and the first and
last page of the list sorted by pinyin, as the dashboard reads them (`customer_lists.page`,
read from the sort-key index in either direction).
The databases are bench/tui.py's (bench/.data/, not committed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tui import database_with  # noqa: E402 - the same generated databases

RUNS = 5


def queries(s) -> dict[str, str]:
    """What users type, taken from a Chinese-named customer in the middle of the data."""
    from crmcli.names import spelled

    name, phone = s.connection().exec_driver_sql(
        "SELECT name, phone FROM customer WHERE pk >= (SELECT max(pk) / 2 FROM customer) "
        "AND spelled != '' ORDER BY pk LIMIT 1").one()
    pinyin, initials = spelled(name)[1].split(" | ")
    national = phone.removeprefix("+86")
    return {
        "Chinese substring (trigram)": name[1:],
        "full pinyin (trigram)": pinyin,
        "2-character name (terms)": name[:2],
        "initials (terms)": initials,
        "1 character (terms)": name[1],
        "pinyin syllable (trigram)": pinyin[:3],
        "phone as typed": f"{national[:3]} {national[3:7]} {national[7:]}",
    }


def timed(action) -> tuple[float, int]:
    """(median seconds, rows) of RUNS calls of `action`, after one to warm up."""
    rows = len(action())
    runs = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    size = parser.parse_args().size
    os.environ["CRM_HOME"] = tempfile.mkdtemp(prefix="crm-bench-")
    path = database_with(size)

    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.repo import customer_lists

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    with session_scope(database, write=False) as s:
        print(f"{size:,} customers", flush=True)
        for label, text in queries(s).items():
            found = customer_lists.CustomerQuery(search=text, limit=50)
            seconds, rows = timed(lambda found=found: customer_lists.list_(s, found))
            matching = customer_lists.count(s, found)
            print(f"  find {text!r:<18} {label:<30} {seconds * 1000:>8.1f} ms  ({rows} rows "
                  f"of {matching:,})", flush=True)
        query = customer_lists.CustomerQuery()
        total = customer_lists.count(s, query)
        for label, start in (("first", 0), ("last", total - 50)):
            seconds, rows = timed(lambda start=start: customer_lists.page(
                s, query, start=start, size=50, total=total))
            print(f"  list sorted by pinyin, {label} page{'':<22} {seconds * 1000:>8.1f} ms  "
                  f"({rows} rows)", flush=True)
    database.dispose()


if __name__ == "__main__":
    sys.exit(main())
