"""The audit trail, which is also the change log that sync pushes.

Every write records one event per changed record: actor, time, action, the record, and
`changes` = {field: [before, after]} for every column the write changed, except
bookkeeping (pk, version, created_at, updated_at, updated_by) and values derived from
others (customer.dedupe_key, sort_key, spelled). A create lists each non-empty field as [null, value]. So an
event alone is enough to replay the change on another replica, field by field, with the
value the writer had seen as `before`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.documents import RESTRICTED
from crmcli.models import AuditEvent, Customer
from crmcli.repo import entities, listing
from crmcli.repo.machine import jsonable, new_row, to_dict

BOOKKEEPING = frozenset({
    "pk", "version", "created_at", "updated_at", "updated_by", "dedupe_key", "sort_key", "spelled",
})


def snapshot(record: Any) -> dict[str, list[Any]]:
    """The changes of a newly created record: every non-empty field as [None, value]."""
    return snapshot_values({name: getattr(record, name) for name in type(record).model_fields})


def snapshot_values(values: dict[str, Any]) -> dict[str, list[Any]]:
    """`snapshot` of a new row held as a dict of its columns (bulk writes)."""
    return {  # truthiness first: most columns of a new row are None or text
        name: [None, value if type(value) is str else jsonable(value)]
        for name, value in values.items()
        if (value or (value is not None and value not in _EMPTY)) and name not in _NOT_SNAPSHOT
    }


_NOT_SNAPSHOT = BOOKKEEPING | {"id"}
_EMPTY = ("", [], {})


def apply(
    record: Any, values: dict[str, Any], by: str, *, unknown: Iterable[str] = ()
) -> dict[str, list[Any]]:
    """Set `values` on `record`; return what changed and bump its version if anything did.

    `unknown` names fields whose stored value this database does not hold (a team
    replica's sensitive values): setting them is a change whatever the value. One that is
    not among `values` (a custom field, kept in `extra`) is recorded as cleared."""
    changes = {}
    for name, new in values.items():
        old = getattr(record, name)
        if old != new or name in unknown:
            changes[name] = [RESTRICTED if name in unknown else jsonable(old), jsonable(new)]
            setattr(record, name, new)
    for name in unknown:
        changes.setdefault(name, [RESTRICTED, None])
    if changes:
        record.version += 1
        record.updated_at = clock.now()
        if hasattr(record, "updated_by"):
            record.updated_by = by
    return changes


def record(s: Session, **event: Any) -> AuditEvent:
    """Add one audit event; the keywords are `event_row`'s."""
    row = AuditEvent(**event_row(**event))
    s.add(row)
    return row


@cache
def _places(entity: str) -> dict[str, int]:
    """Each column of the entity's table -> its place in the table."""
    model = entities.MODELS.get(entity)
    columns = model.__table__.columns if model is not None else ()
    return {column.name: place for place, column in enumerate(columns)}


def in_column_order(entity: str, changes: dict[str, Any]) -> dict[str, Any]:
    """An event's changes in one order every replica stores alike: the record's columns in
    table order, then anything else by name. (Its author lists them as the write made them;
    PostgreSQL's jsonb hands them to the others in an order of its own.)"""
    names = tuple(changes)
    order = _column_order(entity, names)
    return dict(changes) if order == names else {name: changes[name] for name in order}


@lru_cache(maxsize=4096)
def _column_order(entity: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """`names` in `in_column_order`'s order; remembered, since bulk writes change the
    same few sets of fields record after record."""
    places = _places(entity)
    return tuple(sorted(names, key=lambda name: (places.get(name, len(places)), name)))


def event_row(
    *,
    by: str,
    action: str,
    entity: str,
    entity_id: str | None = None,
    customer_id: str | None = None,
    changes: dict[str, list[Any]] | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of a new audit event; `record` adds one, bulk writes insert many."""
    return new_row(AuditEvent, {
        "actor": by, "action": action, "entity": entity, "entity_id": entity_id,
        "customer_id": customer_id, "changes": in_column_order(entity, changes or {}),
        "detail": detail or {},
        "at": at or clock.now(),
    })


# Oldest first; events of the same moment by id, which every replica holds alike (the
# local seq says in which order this replica received them, which differs).
HISTORY_ORDER = (AuditEvent.at, AuditEvent.id)

EVENT_FIELDS = ("at", "actor", "action", "entity", "entity_id", "customer_id", "changes", "detail")


def as_dict(event: AuditEvent) -> dict[str, Any]:
    return to_dict(event, EVENT_FIELDS)


def for_customer(s: Session, customer: Customer) -> list[AuditEvent]:
    """A customer's history, oldest first, including customers merged into it."""
    ids = [customer.id, *merged_into(s, customer.id)]
    query = select(AuditEvent).where(col(AuditEvent.customer_id).in_(ids))
    return list(s.exec(query.order_by(*HISTORY_ORDER)).all())


def merged_into(s: Session, customer_id: str) -> list[str]:
    """Ids of the customers merged into this one, directly or through earlier merges."""
    found: list[str] = []
    frontier = [customer_id]
    while frontier:
        rows = s.exec(select(Customer.id).where(col(Customer.merged_into).in_(frontier))).all()
        frontier = [row for row in rows if row not in found]
        found.extend(frontier)
    return found


READERS = ("admin", "manager")  # who may search the whole audit trail (`crm audit list`)


def search(
    s: Session,
    *,
    by: Any,
    actor: str | None = None,
    customer_ids: list[str] | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> tuple[list[AuditEvent], int]:
    """Events of the whole trail, newest first, for admins and managers (`by`, an Actor),
    and how many match without the limit (counted only when the limit was reached).

    `action` matches an action exactly (`customer.update`), by its verb (`reveal`,
    `export`: any `*.reveal`) or by its kind of record (`customer`: any `customer.*`)."""
    from crmcli.repo.users import require_role

    require_role(by, READERS, "read the audit trail")
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor == actor.strip().lower())
    if customer_ids is not None:
        query = query.where(col(AuditEvent.customer_id).in_(customer_ids))
    if action:
        typed = action.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(or_(
            AuditEvent.action == action.strip(),
            col(AuditEvent.action).like(f"%.{typed}", escape="\\"),
            col(AuditEvent.action).like(f"{typed}.%", escape="\\"),
        ))
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    counting = select(func.count()).select_from(query.subquery())
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    if limit:
        query = query.limit(limit)
    events = list(s.exec(query).all())
    return events, listing.total(events, limit, lambda: s.exec(counting).one())


def for_user(s: Session, handle: str, user_id: str) -> list[AuditEvent]:
    """What a user did, and what was done to their account, oldest first."""
    query = select(AuditEvent).where(
        or_(AuditEvent.actor == handle, AuditEvent.entity_id == user_id)
    )
    return list(s.exec(query.order_by(*HISTORY_ORDER)).all())
