"""The outbox: a replica's unpushed events, read in bounded batches that push one by one.

Pushed at once, the outbox (every unpushed event, the rows they touched, the plan made of
them) is held in memory whole and sent in one transaction: memory grows with the data,
and a push cut off near its end starts over. So `crm sync` pushes it in batches of about
`batch_size()` events, oldest first, each its own shared transaction, and the replica marks
a batch's events synced as soon as it committed. A sync cut off resumes with the first
batch not marked (the shared database skips events it holds: a batch committed there but
not marked here applies once).

A batch is what a sync made at its last event would have pushed, so the shared database
ends as after one push:
- it holds every unpushed event of each record it touches (a record's changes are folded
  and judged together, `merge.fold`: one base per field, one conflict entry, the row as
  the replica holds it now), so it runs on to the last change of each;
- it never ends between two events about the same customer (a merge, a hand-over of its
  owner role, a conflict's resolution and the writes it made are judged together).
A record changed early and again late in a long outbox keeps the events between in its
batch (bounded then by the outbox, as before batches), except a customer the batch
creates whose later events are plain edits: those come forward (`_forward`), and the
batch ends after its own events as if they were not there; marked synced with it, the
next batch passes them by.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session

from crmcli import config
from crmcli.repo.notes import stored_path
from crmcli.sync import local, masks, merges
from crmcli.sync.tables import BY_ENTITY

BATCH_EVENTS = 4_000  # a few MB of events, rows and plan (two at once, `run.push_batches`)
BATCH_VARIABLE = "CRM_SYNC_BATCH"  # events per batch (tests push many small batches)


def batch_size() -> int:
    """Events per batch: `CRM_SYNC_BATCH` if set, else BATCH_EVENTS."""
    return config.count_setting(BATCH_VARIABLE, BATCH_EVENTS)


@dataclass
class Outbox:
    """One batch of what a replica has not pushed yet, read in one local transaction."""

    events: list[Any]  # audit events (rows with the columns as attributes), oldest first
    rows: dict[str, dict[str, dict]]  # entity -> id -> local row (shared columns)
    files: dict[str, Path]  # sha256 -> local copy, for attachments among the rows
    # customer id -> the sensitive values this replica's events set: they go to the shared
    # database alone (never in a replica's rows), then the replica forgets them
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    # (customer id, field) -> the digest of the shared value its author last saw (`masks`)
    bases: dict[tuple[str, str], str] = field(default_factory=dict)
    last: int = 0  # the local seq the next batch starts after

    def brought(self) -> list[int]:
        """The seqs of the events that came forward past `last` (`_forward`): the next
        batch passes them by, read before they are marked synced (`run.push_batches`)."""
        return [event.seq for event in self.events if event.seq > self.last]


def next_batch(
    s: Session, attachments_dir: Path, after: int, size: int, passing: Collection[int] = ()
) -> Outbox:
    """The batch of unpushed events that follows local seq `after` (see the module doc),
    leaving out the events `passing` (the batch before's `brought`, not marked synced yet)."""
    events, last = stretch(s, after, size, passing)
    return read(s, attachments_dir, events, last)


def stretch(
    s: Session, after: int, size: int, passing: Collection[int] = ()
) -> tuple[list[Any], int]:
    """The events of the next batch, in local order, and the seq the next batch starts
    after: `size` unpushed events after `after` (but those `passing`), run on to the last
    change of every record they touch and past events about the customer of the last;
    later plain edits of a customer created among them come forward instead (`_forward`)."""
    events = local.unsynced_after(s, after, limit=size, passing=passing)
    ahead: dict[str, Any] = {}
    checked = 0
    while events:
        end = events[-1].seq
        brought = _forward(s, events[checked:], end, passing)
        ahead.update((event.id, event) for event in brought)
        records = _records(events[checked:]) - {event.entity_id for event in brought}
        later = local.last_change(s, records, end, passing)
        checked = len(events)
        if later is not None:
            events += local.unsynced_after(s, end, upto=later, passing=passing)
            continue
        following = local.unsynced_after(s, end, limit=LOOKAHEAD, passing=passing)
        run = _same_customer_run(events[-1], following)
        if not run:
            break
        events += run
    if not events:
        return [], after
    last = events[-1].seq
    return events + sorted((e for e in ahead.values() if e.seq > last), key=lambda e: e.seq), last


# What an edit that comes forward leaves alone: who may change the customer, and whether
# it is there (a merge, a deletion)
RIGHTS = frozenset({"owner", "deleted_at", "merged_into"})


def _forward(s: Session, events: Sequence[Any], end: int, passing: Collection[int]) -> list[Any]:
    """The unpushed events after `end` of the customers created among `events`, when every
    one of a customer's is a plain edit: the shared database takes such a customer as new,
    with the values it has after them (as if they were pushed together), so they need not
    keep the events between in the batch. An import that repeats a lead near its end would
    otherwise run the batch on to there (at 100,000 imported customers: 186,078 events in
    one batch). An edit that touches RIGHTS, or is part of a merge, runs the batch on."""
    created = {event.entity_id for event in events if event.action == "customer.create"}
    by_customer: dict[str, list[Any]] = defaultdict(list)
    for event in local.unsynced_about(s, created, end, passing):
        by_customer[event.entity_id].append(event)
    return [
        event for edits in by_customer.values() if all(map(_plain_edit, edits))
        for event in edits
    ]


def _plain_edit(event: Any) -> bool:
    return (event.action == "customer.update" and merges.merged_away(event) is None
            and not (event.changes or {}).keys() & RIGHTS)


LOOKAHEAD = 64  # events read at a time while a batch runs on past events about one customer


def _same_customer_run(last: Any, following: list[Any]) -> list[Any]:
    """The leading events of `following` each about a customer the one before it is about."""
    run: list[Any] = []
    for event in following:
        if not customers_of(event) & customers_of(run[-1] if run else last):
            break
        run.append(event)
    return run


def _records(events: Sequence[Any]) -> set[str]:
    return {event.entity_id for event in events if event.entity in BY_ENTITY and event.entity_id}


def customers_of(event: Any) -> set[str]:
    """The customers an event is about: its own, the one it changes, and in a merge the
    one merged away and the keeper."""
    found = {event.customer_id, merges.merged_away(event), (event.detail or {}).get("merged_into")}
    if event.entity == "customer":
        found.add(event.entity_id)
    return {customer for customer in found if customer}


def read(s: Session, attachments_dir: Path, events: list[Any], last: int) -> Outbox:
    """These events with the current local rows of the records they touch."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.entity in BY_ENTITY and event.entity_id:
            wanted[event.entity].add(event.entity_id)
    rows = {
        entity: local.rows_by(s, BY_ENTITY[entity], "id", record_ids)
        for entity, record_ids in wanted.items()
    }
    local.without_secrets(s, rows.get("customer", {}))
    files = {}
    for row in rows.get("attachment", {}).values():
        path = stored_path(attachments_dir, row["sha256"])
        if path.is_file():
            files[row["sha256"]] = path
    secrets = local.secrets_set_by(s, events)
    return Outbox(events, rows, files, secrets, masks.digests(s, secrets), last)
