"""Conflict entries: concurrent changes that did not make it, kept until someone decides.

The shared database makes them during a push (see `crmcli.sync`); they reach every replica
like any record. An entry holds two values: the *current* one, which the record kept
(`theirs`, as stored), and the *other* one, which did not make it (`mine`: the change of
the entry's `actor`). Resolving one is an ordinary, audited change that syncs; the
choices are named by what they do (`display.RESOLUTIONS`; stored as the resolution):
- keep current (stored "theirs"): the record keeps what it holds; the entry is closed;
- restore other (stored "mine"): the other value is written into the record;
  for a record deleted elsewhere (or a note, task… added to a customer deleted elsewhere)
  this restores the deleted one first; a refused merge (kind "merge": its keeper was
  deleted or merged away elsewhere) is made again, the keeper restored first; an
  assignment that could not hold its role (a concurrent hand-over came first, or its
  customer was deleted) hands the role over;
- a new value (customer fields only), typed like `crm customer edit` takes it.
Writing into a user or a custom field definition takes the role its own command requires
(`entities.WRITERS`): a member cannot rename an admin through a conflict. Writing into a
customer, a hand-over, a task or a note takes the right its own command does
(`crmcli.permissions`): only who may change the customer writes its fields back; keeping
the current value of one takes the right to change that record too, unless the other
value is the resolver's own.
The first resolution to reach the shared database closes the entry there; a second one
that does something else becomes a new entry of kind "resolution" about it, naming both
(`crmcli.sync.resolutions`), settled here like any other (`_decide_between`).
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
from crmcli.models import Assignment, AuditEvent, Conflict, Customer, DecimalText, UTCDateTime
from crmcli.repo import (
    assignments,
    audit,
    customer_merges,
    customers,
    entities,
    permissions,
    refs,
    sensitive,
    users,
)
from crmcli.repo.machine import to_dict
from crmcli.repo.users import Actor

KEEP_CURRENT, RESTORE_OTHER, VALUE = "theirs", "mine", "value"  # as resolutions are stored
RESOLUTION = "resolution"  # the kind of an entry between two resolutions of another one
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
    """What a "deleted" conflict's `--restore-other` takes back: the record, if it was deleted
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
        permissions.require_delete(s, record, by, verb="restore")
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


def _merge_again(s: Session, conflict: Conflict, other: Customer, by: Actor) -> None:
    """Make a merge the shared database refused (its keeper was deleted or merged away
    elsewhere): restore both customers where needed, then merge `other` into the keeper."""
    keeper = customers.by_id(s, conflict.mine)
    for customer in (keeper, other):
        if customer.deleted_at is not None:
            _restore(s, conflict, customer, by)
    customer_merges.merge(s, keeper, other, by=by)


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


def _require_writer(s: Session, conflict: Conflict, by: Actor) -> None:
    """What writing into the record `conflict` is about takes, as the shared database's
    `crm_require_resolves` judges it: a user or custom field, its command's role (as
    `crm user`, `crm field`); anything else, the right to change it."""
    if conflict.entity in entities.WRITERS:
        users.require_role(by, entities.WRITERS[conflict.entity], f"change {_KINDS[conflict.entity]}")
    else:
        _require_subject(s, conflict, by)


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
    choice: str | None,
    value: str | None,
    by: Actor,
    allow_duplicate: bool = False,
) -> None:
    """Settle a conflict: `choice` KEEP_CURRENT or RESTORE_OTHER, or a new `value`; see the
    module doc. A value written into a customer is checked like any edit (`allow_duplicate`
    as there). The `conflict.resolve` event lists the events of the changes the resolution
    made (`detail["events"]`): a push that finds the entry resolved otherwise first keeps
    them out of the shared records (`crmcli.sync.resolutions`)."""
    if conflict.resolved_at is not None:
        raise Invalid(
            f"conflict {short(conflict.id)} was resolved by {conflict.resolved_by} already",
            "conflict",
        )
    if (choice is None) == (value is None):
        raise UsageError("give one of --keep-current, --restore-other or --value VALUE")
    original = _original(s, conflict) if conflict.kind == RESOLUTION else None
    about = original or conflict
    if value is not None and (about.entity != "customer" or about.kind != "edit"):
        raise UsageError(
            "--value works for one customer field; use --restore-other, then edit the record")
    s.flush()
    first = s.exec(select(func.max(AuditEvent.seq))).one() or 0
    values = None
    if value is not None:
        name = about.field.partition(".")[2] or about.field
        standard, extra = customers.parse(s, {name: value})
        values = {about.field: extra[name] if extra else standard[name]}
    if original is not None:
        _decide_between(s, conflict, original, choice or VALUE, values, by, allow_duplicate)
    else:
        _settle(s, conflict, choice or VALUE, by, values=values, allow_duplicate=allow_duplicate)
    s.flush()
    made = s.exec(select(AuditEvent.id).where(AuditEvent.seq > first)).all()
    changes = audit.apply(
        conflict,
        {"resolution": choice or VALUE, "resolved_by": by.handle, "resolved_at": clock.now()},
        by.handle,
    )
    audit.record(
        s, by=by.handle, action="conflict.resolve", entity="conflict", entity_id=conflict.id,
        customer_id=conflict.customer_id, changes=changes,
        detail={"events": list(made)} if made else {},
    )


