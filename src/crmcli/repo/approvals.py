"""Approvals (审批): a request for someone's yes before a step, and its decision.

A member asks (`request`) for one customer: a kind from a closed list (`KINDS`), an
amount (money as Decimal, parsed like a contract amount), whom it waits for and why.
Whoever the request names decides it once (`decide`: approved or rejected, with a
reason; `crmcli.permissions.may_decide_approval`); its requester may withdraw it while
it is open. Every step is an audit event on the customer, so its history says who asked,
who decided and why. With the team setting `won_requires_approval` (a kind), a customer's
stage reaches `won` only once an approval of that kind is approved (`require_for_stage`).
The shared database judges the same rules (`sync/judge_approvals.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli import clock, fields, permissions
from crmcli.errors import Conflict, Invalid, PermissionDenied
from crmcli.ids import short
from crmcli.models import Approval, Customer, User
from crmcli.repo import audit, refs, settings, users
from crmcli.repo.machine import to_dict
from crmcli.repo.users import Actor

KINDS = ("contract", "discount", "quote", "refund", "payment", "other")
KIND_ALIASES = {
    "合同": "contract", "折扣": "discount", "报价": "quote", "退款": "refund",
    "付款": "payment", "其他": "other",
}
STATUSES = ("open", "approved", "rejected", "withdrawn")
DECISIONS = ("approved", "rejected")
DEFAULT_TARGET = "role:manager"
parse_kind = fields.choice("kind", KINDS, KIND_ALIASES)
SETTING = "won_requires_approval"  # a team setting: the kind `won` waits for

settings.register(settings.Known(
    SETTING, "stage won waits for an approved approval of this kind (e.g. contract)",
    parse_kind))

APPROVAL_FIELDS = (
    "customer", "kind", "amount", "target", "reason", "requested_by", "status",
    "decided_by", "decided_at", "decision_reason", "created_at",
)


def as_dict(approval: Approval) -> dict[str, Any]:
    return to_dict(approval, APPROVAL_FIELDS, customer="customer_id")


def describe(approval: Approval) -> str:
    amount = f" {fields.show_decimal(approval.amount)}" if approval.amount is not None else ""
    return f"{short(approval.id)}  {approval.kind}{amount} ({approval.requested_by}, {approval.status})"


def resolve(s: Session, ref: str) -> Approval:
    return refs.resolve(s, Approval, ref, kind="approval", describe=describe)


def parse_target(s: Session, text: str | None) -> str:
    """Whom a request waits for: `role:manager` (the default), `role:admin`, `dept:DEPT`
    (a department with an active manager) or a user's handle (`user:HANDLE` too)."""
    text = (text or DEFAULT_TARGET).strip()
    kind, _, name = text.partition(":")
    if kind == "role":
        if name not in ("manager", "admin"):
            raise Invalid(f"{text!r}: a role target is role:manager or role:admin", "to")
        return text
    if kind == "dept":
        name = fields.parse_text(name, "to", 200)
        managers = s.exec(select(User.handle).where(
            User.department == name, User.role == "manager", col(User.active).is_(True),
            col(User.deleted_at).is_(None))).first()
        if not name or managers is None:
            raise Invalid(f"{text!r}: no active manager of {name or 'that department'} "
                          "would decide it", "to")
        return f"dept:{name}"
    handle = name if kind == "user" else text
    return f"user:{users.get_active(s, handle).handle}"


def department_of(s: Session, customer: Customer) -> str | None:
    """The department whose managers decide `role:manager` requests on this customer:
    its own, else its owner's."""
    if customer.department:
        return customer.department
    if not customer.owner:
        return None
    return s.exec(select(User.department).where(User.handle == customer.owner)).first()


def _event(s: Session, action: str, approval: Approval, changes: dict, by: Actor) -> None:
    audit.record(
        s, by=by.handle, action=f"approval.{action}", entity="approval",
        entity_id=approval.id, customer_id=approval.customer_id, changes=changes,
        detail={"kind": approval.kind, "amount": fields.show_decimal(approval.amount) or None},
    )


def request(
    s: Session, customer: Customer, *, kind: str, by: Actor, amount: str | None = None,
    to: str | None = None, reason: str | None = None,
) -> Approval:
    """Ask for an approval on `customer`; anyone who sees it may ask."""
    value: Decimal | None = None
    if amount is not None and amount.strip():
        value = fields.parse_decimal(amount, "amount")
        if value < 0:
            raise Invalid(f"{amount!r} is negative", "amount")
    approval = Approval(
        customer_id=customer.id, kind=parse_kind(kind), amount=value,
        target=parse_target(s, to), reason=fields.parse_text(reason or "", "reason") or None,
        requested_by=by.handle,
    )
    s.add(approval)
    _event(s, "create", approval, audit.snapshot(approval), by)
    return approval


