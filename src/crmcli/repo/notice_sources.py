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

from crmcli import clock, fields
from crmcli.display import show_duration
from crmcli.models import Assignment, Customer, Note, Task, User
from crmcli.repo import handoffs, settings

if TYPE_CHECKING:
    from crmcli.repo.notifications import Notice

DUE_SOON = timedelta(hours=24)  # a task due within this is told "due soon" (by default)
DUE_SOON_KEY = "notify.due_soon"
settings.register(settings.Known(
    DUE_SOON_KEY, "how long before a task is due its assignee is told (a duration: 4h, 1d; "
    "default 24h)", parse=lambda text: fields.parse_duration(text, DUE_SOON_KEY),
    show=show_duration))
MENTION_WINDOW = timedelta(days=30)  # notes older than this are not read for mentions
BODY_LIMIT = 500  # characters of a note's summary a mention carries


def _notice(**values) -> Notice:
    from crmcli.repo.notifications import Notice

    return Notice(**values)


def waiting_acknowledgements(s: Session, now: datetime) -> Iterator[Notice]:
    """Hand-overs and assignments someone else made, not yet acknowledged: to the new
    holder, until they acknowledge (`crm ack`)."""
    query = (
        select(Assignment.id, Assignment.user, Assignment.role, Assignment.assigned_by,
               Assignment.reason, Assignment.since, Customer.id, Customer.name)
        .join(Customer, Customer.id == Assignment.customer_id)
        .where(col(Assignment.until).is_(None), col(Assignment.acknowledged_at).is_(None),
               col(Assignment.deleted_at).is_(None), col(Customer.deleted_at).is_(None),
               Assignment.user != Assignment.assigned_by)
    )
    found = list(s.exec(query))
    handed = handoffs.of(s, [row[0] for row in found])  # `crm handoff`: the words it carried
    for row_id, user, role, assigned_by, reason, since, customer_id, name in found:
        reason = f" ({reason})" if reason else ""
        quote = handed[row_id].quote if row_id in handed else None
        said = f" Customer said: “{quote[:BODY_LIMIT]}”." if quote else ""
        yield _notice(
            key=f"ack.waiting:{row_id}", kind="ack.waiting", recipient=user,
            customer_id=customer_id, title=f"Acknowledge: you are {role} of {name}",
            body=f"{assigned_by} made you {role} of {name} on {clock.show(since)}{reason}."
                 f"{said} Acknowledge with: crm ack {customer_id[-8:]}",
        )


def due_soon(s: Session) -> timedelta:
    """The team's `notify.due_soon` (minutes), DUE_SOON when unset. A value from the shared
    database is data to check, not trust: anything but a duration up to a year is unset."""
    minutes = settings.get(s, DUE_SOON_KEY)
    valid = type(minutes) is int and 0 < minutes <= fields.MAX_DURATION_MINUTES
    return timedelta(minutes=minutes) if valid else DUE_SOON


def tasks_due(s: Session, now: datetime) -> Iterator[Notice]:
    """Open tasks due within `due_soon` ("task.due") or past due ("task.overdue"), to the
    assignee. The key holds the due time: a task moved to another day is told again."""
    soon = due_soon(s)
    query = (
        select(Task.id, Task.title, Task.assignee, Task.due, Task.priority, Customer.id,
               Customer.name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.status == "open", col(Task.due).is_not(None), col(Task.due) < now + soon,
               col(Task.deleted_at).is_(None), col(Customer.deleted_at).is_(None))
    )
    # columns, not records: a collect reads every task due, told or not (10,000 task
    # records cost ~1 s to build, their columns a tenth of it: bench/notify.py)
    for task_id, title, assignee, due, priority, customer_id, name in s.exec(query):
        overdue = due <= now
        kind = "task.overdue" if overdue else "task.due"
        when = "was due" if overdue else "is due"
        yield _notice(
            key=f"{kind}:{task_id}:{clock.iso(due)}", kind=kind, recipient=assignee,
            customer_id=customer_id, due=due,
            title=f"{'Overdue' if overdue else 'Due soon'}: {title}",
            body=f"{title} for {name} {when} {clock.show(due)} ({priority}). "
                 f"Done with: crm task done {task_id[-8:]}",
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