def _settle(
    s: Session, conflict: Conflict, how: str, by: Actor, *,
    values: dict[str, Any] | None = None, allow_duplicate: bool = False,
) -> None:
    """Do to the record `conflict` is about what `how` does (VALUE: write `values`,
    {path: value}), checked as the shared database checks it."""
    if how == KEEP_CURRENT:
        if conflict.entity not in entities.WRITERS and conflict.actor != by.handle:
            _require_subject(s, conflict, by)  # unless giving up one's own change
        return
    _require_writer(s, conflict, by)
    if conflict.entity == "customer" and conflict.kind != "merge":
        written = list(values) if values is not None else [conflict.field] if (
            conflict.kind == "edit") else [
            name for name, value in (conflict.mine or {}).items() if value is not None]
        sensitive.check_write(s, by, written)  # only a sensitive field's readers write it
    record = record_of(s, conflict)
    if record is None or conflict.kind == "gone":
        raise Invalid(
            "the record is no longer in the shared database; only --keep-current closes this",
            "conflict",
        )
    if how == RESTORE_OTHER and conflict.kind == "merge":
        _merge_again(s, conflict, record, by)
    elif how == RESTORE_OTHER:
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
    else:
        _write(s, conflict, record, dict(values or {}), by=by, allow_duplicate=allow_duplicate)


def _original(s: Session, entry: Conflict) -> Conflict:
    """The entry two members resolved differently, that a "resolution" entry is about."""
    found = s.exec(select(Conflict).where(Conflict.id == entry.entity_id)).first()
    if found is None:
        raise Invalid(f"conflict {short(entry.entity_id)} is not in this replica", "conflict")
    return found


def _decide_between(
    s: Session, entry: Conflict, original: Conflict, how: str, values: dict[str, Any] | None,
    by: Actor, allow_duplicate: bool,
) -> None:
    """Settle a "resolution" entry (`crmcli.sync.resolutions`): `theirs` is the resolution
    of `original` that stands, `mine` the one that came second. Keeping the current one
    changes nothing (it takes what resolving `original` by writing takes, unless the
    second resolution was the resolver's own); restoring the other does what it did to
    `original`'s record; a new value is written there."""
    if how == KEEP_CURRENT:
        if entry.actor != by.handle:
            _require_writer(s, original, by)
        return
    if how == VALUE:
        _settle(s, original, VALUE, by, values=values, allow_duplicate=allow_duplicate)
        return
    other = entry.mine or {}
    if other.get("resolution") == RESTORE_OTHER:
        _settle(s, original, RESTORE_OTHER, by, allow_duplicate=allow_duplicate)
        return
    if other.get("resolution") == VALUE:
        written = other.get("value")
    elif original.kind == "edit":  # the other kept the value the record held
        written = original.theirs
    else:
        raise Invalid(
            f"{other.get('by')} kept {original.entity} {short(original.entity_id)} as it was; "
            "undo what stands by hand, then use --keep-current", "conflict",
        )
    if written == sensitive.RESTRICTED:
        raise Invalid("the other value is not readable here; give it with --value", "conflict")
    _settle(s, original, VALUE, by, values={original.field: written},
            allow_duplicate=allow_duplicate)
