"""What the dashboard asks the database besides plain lists: my work, what changed, and a
cheap sign that anything changed at all (`change_marker`, polled every second: two
lookups, however big the database is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.models import Approval, Assignment, AuditEvent, Customer, Meta, Task
from crmcli.repo import approvals, assignments, handoffs, route_acks, sla, tasks, users
from crmcli.repo.sla import Clock

# --- changes by anyone -------------------------------------------------------------------


def change_marker(s: Session) -> tuple[int, int]:
    """A value that differs from the last one read whenever anything was committed since,
    by any process. Compare for inequality only: it has no order.

    The newest audit seq alone does not do: a pull writes rows without events of their
    own and drops the records (and events) that left the member's view, so the seq can
    stay put or go down. SQLite's `data_version` changes with every commit made through
    another connection, whatever it wrote; but each connection counts for itself, so ask
    on one connection kept for it, and write nothing through that one. The seq stays in
    the pair so that an audited write still shows if that connection is ever opened
    again (its count starts afresh).
    """
    data_version = s.connection().exec_driver_sql("PRAGMA data_version").scalar_one()
    return data_version, newest_seq(s)


def newest_seq(s: Session) -> int:
    """The local seq of the newest audit event (0 before any)."""
    return s.exec(select(func.max(AuditEvent.seq))).one() or 0


# --- my work -----------------------------------------------------------------------------


@dataclass
class MyWork:
    overdue: list[tuple[Task, Customer]]
    today: list[tuple[Task, Customer]]
    upcoming: list[tuple[Task, Customer]]
    sla: list[Clock]  # the SLA clocks I see (`repo/sla.py`), soonest due first
    awaiting: list[tuple[Assignment, Customer]]
    # the hand-overs (`crm handoff`) among `awaiting`, by assignment id: note and quote
    handovers: dict[str, handoffs.Handover] = field(default_factory=dict)
    approvals: list[tuple[Approval, Customer]] = field(default_factory=list)
    # customers `handle` created that a rule routed to someone who has not acknowledged
    # within `route.ack_within`
    unacknowledged: list[route_acks.Waiting] = field(default_factory=list)


def my_work(s: Session, handle: str) -> MyWork:
    """`handle`'s open tasks (overdue, due today, later or undated), the SLA clocks of
    the customers they own or hold a role on (and the escalated ones of the departments
    they manage), the assignments waiting for their acknowledgement (with what their
    hand-overs carried), their approvals, and the routed customers they created whose new
    owner is overdue to acknowledge."""
    now = clock.now()
    today = clock.local(now).date()
    waiting = awaiting(s, handle)
    work = MyWork([], [], [], sla.clocks(s, now, sla.Scope(mine=handle)), waiting,
                  handoffs.of(s, [row.id for row, _ in waiting]),
                  my_approvals(s, handle, now),
                  route_acks.waiting(s, assigner=handle, overdue_only=True, now=now))
    for task, customer in tasks.list_(s, tasks.TaskQuery(assignee=handle, status="open")):
        if task.due is not None and task.due < now:
            work.overdue.append((task, customer))
        elif task.due is not None and clock.local(task.due).date() == today:
            work.today.append((task, customer))
        else:
            work.upcoming.append((task, customer))
    return work


def awaiting(s: Session, handle: str) -> list[tuple[Assignment, Customer]]:
    """Assignments waiting for `handle` to acknowledge them, with their customers."""
    query = (
        select(Assignment, Customer)
        .join(Customer, Customer.id == Assignment.customer_id)
        .where(Assignment.user == handle, *assignments.unacknowledged(),
               col(Customer.deleted_at).is_(None))
        .order_by(Assignment.since, Assignment.id)
    )
    return list(s.exec(query).all())


DECIDED_DAYS = 7  # before a first look at the changes: decisions of the last week


def my_approvals(s: Session, handle: str, now: datetime) -> list[tuple[Approval, Customer]]:
    """The open requests waiting for `handle`'s decision, then `handle`'s own requests
    decided by others since they last looked at what changed (`last_look`)."""
    user = users.get(s, handle)
    me = users.Actor(user.handle, user.role, user.department)
    waiting = approvals.list_(s, approvals.ApprovalQuery(waiting_for=me))
    since = last_look(s, handle).at or now - timedelta(days=DECIDED_DAYS)
    decided = approvals.list_(s, approvals.ApprovalQuery(
        requested_by=handle, status=approvals.DECISIONS, decided_since=since))
    return waiting + decided


# --- what changed since I last looked ----------------------------------------------------

SHOWN_CHANGES = 200


@dataclass
class LastLook:
    """Where `handle` stopped reading the change list: the newest event seen, and when."""

    seq: int = 0
    at: datetime | None = None


def _seen_key(handle: str) -> str:
    return f"dashboard.seen.{handle}"


def last_look(s: Session, handle: str) -> LastLook:
    row = s.get(Meta, _seen_key(handle))
    if row is None:
        return LastLook()
    value = json.loads(row.value)
    return LastLook(value["seq"], datetime.fromisoformat(value["at"]))


def remember_look(s: Session, handle: str, seq: int) -> None:
    """Record that `handle` has seen the changes up to event `seq` (local state, not synced,
    so not audited). Never moves backwards."""
    if seq <= last_look(s, handle).seq:
        return
    value = json.dumps({"seq": seq, "at": clock.now().isoformat()})
    row = s.get(Meta, _seen_key(handle))
    if row is None:
        s.add(Meta(key=_seen_key(handle), value=value))
    else:
        row.value = value


def changes_for(
    s: Session, handle: str, since: int, limit: int = SHOWN_CHANGES
) -> list[tuple[AuditEvent, Customer]]:
    """Changes others made after event `since` to customers `handle` owns or is currently
    assigned to, newest first."""
    assigned = (
        select(Assignment.id)
        .where(Assignment.customer_id == Customer.id, Assignment.user == handle,
               col(Assignment.until).is_(None), col(Assignment.deleted_at).is_(None))
        .exists()
    )
    query = (
        select(AuditEvent, Customer)
        .join(Customer, Customer.id == AuditEvent.customer_id)
        .where(col(AuditEvent.seq) > since, AuditEvent.actor != handle,
               or_(Customer.owner == handle, assigned))
        .order_by(col(AuditEvent.seq).desc())
        .limit(limit)
    )
    return list(s.exec(query).all())
