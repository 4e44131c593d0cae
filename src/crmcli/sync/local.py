"""The replica's side of a sync: rows in and out of the local SQLite, in bulk.

Sync moves many rows at a time (a first sync brings the whole shared data set), so it uses
SQLAlchemy Core statements on the model tables, executed many rows at once, rather than
one ORM object per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import orjson
from sqlalchemy import bindparam, delete, false, func, select
from sqlmodel import Session

from crmcli.documents import RESTRICTED
from crmcli.models import AuditEvent, Customer, SensitiveMask
from crmcli.repo.audit import in_column_order
from crmcli.repo.bulk import insert_rows, json_text, listed
from crmcli.repo.customers import derived
from crmcli.repo.sensitive import custom_sensitive
from crmcli.sync.tables import BY_ENTITY, EVENTS, SENSITIVE, Synced

CHUNK = 500
T = TypeVar("T")
# The outbox, written as its partial index's condition (ix_audit_unsynced: `synced = 0`):
# SQLite uses a partial index only for the condition it was made with, and `synced IS 0`
# (what `.is_(False)` writes) read every event of the history instead, on every page of
# a pull (profiled, a fifth of a first sync of 100,000 customers).
UNPUSHED = AuditEvent.__table__.c.synced == false()


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def rows_by(s: Session, synced: Synced, column: str, values: Iterable[Any]) -> dict[Any, dict]:
    """The local rows (shared columns) whose `column` is one of `values`, keyed by it."""
    table, names = synced.table, synced.columns
    query = select(*(table.c[name] for name in names)).where(
        table.c[column].in_(select(listed(set(values)).c.value)))
    key = names.index(column)  # (rows zipped with their names: mappings cost twice as much)
    return {row[key]: dict(zip(names, row, strict=True))
            for row in s.connection().execute(query)}


def insert(s: Session, synced: Synced, rows: list[dict]) -> None:
    """Insert new rows at once, each value through its column's own conversion
    (`bulk.insert_rows`); the local-only columns a row lacks are left empty (the ids
    SQLite numbers itself). The dicts are the caller's throw-away rows: filled in place."""
    if rows:
        for name in synced.table.columns.keys():
            if name not in rows[0]:
                for row in rows:
                    row.setdefault(name, None)
        insert_rows(s, synced.model, rows)


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
    query = select(table.c.id, table.c.entity_id).where(
        table.c.id.in_(select(listed(event_ids).c.value)))
    return {event_id: entity_id for event_id, entity_id in s.connection().execute(query)}


def prepared(synced: Synced, rows: list[dict]) -> list[dict]:
    """Pulled rows made ready to be written, in place, as far as that needs nothing of the
    replica. A pull does it in the thread that reads the pages (`ahead.py`) while the
    writer is inside SQLite, which leaves the writer little else than SQLite's work.

    A customer gets the columns derived from its name and company (`customers.derived`;
    `pull_apply.apply_rows` derives them again for one that keeps a local value). An
    event's JSON values come as the shared database's text (`shared._as_text`: psycopg's
    loader cost nine times as much): they are parsed, the changes put in column order
    (as the author stored them, `audit.in_column_order`) and serialized again as this
    replica stores them (`bulk.JsonText`)."""
    if synced.entity == "customer":
        for row in rows:
            row.update(derived(row["name"], row["company"]))
    elif synced is EVENTS:
        loads = orjson.loads
        for event in rows:
            event["changes"] = json_text(in_column_order(event["entity"], loads(event["changes"])))
            event["detail"] = json_text(loads(event["detail"]))
    return rows


def insert_events(s: Session, events: list[dict]) -> None:
    """Insert pulled events (`prepared`), synced (the dicts are filled in place)."""
    for event in events:
        event["synced"] = True
    insert(s, EVENTS, events)


def unsynced(s: Session) -> list[AuditEvent]:
    """The outbox: events made here and not pushed yet, oldest first."""
    query = select(AuditEvent).where(UNPUSHED).order_by(AuditEvent.seq)
    return list(s.scalars(query))


def count_unsynced(s: Session) -> int:
    """How many events wait to be pushed (counted, not loaded: an import leaves many)."""
    table = AuditEvent.__table__
    query = select(func.count()).select_from(table).where(UNPUSHED)
    return s.connection().execute(query).scalar_one()


