"""What a push left exactly as this replica holds it: rows the pull that follows need not read.

`crm_push` writes back every record a push touches (each gets a new `server_seq`) and
stores its events, so the pull of the same sync used to read them all back: at 100,000
imported customers, 40 % of the client's time went to rows it already held. The shared
database now says which rows it stored exactly as sent (`judge_sent.py`: every column
but the stamp and `updated_at`, which is the push's own time), with their stamps; the
replica keeps, of those:
- a record this push made (new to the shared database: nobody else could have changed
  it, or set a sensitive value whose mask the pull would bring) whose sent row is its
  own local row, untouched by the plan (no hand-over, remap, move or conflict), and for
  which the push sent no sensitive value (its mask comes with the pull);
- an event of its own outbox that it holds naming the same record (a pulled event the
  replica holds changes nothing else in it, `pull_apply.apply_events`).
Such a record takes the push's time as its `updated_at` at once (in the transaction
that marks the batch synced), and the pull leaves its stamp out (`Unchanged.spans`):
the replica ends as if it had pulled it. Anything else, whatever the shared database
did to it, is pulled as before.

Only the replica's own reading is at stake: it skips rows by the stamps the shared
database gave them, and a row changed by anyone since has a new stamp, so it is pulled.
A client that skipped more would only leave itself without rows it may read. The skip
lives in memory for one sync: a sync cut off between push and pull pulls those rows
next time, which is always right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crmcli.repo.bulk import listed
from crmcli.sync.tables import BY_ENTITY, EVENTS


@dataclass
class Unchanged:
    """The stamps the pull leaves out, by entity (EVENTS' for events), as ranges [first,
    last] of consecutive ones (a batch's new records are stamped one after the other), so
    memory stays flat however many a push leaves out."""

    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, entity: str, stamps: Iterable[int]) -> None:
        ranges = self.ranges[entity]
        for stamp in sorted(stamps):
            if ranges and ranges[-1][1] + 1 == stamp:
                ranges[-1] = (ranges[-1][0], stamp)
            else:
                ranges.append((stamp, stamp))
        ranges.sort()

    def spans(self, entity: str, after: int, upto: int) -> Iterator[tuple[int, int]]:
        """The stamp ranges (after, upto] of `entity` to read, around the ones left out."""
        for first, last in self.ranges.get(entity, ()):
            if last <= after or first > upto:
                continue
            if first - 1 > after:
                yield after, first - 1
            after = last
        if upto > after:
            yield after, upto


def picked(answer: dict[str, Any], outbox: Any, plan: Any, events: list[Any]) -> dict[str, dict]:
    """Of what `crm_push` stored as sent (`answer`), what this replica holds as it is
    (see the module doc): entity -> id -> stamp; `events` are the outbox's events sent,
    with the record id they were sent under."""
    kept: dict[str, dict] = {}
    for entity, stamped in answer["records"].items():
        held, made = outbox.rows.get(entity, {}), plan.added.get(entity, {})
        written = plan.writes[entity]
        kept[entity] = {  # (a row the plan changed is another dict: unequal)
            record_id: stamp for record_id, stamp in stamped.items()
            if record_id in made and written.get(record_id) == held.get(record_id)
            and not (entity == "customer" and record_id in outbox.secrets)
        }
    own = {event["id"] for event, mine in events if event["entity_id"] == mine.entity_id}
    kept[EVENTS.entity] = {
        event_id: stamp for event_id, stamp in answer["events"].items() if event_id in own}
    return kept


def settle(s: Session, kept: dict[str, dict], now: datetime, unchanged: Unchanged) -> None:
    """Give the records kept the push's time as the shared database did, in the caller's
    transaction, and add their stamps (and the events') to those the pull leaves out."""
    for entity, stamped in kept.items():
        if entity != EVENTS.entity and stamped:
            table = BY_ENTITY[entity].table
            s.connection().execute(table.update().where(
                table.c.id.in_(select(listed(stamped).c.value))).values(updated_at=now))
        unchanged.add(entity, stamped.values())
