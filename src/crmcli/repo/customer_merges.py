"""Undoing and joining customers: `crm customer restore` and `crm customer merge`.

Both bring records together that a plain edit does not touch: a restore brings back a
deleted customer with its notes, tasks and roles; a merge moves another's onto the one
kept and keeps every value of it that differs (`merge_plan`), in its history event and a
note, so nothing is lost silently.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from crmcli import clock, fields
from crmcli.errors import Invalid, NotFound
from crmcli.ids import short
from crmcli.models import Customer, Note, Task, User
from crmcli.repo import (
    assignments,
    audit,
    customers,
    merge_plan,
    notes,
    permissions,
    refs,
    sensitive,
)
from crmcli.repo.users import Actor


def resolve_deleted(s: Session, ref: str) -> Customer:
    """The deleted customer `ref` names (an id prefix or the exact name), to restore it.

    Live customers do not count, so a name reused by a new customer still names the
    deleted one; several deleted customers of that name are Ambiguous, listed with when
    they were deleted (`crm customer list --deleted` shows them all). A live customer
    `ref` names and no deleted one is Invalid: there is nothing to restore."""
    try:
        return refs.resolve(
            s, Customer, ref, kind="deleted customer", describe=describe_deleted,
            name_column=Customer.name, only_deleted=True,
        )
    except NotFound:
        live_one = s.exec(select(Customer).where(
            or_(*customers.ref_conditions(ref)), Customer.deleted_at.is_(None)).limit(1)).first()
        if live_one is not None:
            raise Invalid(f"customer {customers.describe(live_one)} is not deleted; nothing to restore") from None
        raise NotFound(
            f"no deleted customer matches {ref!r} (`crm customer list --deleted` lists them)"
        ) from None


def describe_deleted(customer: Customer) -> str:
    """`describe`, then when it was deleted, by whom, and where it was merged."""
    merged = f", merged into {short(customer.merged_into)}" if customer.merged_into else ""
    return (f"{customers.describe(customer)}  deleted {clock.show(customer.deleted_at)} by "
            f"{customer.updated_by}{merged}")


def restore(
    s: Session, customer: Customer, *, by: Actor, allow_duplicate: bool = False
) -> dict[str, Any]:
    """Undo a delete: the customer is live again with the notes, tasks and roles it had
    (a delete leaves them in place, so they come back with it), recorded as
    `customer.restore`, which syncs like any change. Takes the right to delete it
    (`crmcli.permissions`); the shared database judges the same. A customer merged away is
    refused: its notes, tasks and roles belong to the customer it was merged into now.
    The duplicate guard applies as to a new customer (`allow_duplicate`). Returns what came
    back ("notes", "tasks", "assignments": counts) and "owner_inactive"."""
    if customer.deleted_at is None:
        raise Invalid(f"customer {customers.describe(customer)} is not deleted; nothing to restore")
    if customer.merged_into:
        raise Invalid(
            f"{customers.gone(s, customer)}: a merge is not undone by a restore (its notes, tasks and "
            "roles are on that customer now, with its values in a note)")
    permissions.require_delete(s, customer, by, verb="restore")
    if not allow_duplicate:
        customers.guard_duplicates(s, customer)
    changes = audit.apply(customer, {"deleted_at": None}, by.handle)
    back = {
        "notes": len(_live(s, Note, customer)),
        "tasks": len(_live(s, Task, customer)),
        "assignments": len(assignments.current(s, customer.id)),
    }
    audit.record(
        s, by=by.handle, action="customer.restore", entity="customer", entity_id=customer.id,
        customer_id=customer.id, changes=changes, detail=back,
    )
    owner = s.exec(select(User).where(User.handle == customer.owner)).first()
    return {**back, "owner_inactive": owner is not None and not owner.active}


def merge(s: Session, keep: Customer, other: Customer, *, by: Actor) -> dict[str, Any]:
    """Fold `other` into `keep`: its notes, tasks and assignments move over, keep's empty
    fields are filled from it, tags are united, and `other` is deleted pointing at `keep`.
    Its values that differ from keep's filled ones are kept (`merge_plan`): in the merge's
    history event (`detail.kept`) and in an internal note on `keep`, and returned as "kept".
    Takes the right to delete `other` and to change `keep` (`crmcli.permissions`)."""
    if keep.id == other.id:
        raise Invalid("a customer cannot be merged with itself", "customer")
    permissions.require_merge(s, keep, other, by)
    fates = plan_merge(s, keep, other)
    moved = {
        "notes": _move(s, Note, other, keep, by),
        "tasks": _move(s, Task, other, keep, by),
        "assignments": assignments.absorb(s, other, keep, by=by),
    }
    fills: dict[str, Any] = {"extra": dict(keep.extra)}
    for fate in fates:
        if fate.fate == merge_plan.UNITED:
            fills["tags"] = keep.tags + [tag for tag in other.tags if tag not in keep.tags]
        elif fate.fate == merge_plan.FILLED and fate.name in fields.FIELD_BY_NAME:
            fills[fate.name] = fate.other
        elif fate.fate == merge_plan.FILLED:
            fills["extra"][fate.name] = fate.other
    changes = audit.apply(keep, fills, by.handle)
    customers.derive(keep)
    kept = merge_plan.noted(fates)
    audit.record(
        s, by=by.handle, action="customer.merge", entity="customer", entity_id=keep.id,
        customer_id=keep.id, changes=changes,
        detail={"merged": other.id, "merged_name": other.name, **moved, "kept": kept},
    )
    for body in merge_plan.note_bodies(other, fates):
        notes.add(s, keep, body, by=by, kind="internal",
                  detail={"merged_from": other.id})  # part of the merge (`sync/merges.py`)
    gone = audit.apply(other, {"deleted_at": clock.now(), "merged_into": keep.id}, by.handle)
    audit.record(
        s, by=by.handle, action="customer.delete", entity="customer", entity_id=other.id,
        customer_id=other.id, changes=gone, detail={"merged_into": keep.id},
    )
    return {"filled": sorted(changes), **moved, "kept": kept}


def plan_merge(s: Session, keep: Customer, other: Customer) -> list[merge_plan.FieldFate]:
    """What merging `other` into `keep` would do to each field (`merge_plan`)."""
    return merge_plan.plan(keep, other, {*sensitive.STANDARD, *sensitive.custom_sensitive(s)})


def _live(s: Session, model: Any, customer: Customer) -> list[Any]:
    """The notes or tasks of a customer that are not deleted themselves."""
    query = select(model).where(model.customer_id == customer.id, model.deleted_at.is_(None))
    return list(s.exec(query).all())


def _move(s: Session, model: type, source: Customer, target: Customer, by: Actor) -> int:
    count = 0
    for row in _live(s, model, source):
        changes = audit.apply(row, {"customer_id": target.id}, by.handle)
        audit.record(
            s, by=by.handle, action=f"{model.__tablename__}.update", entity=model.__tablename__,
            entity_id=row.id, customer_id=target.id, changes=changes,
            detail={"merged_from": source.id},
        )
        count += 1
    return count
