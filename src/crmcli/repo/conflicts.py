"""Conflict entries: concurrent changes that did not make it, kept until someone decides.

The shared database makes them during a push (see `crmcli.sync`); they reach every replica
like any record. Resolving one is an ordinary, audited change that syncs:
- `theirs`: the record keeps what it holds; the entry is closed;
- `mine`: the entry's value (the one that did not make it) is written into the record;
  for a record deleted elsewhere this restores it first;
- a new value (customer fields only), typed like `crm customer edit` takes it.
The first resolution to reach the shared database closes the entry there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.errors import Invalid, UsageError
from crmcli.ids import short
from crmcli.models import (
    Assignment,
    Attachment,
    Conflict,
    Customer,
    DecimalText,
    FieldDef,
    Note,
    Task,
    User,
    UTCDateTime,
)
from crmcli.repo import assignments, audit, customers, refs, search
from crmcli.repo.machine import to_dict
from crmcli.repo.users import Actor
from crmcli.sync.merge import put

MODELS = {
    "user": User, "field_def": FieldDef, "customer": Customer, "note": Note,
    "attachment": Attachment, "task": Task, "assignment": Assignment,
}
TAKES = ("mine", "theirs")
CONFLICT_FIELDS = (
    "kind", "entity", "entity_id", "customer_id", "field", "base", "mine", "theirs", "actor",
    "made_at", "event_id", "resolution", "resolved_by", "resolved_at", "created_at",
)


def describe(conflict: Conflict) -> str:
    return f"{short(conflict.id)}  {conflict.entity} {short(conflict.entity_id)} {conflict.field}"


def as_dict(conflict: Conflict) -> dict[str, Any]:
    return to_dict(conflict, CONFLICT_FIELDS)


def resolve_ref(s: Session, ref: str) -> Conflict:
    return refs.resolve(s, Conflict, ref, kind="conflict", describe=describe)


def list_(s: Session, *, include_resolved: bool = False) -> list[Conflict]:
    query = select(Conflict).where(col(Conflict.deleted_at).is_(None))
    if not include_resolved:
        query = query.where(col(Conflict.resolved_at).is_(None))
    return list(s.exec(query.order_by(Conflict.created_at, Conflict.id)).all())


def count_open(s: Session) -> int:
    query = select(func.count()).select_from(Conflict).where(
        col(Conflict.resolved_at).is_(None), col(Conflict.deleted_at).is_(None)
    )
    return s.exec(query).one()


def record_of(s: Session, conflict: Conflict) -> Any | None:
    """The record a conflict is about, or None if this replica does not hold it."""
    model = MODELS.get(conflict.entity)
    if model is None:
        return None
    return s.exec(select(model).where(model.id == conflict.entity_id)).first()


def stored(model: Any, column: str, value: Any) -> Any:
    """A value from a conflict entry (JSON form) as the model stores it."""
    kind = model.__table__.c[column].type
    if value is None:
        return None
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if isinstance(kind, DecimalText):
        return Decimal(str(value))
    return value


def _write(s: Session, conflict: Conflict, record: Any, values: dict[str, Any], by: Actor) -> None:
    """Write {field: value} (JSON form) into the record as one ordinary, audited change;
    a record deleted elsewhere is restored. A new owner is a hand-over, as everywhere."""
    model = type(record)
    owner = values.pop("owner", None) if isinstance(record, Customer) else None
    columns: dict[str, Any] = {}
    for path, value in values.items():
        column = path.partition(".")[0]
        if column == path:
            columns[column] = stored(model, column, value)
        else:
            holder = {column: columns.get(column, getattr(record, column))}
            put(holder, path, value)
            columns[column] = holder[column]
    if record.deleted_at is not None and conflict.kind == "deleted":
        columns["deleted_at"] = None
    changes = audit.apply(record, columns, by.handle)
    if changes:
        audit.record(
            s, by=by.handle, action=f"{conflict.entity}.update", entity=conflict.entity,
            entity_id=record.id, customer_id=conflict.customer_id, changes=changes,
            detail={"conflict": conflict.id},
        )
    if owner and owner != record.owner:
        reason = f"conflict {short(conflict.id)}"
        assignments.assign(s, record, owner, "owner", by=by, reason=reason)
    if isinstance(record, Customer):
        record.dedupe_key = customers.dedupe_key(record.name, record.company)
        search.refresh(s, [record.pk])


def resolve(
    s: Session, conflict: Conflict, *, take: str | None, value: str | None, by: Actor
) -> None:
    """Settle a conflict: take "mine", "theirs", or a new `value`; see the module doc."""
    if conflict.resolved_at is not None:
        raise Invalid(
            f"conflict {short(conflict.id)} was resolved by {conflict.resolved_by} already",
            "conflict",
        )
    if (take is None) == (value is None):
        raise UsageError("give either --take mine|theirs or --value VALUE")
    if value is not None and (conflict.entity != "customer" or conflict.kind != "edit"):
        raise UsageError("--value works for one customer field; use --take, then edit the record")
    record = None if take == "theirs" else record_of(s, conflict)
    if take != "theirs" and (record is None or conflict.kind == "gone"):
        raise Invalid(
            "the record is no longer in the shared database; only --take theirs closes this",
            "conflict",
        )
    if take == "mine":
        mine = conflict.mine if conflict.kind != "edit" else {conflict.field: conflict.mine}
        _write(s, conflict, record, dict(mine), by)
    elif value is not None:
        name = conflict.field.partition(".")[2] or conflict.field
        standard, extra = customers.parse(s, {name: value})
        _write(s, conflict, record, {conflict.field: extra[name] if extra else standard[name]}, by)
    changes = audit.apply(
        conflict,
        {"resolution": take or "value", "resolved_by": by.handle, "resolved_at": clock.now()},
        by.handle,
    )
    audit.record(
        s, by=by.handle, action="conflict.resolve", entity="conflict", entity_id=conflict.id,
        customer_id=conflict.customer_id, changes=changes,
    )
