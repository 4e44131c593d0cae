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
on `ix_note_answers`, the customers read through `ix_customer_sla`); only the customers
it returns are looked at in Python, to add working minutes. Counting the late ones
(`late_counts`) needs no Python per customer at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, literal_column, or_, type_coerce, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from crmcli import workhours
from crmcli.clock import iso
from crmcli.display import show_duration
from crmcli.models import Assignment, Customer, Note, User, UTCDateTime
from crmcli.repo import settings, sla_waits
from crmcli.repo.assignments import holding

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


def _current_role(customer_id, handle):
    """SQL: `handle` (a value or a column) holds a current role on the customer."""
    return select(Assignment.id).where(
        Assignment.customer_id == customer_id, Assignment.user == handle, *holding()).exists()


def _answered():
    """SQL: the newest answer (--out) to a customer (`Customer`) by its owner or a current
    role holder, or NULL."""
    responsible = or_(Note.author == Customer.owner,
                      _current_role(Customer.id, Note.author).correlate(Customer, Note))
    return (select(func.max(Note.at))
            .where(Note.customer_id == Customer.id, Note.direction == "out",
                   col(Note.deleted_at).is_(None), responsible)
            .correlate(Customer).scalar_subquery())


def _first_in(rows):
    """SQL: the oldest contact --in to the customer of `rows` after its answer, or NULL."""
    return (select(func.min(Note.at))
            .where(Note.customer_id == rows.c.id, Note.direction == "in",
                   col(Note.deleted_at).is_(None),
                   or_(rows.c.answered.is_(None), Note.at > rows.c.answered))
            .correlate(rows).scalar_subquery())


@dataclass(frozen=True)
class Scope:
    """Which customers: all, or `mine` (handle: owned or a current role, plus those
    escalated in the departments `handle` manages), `dept`, only `breached` ones."""

    mine: str | None = None
    dept: str | None = None
    breached: bool = False
    among: tuple[str, ...] = ()  # only customers one of these owns or holds a role on


def managed_departments(s: Session, handle: str) -> list[str]:
    """The departments `handle` manages (a manager manages their own)."""
    row = s.exec(select(User.role, User.department).where(User.handle == handle)).first()
    return [row[1]] if row and row[0] == "manager" and row[1] else []


def _waiting(s: Session, scope: Scope, customers: Any = None, *, lean: bool = False):
    """Live customers with an sla in `scope` that wait: id, name, owner, department, sla,
    since, and whether `scope.mine` is responsible for them (owner or current role);
    `lean`: only id, owner, sla, since and that (what counting needs: no name, and no
    join of the owner for their department). `customers`: only this one (an id) or these
    (SQL selecting ids).

    Built in levels, each fenced with OFFSET 0 so that SQLite does not flatten it into
    the next and evaluate a correlated subquery once per mention: the newest answer
    first, then the first contact after it, then when the wait began."""
    owner = aliased(User)
    department = func.coalesce(owner.department, Customer.department)
    mine = scope.mine
    held = (select(Assignment.customer_id)  # asked once, not per customer
            .where(Assignment.user == mine, *holding()))
    responsible = (or_(Customer.owner == mine, col(Customer.id).in_(held)) if mine
                   else literal(True))
    shown = ((Customer.id, Customer.owner, Customer.sla) if lean else
             (Customer.id, Customer.name, Customer.owner, department.label("department"),
              Customer.sla))
    first = (
        select(*shown, Customer.created_at, _answered().label("answered"),
               responsible.label("responsible"))
        .where(col(Customer.deleted_at).is_(None), col(Customer.sla).is_not(None),
               col(Customer.merged_into).is_(None)))
    if not lean or mine or scope.dept:
        first = first.outerjoin(owner, owner.handle == Customer.owner)
    if isinstance(customers, str):
        first = first.where(Customer.id == customers)
    elif customers is not None:
        first = first.where(col(Customer.id).in_(customers))
    if mine:
        reach = [Customer.owner == mine, col(Customer.id).in_(held)]
        managed = managed_departments(s, mine)
        if managed:
            reach.append(col(owner.department).in_(managed))
        first = first.where(or_(*reach))
    if scope.dept:
        first = first.where(department == scope.dept)
    if scope.among:
        first = first.where(or_(col(Customer.owner).in_(scope.among), col(Customer.id).in_(
            select(Assignment.customer_id).where(*holding(), col(Assignment.user).in_(
                scope.among)))))
    first = first.offset(0).subquery()
    second = select(*first.c, _first_in(first).label("first_in")).offset(0).subquery()
    since = case(
        (second.c.answered.is_(None),
         func.min(second.c.created_at, func.coalesce(second.c.first_in, second.c.created_at))),
        else_=second.c.first_in).label("since")
    third = select(*(second.c[column.name] for column in shown), since,
                   second.c.responsible).offset(0).subquery()
    return select(*third.c).where(third.c.since.is_not(None)), third


def clocks(s: Session, now: datetime, scope: Scope = Scope()) -> list[Clock]:
    """The SLA clocks of live customers with an sla that are waiting, most urgent first."""
    hours = workhours.work_hours(settings.get(s, WORK_HOURS))
    query, rows = _waiting(s, scope)
    # Minutes waited in clock time: working time is never more, so these prefilters only
    # spare Python the customers that cannot be breached (escalated) yet.
    waited = 1440.0 * (func.julianday(literal(now, UTCDateTime))
                       - func.julianday(_utc(rows.c.since)))
    if scope.breached:
        query = query.where(waited >= rows.c.sla)
    if scope.mine:  # a customer of a managed department I am not responsible for: escalated
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


