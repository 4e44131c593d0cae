"""The notification sources of the core record (`repo/notifications.py` lists them):
assignments waiting for acknowledgement, tasks due soon or overdue, mentions in notes.

Each is a function `(session, now) -> Notice…` over what the replica holds. The titles
and bodies are plain text built from the record (customer names, task titles, a note's
summary); the channels make them safe for each platform (`crmcli.notify.payloads`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.models import Assignment, Customer, Note, Task, User

if TYPE_CHECKING:
    from crmcli.repo.notifications import Notice

DUE_SOON = timedelta(hours=24)  # a task due within this is told "due soon"
MENTION_WINDOW = timedelta(days=30)  # notes older than this are not read for mentions
BODY_LIMIT = 500  # characters of a note's summary a mention carries


def _notice(**values) -> Notice:
    from crmcli.repo.notifications import Notice

    return Notice(**values)


def waiting_acknowledgements(s: Session, now: datetime) -> Iterator[Notice]:
    """Hand-overs and assignments someone else made, not yet acknowledged: to the new
    holder, until they acknowledge (`crm ack`)."""
    query = (
        select(Assignment, Customer)
        .join(Customer, Customer.id == Assignment.customer_id)
        .where(col(Assignment.until).is_(None), col(Assignment.acknowledged_at).is_(None),
               col(Assignment.deleted_at).is_(None), col(Customer.deleted_at).is_(None),
               Assignment.user != Assignment.assigned_by)
    )
    for row, customer in s.exec(query):
        reason = f" ({row.reason})" if row.reason else ""
        yield _notice(
            key=f"ack.waiting:{row.id}", kind="ack.waiting", recipient=row.user,
            customer_id=customer.id,
            title=f"Acknowledge: you are {row.role} of {customer.name}",
            body=f"{row.assigned_by} made you {row.role} of {customer.name} on "
                 f"{clock.show(row.since)}{reason}. Acknowledge with: crm ack {customer.id[-8:]}",
        )


def tasks_due(s: Session, now: datetime) -> Iterator[Notice]:
    """Open tasks due within DUE_SOON ("task.due") or past due ("task.overdue"), to the
    assignee. The key holds the due time: a task moved to another day is told again."""
    query = (
        select(Task, Customer)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.status == "open", col(Task.due).is_not(None), col(Task.due) < now + DUE_SOON,
               col(Task.deleted_at).is_(None), col(Customer.deleted_at).is_(None))
    )
    for task, customer in s.exec(query):
        overdue = task.due <= now
        kind = "task.overdue" if overdue else "task.due"
        when = "was due" if overdue else "is due"
        yield _notice(
            key=f"{kind}:{task.id}:{clock.iso(task.due)}", kind=kind, recipient=task.assignee,
            customer_id=customer.id, due=task.due,
            title=f"{'Overdue' if overdue else 'Due soon'}: {task.title}",
            body=f"{task.title} for {customer.name} {when} {clock.show(task.due)} "
                 f"({task.priority}). Done with: crm task done {task.id[-8:]}",
        )


# An @ not preceded by what an e-mail address holds before its @ (so bob@example.com
# mentions nobody), then a handle. Chinese text may run straight into it: 请@bob看一下.
MENTION = re.compile(r"(?<![A-Za-z0-9._%+-])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")


def mentioned(text: str, handles: set[str]) -> list[str]:
    """The users of `handles` that `text` mentions (`@bob`, `@bob.` at a sentence's end)."""
    found: list[str] = []
    for match in MENTION.finditer(text):
        word = match.group(1).lower()
        for handle in (word, word.rstrip("._-")):
            if handle in handles and handle not in found:
                found.append(handle)
                break
    return found


def mentions(s: Session, now: datetime) -> Iterator[Notice]:
    """`@handle` in a note's summary, to that user (an existing, active one) unless they
    wrote it; notes written within MENTION_WINDOW."""
    handles = set(s.exec(select(User.handle).where(User.active)).all())
    query = (
        select(Note, Customer)
        .join(Customer, Customer.id == Note.customer_id)
        .where(col(Note.body).contains("@"), col(Note.created_at) >= now - MENTION_WINDOW,
               col(Note.deleted_at).is_(None), col(Customer.deleted_at).is_(None))
    )
    for note, customer in s.exec(query):
        for handle in mentioned(note.body, handles):
            if handle == note.author:
                continue
            body = note.body if len(note.body) <= BODY_LIMIT else note.body[:BODY_LIMIT] + "…"
            yield _notice(
                key=f"mention:{note.id}:{handle}", kind="mention", recipient=handle,
                customer_id=customer.id, lasting=False,
                title=f"{note.author} mentioned you on {customer.name}", body=body,
            )
