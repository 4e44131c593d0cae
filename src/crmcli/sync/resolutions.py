"""A conflict entry two members resolved differently before either of them synced.

The first resolution to reach the shared database closes the entry there, and its
changes stand. A second one that does something else (another choice, or another new
value) must not win silently, nor vanish: its push finds the entry resolved and

- takes none of its changes: the `conflict.resolve` event and the events it lists
  (`detail["events"]`, the record writes the resolution made, `repo/conflicts.py`) are
  stored in the history but change nothing, like a refused merge's (`merges.py`); the
  records they touched are written back, so the replica pulls the shared state again,
  and a record the resolution created here (a role it handed over) leaves the replica;
- keeps one new open entry of kind "resolution" about the entry (entity "conflict"):
  `theirs` is the resolution that stands and `mine` the second one, each
  {"resolution", "by", "at"} plus the "value" a new value wrote (`restricted` for a
  sensitive field). `crm conflicts resolve` on it keeps the current one, restores the
  other, or writes a new value; the shared database checks that it names the standing
  resolution truly and the pusher's own as the other (`judge_resolutions.py`).

Two resolutions that agree (the same choice; two new values that are equal) are no
conflict: the second one's changes merge as any change does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from crmcli.documents import RESTRICTED
from crmcli.models import AuditEvent, Conflict
from crmcli.repo.entities import get
from crmcli.sync import shared
from crmcli.sync.tables import BY_ENTITY, SENSITIVE, comparable

ENTRIES = BY_ENTITY["conflict"]
RESOLVED = "conflict.resolve"
VALUE = "value"


@dataclass(frozen=True)
class Overruled:
    """One resolution that arrives second and does something else than the first."""

    entry: dict  # the shared entry, as the first resolution left it
    event: AuditEvent  # the replica's `conflict.resolve`
    value: Any  # what its new value was (a VALUE resolution), in the events' form
    events: frozenset[str]  # its own event and the events of the changes it made


def overruled(conn: Any, events: list[AuditEvent]) -> dict[str, Overruled]:
    """The resolutions among `events` (the replica's, oldest first) of entries the shared
    database holds resolved otherwise, keyed by the entry's id."""
    resolving = {
        event.entity_id: event for event in events
        if event.action == RESOLVED and event.entity_id
        and (event.changes or {}).get("resolved_at", [None])[0] is None
    }
    if not resolving:
        return {}
    entries = shared.rows_by(conn, ENTRIES, "id", resolving)
    by_id = {event.id: event for event in events}
    found: dict[str, Overruled] = {}
    for entry_id, event in resolving.items():
        entry = entries.get(entry_id)
        if entry is None or entry["resolved_at"] is None:
            continue
        listed = frozenset((event.detail or {}).get("events", ())) | {event.id}
        value = _written(entry, [by_id[i] for i in listed if i in by_id])
        if not _agree(conn, entry, event.changes["resolution"][1], value):
            found[entry_id] = Overruled(entry, event, value, listed)
    return found


def _written(entry: dict, events: Iterable[AuditEvent]) -> Any:
    """The value a resolution's events wrote into the field the entry is about."""
    column, _, key = entry["field"].partition(".")
    value = None
    for event in events:
        if event.entity == entry["entity"] and event.entity_id == entry["entity_id"]:
            pair = (event.changes or {}).get(column)
            if isinstance(pair, list) and len(pair) == 2:
                value = (pair[1] or {}).get(key) if key else pair[1]
    return value


def _agree(conn: Any, entry: dict, resolution: str, value: Any) -> bool:
    """Whether a second resolution does what the first did: the same choice, and for two
    new values the same value (the one the record holds now)."""
    if resolution != entry["resolution"]:
        return False
    if resolution != VALUE or entry["entity"] not in BY_ENTITY:
        return True
    record = shared.rows_by(conn, BY_ENTITY[entry["entity"]], "id", [entry["entity_id"]])
    current = record.get(entry["entity_id"])
    if current is None:
        return False
    return get({name: comparable(item) for name, item in current.items()}, entry["field"]) == value


def untaken(found: Mapping[str, Overruled]) -> frozenset[str]:
    """The ids of the events that change nothing in the shared database."""
    return frozenset().union(*(item.events for item in found.values()))


def entry(item: Overruled, now: datetime, secret: Iterable[str] = ()) -> Conflict:
    """The new entry between the two resolutions (see the module doc). `secret` names the
    sensitive fields of the entry's customer (custom ones too): their values stay out."""
    first, event = item.entry, item.event
    second: dict[str, Any] = {
        "resolution": event.changes["resolution"][1], "by": event.actor,
        "at": _exact(event.at),
    }
    if second["resolution"] == VALUE:
        name = first["field"].removeprefix("extra.")
        sensitive = name in SENSITIVE or name in set(secret)
        second["value"] = RESTRICTED if sensitive and item.value is not None else item.value
    return Conflict(
        kind="resolution", entity="conflict", entity_id=first["id"],
        customer_id=first["customer_id"], field="resolution", base=None, mine=second,
        theirs={"resolution": first["resolution"], "by": first["resolved_by"],
                "at": _exact(first["resolved_at"])},
        actor=event.actor, made_at=event.at, event_id=event.id,
        created_at=now, updated_at=now,
    )


def _exact(moment: datetime) -> str:
    """A time as ISO 8601 UTC to the microsecond: the shared database compares the
    standing resolution's time with the one it holds."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def created(found: Mapping[str, Overruled], events: list[AuditEvent]) -> list[tuple[str, str]]:
    """(entity, id) of the records the overruled resolutions created on the replica: they
    never reach the shared database, so they leave the replica after the push."""
    unmade = untaken(found)
    return [
        (event.entity, event.entity_id) for event in events
        if event.id in unmade and event.action.endswith(".create") and event.entity_id
        and event.entity in BY_ENTITY
    ]


def taken_secrets(
    secrets: Mapping[str, dict[str, Any]], events: list[AuditEvent], unmade: frozenset[str]
) -> dict[str, dict[str, Any]]:
    """The sensitive values to send (`Outbox.secrets`) without those that only overruled
    resolutions set: they do not reach the shared record either."""
    if not unmade:
        return dict(secrets)
    kept: dict[str, set[str]] = {}
    for event in events:
        if event.id not in unmade and event.entity == "customer" and event.entity_id:
            names = kept.setdefault(event.entity_id, set())
            for name, pair in (event.changes or {}).items():
                before, after = pair if isinstance(pair, list) and len(pair) == 2 else (0, 0)
                if name == "extra" and isinstance(before, dict | None) and isinstance(
                        after, dict | None):
                    old, new = before or {}, after or {}
                    names.update(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
                else:
                    names.add(name)
    return {
        customer: {name: value for name, value in values.items()
                   if name in kept.get(customer, ())}
        for customer, values in secrets.items()
    }
