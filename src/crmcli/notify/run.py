"""One `crm notify run`: collect, route, then deliver what waits, batch by batch.

Like `crm sync` it owns its transactions, each short: one collects the notices and gives
the new notifications their deliveries; then, for each batch, one claims it (BEGIN
IMMEDIATE, with a lease: a second run at the same time claims other rows or none), the
batch is sent with no transaction open (one keep-alive HTTP client, a few requests at a
time), and one records the outcomes. A delivery that failed waits for its next try
(`deliveries.backoff`); the run only takes deliveries due when it started, so a
failure is not tried again within the same run.

A platform that refuses or cannot be reached is no error of the run: the delivery waits
and `crm notify status` says why. What ends the run with an error is the machinery's
(the local database failing).
"""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from crmcli import clock
from crmcli.db import Database, session_scope
from crmcli.models import Channel
from crmcli.notify import payloads
from crmcli.repo import deliveries, notifications
from crmcli.repo.deliveries import Job, Outcome

if TYPE_CHECKING:
    import httpx

BATCH = 500
WORKERS = 8  # requests in flight at once (a platform's robot takes ~20 a minute anyway)
TIMEOUT = 10.0  # seconds for one request; the lease (5 minutes) outlasts a batch


@dataclass
class Report:
    collected: int = 0  # new notifications
    routed: int = 0  # deliveries made for them
    sent: int = 0
    failed: int = 0  # tried and failed this run: waiting for their next try
    left: int = 0  # claimed but not tried before the lease ran short: for the next run

    def as_dict(self) -> dict:
        return asdict(self)


def collect(database: Database, now: datetime | None = None) -> tuple[int, int]:
    """Record the new notifications and give them their deliveries (one transaction)."""
    now = now or clock.now()
    with session_scope(database) as s:
        return notifications.collect(s, now), deliveries.route(s, now)


def post(client: httpx.Client, channel: Channel, record: dict[str, Any],
         mention: dict[str, str], now: datetime) -> str | None:
    """Post the notification `record` through `channel`; why it did not arrive, or None."""
    import httpx

    request = payloads.request_for(channel.kind, channel.url, channel.secret, record,
                                   mention, now)
    try:
        answer = client.post(request.url, content=request.body, headers=request.headers)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"[:500]
    return payloads.refusal(channel.kind, answer.status_code, answer.text)


def send(client: httpx.Client, job: Job, *, now: datetime, deadline: float) -> Outcome:
    """Deliver one claimed job; its outcome (an error: why it did not arrive). Past
    `deadline` (time.monotonic) the lease is too short for another request: the job is
    left untried, to be claimed again."""
    if time.monotonic() > deadline:
        return Outcome(job.delivery_id, job.attempts, tried=False)
    return Outcome(job.delivery_id, job.attempts,
                   post(client, job.channel, job.record, job.mention, now))


def try_channel(channel: Channel, handle: str, mention: dict[str, str]) -> str | None:
    """Send a test message through `channel` now, mentioning `handle`; why it did not
    arrive, or None. Nothing is recorded: it checks a channel's URL and secret."""
    import httpx

    now = clock.now()
    record = {"id": None, "key": f"test:{clock.iso(now)}", "kind": "test", "recipient": handle,
              "customer": None, "title": "crm: test message",
              "body": f"{handle} checked this channel; notifications will arrive here.",
              "due": None, "created_at": clock.iso(now), "read_at": None}
    with httpx.Client(timeout=TIMEOUT) as client:
        return post(client, channel, record, mention, now)


def run(database: Database, *, batch: int = BATCH, workers: int = WORKERS,
        lease: timedelta = deliveries.LEASE) -> Report:
    """Collect and deliver; see the module doc. No request begins later than 2 × TIMEOUT
    before the batch's lease runs out, so another run can only claim a delivery this one
    no longer sends (the rest of the batch is released, and the run ends there)."""
    import httpx

    started = clock.now()
    report = Report()
    report.collected, report.routed = collect(database, started)
    owner = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with httpx.Client(timeout=TIMEOUT, limits=limits) as client, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        while True:
            with session_scope(database) as s:
                jobs = deliveries.claim(s, owner, clock.now(), due_by=started, limit=batch,
                                        lease=lease)
            if not jobs:
                break
            deadline = time.monotonic() + lease.total_seconds() - 2 * TIMEOUT
            outcomes = list(pool.map(
                partial(send, client, now=clock.now(), deadline=deadline), jobs))
            with session_scope(database) as s:
                deliveries.record(s, owner, outcomes, clock.now())
            tried = [outcome for outcome in outcomes if outcome.tried]
            failed = sum(outcome.error is not None for outcome in tried)
            report.sent += len(tried) - failed
            report.failed += failed
            report.left += len(outcomes) - len(tried)
            if len(tried) < len(outcomes):
                break
    return report
