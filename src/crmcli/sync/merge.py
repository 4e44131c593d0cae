"""The merging rules, as pure functions: what a replica changed, and what the shared record does.

A replica's unpushed audit events are folded per record: for each field, `base` is the
`before` of the first event that changed it (what the replica had seen before it started
changing it) and the change's author is the last event's. Fields holding a JSON object
(customer.extra, the custom fields) are split per key into paths ("extra.budget", see
`repo/entities.py`), so custom fields merge one by one like standard ones.

The shared database then decides each field by comparing values, never clocks:
- it already holds the replica's value: nothing to do (equal values are no conflict);
  a time stamp of a state (a task's done_at) agrees when the state does (both replicas
  completed the task): the stamp that arrived first stays;
- it still holds `base`: nobody else changed it, take the replica's value;
- otherwise someone else changed it first: the shared value stays and the replica's
  value goes into a conflict entry.

A deletion is a change to every field: when a replica's deletion is taken, a field it did
not change itself but whose shared value is not the one the replica holds (an edit made
elsewhere that the deleter never pulled) is `unseen`: the tombstone keeps that edit, and
the push keeps it in a "deleted" conflict entry, as it would for an edit arriving after
the deletion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from crmcli.repo.audit import BOOKKEEPING
from crmcli.repo.entities import get


class Outcome(str, Enum):
    same = "same"
    take = "take"
    conflict = "conflict"


def decide(shared: Any, base: Any, mine: Any) -> Outcome:
    """What the shared record does with one field a replica changed from `base` to `mine`."""
    if shared == mine:
        return Outcome.same
    if shared == base:
        return Outcome.take
    return Outcome.conflict


@dataclass(frozen=True)
class Author:
    """Who made a change, in which event, and when (by their clock: shown, never compared)."""

    actor: str
    at: Any
    event_id: str
    order: int  # the event's place among the replica's events (its local seq)


@dataclass
class RecordChanges:
    """Everything one replica changed on one record since it last pushed."""

    entity: str
    entity_id: str
    customer_id: str | None
    created_in: str | None = None  # the id of the event that created the record here
    base: dict[str, Any] = field(default_factory=dict)
    authors: dict[str, Author] = field(default_factory=dict)
    last: Author | None = None

    @property
    def created(self) -> bool:
        return self.created_in is not None

    def set_only_by_creation(self, path: str) -> bool:
        """Whether the record's creation here was the only change to `path`."""
        return self.created_in is not None and self.authors[path].event_id == self.created_in


def split(name: str, before: Any, after: Any) -> dict[str, tuple[Any, Any]]:
    """One recorded change as per-field changes; JSON objects become one entry per key."""
    objects = isinstance(before, dict) or isinstance(after, dict)
    if objects and isinstance(before, dict | None) and isinstance(after, dict | None):
        old, new = before or {}, after or {}
        return {
            f"{name}.{key}": (old.get(key), new.get(key))
            for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key)
        }
    return {name: (before, after)}


def fold(
    events: list[Any], tracked: set[str], untaken: Callable[[Any], bool] = lambda event: False
) -> list[RecordChanges]:
    """Fold events (oldest first) into per-record changes, in the order records were first
    touched. Only entities in `tracked` are folded; other events are history only. An
    `untaken` event (of a refused merge) touches its record but changes nothing in it."""
    records: dict[tuple[str, str], RecordChanges] = {}
    for event in events:
        if event.entity not in tracked or not event.entity_id:
            continue
        key = (event.entity, event.entity_id)
        record = records.get(key)
        if record is None:
            record = records[key] = RecordChanges(event.entity, event.entity_id, event.customer_id)
        if untaken(event):
            continue
        author = Author(event.actor, event.at, event.id, event.seq or 0)
        record.last = author
        record.customer_id = event.customer_id or record.customer_id
        if event.action.endswith(".create"):
            record.created_in = event.id
        for name, (before, after) in (event.changes or {}).items():
            if isinstance(before, dict) or isinstance(after, dict):
                for path, (old, _new) in split(name, before, after).items():
                    record.base.setdefault(path, old)
                    record.authors[path] = author
            else:  # `split` of a plain value, without building its dict (a push folds many)
                record.base.setdefault(name, before)
                record.authors[name] = author
    return list(records.values())


DELETED = "deleted_at"


@dataclass
class Verdict:
    """What the shared record does with one replica's changes to it."""

    take: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (kind, field)
    unseen: list[str] = field(default_factory=list)  # edits elsewhere the deleter never saw


def judge(
    shared: dict[str, Any],
    mine: dict[str, Any],
    changes: RecordChanges,
    stamps: Mapping[str, str | None] | None = None,
) -> Verdict:
    """Apply the rules to one record that exists on both sides.

    `shared` and `mine` are the record's values (comparable form) in the shared database
    and on the replica; `stamps` are the record's time stamps of a state (`Synced.stamps`).
    A deletion is decided first: deleted on both sides is agreement;
    otherwise the field rule applies to `deleted_at` like to any field. Then, if the record
    stays deleted but this replica did not delete it, every change it made to it is a
    conflict of kind "deleted" (unless the deleted record holds that value already).
    """
    verdict = Verdict()
    deleted = shared.get(DELETED) is not None
    if DELETED in changes.base and not (deleted and mine.get(DELETED) is not None):
        outcome = decide(shared.get(DELETED), changes.base[DELETED], mine.get(DELETED))
        if outcome is Outcome.take:
            verdict.take.append(DELETED)
            deleted = mine.get(DELETED) is not None
            if deleted:
                verdict.unseen = unseen(shared, mine, changes)
        elif outcome is Outcome.conflict:
            verdict.conflicts.append(("edit", DELETED))
    deleted_elsewhere = deleted and mine.get(DELETED) is None
    for path, base in changes.base.items():
        if path == DELETED:
            continue
        outcome = decide(get(shared, path), base, get(mine, path))
        if outcome is Outcome.same or _same_state(shared, mine, path, stamps or {}):
            continue
        if deleted_elsewhere:
            verdict.conflicts.append(("deleted", path))
        elif outcome is Outcome.take:
            verdict.take.append(path)
        else:
            verdict.conflicts.append(("edit", path))
    return verdict


NOT_SEEN = BOOKKEEPING | {"id", DELETED}  # what a deleter need not have seen


def unseen(shared: dict[str, Any], mine: dict[str, Any], changes: RecordChanges) -> list[str]:
    """The paths a replica deleting a record had not seen as the shared record holds them:
    fields it did not change whose shared value differs from its own copy (which holds
    what it last pulled: a pull leaves a record with an unpushed deletion as it is)."""
    paths = []
    for name in shared.keys() - NOT_SEEN:
        for path, (seen, now) in split(name, mine.get(name), shared[name]).items():
            if path not in changes.base and seen != now:
                paths.append(path)
    return sorted(paths)


def _same_state(
    shared: dict[str, Any], mine: dict[str, Any], path: str, stamps: Mapping[str, str | None]
) -> bool:
    """Whether `path` stamps a state both sides are in (then its value is no conflict)."""
    if path not in stamps:
        return False
    state = stamps[path]
    if state is None:
        return (shared.get(path) is None) == (mine.get(path) is None)
    return shared.get(state) == mine.get(state)
