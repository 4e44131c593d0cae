"""The SLA clock's notifications (a source of `repo/notifications.py`): a customer's
answer due soon or breached, told to its owner and current role holders; escalated
(waiting twice the sla), told to the managers of the owner's department.

Each key holds the customer, the moment the wait began and the recipient: a customer
answered and then contacted again starts a new wait, told again; the same wait is told
once per state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.display import sla_line
from crmcli.models import Assignment, User
from crmcli.repo import sla

if TYPE_CHECKING:
    from crmcli.repo.notifications import Notice

CHUNK = 500
TITLES = {"due soon": "Answer due soon", "breached": "Answer overdue",
          "escalated": "Escalated: answer overdue"}


def _role_holders(s: Session, customer_ids: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for first in range(0, len(customer_ids), CHUNK):
        query = select(Assignment.customer_id, Assignment.user).where(
            col(Assignment.customer_id).in_(customer_ids[first:first + CHUNK]),
            col(Assignment.until).is_(None), col(Assignment.deleted_at).is_(None))
        for customer_id, user in s.exec(query):
            found[customer_id].add(user)
    return found


def _managers(s: Session) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    query = select(User.department, User.handle).where(
        User.role == "manager", User.active, col(User.department).is_not(None))
    for department, handle in s.exec(query):
        found[department].append(handle)
    return found


def notices(s: Session, now: datetime) -> Iterator[Notice]:
    """The notices of every SLA clock past running."""
    from crmcli.repo.notifications import Notice

    late = [c for c in sla.clocks(s, now) if c.state != "running"]
    holders = _role_holders(s, [c.customer_id for c in late])
    managers = _managers(s) if any(c.state == "escalated" for c in late) else {}
    for c in late:
        told = {c.owner, *holders.get(c.customer_id, ())} - {None}
        states = ["breached", "escalated"] if c.state == "escalated" else [c.state]
        for state in states:
            kind = "sla." + state.replace(" ", "_")
            people = managers.get(c.department, []) if state == "escalated" else told
            for recipient in sorted(people):
                yield Notice(
                    key=f"{kind}:{c.customer_id}:{clock.iso(c.since)}:{recipient}",
                    kind=kind, recipient=recipient, customer_id=c.customer_id, due=c.due,
                    title=f"{TITLES[state]}: {c.name}",
                    body=f"{c.name} ({c.owner or 'no owner'}): {sla_line(c)}. Answer with: "
                         f"crm note add {c.customer_id[-8:]} TEXT --kind call --out")