def _pending(after: int, passing: Collection[int]) -> list[Any]:
    """The condition for unpushed events after local seq `after`, leaving out the events
    whose seqs are `passing`: those of a batch under way, not marked synced yet while the
    next one is read (`run.push_batches`)."""
    seq = AuditEvent.__table__.c.seq
    condition = [UNPUSHED, seq > after]
    if passing:
        condition.append(seq.not_in(select(listed(passing).c.value)))
    return condition


def unsynced_after(
    s: Session, after: int, *, limit: int | None = None, upto: int | None = None,
    passing: Collection[int] = (),
) -> list[Any]:
    """Unpushed events after local seq `after` (up to `upto`, at most `limit`) but those
    `passing` (`_pending`), oldest first, as rows (columns as attributes: lighter than
    the ORM's objects)."""
    table = AuditEvent.__table__
    query = select(table).where(*_pending(after, passing))
    if upto is not None:
        query = query.where(table.c.seq <= upto)
    query = query.order_by(table.c.seq).limit(limit)
    return list(s.connection().execute(query))


def unsynced_about(
    s: Session, record_ids: Iterable[str], after: int, passing: Collection[int] = ()
) -> list[Any]:
    """The unpushed events after local seq `after` about these records, but those
    `passing` (`_pending`), oldest first."""
    table = AuditEvent.__table__
    query = select(table).where(
        *_pending(after, passing),
        table.c.entity_id.in_(select(listed(record_ids).c.value))).order_by(table.c.seq)
    return list(s.connection().execute(query))


def last_change(
    s: Session, record_ids: Iterable[str], after: int, passing: Collection[int] = ()
) -> int | None:
    """The local seq of the last unpushed event after `after` about one of these records,
    but those `passing` (`_pending`)."""
    table = AuditEvent.__table__
    query = select(func.max(table.c.seq)).where(
        *_pending(after, passing),
        table.c.entity_id.in_(select(listed(record_ids).c.value)))
    return s.connection().execute(query).scalar()


def customer_name(s: Session, customer_id: str) -> str:
    """A customer's name for a message (its id, if this replica does not hold it)."""
    table = Customer.__table__
    name = s.connection().execute(
        select(table.c.name).where(table.c.id == customer_id)).scalar_one_or_none()
    return name or customer_id


def mark_synced(s: Session, event_ids: Sequence[str]) -> None:
    table = AuditEvent.__table__
    s.connection().execute(
        table.update().where(table.c.id.in_(select(listed(event_ids).c.value))).values(synced=True))


def drop_events(s: Session, event_ids: Sequence[str]) -> None:
    """Remove events the shared database was never sent (they describe nothing it holds)."""
    table = AuditEvent.__table__
    for chunk in chunks(list(event_ids)):
        s.connection().execute(delete(table).where(table.c.id.in_(chunk)))


def remove_unmade(s: Session, records: Sequence[tuple[str, str]]) -> None:
    """Remove records made here that the shared database did not take (the role an
    overruled resolution handed over, `resolutions.created`; the note of a refused merge):
    they exist nowhere else. The search index of their customers follows (triggers)."""
    for entity, record_id in records:
        table = BY_ENTITY[entity].table
        s.connection().execute(delete(table).where(table.c.id == record_id))


def forget_sensitive(s: Session) -> None:
    """Clear every sensitive value the replica holds: customers' (custom fields too), their
    masks and the changes recorded in its history (a member who left keeps none of them)."""
    table = Customer.__table__
    s.connection().execute(table.update().values({name: None for name in SENSITIVE}))
    custom = custom_sensitive(s)
    if custom:
        for customer_id, extra in s.connection().execute(select(table.c.id, table.c.extra)):
            if extra and set(extra) & set(custom):
                _set_extra(s, customer_id, {k: v for k, v in extra.items() if k not in custom})
    s.connection().execute(delete(SensitiveMask.__table__))
    _scrub_events(s, AuditEvent.__table__.c.entity == "customer")


def _set_extra(s: Session, customer_id: str, extra: dict) -> None:
    table = Customer.__table__
    s.connection().execute(table.update().where(table.c.id == customer_id).values(extra=extra))


