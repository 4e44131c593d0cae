"""Responsibility: who holds which role for a customer, since when, and who accepted it.

Each role (owner, sales, service, marketing, product, finance) has one current holder per
customer; assigning a role to someone else is a hand-over that ends the previous holder's
assignment, so the history shows every hand-off. The owner role also sets customer.owner.
An assignment made by someone else waits for the new holder's acknowledgement (`crm ack`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from crmcli import clock, fields
from crmcli.models import Assignment, AuditEvent, Customer
from crmcli.repo import audit, permissions, users
from crmcli.repo.machine import new_row, to_dict
from crmcli.repo.users import Actor

ASSIGNMENT_FIELDS = (
    "customer", "user", "role", "assigned_by", "reason", "since", "until", "acknowledged_at",
)


def as_dict(row: Assignment) -> dict:
    return to_dict(row, ASSIGNMENT_FIELDS, customer="customer_id")


def _event(s: Session, action: str, row: Assignment, changes: dict, by: Actor, **detail) -> None:
    audit.record(
        s, by=by.handle, action=f"assignment.{action}", entity="assignment", entity_id=row.id,
        customer_id=row.customer_id, changes=changes, detail=detail,
    )


def holding() -> tuple[ColumnElement[bool], ...]:
    """SQL: an assignment that holds now (not ended, not deleted)."""
    return col(Assignment.until).is_(None), col(Assignment.deleted_at).is_(None)


def unacknowledged() -> tuple[ColumnElement[bool], ...]:
    """SQL: an assignment that holds now and waits for its holder's acknowledgement (a
    hand-over, an assignment by someone else, a routed owner)."""
    return (*holding(), col(Assignment.acknowledged_at).is_(None))


def current(s: Session, customer_id: str, role: str | None = None) -> list[Assignment]:
    query = select(Assignment).where(Assignment.customer_id == customer_id, *holding())
    if role:
        query = query.where(Assignment.role == role)
    return list(s.exec(query.order_by(Assignment.since)).all())


def for_customer(s: Session, customer_id: str) -> list[Assignment]:
    """Current and past assignments, oldest first."""
    query = select(Assignment).where(
        Assignment.customer_id == customer_id, col(Assignment.deleted_at).is_(None)
    )
    return list(s.exec(query.order_by(Assignment.since, Assignment.id)).all())


def open_assignment(
    s: Session, customer: Customer, handle: str, role: str, *, by: Actor, reason: str | None
) -> Assignment:
    values, event = opening_rows(customer.id, handle, role, by=by, reason=reason)
    row = Assignment(**values)
    s.add(row)
    s.add(AuditEvent(**event))
    return row


def opening_rows(
    customer_id: str,
    handle: str,
    role: str,
    *,
    by: Actor,
    reason: str | None,
    now: datetime | None = None,
    rule: str | None = None,
) -> tuple[dict, dict]:
    """A new assignment's columns and its audit event's (`open_assignment`, bulk imports).

    An assignment the acting user makes to themselves is acknowledged at once. One a
    routing `rule` made says so: reason "rule NAME", and the rule in the event's detail.
    """
    now = now or clock.now()
    row = new_row(Assignment, {
        "customer_id": customer_id, "user": handle, "role": role, "assigned_by": by.handle,
        "reason": reason, "since": now, "acknowledged_at": now if handle == by.handle else None,
        "created_at": now, "updated_at": now,
    })
    event = audit.event_row(
        by=by.handle, action="assignment.create", entity="assignment", entity_id=row["id"],
        customer_id=customer_id, changes=audit.snapshot_values(row), at=now,
        detail={"rule": rule} if rule else None,
    )
    return row, event


def end(s: Session, row: Assignment, *, by: Actor, reason: str | None = None) -> None:
    changes = audit.apply(row, {"until": clock.now()}, by.handle)
    _event(s, "end", row, changes, by, **({"reason": reason} if reason else {}))


def assign(
    s: Session, customer: Customer, handle: str, role: str, *, by: Actor, reason: str | None
) -> tuple[Assignment, bool]:
    """Make `handle` the holder of `role`; returns (assignment, whether anything changed).
    A hand-over changes the customer: only who may change it may (`crmcli.permissions`)."""
    permissions.require_change(s, customer, by)
    role = fields.parse_role(role)
    user = users.get_active(s, handle)
    reason = fields.parse_text(reason or "", "reason", 500) or None
    holders = current(s, customer.id, role)
    for row in holders:
        if row.user == user.handle:
            return row, False
    for row in holders:
        end(s, row, by=by, reason=f"handed to {user.handle}")
    row = open_assignment(s, customer, user.handle, role, by=by, reason=reason)
    if role == "owner":
        changes = audit.apply(customer, {"owner": user.handle}, by.handle)
        audit.record(
            s, by=by.handle, action="customer.update", entity="customer", entity_id=customer.id,
            customer_id=customer.id, changes=changes, detail={"assignment": row.id},
        )
    return row, True


def acknowledge(s: Session, customer: Customer, *, by: Actor) -> list[Assignment]:
    """Record that the acting user accepted their current, unacknowledged assignments."""
    waiting = [
        row for row in current(s, customer.id)
        if row.user == by.handle and row.acknowledged_at is None
    ]
    for row in waiting:
        changes = audit.apply(row, {"acknowledged_at": clock.now()}, by.handle)
        _event(s, "ack", row, changes, by)
    return waiting


def awaiting(s: Session, handle: str) -> list[Assignment]:
    """Assignments waiting for `handle` to acknowledge them, oldest first."""
    query = select(Assignment).where(Assignment.user == handle, *unacknowledged())
    return list(s.exec(query.order_by(Assignment.since)).all())


def absorb(s: Session, source: Customer, target: Customer, *, by: Actor) -> int:
    """Move `source`'s assignments to `target` (merge); roles `target` already has filled
    end, so each role keeps one current holder."""
    taken = {row.role for row in current(s, target.id)}
    rows = for_customer(s, source.id)
    for row in rows:
        if row.until is None and row.role in taken:
            end(s, row, by=by, reason="merged")
        changes = audit.apply(row, {"customer_id": target.id}, by.handle)
        _event(s, "update", row, changes, by, merged_from=source.id)
    return len(rows)


def transfer_current(s: Session, leaving: str, heir: str, *, by: Actor, reason: str) -> int:
    """Hand every current non-owner assignment of `leaving` to `heir` (offboarding)."""
    query = select(Assignment).where(
        Assignment.user == leaving,
        Assignment.role != "owner",
        col(Assignment.until).is_(None),
        col(Assignment.deleted_at).is_(None),
    )
    count = 0
    for row in list(s.exec(query)):
        customer = s.exec(select(Customer).where(Customer.id == row.customer_id)).one()
        assign(s, customer, heir, row.role, by=by, reason=reason)
        count += 1
    return count
