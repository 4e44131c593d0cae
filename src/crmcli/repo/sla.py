"""The SLA clock: when a customer's answer is due, and who sees that it is late.

A customer with a response limit (`sla`) is waiting from the OLDEST inbound contact (a
note `--in`) not yet answered: one after the newest outbound note (`--out`) written by
someone responsible for the customer, its owner or a current role holder. A customer
never answered that way counts its creation as an inbound contact, so a new lead with an
sla waits from when it was created. Notes without a direction (internal ones, and all
from before directions existed) neither start nor stop the clock.

The answer is due `sla` after the wait began: minutes of clock time, or, when the team
set `work_hours`, working minutes (`crmcli.workhours`: weekdays, CN holidays and make-up
days). States: running; due soon (the last quarter of the sla); breached (past due);
escalated (waiting twice the sla), which the managers of the owner's department see too.

Who waits since when is asked of the database in one statement (correlated subqueries
on `ix_note_direction`); only the customers it returns are looked at in Python, to add
working minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, or_, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crmcli import workhours
from crmcli.clock import iso
from crmcli.display import show_duration
from crmcli.models import Assignment, Customer, Note, User, UTCDateTime
from crmcli.repo import settings

WORK_HOURS = "work_hours"
settings.register(settings.Known(
    WORK_HOURS, "when the SLA clock runs: working hours on working days (09:00-18:00; "
    "CN holidays and make-up days count); unset: around the clock",
    workhours.parse_work_hours))

STATES = ("running", "due soon", "breached", "escalated")
DUE_SOON_SHARE = 0.25  # the last quarter of the sla is "due soon"
ESCALATE_AFTER = 2  # slas of waiting: a breach this old goes to the owner's managers


@dataclass(frozen=True)
class Clock:
    """One customer's SLA clock at `now`."""

    customer_id: str
    name: str
    owner: str | None
    department: str | None  # the owner's (where an escalation goes), else the customer's
    sla: int  # minutes
    since: datetime  # the oldest unanswered inbound contact (or the creation)
    due: datetime
    soon: datetime  # from when it is due soon
    escalates: datetime  # from when it is escalated
    now: datetime

    @property
    def state(self) -> str:
        if self.now >= self.escalates:
            return "escalated"
        if self.now >= self.due:
            return "breached"
        return "due soon" if self.now >= self.soon else "running"

    @property
    def late(self) -> bool:
        return self.now >= self.due

    @property
    def left_minutes(self) -> int:
        """Minutes of clock time until due (negative: overdue by)."""
        return int((self.due - self.now).total_seconds() // 60)


def _utc(value):
    return type_coerce(value, UTCDateTime)


def _waiting_since():
    """SQL for when a customer (`Customer` in the outer query) began waiting, or NULL."""
    responsible = or_(
        Note.author == Customer.owner,
        select(Assignment.id).where(
            Assignment.customer_id == Customer.id, Assignment.user == Note.author,
            col(Assignment.until).is_(None), col(Assignment.deleted_at).is_(None)).exists())
    answered = (
        select(func.max(Note.at))
        .where(Note.customer_id == Customer.id, Note.direction == "out",
               col(Note.deleted_at).is_(None), responsible)
        .scalar_subquery())
    inbound = aliased(Note)
    first_in = (
        select(func.min(inbound.at))
        .where(inbound.customer_id == Customer.id, inbound.direction == "in",
               col(inbound.deleted_at).is_(None),
               or_(answered.is_(None), inbound.at > answered))
        .scalar_subquery())
    return case(
        (answered.is_(None), func.min(Customer.created_at, func.coalesce(first_in,
                                                                         Customer.created_at))),
        else_=first_in)


@dataclass(frozen=True)
class Scope:
    """Which customers: all, or `mine` (handle: owned or a current role, plus those
    escalated in the departments `handle` manages), `dept`, only `breached` ones."""

    mine: str | None = None
    dept: str | None = None
    breached: bool = False


def managed_departments(s: Session, handle: str) -> list[str]:
    """The departments `handle` manages (a manager manages their own)."""
    row = s.exec(select(User.role, User.department).where(User.handle == handle)).first()
    return [row[1]] if row and row[0] == "manager" and row[1] else []


def _current_role(customer_id, handle: str):
    return select(Assignment.id).where(
        Assignment.customer_id == customer_id, Assignment.user == handle,
        col(Assignment.until).is_(None), col(Assignment.deleted_at).is_(None)).exists()


def _base(mine: str | None = None):
    """Live customers with an sla: id, name, owner, department, sla, since, and whether
    `mine` is responsible for them (owner or current role)."""
    owner = aliased(User)
    department = func.coalesce(owner.department, Customer.department)
    responsible = (or_(Customer.owner == mine, _current_role(Customer.id, mine)) if mine
                   else literal(True))
    query = (
        select(Customer.id, Customer.name, Customer.owner, department.label("department"),
               Customer.sla, _waiting_since().label("since"), responsible.label("responsible"))
        .outerjoin(owner, owner.handle == Customer.owner)
        .where(col(Customer.deleted_at).is_(None), col(Customer.sla).is_not(None),
               col(Customer.merged_into).is_(None)))
    return query, owner, department


def clocks(s: Session, now: datetime, scope: Scope = Scope()) -> list[Clock]:
    """The SLA clocks of live customers with an sla that are waiting, most urgent first."""
    hours = workhours.work_hours(settings.get(s, WORK_HOURS))
    inner, owner, department = _base(scope.mine)
    managed = managed_departments(s, scope.mine) if scope.mine else []
    if scope.mine:
        reach = [Customer.owner == scope.mine, _current_role(Customer.id, scope.mine)]
        if managed:
            reach.append(col(owner.department).in_(managed))
        inner = inner.where(or_(*reach))
    if scope.dept:
        inner = inner.where(department == scope.dept)
    rows = inner.subquery()
    # Minutes waited in clock time: working time is never more, so these prefilters only
    # spare Python the customers that cannot be breached (escalated) yet.
    waited = 1440.0 * (func.julianday(literal(now, UTCDateTime))
                       - func.julianday(_utc(rows.c.since)))
    query = select(*rows.c).where(rows.c.since.is_not(None))
    if scope.breached:
        query = query.where(waited >= rows.c.sla)
    if managed:  # a customer of a managed department I am not responsible for: escalated
        query = query.where(or_(rows.c.responsible, waited >= ESCALATE_AFTER * rows.c.sla))
    found = []
    for customer_id, name, owned_by, dept, sla, began, responsible in s.exec(query):
        clock = _clock(customer_id, name, owned_by, dept, sla, began, now, hours)
        if scope.breached and not clock.late:
            continue
        if not responsible and clock.state != "escalated":
            continue
        found.append(clock)
    return sorted(found, key=lambda c: (c.due, c.name, c.customer_id))


def of_customer(s: Session, customer_id: str, now: datetime) -> Clock | None:
    """One customer's clock (None: no sla, or not waiting)."""
    hours = workhours.work_hours(settings.get(s, WORK_HOURS))
    query, _, _ = _base()
    row = s.exec(query.where(Customer.id == customer_id)).first()
    if row is None or row[5] is None:
        return None
    return _clock(*row[:6], now, hours)


def _clock(customer_id, name, owner, dept, sla, since, now, hours) -> Clock:
    if not isinstance(since, datetime):  # a CASE's value comes back as SQLite's text
        since = datetime.fromisoformat(since)
    since = UTCDateTime().process_result_value(since.replace(tzinfo=None), None)
    return Clock(customer_id, name, owner, dept, sla, since,
                 due=workhours.add(since, sla, hours),
                 soon=workhours.add(since, sla * (1 - DUE_SOON_SHARE), hours),
                 escalates=workhours.add(since, sla * ESCALATE_AFTER, hours), now=now)


def as_dict(c: Clock) -> dict:
    """A clock as machine output gives it: the customer's id and name, `sla` as typed
    (4h), `since` and `due` in UTC, `left` in minutes (negative: overdue by)."""
    return {"customer": c.customer_id, "name": c.name, "owner": c.owner,
            "department": c.department, "sla": show_duration(c.sla), "since": iso(c.since),
            "due": iso(c.due), "left": c.left_minutes, "state": c.state}