def late_counts(s: Session, now: datetime, among: tuple[str, ...] = (), *,
                kept: bool = True) -> dict[str, int]:
    """Per user: how many live customers they own or hold a current role on are past due
    at `now` (breached or escalated: `Clock.late`); `among`: only these users; `kept`:
    False to work every wait out from the notes even when the kept ones are caught up.
    The workload report's SLA column.

    No clock per customer: counting minutes (working ones too) is monotone in the start,
    so each sla in use has a latest start that is late by now (`latest_late_start`), and a
    customer is late when its wait began no later: read where it is kept (`sla_waits`,
    when caught up), else worked out from the notes. The late ones are asked once (a
    materialized CTE), then counted by owner and by the other role holders."""
    hours = workhours.work_hours(settings.get(s, WORK_HOURS))
    in_use = slas_in_use(s)
    if not in_use:
        return {}

    def latest(sla: Any) -> Any:
        return case({minutes: literal(latest_late_start(minutes, now, hours), UTCDateTime)
                     for minutes in in_use}, value=sla)

    if kept and sla_waits.current(s):  # each wait read from where it is kept
        waits = sla_waits.WAIT
        late = select(waits.c.customer_id.label("id"), waits.c.owner).where(
            _utc(waits.c.since) <= latest(waits.c.sla))
        if among:
            late = late.where(or_(waits.c.owner.in_(among), waits.c.customer_id.in_(
                select(Assignment.customer_id).where(*holding(), col(Assignment.user).in_(
                    among)))))
    else:  # each worked out from the notes
        query, rows = _waiting(s, Scope(among=among), lean=True)
        late = query.where(_utc(rows.c.since) <= latest(rows.c.sla)).with_only_columns(
            rows.c.id, rows.c.owner)
    late = late.cte("late").prefix_with("MATERIALIZED")
    owned = select(late.c.owner, func.count()).group_by(late.c.owner)
    roles = (select(Assignment.user, Assignment.customer_id)
             .join(late, late.c.id == Assignment.customer_id)
             .where(*holding(), or_(late.c.owner.is_(None), Assignment.user != late.c.owner),
                    # the owner is counted above; written out, as ix_assignment_held says it
                    Assignment.role != literal_column("'owner'")))
    roles = roles.offset(0).subquery()  # apart, read through ix_assignment_held (not by user)
    held = select(roles.c.user, func.count(roles.c.customer_id.distinct())).group_by(
        roles.c.user)
    if among:
        held = held.where(roles.c.user.in_(among))
    counts: dict[str, int] = {}
    for user, count in s.exec(union_all(owned, held)):
        if user is not None and (not among or user in among):
            counts[user] = counts.get(user, 0) + count
    return counts


def waiting_since(s: Session, customers: Any = None) -> tuple[Any, Any]:
    """SQL: (id, owner, sla, since) of the live customers with an sla that wait
    (`customers`: SQL selecting the ids of the only ones to look at), as `sla_waits`
    keeps them."""
    query, rows = _waiting(s, Scope(), customers, lean=True)
    return query.with_only_columns(rows.c.id, rows.c.owner, rows.c.sla, rows.c.since), rows


def slas_in_use(s: Session) -> list[int]:
    """The slas live customers have, each found by one seek into `ix_customer_sla` (the
    least one above the last found: a DISTINCT would read every customer's entry)."""
    def least(*above: Any) -> Any:
        return select(func.min(Customer.sla).label("sla")).where(
            col(Customer.deleted_at).is_(None), col(Customer.merged_into).is_(None), *above)

    used = least(col(Customer.sla).is_not(None)).cte("used", recursive=True)
    used = used.union_all(select(least(Customer.sla > used.c.sla).scalar_subquery())
                          .where(used.c.sla.is_not(None)))
    return [sla for sla in s.exec(select(used.c.sla)).all() if sla is not None]


def latest_late_start(minutes: int, now: datetime, hours: workhours.WorkHours | None) -> datetime:
    """The latest moment a wait of an sla of `minutes` can have begun and be past due at
    `now` (to the microsecond, as times are stored): found by halving between a start
    far enough back to be late and `now`, which is not."""
    if hours is None or minutes <= 0:
        return now - timedelta(minutes=minutes)

    def late(start: datetime) -> bool:
        return workhours.add(start, minutes, hours) <= now

    later, back = now, timedelta(minutes=minutes)
    while not late(now - back) and back < timedelta(days=workhours.LONGEST_WAIT_DAYS):
        later, back = now - back, back * 2
    early = now - back
    while later - early > timedelta(microseconds=1):
        middle = early + (later - early) / 2
        early, later = (middle, later) if late(middle) else (early, middle)
    return early


def of_customer(s: Session, customer_id: str, now: datetime) -> Clock | None:
    """One customer's clock (None: no sla, or not waiting)."""
    hours = workhours.work_hours(settings.get(s, WORK_HOURS))
    query, _ = _waiting(s, Scope(), customer_id)
    row = s.exec(query).first()
    return None if row is None else _clock(*row[:6], now, hours)


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

