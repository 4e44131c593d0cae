"""How long `crm report attribution` takes on a team replica, where a cleared reader's
amounts are read from the shared database, one recorded reveal per won customer.

    python bench/attribution_team.py [POSTGRES_URL] [--won 100 1000 5000]

For each N, in a schema of its own (bench/sync.py's `scratch_team`, dropped with its roles
afterwards) and through the command line as a team would: `crm server init`, alice (admin)
added with a login of her own, her replica joined and synced; she imports N customers
already won, each with a contract amount, and syncs, so her replica holds only their masks.
Printed: the seconds of `crm report attribution -f json` (start-up included, best of 3),
and the reveals the shared database recorded for one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sync import as_login, crm, join, scratch_team  # noqa: E402 - the sync bench's team


def measure(base: str, won: int) -> None:
    with scratch_team(base) as (url, name, admin), tempfile.TemporaryDirectory() as folder:
        owner, alice = Path(folder) / "owner", Path(folder) / "alice"
        crm(owner, "owner", "server", "init", "--url", url)
        crm(owner, "owner", "server", "member", "add", "alice", "--name", "Alice", "--dept",
            "sales", "--role", "admin", "--login", f"{name}_alice", "--url", url)
        join(alice, as_login(url, f"{name}_alice"), "alice")
        crm(alice, "alice", "sync")
        rows = Path(folder) / "won.csv"
        rows.write_text("name,stage,contract_amount\n" + "".join(
            f"Customer {n},won,{10_000 + n}\n" for n in range(won)), encoding="utf-8")
        crm(alice, "alice", "import", "customers", str(rows))
        crm(alice, "alice", "sync")
        before = admin.execute(f'SELECT count(*) FROM "{name}".audit_event '
                               "WHERE action = 'customer.reveal'").fetchone()[0]
        seconds = min(crm(alice, "alice", "report", "attribution", "-f", "json")[0]
                      for _ in range(3))
        reveals = admin.execute(f'SELECT count(*) FROM "{name}".audit_event '
                                "WHERE action = 'customer.reveal'").fetchone()[0] - before
        print(f"  {won:>6,} won customers  crm report attribution {seconds:6.2f} s  "
              f"reveals recorded per run {reveals // 3:,}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default=os.environ.get(
        "CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--won", type=int, nargs="+", default=[100, 1000, 5000])
    args = parser.parse_args()
    started = time.perf_counter()
    for won in args.won:
        measure(args.url, won)
    print(f"  ({time.perf_counter() - started:.0f} s in all)")


if __name__ == "__main__":
    main()
