"""`crm report workload`: who carries what now, per member and per department.

Per active member (`--owner`: these members; `--dept`: the members of these departments,
the user's own, ignoring case), as of now (`CRM_NOW` freezes it):

- `open_customers`: the live customers they own in an open stage (not won, lost or
  churned); `customers`: all the live customers they own;
- `open_tasks`: their open tasks on live customers; `overdue_tasks`: those due before now;
- `awaiting_ack`: roles given to them they have not acknowledged yet (hand-overs, an
  assignment by someone else, a customer routed to them); `routed_waiting`: those of
  them a routing rule made (the owner of a new customer);
- `sla_late`: live customers they own or hold a current role on whose SLA clock is past
  due (breached or escalated, as `crm sla list --breached` says);
- `approvals`: open approval requests waiting for their decision.

Per department (the member's now; "(no department)" for none): the sum of its members'
rows. A customer two of its members are responsible for counts for each in `sla_late`,
and a request two of its managers may decide in `approvals`.

Each measure is one aggregate query over an index (`migrations.m017_workload_indexes`),
grouped by member; Python only adds up a team's rows. `--by week|month` adds the trend
(`workload_trend.py`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from crmcli import clock, fields
from crmcli.errors import Invalid
from crmcli.models import Assignment, Customer, User
from crmcli.repo import approvals, assignments, route_acks, sla, tasks, users
from crmcli.repo.reports import workload_trend
from crmcli.repo.reports.table import NO_DEPARTMENT, Chart, Measure, Options, Report, Section
from crmcli.repo.users import Actor

COUNTS = (
    Measure("open_customers", "Open customers"),
    Measure("customers", "All customers"),
    Measure("open_tasks", "Open tasks"),
    Measure("overdue_tasks", "Overdue tasks"),
    Measure("awaiting_ack", "Waiting ack"),
    Measure("routed_waiting", "Routed, waiting"),
    Measure("sla_late", "SLA late"),
    Measure("approvals", "Approvals to decide"),
)
BARS = ("open_tasks", "overdue_tasks", "sla_late")  # what the chart compares
FEW = 20  # a twentieth of the team or less: only their customers' SLA waits are read


def build(s: Session, actor: Actor, options: Options) -> Report:
    """The workload report (see the module's docstring); `actor` reads it like anyone:
    it holds no sensitive value."""
    chosen = members(s, options)
    counted = _counts(s, chosen, few=bool(options.owner or options.dept) and
                      len(chosen) * FEW <= _active(s))
    rows = [{"member": user.handle, "department": user.department or NO_DEPARTMENT,
             **counts} for user, counts in zip(chosen, counted, strict=True)]
    sections = [
        Section("members", "Per member", (
            Measure("member", "Member", "text"), Measure("department", "Department", "text"),
            *COUNTS), rows, Chart("bar", "member", BARS)),
        Section("departments", "Per department", (
            Measure("department", "Department", "text"), Measure("members", "Members"),
            *COUNTS), _departments(rows), Chart("bar", "department", BARS)),
    ]
    if options.by:
        sections.append(workload_trend.section(s, options, _handles(chosen, options)))
    return Report("workload", "Workload: who carries what now", sections,
                  _notes(s, options, chosen))


def members(s: Session, options: Options) -> list[User]:
    """The active members the report is about, by handle: those `options.owner` names (an
    unknown one: NotFound; a deactivated one: Invalid), of any of `options.dept`."""
    named = [users.get_active(s, handle).handle for handle in options.owner]
    query = select(User).where(col(User.active).is_(True), col(User.deleted_at).is_(None))
    if named:
        query = query.where(col(User.handle).in_(named))
    found = list(s.exec(query.order_by(User.handle)).all())
    if options.dept:
        wanted = {dept.strip().casefold() for dept in options.dept}
        found = [user for user in found if (user.department or "").casefold() in wanted]
    return found


def _handles(chosen: list[User], options: Options) -> tuple[str, ...]:
    """The members to count the trend of: the chosen ones, or everyone when unfiltered."""
    return tuple(user.handle for user in chosen) if options.owner or options.dept else ()


def _active(s: Session) -> int:
    return s.exec(select(func.count()).select_from(User).where(
        col(User.active).is_(True), col(User.deleted_at).is_(None))).one()


def _counts(s: Session, chosen: list[User], *, few: bool) -> list[dict[str, int]]:
    """Each chosen member's counts, in their order (see the module's docstring). The SLA
    waits are read only for the chosen members' customers when they are `few` (at most
    one in FEW of the team); else for every customer, which costs less than picking
    customers by owner beyond that (measured at 1,000,000 customers of 100 members: all
    0.30 s; 1 member 0.06 s, 5 members 0.17 s, 20 members 0.74 s)."""
    handles = tuple(user.handle for user in chosen)
    if not handles:
        return []
    now = clock.now()
    owned = _owned(s, handles)
    work = tasks.open_counts(s, now, handles)
    waiting = _waiting_ack(s, handles)
    late = sla.late_counts(s, now, handles if few else ())
    deciding = approvals.waiting_counts(s, [Actor(u.handle, u.role, u.department)
                                            for u in chosen])
    return [{
        "open_customers": owned.get(handle, (0, 0))[1],
        "customers": owned.get(handle, (0, 0))[0],
        "open_tasks": work.get(handle, (0, 0))[0],
        "overdue_tasks": work.get(handle, (0, 0))[1],
        "awaiting_ack": waiting.get(handle, (0, 0))[0],
        "routed_waiting": waiting.get(handle, (0, 0))[1],
        "sla_late": late.get(handle, 0),
        "approvals": deciding.get(handle, 0),
    } for handle in handles]


def of_member(s: Session, handle: str) -> dict[str, int]:
    """What `crm user show` tells of a member's workload now: the live customers they own,
    their open and overdue tasks, the roles waiting for their acknowledgement (counted as
    the report counts them)."""
    handles = (handle,)
    work = tasks.open_counts(s, clock.now(), handles).get(handle, (0, 0))
    return {"customers": _owned(s, handles).get(handle, (0, 0))[0], "open_tasks": work[0],
            "overdue_tasks": work[1], "awaiting_ack": _waiting_ack(s, handles).get(handle, (0, 0))[0]}


def _owned(s: Session, handles: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Per owner: live customers, and those of them in an open stage
    (`ix_customer_owner_stage`)."""
    query = (select(Customer.owner, func.count(),
                    func.sum(case((col(Customer.stage).in_(fields.CLOSED_STAGES), 0), else_=1)))
             .where(col(Customer.deleted_at).is_(None), col(Customer.owner).in_(handles))
             .group_by(Customer.owner))
    return {owner: (every, open_) for owner, every, open_ in s.exec(query)}


