"""The record permission rules (`crmcli.permissions`) applied to what this database holds.

Reads the facts a rule needs (a customer's owner, the owner's department, who holds a
role on it now) and raises `PermissionDenied` with the sentence naming the rule. The
write functions of the repository call these, so the command line, the dashboard and
imports are held to the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from crmcli import permissions
from crmcli.errors import PermissionDenied
from crmcli.models import Approval, Assignment, Attachment, Customer, Note, Task, User
from crmcli.permissions import Who


@dataclass(frozen=True)
class Stake:
    """Who has a say over one customer: what the rules are asked about."""

    name: str
    owner: str | None
    owner_department: str | None
    holders: frozenset[str]

    def changeable_by(self, who: Who) -> bool:
        return permissions.may_change_customer(who, self.owner, self.owner_department, self.holders)


def stakes(s: Session, customers: Iterable[Customer]) -> dict[str, Stake]:
    """The stake in each of these customers, by id, read in two queries."""
    by_id = {customer.id: customer for customer in customers}
    if not by_id:
        return {}
    owners = {customer.owner for customer in by_id.values() if customer.owner}
    departments = dict(
        s.exec(select(User.handle, User.department).where(col(User.handle).in_(owners))).all()
    ) if owners else {}
    holders: dict[str, set[str]] = {customer_id: set() for customer_id in by_id}
    current = select(Assignment.customer_id, Assignment.user).where(
        col(Assignment.customer_id).in_(by_id),
        col(Assignment.until).is_(None),
        col(Assignment.deleted_at).is_(None),
    )
    for customer_id, handle in s.exec(current):
        holders[customer_id].add(handle)
    return {
        customer_id: Stake(
            customer.name, customer.owner, departments.get(customer.owner),
            frozenset(holders[customer_id]),
        )
        for customer_id, customer in by_id.items()
    }


def stake(s: Session, customer: Customer) -> Stake:
    return stakes(s, [customer])[customer.id]


def refuse_change(who: Who, stake: Stake) -> None:
    """PermissionDenied unless `who` may change the customer with this stake."""
    if not stake.changeable_by(who):
        raise PermissionDenied(
            permissions.change_refusal(who, stake.name, stake.owner, stake.owner_department)
        )


def require_change(s: Session, customer: Customer, by: Who) -> None:
    """Changing a customer's fields, tags, custom fields or role holders."""
    refuse_change(by, stake(s, customer))


def require_delete(s: Session, customer: Customer, by: Who, *, verb: str = "delete") -> None:
    """Deleting a customer, or (`verb` "restore") bringing a deleted one back."""
    found = stake(s, customer)
    if not permissions.may_delete_customer(by, found.owner, found.owner_department):
        raise PermissionDenied(permissions.delete_refusal(
            by, found.name, found.owner, found.owner_department, verb=verb))


def require_merge(s: Session, keep: Customer, gone: Customer, by: Who) -> None:
    """Merging `gone` away into `keep`: deleting the one, changing the other."""
    found = stakes(s, [keep, gone])
    kept, merged = found[keep.id], found[gone.id]
    if not permissions.may_delete_customer(by, merged.owner, merged.owner_department):
        raise PermissionDenied(permissions.delete_refusal(
            by, merged.name, merged.owner, merged.owner_department, verb="merge away"))
    if not kept.changeable_by(by):
        raise PermissionDenied(permissions.merge_refusal(
            by, merged.name, kept.name, kept.owner, kept.owner_department))


def _customer(s: Session, customer_id: str) -> Customer:
    return s.exec(select(Customer).where(Customer.id == customer_id)).one()


def require_task_change(s: Session, task: Task, by: Who) -> None:
    """Completing, cancelling, reopening, reassigning or otherwise changing a task."""
    if by.handle in (task.assignee, task.created_by):
        return
    found = stake(s, _customer(s, task.customer_id))
    if not permissions.may_change_task(by, task.assignee, task.created_by, found.changeable_by(by)):
        raise PermissionDenied(permissions.task_refusal(
            by, task.title, found.name, task.assignee, task.created_by, found.owner,
            found.owner_department,
        ))


def require_note_change(s: Session, note: Note, by: Who) -> None:
    """Editing or deleting a note, or writing into it or its attachments (a conflict
    resolution): its author, its customer's owner, managers, admins."""
    if by.handle == note.author:
        return
    found = stake(s, _customer(s, note.customer_id))
    if not permissions.may_change_note(by, note.author, found.owner, found.owner_department):
        raise PermissionDenied(permissions.note_refusal(
            by, found.name, note.author, found.owner, found.owner_department))


def require_record_change(s: Session, record: object, by: Who) -> None:
    """Changing any record that belongs to a customer, by the rule for its kind (a conflict
    resolution writes into any of them)."""
    if isinstance(record, Customer):
        require_change(s, record, by)
    elif isinstance(record, Task):
        require_task_change(s, record, by)
    elif isinstance(record, Note):
        require_note_change(s, record, by)
    elif isinstance(record, Attachment):
        require_note_change(s, s.exec(select(Note).where(Note.id == record.note_id)).one(), by)
    elif isinstance(record, Assignment):
        require_change(s, _customer(s, record.customer_id), by)
    elif isinstance(record, Approval):  # writing its decision: someone it names
        from crmcli.repo import approvals

        approvals.require_decider(s, record, by)
