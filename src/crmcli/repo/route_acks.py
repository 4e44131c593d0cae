"""Routed owners' acknowledgements: what waits, and what waits too long.

A customer a routing rule gave to someone else waits for them to accept it (`crm ack`),
like a hand-over; its owner assignment's reason is "rule NAME". The team setting
`route.ack_within` (a duration, default 4h) says how long that may take: after it the
assignment is overdue, and the assigner (who created or imported the customer) sees it
in My work, in `crm rule pending` and through the notifications (source "routing":
routing acknowledgement overdue, to the assigner).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from crmcli import clock, fields
from crmcli.models import Assignment, Customer
from crmcli.repo import assignments, settings
from crmcli.repo.settings import Known, register

if TYPE_CHECKING:
    from crmcli.repo.notifications import Notice

ACK_WITHIN = "route.ack_within"
DEFAULT_MINUTES = 4 * 60
REASON = "rule "  # what a routed assignment's reason begins with (`customers.new_rows`)

register(Known(
    ACK_WITHIN,
    "How long a routed owner has to acknowledge a new customer before it shows as "
    "overdue to whoever created it (a duration: 4h, 1d, 30m; default 4h).",
    lambda text: fields.parse_duration(text, ACK_WITHIN),
    fields.show_duration,
))


def ack_within(s: Session) -> int:
    """Minutes a routed owner has to acknowledge."""
    value = settings.get(s, ACK_WITHIN)
    return value if isinstance(value, int) and value > 0 else DEFAULT_MINUTES


@dataclass
class Waiting:
    assignment: Assignment
    customer: Customer
    due: datetime
    overdue: bool

    @property
    def rule(self) -> str:
        return (self.assignment.reason or "").removeprefix(REASON)

    def as_dict(self) -> dict:
        return {"customer": self.customer.id, "name": self.customer.name,
                "owner": self.assignment.user, "rule": self.rule,
                "assigned_by": self.assignment.assigned_by,
                "since": clock.iso(self.assignment.since), "due": clock.iso(self.due),
                "overdue": self.overdue}


def routed() -> tuple[ColumnElement[bool], ...]:
    """SQL: an owner assignment a routing rule made."""
    return Assignment.role == "owner", col(Assignment.reason).startswith(REASON)


def unacknowledged_routes() -> tuple[ColumnElement[bool], ...]:
    """SQL: a routed owner assignment that holds and is not acknowledged yet."""
    return (*routed(), *assignments.unacknowledged())


def waiting(s: Session, *, assigner: str | None = None, overdue_only: bool = False,
            now: datetime | None = None) -> list[Waiting]:
    """Routed owner assignments not acknowledged yet (by `assigner`'s customers: the ones
    they created or imported), oldest first, with when each is due."""
    now = now or clock.now()
    limit = timedelta(minutes=ack_within(s))
    query = (
        select(Assignment, Customer)
        .join(Customer, Customer.id == Assignment.customer_id)
        .where(*unacknowledged_routes(), col(Customer.deleted_at).is_(None))
        .order_by(Assignment.since, Assignment.id)
    )
    if assigner is not None:
        query = query.where(Assignment.assigned_by == assigner)
    if overdue_only:
        query = query.where(Assignment.since < now - limit)
    found = [Waiting(row, customer, row.since + limit, row.since + limit < now)
             for row, customer in s.exec(query).all()]
    return found


def overdue_notices(s: Session, now: datetime) -> Iterator[Notice]:
    """The notification source (`notifications.SOURCES`): each routed customer whose new
    owner is overdue to acknowledge, told to its assigner once (the key names the
    assignment)."""
    from crmcli.repo.notifications import Notice

    for late in waiting(s, overdue_only=True, now=now):
        row, customer = late.assignment, late.customer
        yield Notice(
            key=f"route.overdue:{row.id}", kind="route.overdue", recipient=row.assigned_by,
            customer_id=customer.id, due=late.due,
            title=f"Not acknowledged: {customer.name}, routed to {row.user}",
            body=f"Rule {late.rule} made {row.user} owner of {customer.name} on "
                 f"{clock.show(row.since)}; the acknowledgement was due "
                 f"{clock.show(late.due)}. See: crm rule pending",
        )
