"""How fast `crm notify run` collects and delivers: 10,000 pending notifications to a local
HTTP server, in a database of 100,000 customers.

    python bench/notify.py                       # 100,000 customers, 10,000 notifications
    python bench/notify.py --workers 1,8,16 --delay-ms 0,20

The database of customers is made once in bench/.data/ (as bench/tui.py makes it) and
copied for each run; 10,000 overdue tasks are added to it directly (SQLAlchemy Core), with
a webhook channel pointing at a server in another process (so it does not share our GIL)
that answers every POST with 200 after `--delay-ms` (a platform's own latency). For each
number of workers (requests in flight at once) it prints:

- collect: the first collect and routing (10,000 new notifications, 10,000 deliveries);
- deliver: claiming, sending and recording them, and the rate per second;
- again: a second run with nothing new (what every cron tick costs: the sources read,
  every notice found already told);
- cli: the same through the real command line (`python -m crmcli notify run`, start-up
  included).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from tui import database_with  # noqa: E402 - the same generated databases

SERVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
delay = float(sys.argv[1])
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the platforms do
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms ACK wait
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def add_tasks(path: Path, count: int) -> None:
    """`count` overdue open tasks of bench's, one per customer, and nothing else."""
    from sqlalchemy import insert, select

    from crmcli import clock, config
    from crmcli.db import Database, session_scope
    from crmcli.ids import new_id
    from crmcli.models import Customer, Task

    database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
    now = clock.now()
    with session_scope(database) as s:
        ids = s.connection().execute(select(Customer.id).limit(count)).scalars().all()
        rows = [{"id": new_id(), "customer_id": customer_id, "title": f"call back {number}",
                 "assignee": "bench", "due": now.replace(year=now.year - 1),
                 "priority": "normal", "status": "open", "created_by": "bench",
                 "created_at": now, "updated_at": now, "version": 1}
                for number, customer_id in enumerate(ids)]
        s.connection().execute(insert(Task.__table__), rows)
    database.dispose()


def measure(source: Path, notifications: int, workers: int, delay_ms: int) -> dict:
    from crmcli import config
    from crmcli.db import Database, session_scope
    from crmcli.notify import run
    from crmcli.repo import deliveries

    folder = Path(tempfile.mkdtemp(prefix="crm-notify-bench-"))
    path = folder / "crm.db"
    shutil.copy(source, path)
    add_tasks(path, notifications)
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(delay_ms / 1000)],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        database = Database.open(config.Settings(db_path=path, user="bench", region="CN"))
        with session_scope(database) as s:
            deliveries.add_channel(s, "webhook", f"http://127.0.0.1:{port}/hook")
        started = time.perf_counter()
        collected, routed = run.collect(database)
        collecting = time.perf_counter() - started
        started = time.perf_counter()
        report = run.run(database, workers=workers)
        delivering = time.perf_counter() - started
        started = time.perf_counter()
        idle = run.run(database, workers=workers)
        again = time.perf_counter() - started
        database.dispose()
        env = {**os.environ, "CRM_DB": str(path), "CRM_USER": "bench"}
        started = time.perf_counter()
        command = subprocess.run([sys.executable, "-m", "crmcli", "notify", "run"], env=env,
                                 capture_output=True, text=True)
        cli = time.perf_counter() - started
        assert command.returncode == 0, command.stderr
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(folder)
    assert (collected, routed, report.sent, report.failed) == (
        notifications, notifications, notifications, 0), (collected, routed, report)
    assert (idle.collected, idle.sent) == (0, 0), idle
    return {"collect": collecting, "deliver": delivering, "again": again, "cli": cli}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--notifications", type=int, default=10_000)
    parser.add_argument("--workers", default="1,8", help="comma-separated")
    parser.add_argument("--delay-ms", default="0,20", help="server latency, comma-separated")
    args = parser.parse_args()
    source = database_with(args.customers)
    print(f"{args.customers:,} customers, {args.notifications:,} notifications to a webhook")
    print(f"{'latency':>8} {'workers':>8} {'collect':>9} {'deliver':>9} {'per s':>8} "
          f"{'again':>8} {'cli':>8}")
    for delay in map(int, args.delay_ms.split(",")):
        for workers in map(int, args.workers.split(",")):
            got = measure(source, args.notifications, workers, delay)
            rate = args.notifications / got["deliver"]
            print(f"{delay:>6}ms {workers:>8} {got['collect']:>8.2f}s {got['deliver']:>8.2f}s "
                  f"{rate:>8,.0f} {got['again']:>7.2f}s {got['cli']:>7.2f}s", flush=True)


if __name__ == "__main__":
    main()
