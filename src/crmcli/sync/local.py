"""The replica's side of a sync: rows in and out of the local SQLite, in bulk.

Sync moves many rows at a time (a first sync brings the whole shared data set), so it uses
SQLAlchemy Core statements on the model tables, executed many rows at once, rather than
one ORM object per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, select
from sqlmodel import Session

from crmcli.models import AuditEvent, Customer, SensitiveMask
from crmcli.sync.tables import SENSITIVE, Synced

CHUNK = 500
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def rows_by(s: Session, synced: Synced, column: str, values: Iterable[Any]) -> dict[Any, dict]:
    """The local rows (shared columns) whose `column` is one of `values`, keyed by it."""
    table = synced.table
    found: dict[Any, dict] = {}
    for chunk in chunks(list(set(values))):
        columns = (table.c[name] for name in synced.columns)
        query = select(*columns).where(table.c[column].in_(chunk))
        for row in s.connection().execute(query):
            found[row._mapping[column]] = dict(row._mapping)
    return found


def ids(s: Session, synced: Synced) -> set[str]:
    return set(s.connection().execute(select(synced.table.c.id)).scalars())


def customer_pks(s: Session, customer_ids: Iterable[str]) -> list[int]:
    """The search-index rowids of these customers."""
    table = Customer.__table__
    found: list[int] = []
    for chunk in chunks(list(customer_ids)):
        found += s.connection().execute(select(table.c.pk).where(table.c.id.in_(chunk))).scalars()
    return found


def synced_event_ids(s: Session) -> set[str]:
    table = AuditEvent.__table__
    return set(s.connection().execute(select(table.c.id).where(table.c.synced.is_(True))).scalars())


def insert(s: Session, synced: Synced, rows: list[dict]) -> None:
    if rows:
        s.connection().execute(synced.table.insert(), rows)


def update(s: Session, synced: Synced, rows: list[dict]) -> None:
    """Overwrite rows by id with the values given (every row names the same columns)."""
    if rows:
        table = synced.table
        statement = table.update().where(table.c.id == bindparam("_id"))
        values = [{"_id": row["id"], **{k: v for k, v in row.items() if k != "id"}} for row in rows]
        s.connection().execute(statement, values)


def remove(s: Session, synced: Synced, record_ids: Iterable[str]) -> None:
    """Delete rows outright (records that left what this member may see)."""
    for chunk in chunks(list(record_ids)):
        s.connection().execute(delete(synced.table).where(synced.table.c.id.in_(chunk)))


def event_records(s: Session, event_ids: Sequence[str]) -> dict[str, str | None]:
    """Which of these events this replica holds, and the record each names."""
    table = AuditEvent.__table__
    query = select(table.c.id, table.c.entity_id).where(table.c.id.in_(event_ids))
    return {event_id: entity_id for event_id, entity_id in s.connection().execute(query)}


def unsynced(s: Session) -> list[AuditEvent]:
    """The outbox: events made here and not pushed yet, oldest first."""
    query = select(AuditEvent).where(AuditEvent.synced.is_(False)).order_by(AuditEvent.seq)
    return list(s.scalars(query))


def mark_synced(s: Session, event_ids: Sequence[str]) -> None:
    table = AuditEvent.__table__
    for chunk in chunks(list(event_ids)):
        s.connection().execute(table.update().where(table.c.id.in_(chunk)).values(synced=True))


def forget_sensitive(s: Session) -> None:
    """Clear every sensitive value the replica holds: customers', their masks and the
    changes recorded in its history (a member who left keeps none of them)."""
    table = Customer.__table__
    s.connection().execute(table.update().values({name: None for name in SENSITIVE}))
    s.connection().execute(delete(SensitiveMask.__table__))
    _scrub_events(s, AuditEvent.__table__.c.entity == "customer")


def _scrub_events(s: Session, condition: Any) -> None:
    """Replace the sensitive values in the changes of the events meeting `condition`."""
    events = AuditEvent.__table__
    query = select(events.c.id, events.c.changes).where(events.c.entity == "customer", condition)
    for event_id, changes in s.connection().execute(query).all():
        if any(name in (changes or {}) for name in SENSITIVE):
            scrubbed = {
                name: [None if v is None else "restricted" for v in pair] if name in SENSITIVE
                else pair
                for name, pair in changes.items()
            }
            s.connection().execute(
                events.update().where(events.c.id == event_id).values(changes=scrubbed)
            )


def secrets_set_by(s: Session, events: Sequence[AuditEvent]) -> dict[str, dict[str, Any]]:
    """Customer id -> the current values of the sensitive fields these events changed."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.entity == "customer" and event.entity_id:
            changed = set(event.changes or {}) & set(SENSITIVE)
            if changed:
                wanted.setdefault(event.entity_id, set()).update(changed)
    found: dict[str, dict[str, Any]] = {}
    table = Customer.__table__
    for chunk in chunks(list(wanted)):
        query = select(table.c.id, *(table.c[name] for name in SENSITIVE))
        for row in s.connection().execute(query.where(table.c.id.in_(chunk))):
            # None too: a value cleared here clears the shared one (`audit.apply`'s unknown)
            found[row.id] = {name: row._mapping[name] for name in wanted[row.id]}
    return found


def forget_sent(s: Session, secrets: dict[str, dict[str, Any]], event_ids: Sequence[str]) -> None:
    """After a push: the sensitive values it took to the shared database leave this
    replica (still the same here: a value typed since stays until the next push), and so
    do the values in the history of the events it pushed."""
    table = Customer.__table__
    for customer_id, values in secrets.items():
        for name, value in values.items():
            if value is None:
                continue
            s.connection().execute(
                table.update().where(table.c.id == customer_id, table.c[name] == value)
                .values({name: None})
            )
    _scrub_events(s, AuditEvent.__table__.c.id.in_(list(event_ids)))
