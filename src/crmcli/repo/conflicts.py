"""Conflict entries: concurrent changes that did not make it, kept until someone decides.

The shared database makes them during a push (see `crmcli.sync`); they reach every replica
like any record. Resolving one is an ordinary, audited change that syncs:
- `theirs`: the record keeps what it holds; the entry is closed;
- `mine`: the entry's value (the one that did not make it) is written into the record;
  for a record deleted elsewhere (or a note, task… added to a customer deleted elsewhere)
  this restores the deleted one first; a refused merge (kind "merge": its keeper was
  deleted or merged away elsewhere) is made again, the keeper restored first; an assignment that could not hold its role (a
  concurrent hand-over came first, or its customer was deleted) hands the role over;
- a new value (customer fields only), typed like `crm customer edit` takes it.
Writing into a user or a custom field definition takes the role its own command requires
(`entities.WRITERS`): a member cannot rename an admin through a conflict. Writing into a
customer, a hand-over, a task or a note takes the right its own command does
(`crmcli.permissions`): only who may change the customer writes its fields back; closing
an entry about one with `theirs` takes the right to change that record too, unless the
change it keeps is the resolver's own.
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
from crmcli.models import Assignment, Conflict, Customer, DecimalText, UTCDateTime
from crmcli.repo import (
    assignments,
    audit,
    customers,
    entities,
    permissions,
    refs,
    search,
    sensitive,
    users,
)
from crmcli.repo.machine import to_dict
from crmcli.repo.users import Actor

TAKES = ("mine", "theirs")
CONFLICT_FIELDS = (
    "kind", "entity", "entity_id", "customer_id", "field", "base", "mine", "theirs", "actor",
    "made_at", "event_id", "resolution", "resolved_by", "resolved_at", "created_at",
)


_KINDS = {"user": "users", "field_def": "custom fields"}  # for a refusal's message


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
    model = entities.MODELS.get(conflict.entity)
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


def _deleted(s: Session, record: Any) -> Any | None:
    """What a "deleted" conflict's `--take mine` takes back: the record, if it was deleted
    elsewhere, or else the customer it was added to (a note on a customer deleted elsewhere)."""
    if record.deleted_at is not None:
        return record
    customer_id = getattr(record, "customer_id", None)
    customer = customers.by_id(s, customer_id) if customer_id else None
    return customer if customer is not None and customer.deleted_at is not None else None


def _restore(s: Session, conflict: Conflict, record: Any, by: Actor) -> None:
    """Take back a deletion made elsewhere, as an ordinary audited change (a customer that
    was merged away is no longer merged into anything). Restoring a customer takes the
    right to delete it, as the shared database judges it."""
    if isinstance(record, Customer):
        permissions.require_delete(s, record, by)
    else:
        permissions.require_record_change(s, record, by)
    entity = entities.entity_of(record)
    restored = {"deleted_at": None, **({"merged_into": None} if entity == "customer" else {})}
    changes = audit.apply(record, restored, by.handle)
    audit.record(
        s, by=by.handle, action=f"{entity}.update", entity=entity, entity_id=record.id,
        customer_id=record.id if isinstance(record, Customer) else conflict.customer_id,
        changes=changes, detail={"conflict": conflict.id},
    )
    if isinstance(record, Customer):
        search.refresh(s, [record.pk])


def _merge_again(s: Session, conflict: Conflict, other: Customer, by: Actor) -> None:
    """Make a merge the shared database refused (its keeper was deleted or merged away
    elsewhere): restore both customers where needed, then merge `other` into the keeper."""
    keeper = customers.by_id(s, conflict.mine)
    for customer in (keeper, other):
        if customer.deleted_at is not None:
            _restore(s, conflict, customer, by)
    customers.merge(s, keeper, other, by=by)


def _write(
    s: Session, conflict: Conflict, record: Any, values: dict[str, Any], *, by: Actor,
    allow_duplicate: bool,
) -> None:
    """Write {path: value} (JSON or stored form) into the record as one ordinary, audited
    change.

    A customer is changed like any edit of it (`customers.change`: required fields, the
    duplicate guard, a new owner is a hand-over); other records take the values as given."""
    if isinstance(record, Customer):
        standard: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for path, value in values.items():
            column, _, key = path.partition(".")
            if key:
                extra[key] = value
            else:
                standard[column] = stored(Customer, column, value)
        customers.change(s, record, standard, extra, by=by, allow_duplicate=allow_duplicate)
        search.refresh(s, [record.pk])
        return
    permissions.require_record_change(s, record, by)
    row = {column: getattr(record, column) for column in {p.partition(".")[0] for p in values}}
    for path, value in values.items():
        entities.put(row, path, value)
    model = type(record)
    columns = {column: stored(model, column, value) for column, value in row.items()}
    changes = audit.apply(record, columns, by.handle)
    if changes:
        audit.record(
            s, by=by.handle, action=f"{conflict.entity}.update", entity=conflict.entity,
            entity_id=record.id, customer_id=conflict.customer_id, changes=changes,
            detail={"conflict": conflict.id},
        )


def _require_subject(s: Session, conflict: Conflict, by: Actor) -> None:
    """Resolving an entry about a customer's record, however, takes the right to change
    that record (`judge_writes.crm_require_resolves` checks the same when it arrives)."""
    record = record_of(s, conflict)
    if isinstance(record, Customer):
        permissions.require_change(s, record, by)
    elif record is not None:
        permissions.require_record_change(s, record, by)
    elif conflict.customer_id:
        customer = s.exec(select(Customer).where(Customer.id == conflict.customer_id)).first()
        if customer is not None:
            permissions.require_change(s, customer, by)


def resolve(
    s: Session,
    conflict: Conflict,
    *,
    take: str | None,
    value: str | None,
    by: Actor,
    allow_duplicate: bool = False,
) -> None:
    """Settle a conflict: take "mine", "theirs", or a new `value`; see the module doc.
    A value written into a customer is checked like any edit (`allow_duplicate` as there)."""
    if conflict.resolved_at is not None:
        raise Invalid(
            f"conflict {short(conflict.id)} was resolved by {conflict.resolved_by} already",
            "conflict",
        )
    if (take is None) == (value is None):
        raise UsageError("give either --take mine|theirs or --value VALUE")
    if value is not None and (conflict.entity != "customer" or conflict.kind != "edit"):
        raise UsageError("--value works for one customer field; use --take, then edit the record")
    if take != "theirs" and conflict.entity in entities.WRITERS:  # as `crm user`, `crm field`
        users.require_role(by, entities.WRITERS[conflict.entity], f"change {_KINDS[conflict.entity]}")
    if take != "theirs" and conflict.entity == "customer" and conflict.kind != "merge":
        written = [conflict.field] if conflict.kind == "edit" else [
            name for name, value in (conflict.mine or {}).items() if value is not None]
        sensitive.check_write(s, by, written)  # only a sensitive field's readers write it
    own = take == "theirs" and conflict.actor == by.handle  # giving up one's own change
    if conflict.entity not in entities.WRITERS and not own:  # as the shared database judges
        _require_subject(s, conflict, by)
    record = None if take == "theirs" else record_of(s, conflict)
    if take != "theirs" and (record is None or conflict.kind == "gone"):
        raise Invalid(
            "the record is no longer in the shared database; only --take theirs closes this",
            "conflict",
        )
    if take == "mine" and conflict.kind == "merge":
        _merge_again(s, conflict, record, by)
    elif take == "mine":
        deleted = _deleted(s, record) if conflict.kind == "deleted" else None
        if deleted is not None:
            _restore(s, conflict, deleted, by)
        hand_over = conflict.kind == "deleted" or conflict.field == "user"
        if isinstance(record, Assignment) and hand_over:
            customer = customers.by_id(s, record.customer_id)
            reason = f"conflict {short(conflict.id)}"
            assignments.assign(s, customer, record.user, record.role, by=by, reason=reason)
        else:
            mine = conflict.mine if conflict.kind != "edit" else {conflict.field: conflict.mine}
            _write(s, conflict, record, dict(mine), by=by, allow_duplicate=allow_duplicate)
    elif value is not None:
        name = conflict.field.partition(".")[2] or conflict.field
        standard, extra = customers.parse(s, {name: value})
        parsed = {conflict.field: extra[name] if extra else standard[name]}
        _write(s, conflict, record, parsed, by=by, allow_duplicate=allow_duplicate)
    changes = audit.apply(
        conflict,
        {"resolution": take or "value", "resolved_by": by.handle, "resolved_at": clock.now()},
        by.handle,
    )
    audit.record(
        s, by=by.handle, action="conflict.resolve", entity="conflict", entity_id=conflict.id,
        customer_id=conflict.customer_id, changes=changes,
    )
