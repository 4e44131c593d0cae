"""Follow-up tasks (跟进任务): an assignee, a due time, a priority, and who closed them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from crmcli import clock, dates, fields
from crmcli.errors import Invalid
from crmcli.ids import short
from crmcli.models import Customer, Task
from crmcli.repo import audit, customer_lists, listing, permissions, refs, users
from crmcli.repo.listing import Values
from crmcli.repo.machine import to_dict
from crmcli.repo.users import Actor


def describe(task: Task) -> str:
    return f"{short(task.id)}  {task.title} ({task.assignee}, {task.status})"


TASK_FIELDS = (
    "customer", "title", "assignee", "due", "priority", "status", "created_by", "created_at",
    "done_at",
)


def as_dict(task: Task) -> dict:
    return to_dict(task, TASK_FIELDS, customer="customer_id")


def resolve(s: Session, ref: str) -> Task:
    return refs.resolve(s, Task, ref, kind="task", describe=describe)


def _event(s: Session, action: str, task: Task, changes: dict, by: Actor) -> None:
    audit.record(
        s, by=by.handle, action=f"task.{action}", entity="task", entity_id=task.id,
        customer_id=task.customer_id, changes=changes,
    )


def _title(text: str) -> str:
    title = fields.parse_text(text, "title", 500)
    if not title:
        raise Invalid("is required", "title")
    return title


def _due(text: str | datetime | None) -> datetime | None:
    """A due time as people type it (`dates.parse_when`), or one computed already (a
    datetime); empty or None: no due date."""
    if isinstance(text, datetime):
        return text
    return dates.parse_when(text, clock.now()) if text and text.strip() else None


def add(
    s: Session,
    customer: Customer,
    title: str,
    *,
    by: Actor,
    assignee: str | None = None,
    due: str | datetime | None = None,
    priority: str = "normal",
    status: str = "open",
    task_id: str | None = None,
) -> Task:
    """Add a task; an imported one may arrive done or cancelled already, and keeps the
    id of the export it comes from (`task_id`)."""
    status = fields.parse_task_status(status)
    task = Task(
        customer_id=customer.id,
        title=_title(title),
        assignee=users.get_active(s, assignee or by.handle).handle,
        due=_due(due),
        priority=fields.parse_priority(priority),
        status=status,
        done_at=clock.now() if status == "done" else None,
        created_by=by.handle,
    )
    if task_id:
        task.id = task_id
    s.add(task)
    _event(s, "create", task, audit.snapshot(task), by)
    return task


def _change(s: Session, task: Task, action: str, values: dict, by: Actor) -> bool:
    """A change of the task by `by`; offboarding's moves (an admin's) skip the check."""
    changes = audit.apply(task, values, by.handle)
    if changes:
        _event(s, action, task, changes, by)
    return bool(changes)


def complete(s: Session, task: Task, *, by: Actor) -> bool:
    """Mark done; returns False if it already was. Like every change of a task, for its
    assignee, its creator or who may change its customer (`crmcli.permissions`)."""
    if task.status == "done":
        return False
    permissions.require_task_change(s, task, by)
    return _change(s, task, "done", {"status": "done", "done_at": clock.now()}, by)


def cancel(s: Session, task: Task, *, by: Actor) -> bool:
    if task.status == "cancelled":
        return False
    permissions.require_task_change(s, task, by)
    return _change(s, task, "cancel", {"status": "cancelled", "done_at": None}, by)


def reopen(s: Session, task: Task, *, by: Actor) -> bool:
    if task.status == "open":
        return False
    permissions.require_task_change(s, task, by)
    return _change(s, task, "reopen", {"status": "open", "done_at": None}, by)


def reassign(s: Session, task: Task, to: str, *, by: Actor) -> bool:
    permissions.require_task_change(s, task, by)
    heir = users.get_active(s, to)
    return _change(s, task, "reassign", {"assignee": heir.handle}, by)


def edit(
    s: Session,
    task: Task,
    *,
    by: Actor,
    title: str | None = None,
    due: str | None = None,
    priority: str | None = None,
    assignee: str | None = None,
) -> dict[str, list]:
    """Correct a task: each value given (None: left alone; an empty `due`: no due date) is
    checked like `add` checks it, and what changed is one `task.update` event, returned.
    For whoever may change the task, as every change of it (`crmcli.permissions`)."""
    permissions.require_task_change(s, task, by)
    values: dict = {}
    if title is not None:
        values["title"] = _title(title)
    if due is not None:
        values["due"] = _due(due)
    if priority is not None:
        values["priority"] = fields.parse_priority(priority)
    if assignee is not None:
        values["assignee"] = users.get_active(s, assignee).handle
    changes = audit.apply(task, values, by.handle)
    if changes:
        _event(s, "update", task, changes, by)
    return changes


def transfer_open(s: Session, leaving: str, heir: str, *, by: Actor) -> int:
    """Hand every open task of `leaving` to `heir` (offboarding)."""
    query = select(Task).where(
        Task.assignee == leaving, Task.status == "open", col(Task.deleted_at).is_(None)
    )
    moved = list(s.exec(query))
    for task in moved:
        _change(s, task, "reassign", {"assignee": heir}, by)
    return len(moved)


@dataclass
class TaskQuery:
    """The filters of `crm task list` and the dashboard's task lists: each takes one value
    or several (any of them); no status means every status."""

    assignee: Values = ()
    customer_id: Values = ()
    status: Values = ("open",)
    overdue: bool = False
    due_before: datetime | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("assignee", "customer_id", "status"):
            setattr(self, name, listing.values(getattr(self, name)))

    def statement(self) -> Any:
        """Tasks of live customers with their customer, unordered."""
        statement = (
            select(Task, Customer)
            .join(Customer, Customer.id == Task.customer_id)
            .where(col(Task.deleted_at).is_(None), col(Customer.deleted_at).is_(None))
        )
        if self.assignee:
            statement = statement.where(
                col(Task.assignee).in_([fields.normal_handle(h) for h in self.assignee]))
        if self.customer_id:
            statement = statement.where(col(Task.customer_id).in_(self.customer_id))
        if self.status:
            statement = statement.where(
                col(Task.status).in_([fields.parse_task_status(s) for s in self.status]))
        if self.overdue:
            statement = statement.where(Task.status == "open", col(Task.due) < clock.now())
        if self.due_before:
            statement = statement.where(col(Task.due) < self.due_before)
        return statement


def list_(s: Session, query: TaskQuery) -> list[tuple[Task, Customer]]:
    """Tasks of live customers with their customer, soonest due first (no due date last)."""
    priority = case({p: i for i, p in enumerate(reversed(fields.PRIORITIES))}, value=Task.priority)
    statement = query.statement().order_by(col(Task.due).is_(None), Task.due, priority, Task.id)
    if query.limit:
        statement = statement.limit(query.limit)
    return list(s.exec(statement).all())


def list_and_total(s: Session, query: TaskQuery) -> tuple[list[tuple[Task, Customer]], int]:
    """`list_` and how many tasks the query selects without its limit (one COUNT, only
    when the limit was reached)."""
    rows = list_(s, query)
    counting = select(func.count()).select_from(query.statement().subquery())
    return rows, listing.total(rows, query.limit, lambda: s.exec(counting).one())


def open_counts(s: Session, now: datetime, assignees: tuple[str, ...] = ()
                ) -> dict[str, tuple[int, int]]:
    """Per assignee (`assignees`: only these): their open tasks of live customers, and how
    many of those are overdue at `now` (due before it). Read from the open tasks' own
    index (`ix_task_open`), which holds all it needs."""
    query = (select(Task.assignee, func.count(), func.sum(case((col(Task.due) < now, 1),
                                                               else_=0)))
             .where(Task.status == "open", col(Task.deleted_at).is_(None),
                    customer_lists.of_live(Task.customer_id))
             .group_by(Task.assignee))
    if assignees:
        query = query.where(col(Task.assignee).in_(assignees))
    return {handle: (open_, overdue) for handle, open_, overdue in s.exec(query)}


def for_customer(s: Session, customer_id: str) -> list[Task]:
    query = select(Task).where(Task.customer_id == customer_id, col(Task.deleted_at).is_(None))
    return list(s.exec(query.order_by(col(Task.created_at).desc(), col(Task.id).desc())).all())
