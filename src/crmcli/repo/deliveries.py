"""Channels and deliveries: where notifications go, and how far each one has got.

A channel (`crm notify add`) takes everyone's notifications, one department's or one
user's. `route` gives each new notification a delivery row per channel it is for (only
channels that existed when it was made: adding a channel does not replay the past).
A delivery is claimed by one `notify run` at a time: `claim` marks a batch with the
run's token and a lease inside one write transaction (BEGIN IMMEDIATE), so a second run
at the same time skips it; `record` writes the outcome only where the run still holds
the lease. A failed delivery waits for its next try, later after each failure
(`backoff`), and is never dropped; a run cut off between sending and recording sends
again once its lease has run out (at least once, never twice while a run lives).

These tables are local to the replica: not synced, so not audited either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, literal, or_, update
from sqlmodel import Session, col, select

from crmcli import clock, fields
from crmcli.errors import Invalid, UsageError
from crmcli.models import Channel, Delivery, Notification, PlatformId, User, UTCDateTime
from crmcli.repo import notifications, users
from crmcli.repo.notifications import by_prefix

KINDS = ("wecom", "feishu", "dingtalk", "webhook")
PLATFORMS = ("wecom", "feishu", "dingtalk")
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)  # the wait between tries grows to this and stays there


def backoff(attempts: int) -> timedelta:
    """How long a delivery that failed `attempts` times waits: 1, 2, 4… minutes, at most
    LAST_RETRY."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 20), LAST_RETRY)


# --- channels ----------------------------------------------------------------------------


def add_channel(s: Session, kind: str, url: str, *, secret: str | None = None,
                department: str | None = None, user: str | None = None) -> Channel:
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise Invalid(f"{kind!r}: one of {', '.join(KINDS)}", "kind")
    url = url.strip()
    if not url.startswith(("https://", "http://")):
        raise Invalid(f"{url!r} is not an http(s) URL", "url")
    if department and user:
        raise UsageError("a channel is for one department (--dept) or one user (--user), not both")
    channel = Channel(
        kind=kind, url=url, secret=(secret or "").strip() or None,
        department=fields.parse_text(department, "department", 100) if department else None,
        user=users.get(s, user).handle if user else None,
    )
    s.add(channel)
    s.flush()
    return channel


def channels(s: Session) -> list[Channel]:
    return list(s.exec(select(Channel).order_by(Channel.created_at, Channel.id)).all())


def resolve_channel(s: Session, ref: str) -> Channel:
    return by_prefix(s, Channel, ref, kind="channel")


def remove_channel(s: Session, channel: Channel) -> int:
    """Remove a channel and the deliveries it still had waiting; returns how many."""
    waiting = s.exec(select(func.count()).select_from(Delivery).where(
        Delivery.channel_id == channel.id, Delivery.state != "sent")).one()
    s.connection().execute(delete(Delivery).where(col(Delivery.channel_id) == channel.id))
    s.delete(channel)
    return waiting


# --- who users are on the platforms ------------------------------------------------------


def set_platform_ids(s: Session, handle: str, ids: dict[str, str | None]) -> dict[str, str]:
    """Set (a value) or clear ('' ) `handle`'s ids on the platforms; returns them all."""
    handle = users.get(s, handle).handle
    for platform, ident in ids.items():
        if ident is None:
            continue
        row = s.get(PlatformId, (handle, platform))
        ident = ident.strip()
        if not ident and row is not None:
            s.delete(row)
        elif ident and row is None:
            s.add(PlatformId(handle=handle, platform=platform, ident=ident))
        elif ident:
            row.ident = ident
    s.flush()
    return platform_ids(s, [handle]).get(handle, {})