def _customer(s: Session, approval: Approval) -> Customer:
    return s.exec(select(Customer).where(Customer.id == approval.customer_id)).one()


def may_decide(s: Session, approval: Approval, who: Actor) -> bool:
    department = department_of(s, _customer(s, approval))
    return permissions.may_decide_approval(who, approval.target, approval.requested_by, department)


def require_decider(s: Session, approval: Approval, by: Actor) -> None:
    """PermissionDenied unless `by` is someone the request names (a conflict resolution
    that writes its decision takes the same)."""
    if not may_decide(s, approval, by):
        department = department_of(s, _customer(s, approval))
        raise PermissionDenied(permissions.decide_refusal(
            by, short(approval.id), approval.target, department))


def _still_open(approval: Approval) -> None:
    if approval.status != "open":
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        raise Conflict(f"approval {short(approval.id)} is {approval.status} already{by}; "
                       "a decision is made once")


def decide(
    s: Session, approval: Approval, decision: str, *, by: Actor, reason: str | None = None
) -> dict[str, list]:
    """Approve or reject an open request: only someone it names (PermissionDenied), only
    once (Conflict)."""
    if decision not in DECISIONS:
        raise Invalid(f"{decision!r} is not one of {', '.join(DECISIONS)}", "decision")
    require_decider(s, approval, by)
    _still_open(approval)
    changes = audit.apply(approval, {
        "status": decision, "decided_by": by.handle, "decided_at": clock.now(),
        "decision_reason": fields.parse_text(reason or "", "reason") or None,
    }, by.handle)
    _event(s, "approve" if decision == "approved" else "reject", approval, changes, by)
    return changes


def withdraw(s: Session, approval: Approval, *, by: Actor, reason: str | None = None) -> dict:
    """Take back one's own open request."""
    if by.handle != approval.requested_by and not by.is_admin:
        raise PermissionDenied(permissions.refusal(
            by, f"withdraw approval {short(approval.id)}", "only its requester withdraws it"))
    _still_open(approval)
    changes = audit.apply(approval, {
        "status": "withdrawn", "decided_by": by.handle, "decided_at": clock.now(),
        "decision_reason": fields.parse_text(reason or "", "reason") or None,
    }, by.handle)
    _event(s, "withdraw", approval, changes, by)
    return changes


def require_for_stage(s: Session, customer: Customer, stage: str | None) -> None:
    """The team's gate on `won` (`won_requires_approval`): Invalid unless an approval of
    that kind is approved for the customer. A customer made `won` already stays so."""
    if stage != "won" or customer.stage == "won":
        return
    kind = settings.get(s, SETTING)
    if not kind:
        return
    approved = s.exec(select(Approval.id).where(
        Approval.customer_id == customer.id, Approval.kind == kind,
        Approval.status == "approved", col(Approval.deleted_at).is_(None))).first()
    if approved is None:
        raise Invalid(f"stage won needs an approved {kind} approval first (the team's "
                      f"{SETTING}); ask with `crm approval request {short(customer.id)} "
                      f"--kind {kind}`", "stage")


@dataclass
class ApprovalQuery:
    """The filters of `crm approval list` and the dashboard: `requested_by` (--mine),
    `waiting_for` (open ones this user may decide), a customer, statuses (none: all)."""

    requested_by: str | None = None
    waiting_for: Actor | None = None
    customer_id: str | None = None
    status: tuple[str, ...] = ()
    decided_since: datetime | None = None
    limit: int | None = None


def list_(s: Session, query: ApprovalQuery) -> list[tuple[Approval, Customer]]:
    """Approvals of live customers with their customer, newest first."""
    statement = _of_live_customers(select(Approval, Customer, User.department)).order_by(
        col(Approval.created_at).desc(), col(Approval.id).desc())
    if query.requested_by:
        statement = statement.where(Approval.requested_by == query.requested_by)
    if query.customer_id:
        statement = statement.where(Approval.customer_id == query.customer_id)
    statuses = ("open",) if query.waiting_for is not None else query.status
    if statuses:
        statement = statement.where(col(Approval.status).in_(
            [_parse_status(status) for status in statuses]))
    if query.decided_since is not None:
        statement = statement.where(col(Approval.decided_at) > query.decided_since)
    rows = []
    for approval, customer, owner_department in s.exec(statement):
        if query.waiting_for is not None and not permissions.may_decide_approval(
                query.waiting_for, approval.target, approval.requested_by,
                customer.department or owner_department):
            continue
        rows.append((approval, customer))
        if query.limit is not None and len(rows) >= query.limit:
            break
    return rows