def _waiting_ack(s: Session, handles: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """Per holder: roles on live customers waiting for their acknowledgement, and those of
    them a routing rule made (`ix_assignment_waiting`)."""
    routed = case((and_(*route_acks.routed()), 1), else_=0)
    query = (select(Assignment.user, func.count(), func.sum(routed))
             .join(Customer, Customer.id == Assignment.customer_id)
             .where(*assignments.unacknowledged(), col(Assignment.user).in_(handles),
                    col(Customer.deleted_at).is_(None))
             .group_by(Assignment.user))
    return {user: (every, by_rule) for user, every, by_rule in s.exec(query)}


def _departments(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The members' rows summed per department, in the order of the departments' names."""
    teams: dict[str, dict[str, Any]] = defaultdict(lambda: dict.fromkeys(
        ("members", *(m.key for m in COUNTS)), 0))
    for row in rows:
        team = teams[row["department"]]
        team["members"] += 1
        for measure in COUNTS:
            team[measure.key] += row[measure.key]
    return [{"department": name, **teams[name]} for name in sorted(teams)]


def _notes(s: Session, options: Options, chosen: list[User]) -> list[str]:
    notes = [
        f"As of {clock.show(clock.now())}. Open customers: owned, not won, lost or churned. "
        "Waiting ack: roles given to the member not acknowledged yet (hand-overs, "
        "assignments, routed customers); routed, waiting: those a routing rule made. "
        "SLA late: customers the member owns or holds a role on whose response is past due "
        "(breached or escalated). Approvals to decide: open requests the member may decide.",
        "A department's row is the sum of its members' (a customer or a request two of its "
        "members share counts for each).",
    ]
    said = [f"{name} {' or '.join(values)}" for name, values in (
        ("member", options.owner), ("department", options.dept)) if values]
    if said:
        notes.append(f"Only members of {' · '.join(said)}.")
    if nobody := _unowned(s):
        notes.append(f"{nobody:,} live customer(s) have no owner: nobody's workload.")
    if not chosen:
        notes.append("No active member matches.")
    return notes


def _unowned(s: Session) -> int:
    return s.exec(select(func.count()).select_from(Customer).where(
        col(Customer.owner).is_(None), col(Customer.deleted_at).is_(None))).one()


def customers_behind(s: Session, actor: Actor, options: Options, section: str,
                     row: dict[str, Any]) -> list[str]:
    """The ids of the customers behind a row (the dashboard lists them): a member's, the
    live customers they own; a department's, those its chosen members own; a trend row's,
    the customers that became its members' in that week or month."""
    if section == "trend":
        return workload_trend.customers_behind(
            s, options, _handles(members(s, options), options), row)
    chosen = members(s, options)
    if section == "members":
        handles = [user.handle for user in chosen if user.handle == row.get("member")]
    elif section == "departments":
        handles = [user.handle for user in chosen
                   if (user.department or NO_DEPARTMENT) == row.get("department")]
    else:
        raise Invalid(f"workload has no section {section!r} (it has members, departments, "
                      "trend)", "section")
    query = (select(Customer.id).where(col(Customer.owner).in_(handles),
                                       col(Customer.deleted_at).is_(None))
             .order_by(Customer.id))
    return list(s.exec(query).all())
