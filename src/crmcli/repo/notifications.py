"""The outbox of notifications: what people are told, recorded once, read in the inbox.

Notifications are not written where things happen (a task falling overdue is no write at
all); they are collected. A SOURCE is a function `(session, now) -> iterable of Notice`
that looks at what the replica holds and says what someone should be told now; each
notice carries a `key` naming what it is about ("task.overdue:<task id>:<due>"), so
`collect` records every notice once however often it runs (`crm notify run` from cron,
the dashboard's inbox when it opens). The notification table is local to the replica:
each replica collects from what it holds, and channels deliver from the one machine
that runs `crm notify run` (`repo/deliveries.py`, `crmcli.notify`).

To add a source: write the function (in the module of its topic), give each notice a
key that changes when it should be told again (a task's key holds its due time, so a
task moved to a later day is told again), and add it to SOURCES below. A notice whose
recipient is no active user is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.models import Notification, User
from crmcli.repo import approvals, notice_sources, route_acks, sla_notices
from crmcli.repo.machine import new_row, to_dict


@dataclass(frozen=True)
class Notice:
    """What a source says someone should be told (a Notification before it is stored).

    `lasting`: a state that stays until someone acts on it (a task due, a hand-over not
    acknowledged), which `crm remind` lists as due work; False for an event (a mention),
    told once and then only in the inbox."""

    key: str
    kind: str
    recipient: str
    title: str
    body: str = ""
    customer_id: str | None = None
    due: datetime | None = None
    lasting: bool = True


Source = Callable[[Session, datetime], Iterable[Notice]]

SOURCES: dict[str, Source] = {
    "acknowledgements": notice_sources.waiting_acknowledgements,
    "tasks": notice_sources.tasks_due,
    "mentions": notice_sources.mentions,
    "sla": sla_notices.notices,
    "approvals waiting": approvals.waiting_notices,
    "approvals decided": approvals.decided_notices,
    "routing": route_acks.overdue_notices,  # routing acknowledgement overdue, to the assigner
}


def notices(s: Session, now: datetime) -> dict[str, Notice]:
    """Every source's notices for active users, by key (a key two sources give: the first)."""
    active = set(s.exec(select(User.handle).where(User.active)).all())
    found: dict[str, Notice] = {}
    for source in SOURCES.values():
        for notice in source(s, now):
            if notice.recipient in active:
                found.setdefault(notice.key, notice)
    return found


CHUNK = 500  # keys asked at once (SQLite takes 32,766 parameters; keep statements small)


def collect(s: Session, now: datetime | None = None) -> int:
    """Record the notices not recorded before; returns how many were new. Idempotent:
    the keys already in the outbox are skipped (two collects at once are serialized by
    their write transactions, and the key is unique besides)."""
    now = now or clock.now()
    found = notices(s, now)
    keys = list(found)
    known: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        known.update(s.exec(select(Notification.key).where(col(Notification.key).in_(chunk))))
    rows = [
        new_row(Notification, {
            "key": n.key, "kind": n.kind, "recipient": n.recipient, "customer_id": n.customer_id,
            "title": n.title, "body": n.body, "due": n.due, "created_at": now,
        })
        for key, n in found.items() if key not in known
    ]
    if rows:
        s.connection().execute(Notification.__table__.insert(), rows)
    return len(rows)


def due_work(s: Session, now: datetime, handle: str | None = None) -> list[Notice]:
    """What people have to act on now (the lasting notices, recorded or not), by person
    and then soonest due first (`crm remind`); `handle`: only theirs."""
    found = [n for n in notices(s, now).values()
             if n.lasting and (handle is None or n.recipient == handle)]
    return sorted(found, key=lambda n: (n.recipient, n.due is None, n.due or now, n.key))


# --- the inbox ---------------------------------------------------------------------------

NOTIFICATION_FIELDS = (
    "key", "kind", "recipient", "customer", "title", "body", "due", "created_at", "read_at",
)


def as_dict(row: Notification) -> dict:
    return to_dict(row, NOTIFICATION_FIELDS, customer="customer_id")


def notice_dict(notice: Notice) -> dict:
    """A notice not (necessarily) recorded, with the names a notification has."""
    return {"key": notice.key, "kind": notice.kind, "recipient": notice.recipient,
            "customer": notice.customer_id, "title": notice.title, "body": notice.body,
            "due": clock.iso(notice.due)}


INBOX_SIZE = 200


def inbox(s: Session, handle: str, *, unread: bool = False,
          limit: int = INBOX_SIZE) -> list[Notification]:
    """`handle`'s notifications, newest first (`unread`: only those not read yet)."""
    query = select(Notification).where(Notification.recipient == handle)
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    order = (col(Notification.created_at).desc(), col(Notification.id).desc())
    return list(s.exec(query.order_by(*order).limit(limit)).all())


def unread_count(s: Session, handle: str) -> int:
    query = select(func.count()).select_from(Notification).where(
        Notification.recipient == handle, col(Notification.read_at).is_(None))
    return s.exec(query).one()


def mark_read(s: Session, handle: str, ids: Iterable[str] | None = None) -> int:
    """Mark `handle`'s notifications `ids` (None: all of them) read; returns how many
    were unread. Another user's notifications are left alone. Local state: not audited
    (the audit trail is the team's, and this never leaves the replica)."""
    statement = (
        update(Notification)
        .where(col(Notification.recipient) == handle, col(Notification.read_at).is_(None))
        .values(read_at=clock.now())
    )
    if ids is not None:
        statement = statement.where(col(Notification.id).in_(list(ids)))
    return s.connection().execute(statement).rowcount


def mark_unread(s: Session, handle: str, ids: Iterable[str]) -> int:
    statement = (
        update(Notification)
        .where(col(Notification.recipient) == handle, col(Notification.id).in_(list(ids)),
               col(Notification.read_at).is_not(None))
        .values(read_at=None)
    )
    return s.connection().execute(statement).rowcount


def by_prefix(s: Session, model: type, ref: str, *, kind: str, where=None) -> object:
    """The one row of a local table (no tombstones) whose id `ref` is a unique prefix of
    (full or short form), among those meeting `where`; NotFound or Ambiguous otherwise."""
    from crmcli.errors import Ambiguous, NotFound
    from crmcli.ids import short
    from crmcli.repo import refs

    condition = refs.id_matches(model, ref)
    if condition is None:
        raise NotFound(f"no {kind} matches {ref!r}")
    query = select(model).where(condition)
    if where is not None:
        query = query.where(where)
    found = list(s.exec(query.limit(refs.MAX_CANDIDATES + 1)).all())
    if not found:
        raise NotFound(f"no {kind} matches {ref!r}")
    if len(found) > 1:
        raise Ambiguous(f"{ref!r} matches several {kind}s; give more of the id",
                        [short(row.id) for row in found[:refs.MAX_CANDIDATES]])
    return found[0]


def resolve(s: Session, handle: str, ref: str) -> Notification:
    """One of `handle`'s notifications by a unique id prefix."""
    return by_prefix(s, Notification, ref, kind="notification",
                     where=Notification.recipient == handle)