def _of_live_customers(statement: Any) -> Any:
    """`statement` over approvals of live customers, joined to the customer and its owner
    (whose department decides `role:manager` requests when the customer has none)."""
    return (statement.join(Customer, Customer.id == Approval.customer_id)
            .outerjoin(User, User.handle == Customer.owner)
            .where(col(Approval.deleted_at).is_(None), col(Customer.deleted_at).is_(None)))


def waiting_counts(s: Session, deciders: list[Actor]) -> dict[str, int]:
    """Per decider: the open requests waiting for their decision (what `list_` with
    `waiting_for` lists). The open requests are counted by what says who decides them
    (target, requester, department), and the rule applied once per such group."""
    statement = _of_live_customers(select(
        Approval.target, Approval.requested_by, Customer.department, User.department,
        func.count())).where(Approval.status == "open").group_by(
        Approval.target, Approval.requested_by, Customer.department, User.department)
    counts = {who.handle: 0 for who in deciders}
    for target, requester, own, owners, count in s.exec(statement):
        for who in deciders:
            if permissions.may_decide_approval(who, target, requester, own or owners):
                counts[who.handle] += count
    return counts


_parse_status = fields.choice("status", STATUSES)


def open_line(s: Session, customer_id: str) -> str:
    """A customer's open approvals in one line, as the dashboard's customer screen shows
    them: `Open approvals: contract ¥500,000 (erin → role:manager)`; empty if none."""
    from crmcli.display import show_money

    rows = list_(s, ApprovalQuery(customer_id=customer_id, status=("open",)))
    said = [" ".join(filter(None, (row.kind, show_money(row.amount))))
            + f" ({row.requested_by} → {row.target})" for row, _ in rows]
    return f"Open approvals: {'; '.join(said)}" if said else ""


# --- notifications (`repo/notifications.py` lists these sources) -----------------------------

DECIDED_WINDOW_DAYS = 30  # decisions older than this are not told any more


def _notice(**values: Any) -> Any:
    from crmcli.repo.notifications import Notice

    return Notice(**values)


def _said(approval: Approval, customer: Customer) -> str:
    amount = fields.show_decimal(approval.amount)
    return f"{approval.kind}{' ' + amount if amount else ''} for {customer.name}"


def waiting_notices(s: Session, now: datetime) -> Any:
    """Open requests, to everyone who may decide them (`may_decide_approval`), until
    they are decided ("approval.waiting")."""
    rows = list_(s, ApprovalQuery(status=("open",)))
    if not rows:
        return
    people = [users.Actor(u.handle, u.role, u.department) for u in s.exec(
        select(User).where(col(User.active).is_(True), col(User.deleted_at).is_(None)))]
    owners = dict(s.exec(select(User.handle, User.department)).all())
    for approval, customer in rows:
        department = customer.department or owners.get(customer.owner) or None
        for who in people:
            if permissions.may_decide_approval(who, approval.target, approval.requested_by,
                                               department):
                yield _notice(
                    key=f"approval.waiting:{approval.id}:{who.handle}", kind="approval.waiting",
                    recipient=who.handle, customer_id=customer.id,
                    title=f"Approval waiting: {_said(approval, customer)}",
                    body=f"{approval.requested_by} asks: {approval.reason or approval.kind}. "
                         f"Decide with: crm approval approve|reject {short(approval.id)}")


def decided_notices(s: Session, now: datetime) -> Any:
    """Requests approved or rejected by someone else, to their requester, once
    ("approval.decided")."""
    since = now - timedelta(days=DECIDED_WINDOW_DAYS)
    query = ApprovalQuery(status=DECISIONS, decided_since=since)
    for approval, customer in list_(s, query):
        if approval.decided_by == approval.requested_by:
            continue
        why = f": {approval.decision_reason}" if approval.decision_reason else ""
        yield _notice(
            key=f"approval.decided:{approval.id}:{approval.status}", kind="approval.decided",
            recipient=approval.requested_by, customer_id=customer.id, lasting=False,
            title=f"Approval {approval.status}: {_said(approval, customer)}",
            body=f"{approval.decided_by} {approval.status} it{why}")
