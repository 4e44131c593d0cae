"""`crm report attribution`: whose deal was it? Credit for each won customer.

A won customer is one whose stage is won now (or churned since: the deal was won), and
whose latest change to won (`customer.update`, or a `customer.create` already won) falls
in the period; that event is the win. From the history of the customer before the win:

- the creator: who added the customer (`customer.created_by`, else the actor of its
  `customer.create` event);
- the closer: who set the stage to won;
- the followers: the authors of its notes, the assignees of its tasks done, and the
  holders of its roles (an assignment: what `crm assign`, `crm handoff` and the owner of a
  new customer make), up to the win, except the creator and the closer;
- each member's department is the one the users table gives them now.

The customer's contract amount is shared out by the team's split rule (`credit.py`:
30/40/30 creator/followers/closer by default), summed per member and per department.
Amounts and credits only for readers cleared for contract_amount (`restricted` for
everyone else); the counts (won customers created, followed, closed) for everyone.

The won customers and their followers are two SQL queries (the audit trail read through
its (action, at) index, the rest through the customer's); the few won customers are then
shared out in Python, since SQLite has no exact decimal sum.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, union_all
from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.errors import CrmError
from crmcli.models import Assignment, AuditEvent, Customer, Note, Task, User
from crmcli.repo import sensitive
from crmcli.repo.reports import credit, filters
from crmcli.repo.reports.table import (
    NO_DEPARTMENT,
    RESTRICTED,
    Chart,
    Measure,
    Options,
    Period,
    Report,
    Section,
)
from crmcli.repo.users import Actor

WON = "won"
STILL_WON = ("won", "churned")  # a churned customer's deal was won all the same
FIELD = "contract_amount"


@dataclass
class Won:
    """One won customer: who brought it, who followed, who closed, and its amount as this
    reader sees it (a Decimal, a mask a team replica holds instead, `restricted`, None)."""

    id: str
    name: str
    source: str | None
    creator: str | None
    closer: str
    won_at: datetime
    amount: Any
    followers: list[str] = field(default_factory=list)

    def members(self) -> set[str]:
        return {m for m in (self.creator, self.closer, *self.followers) if m is not None}


def won(s: Session, seen: sensitive.Clearance, options: Options) -> list[Won]:
    """The won customers of the period under `options`' filters, by the time they were won
    (see the module's docstring), with the amount as the reader (`seen`) may see it."""
    wins = _wins(options.period).subquery()
    created = select(AuditEvent.actor).where(
        AuditEvent.entity_id == Customer.id, AuditEvent.action == "customer.create",
    ).order_by(AuditEvent.at).limit(1).scalar_subquery()
    base = (
        select(Customer.id.label("id"), Customer.name, Customer.source,
               func.coalesce(Customer.created_by, created).label("creator"),
               wins.c.actor.label("closer"), wins.c.at.label("won_at"),
               Customer.contract_amount)
        .join(wins, wins.c.customer_id == Customer.id)
        .where(wins.c.latest == 1, col(Customer.stage).in_(STILL_WON),
               *filters.conditions(options))
    )
    found = [Won(id_, name, source, made_by, closer, at, _amount(seen, id_, amount))
             for id_, name, source, made_by, closer, at, amount
             in s.exec(base.order_by(wins.c.at, Customer.name, Customer.id))]
    followers = _followers(s, base)
    for one in found:
        one.followers = followers.get(one.id, [])
    return found


def _wins(period: Period) -> Any:
    """Each customer's changes to stage won in the period, the latest numbered 1 (the
    latest before the period's end is in the period exactly when one in it is)."""
    latest = func.row_number().over(
        partition_by=AuditEvent.customer_id,
        order_by=(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()))
    query = select(AuditEvent.customer_id, AuditEvent.actor, AuditEvent.at,
                   latest.label("latest")).where(
        col(AuditEvent.action).in_(("customer.update", "customer.create")),
        AuditEvent.entity == "customer",
        AuditEvent.changes[("stage", 1)].as_string() == WON)
    if period.since is not None:
        query = query.where(AuditEvent.at >= period.since)
    if period.until is not None:
        query = query.where(AuditEvent.at < period.until)
    return query


def _amount(seen: sensitive.Clearance, customer_id: str, stored: Decimal | None) -> Any:
    """The amount as the reader may see it: a Decimal, `restricted`, a team replica's
    mask of a value it does not hold (not summed), or None."""
    if not seen.may_read(FIELD):
        return RESTRICTED
    value = sensitive.with_mask(seen, customer_id, FIELD, stored)
    return value.text if isinstance(value, sensitive.HeldMask) else value


def _followers(s: Session, base: Any) -> dict[str, list[str]]:
    """Won customer id -> the members who followed it up to its win (see the module's
    docstring), by handle: one query, the won customers computed once (a materialized
    CTE) and each kind of work read through its customer index."""
    wins = base.cte("won").prefix_with("MATERIALIZED")

    def worked(member: Any, customer: Any, *where: Any) -> Any:
        return select(customer.label("customer_id"), member.label("member")).join(
            wins, wins.c.id == customer).where(
            *where, member != wins.c.closer,
            or_(wins.c.creator.is_(None), member != wins.c.creator))

    every = union_all(
        worked(Note.author, Note.customer_id, col(Note.deleted_at).is_(None),
               Note.at <= wins.c.won_at),
        worked(Task.assignee, Task.customer_id, col(Task.deleted_at).is_(None),
               Task.status == "done", col(Task.done_at) <= wins.c.won_at),
        worked(Assignment.user, Assignment.customer_id, col(Assignment.deleted_at).is_(None),
               Assignment.since <= wins.c.won_at),
    ).subquery()
    query = (select(every.c.customer_id, every.c.member)
             .group_by(every.c.customer_id, every.c.member)
             .order_by(every.c.customer_id, every.c.member))
    found: dict[str, list[str]] = defaultdict(list)
    for customer_id, member in s.exec(query):
        found[customer_id].append(member)
    return found


def departments(s: Session) -> dict[str, str | None]:
    """Each user's department now, by handle (a team's users are few)."""
    return dict(s.exec(select(User.handle, User.department)).all())


# --- the report ------------------------------------------------------------------------

ROLES = ("created", "followed", "closed")
COUNTS = (Measure("created", "Created"), Measure("followed", "Followed"),
          Measure("closed", "Closed"))


@dataclass
class Tally:
    """What one member (or department) has to show: the won customers they created,
    followed and closed (ids, so a department counts a customer once), their credit."""

    created: set[str] = field(default_factory=set)
    followed: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)
    credit: Decimal = Decimal(0)

    def row(self, credit: bool) -> dict[str, Any]:
        return {**{role: len(getattr(self, role)) for role in ROLES},
                "credit": self.credit if credit else RESTRICTED}