def _scrub_events(s: Session, condition: Any) -> None:
    """Replace the sensitive values in the changes of the events meeting `condition`."""
    custom = custom_sensitive(s)
    names = {*SENSITIVE, *custom}
    events = AuditEvent.__table__
    keys = func.json_each(events.c.changes).table_valued("key")  # (most hold none: skipped)
    holding = select(keys.c.key).where(keys.c.key.in_([*names, *(["extra"] if custom else [])]))
    query = select(events.c.id, events.c.changes).where(
        events.c.entity == "customer", condition, holding.exists())
    for event_id, changes in s.connection().execute(query).all():
        scrubbed = _scrubbed(changes or {}, names)
        if scrubbed != (changes or {}):
            s.connection().execute(
                events.update().where(events.c.id == event_id).values(changes=scrubbed)
            )


def _scrubbed(changes: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """An event's {field: [before, after]} with the values of `names` restricted, custom
    fields inside `extra` too; empty values stay empty."""
    def hide(value: Any) -> Any:
        return None if value is None else RESTRICTED

    def hide_in(side: Any) -> Any:
        if not isinstance(side, dict):
            return side
        return {key: hide(value) if key in names else value for key, value in side.items()}

    return {
        name: [hide(v) for v in pair] if name in names
        else [hide_in(side) for side in pair] if name == "extra" else pair
        for name, pair in changes.items()
    }


def without_secrets(s: Session, customers: dict[str, dict]) -> None:
    """Take the custom sensitive values out of these local customer rows (shared columns):
    like the standard ones, they travel apart, to the shared database alone."""
    custom = custom_sensitive(s)
    for row in customers.values():
        if custom and isinstance(row.get("extra"), dict):
            row["extra"] = {k: v for k, v in row["extra"].items() if k not in custom}


def secrets_set_by(s: Session, events: Sequence[AuditEvent]) -> dict[str, dict[str, Any]]:
    """Customer id -> the current values of the sensitive fields these events changed
    (custom ones by name, as the shared database takes them beside the record)."""
    custom = set(custom_sensitive(s))
    wanted: dict[str, set[str]] = {}
    for event in events:
        if event.entity == "customer" and event.entity_id:
            changes = event.changes or {}
            changed = set(changes) & (set(SENSITIVE) | custom)
            before, after = (changes.get("extra") or [None, None])
            if custom and isinstance(before, dict) and isinstance(after, dict):
                changed |= {name for name in custom if before.get(name) != after.get(name)}
            if changed:
                wanted.setdefault(event.entity_id, set()).update(changed)
    found: dict[str, dict[str, Any]] = {}
    table = Customer.__table__
    for chunk in chunks(list(wanted)):
        query = select(table.c.id, table.c.extra, *(table.c[name] for name in SENSITIVE))
        for row in s.connection().execute(query.where(table.c.id.in_(chunk))):
            values = {**(row.extra or {}), **{name: row._mapping[name] for name in SENSITIVE}}
            # None too: a value cleared here clears the shared one (`audit.apply`'s unknown)
            found[row.id] = {name: values.get(name) for name in wanted[row.id]}
    return found


def forget_sent(s: Session, secrets: dict[str, dict[str, Any]], event_ids: Sequence[str]) -> None:
    """After a push: the sensitive values it took to the shared database leave this
    replica (still the same here: a value typed since stays until the next push), and so
    do the values in the history of the events it pushed."""
    table = Customer.__table__
    for customer_id, values in secrets.items():
        custom = {name: value for name, value in values.items() if name not in SENSITIVE}
        for name, value in values.items():
            if value is None or name in custom:
                continue
            s.connection().execute(
                table.update().where(table.c.id == customer_id, table.c[name] == value)
                .values({name: None})
            )
        if custom:
            extra = s.connection().execute(
                select(table.c.extra).where(table.c.id == customer_id)).scalar_one_or_none() or {}
            kept = {k: v for k, v in extra.items() if k not in custom or custom[k] != v}
            if kept != extra:
                _set_extra(s, customer_id, kept)
    _scrub_events(s, AuditEvent.__table__.c.id.in_(select(listed(event_ids).c.value)))
