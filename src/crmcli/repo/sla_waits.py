"""When each waiting customer began to wait, kept, so that counting the late ones reads
one row per customer rather than its notes (table `sla_wait`, migrations m019, m020).

A customer with an sla waits since the oldest contact --in not answered by someone
responsible, or its creation (`sla._waiting`). That depends on its notes, its owner and
its role holders, never on the time: it is worked out once and kept until one of those
changes. `catch_up` brings it up to date in a write transaction, as the funnel's stage
history is: every write records an event naming its customer (a pull brings the events
after the records they tell of), so the customers of the events past the mark
(`sla_mark`) are worked out again, with the same SQL `sla` asks directly. Events
deleted above every one left (a pull's view moved) take the mark back with them (a
trigger), so SQLite handing their seq out again is seen. Each wait holds its customer's
owner and sla as they were worked out with it (a change of either is an event too), so
counting reads this table alone; a customer deleted from the replica takes its wait
with it (a trigger). Until it is caught up (`current`), `sla` works every wait out from
the notes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, delete, insert, table
from sqlmodel import Session, col, select

from crmcli.models import AuditEvent

WAIT = table("sla_wait", *(column(name) for name in ("customer_id", "owner", "sla", "since")))
MARK = table("sla_mark", column("events"))
NEVER = -1  # the mark before the first catch-up: everything to work out
TOLD = ("customer", "note", "assignment")  # the events that can change a wait


def _marks(s: Session) -> tuple[int, int]:
    """(the mark, the newest event's seq)."""
    mark = s.exec(select(MARK.c.events)).one()
    newest = s.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq).desc()).limit(1)
                    ).first() or 0
    return mark, newest


def current(s: Session) -> bool:
    """Whether the kept waits tell what the records say now (two look-ups)."""
    mark, newest = _marks(s)
    return mark == newest


def never_built(s: Session) -> bool:
    """Whether the waits were never worked out (the first catch-up reads every customer:
    a front end says it is working)."""
    return s.exec(select(MARK.c.events)).one() == NEVER


def catch_up(s: Session) -> None:
    """Work out again the waits of the customers the events past the mark tell of (all of
    them, the first time); call in a write transaction."""
    from crmcli.repo import sla

    s.flush()
    mark, newest = _marks(s)
    if mark == newest:
        return
    told = None if mark == NEVER else _told(mark, newest)
    waiting, rows = sla.waiting_since(s, told)
    s.exec(delete(WAIT) if told is None else delete(WAIT).where(WAIT.c.customer_id.in_(told)))
    s.exec(insert(WAIT).from_select(["customer_id", "owner", "sla", "since"], waiting))
    s.exec(MARK.update().values(events=newest))


def _told(after: int, upto: int) -> Any:
    """SQL: the customers the events in (after, upto] tell of (a note or role moved by a
    merge is told of with the customer kept)."""
    return (select(AuditEvent.customer_id).distinct()
            .where(AuditEvent.seq > after, AuditEvent.seq <= upto,
                   col(AuditEvent.entity).in_(TOLD), col(AuditEvent.customer_id).is_not(None)))