# On a team replica: customer ids -> their amounts, as the shared database reveals them
# (`sync.secrets.attribution`); a CrmError when it cannot be asked.
Reveal = Callable[[list[str]], Mapping[str, Decimal | None]]


def build(s: Session, actor: Actor, options: Options, reveal: Reveal | None = None) -> Report:
    """The attribution report for `actor` (see the module's docstring). On a team replica,
    which holds a cleared reader's amounts only as masks, `reveal` asks for them."""
    seen = sensitive.clearance(s, actor)
    cleared = seen.may_read(FIELD)
    found = won(s, seen, options)
    revealed, unasked = _reveal_masked(found, reveal)
    rule = credit.split(s)
    depts = {handle: dept or NO_DEPARTMENT for handle, dept in departments(s).items()}
    members, teams = _tally(found, rule, depts)
    return Report("attribution", "Attribution: who brought, followed and closed the won deals", [
        _customers(found, depts),
        _section("members", "Per member", members, cleared, (
            Measure("member", "Member", "text"), Measure("department", "Department", "text")),
            lambda handle: {"department": depts.get(handle, NO_DEPARTMENT)}),
        _section("departments", "Per department", teams, cleared, (
            Measure("department", "Department", "text"), Measure("members", "Members")),
            lambda dept: {"members": len(teams[dept].members)}),
    ], _notes(seen, options, rule, found, revealed, unasked))


def _reveal_masked(found: list[Won], reveal: Reveal | None) -> tuple[int, str | None]:
    """Put in place of the masks the amounts `reveal` gives: (how many it gave, or why it
    could not be asked). A customer it does not answer for keeps its mask."""
    masked = [one for one in found if isinstance(one.amount, str) and one.amount != RESTRICTED]
    if not masked or reveal is None:
        return 0, None
    try:
        values = reveal([one.id for one in masked])
    except CrmError as error:
        return 0, str(error)
    for one in masked:
        if one.id in values:
            one.amount = values[one.id]
    return len(values), None


def _roles(one: Won) -> list[tuple[str, str]]:
    """(member, role) of one won customer."""
    made = [(one.creator, "created")] if one.creator is not None else []
    return [*made, *((m, "followed") for m in one.followers), (one.closer, "closed")]