def platform_ids(s: Session, handles: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """{handle: {platform: id}} for `handles` (None: everyone with one)."""
    query = select(PlatformId)
    if handles is not None:
        query = query.where(col(PlatformId.handle).in_(list(handles)))
    found: dict[str, dict[str, str]] = {}
    for row in s.exec(query.order_by(PlatformId.handle, PlatformId.platform)):
        found.setdefault(row.handle, {})[row.platform] = row.ident
    return found


# --- routing, claiming, recording --------------------------------------------------------


def route(s: Session, now: datetime | None = None) -> int:
    """Give each notification not routed yet a delivery per channel it is for; returns
    how many deliveries were made. One statement, then the notifications are marked."""
    now = now or clock.now()
    n, c, u = Notification.__table__, Channel.__table__, User.__table__
    department = select(u.c.department).where(u.c.handle == n.c.recipient).scalar_subquery()
    pairs = (
        select(n.c.id, c.c.id, literal("waiting"), literal(0), literal(now, UTCDateTime))
        .select_from(n.join(c, c.c.created_at <= n.c.created_at))
        .where(n.c.routed == False,  # noqa: E712 - SQL
               or_(and_(c.c.user.is_(None), c.c.department.is_(None)),
                   c.c.user == n.c.recipient, c.c.department == department))
    )
    made = s.connection().execute(
        insert(Delivery.__table__).from_select(
            ["notification_id", "channel_id", "state", "attempts", "next_attempt_at"], pairs)
        .prefix_with("OR IGNORE")).rowcount
    s.connection().execute(update(n).where(n.c.routed == False).values(routed=True))  # noqa: E712
    return made


@dataclass(frozen=True)
class Job:
    """A claimed delivery, with what sending it needs (plain data, used outside the
    transaction that claimed it)."""

    delivery_id: int
    attempts: int
    record: dict[str, Any]  # the notification's machine form (`notifications.as_dict`)
    channel: Channel
    mention: dict[str, str]  # the recipient's platform ids


# Messages a robot takes a minute, as the platforms document them (企业微信 and 钉钉: 20;
# 飞书: 100). A run sends no more to one channel; the rest waits for the next run.
PER_MINUTE = {"wecom": 20, "dingtalk": 20, "feishu": 100}


def _budgets(s: Session, now: datetime) -> dict[str | None, int | None]:
    """How many deliveries each rate-limited channel may still take this minute (what it
    was sent within the last 60 seconds counts), by channel id; None: every channel
    without a limit."""
    d = Delivery.__table__
    limited = [c for c in channels(s) if c.kind in PER_MINUTE]
    if not limited:
        return {None: None}
    sent = dict(s.connection().execute(
        select(d.c.channel_id, func.count())
        .where(d.c.channel_id.in_([c.id for c in limited]),
               d.c.sent_at > literal(now - timedelta(minutes=1), UTCDateTime))
        .group_by(d.c.channel_id)).all())
    budgets: dict[str | None, int | None] = {
        c.id: max(0, PER_MINUTE[c.kind] - sent.get(c.id, 0)) for c in limited}
    budgets[None] = None
    return budgets


def claim(s: Session, owner: str, now: datetime, *, due_by: datetime | None = None,
          limit: int = 500, lease: timedelta = LEASE) -> list[Job]:
    """Claim up to `limit` deliveries due by `due_by` (default now) that nobody holds,
    for `owner` until now + `lease`, within each robot's messages a minute (PER_MINUTE).
    Call in a write transaction of its own: it is what keeps two runs from sending the
    same delivery. (Rows are read as columns, not records: a run claims thousands,
    bench/notify.py.)"""
    d, n = Delivery.__table__, Notification.__table__
    free = or_(d.c.lease_until.is_(None), d.c.lease_until <= literal(now, UTCDateTime))
    due = select(d.c.id, d.c.next_attempt_at).where(
        d.c.state != "sent", d.c.next_attempt_at <= literal(due_by or now, UTCDateTime), free)
    budgets = _budgets(s, now)
    limited = [channel_id for channel_id in budgets if channel_id is not None]
    found = []
    for channel_id, budget in budgets.items():
        if budget == 0:
            continue
        which = (d.c.channel_id == channel_id if channel_id is not None
                 else d.c.channel_id.not_in(limited))
        found += s.connection().execute(
            due.where(which).order_by(d.c.next_attempt_at, d.c.id)
            .limit(min(limit, budget) if budget is not None else limit)).all()
    ids = [row.id for row in sorted(found, key=lambda row: (row.next_attempt_at, row.id))][:limit]
    if not ids:
        return []
    s.connection().execute(update(d).where(d.c.id.in_(ids)).values(
        lease_owner=owner, lease_until=now + lease))
    rows = s.connection().execute(
        select(d.c.id.label("delivery_id"), d.c.attempts, d.c.channel_id, *n.c)
        .join(n, n.c.id == d.c.notification_id)
        .where(d.c.id.in_(ids))
        .order_by(d.c.next_attempt_at, d.c.id)
    ).all()
    by_id = {channel.id: channel for channel in channels(s)}
    ids_of = platform_ids(s, {row.recipient for row in rows})
    return [Job(row.delivery_id, row.attempts, notifications.as_dict(row),
                by_id[row.channel_id], ids_of.get(row.recipient, {}))
            for row in rows]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    attempts: int  # before this try
    error: str | None = None  # None: sent
    tried: bool = True  # False: not sent at all (released for another run)


_HELD = (Delivery.__table__.c.id == bindparam("b_id")) & (
    Delivery.__table__.c.lease_owner == bindparam("b_owner"))
_SENT = update(Delivery.__table__).where(_HELD).values(
    state="sent", sent_at=bindparam("b_at"), last_error=None, attempts=bindparam("b_tried"),
    lease_owner=None, lease_until=None)
_FAILED = update(Delivery.__table__).where(_HELD).values(
    state="failed", last_error=bindparam("b_error"), next_attempt_at=bindparam("b_next"),
    attempts=bindparam("b_tried"), lease_owner=None, lease_until=None)
_RELEASED = update(Delivery.__table__).where(_HELD).values(lease_owner=None, lease_until=None)


def record(s: Session, owner: str, outcomes: Iterable[Outcome], now: datetime | None = None
           ) -> None:
    """Write what became of claimed deliveries, where `owner` still holds them (a
    statement per outcome, each run over its rows); one not tried is only released."""
    now = now or clock.now()
    sent, failed, released = [], [], []
    for outcome in outcomes:
        tried = outcome.attempts + 1
        row = {"b_id": outcome.delivery_id, "b_owner": owner, "b_tried": tried}
        if not outcome.tried:
            released.append({"b_id": outcome.delivery_id, "b_owner": owner})
        elif outcome.error is None:
            sent.append({**row, "b_at": now})
        else:
            failed.append({**row, "b_error": outcome.error[:500],
                           "b_next": now + backoff(tried)})
    for statement, rows in ((_SENT, sent), (_FAILED, failed), (_RELEASED, released)):
        if rows:
            s.connection().execute(statement, rows)


# --- what waits --------------------------------------------------------------------------


def waiting(s: Session, limit: int | None = None) -> list[Any]:
    """Deliveries not sent yet, the next to be tried first: rows of the delivery's
    columns with the notification's `key`, `recipient`, `title` and the channel's `kind`."""
    d, n, c = Delivery.__table__, Notification.__table__, Channel.__table__
    query = (
        select(*d.c, n.c.key, n.c.recipient, n.c.title, c.c.kind)
        .join(n, n.c.id == d.c.notification_id)
        .join(c, c.c.id == d.c.channel_id)
        .where(d.c.state != "sent")
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(limit)
    )
    return list(s.connection().execute(query).all())


def counts(s: Session) -> dict[str, int]:
    """Deliveries by state (waiting, failed, sent), and notifications not routed yet."""
    found = dict(s.exec(select(Delivery.state, func.count()).group_by(Delivery.state)).all())
    unrouted = s.exec(select(func.count()).select_from(Notification).where(
        Notification.routed == False)).one()  # noqa: E712
    return {"waiting": found.get("waiting", 0), "failed": found.get("failed", 0),
            "sent": found.get("sent", 0), "unrouted": unrouted}