def _tally(found: list[Won], rule: credit.Split, depts: dict[str, str]
           ) -> tuple[dict[str, Tally], dict[str, Tally]]:
    members: dict[str, Tally] = defaultdict(Tally)
    teams: dict[str, Tally] = defaultdict(Tally)
    for one in found:
        for member, role in _roles(one):
            dept = depts.get(member, NO_DEPARTMENT)
            getattr(members[member], role).add(one.id)
            getattr(teams[dept], role).add(one.id)
            teams[dept].members.add(member)
        if isinstance(one.amount, Decimal):
            for member, share in credit.shares(one.amount, rule, one.creator, one.followers,
                                               one.closer).items():
                members[member].credit += share
                teams[depts.get(member, NO_DEPARTMENT)].credit += share
    return members, teams


def _who(handle: str | None, depts: dict[str, str]) -> str | None:
    if handle is None:
        return None
    dept = depts.get(handle, NO_DEPARTMENT)
    return handle if dept == NO_DEPARTMENT else f"{handle} ({dept})"


def _customers(found: list[Won], depts: dict[str, str]) -> Section:
    rows = [{
        "customer": one.name, "source": one.source, "creator": _who(one.creator, depts),
        "followers": [_who(m, depts) for m in one.followers],
        "closer": _who(one.closer, depts), "won_at": clock.iso(one.won_at),
        "amount": one.amount, "id": one.id,
    } for one in found]
    return Section("customers", "Won customers", (
        Measure("customer", "Customer", "text"), Measure("source", "Source", "text"),
        Measure("creator", "Creator", "text"), Measure("followers", "Followers", "text"),
        Measure("closer", "Closer", "text"), Measure("won_at", "Won", "date"),
        Measure("amount", "Amount", "money"),
    ), rows)  # no chart: the members' and departments' carry the picture


def _section(name: str, title: str, tallies: dict[str, Tally], cleared: bool,
             labels: tuple[Measure, Measure], more: Callable[[str], dict[str, Any]]
             ) -> Section:
    """Per member or per department: the key and what `more` says of it (`labels`), the
    counts and the credit; the most credited first (for a cleared reader: no one else
    learns an order of amounts), then the most closed, created, followed; then by name."""
    def rank(key: str) -> tuple:
        tally = tallies[key]
        counts = (-len(getattr(tally, role)) for role in ("closed", "created", "followed"))
        return (-tally.credit if cleared else 0, *counts, key)

    rows = [{labels[0].key: key, **more(key), **tallies[key].row(cleared)}
            for key in sorted(tallies, key=rank)]
    return Section(name, title, (*labels, *COUNTS, Measure("credit", "Credit", "money")),
                   rows, Chart("bar", labels[0].key, ("credit",) if cleared else ROLES))


def _notes(seen: sensitive.Clearance, options: Options, rule: credit.Split,
           found: list[Won], revealed: int, unasked: str | None) -> list[str]:
    notes = [
        f"Won customers: stage won (or churned since), counted at their latest change to "
        f"won, {options.period.text}.",
        f"Credit split {rule.text} (creator/followers/closer, setting {credit.SETTING}): the "
        "followers share theirs equally; an empty role's share goes to the closer; one "
        "member in two roles gets both; shares are rounded down to the cent and the cents "
        "left go to the largest remainders, so the credits add up to each amount exactly.",
        "Followers: authors of notes, assignees of tasks done and holders of a role on the "
        "customer up to the win, other than its creator and closer; departments as the "
        "users' are now.",
    ]
    if said := filters.described(options):
        notes.append(f"Only customers of {said}.")
    if not seen.may_read(FIELD):
        notes.append(f"Amounts and credits are restricted: {FIELD} is read by "
                     f"{', '.join(seen.rules.get(FIELD, []))}.")
        return notes
    if revealed:
        notes.append(f"{revealed} amount(s) read from the team's database, which recorded "
                     "each read in its audit trail (customer.reveal).")
    if masked := sum(isinstance(one.amount, str) for one in found):
        why = f" ({unasked})" if unasked else ""
        notes.append(f"{masked} won customer(s) have an amount only the team's database "
                     f"holds (masked here): left out of the credits{why}.")
    if empty := sum(one.amount is None for one in found):
        notes.append(f"{empty} won customer(s) have no contract amount: nothing to credit.")
    return notes


def customers_behind(s: Session, actor: Actor, options: Options, section: str,
                     row: dict[str, Any]) -> list[str]:
    """The ids of the won customers behind a row of the report (the dashboard opens them):
    a customer row's own; a member's, those they created, followed or closed; a
    department's, those any of its members did."""
    found = won(s, sensitive.clearance(s, actor), options)
    if section == "customers":
        return [one.id for one in found if one.id == row.get("id")]
    if section == "members":
        return [one.id for one in found if row.get("member") in one.members()]
    depts = {handle: dept or NO_DEPARTMENT for handle, dept in departments(s).items()}
    return [one.id for one in found
            if any(depts.get(m, NO_DEPARTMENT) == row.get("department") for m in one.members())]
