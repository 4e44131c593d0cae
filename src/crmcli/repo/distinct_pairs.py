""""Not the same": two customers someone looked at side by side and said are different
people or companies (`crm dedupe`, the dashboard's Duplicates screen), so the duplicate
finder (`duplicates.pairs(exclude=...)`) stops proposing them.

A mark is a synced record (`models.DistinctPair`) that names the two customers in a
canonical order, who said so, when and why. Nothing of it changes after it is made; it is
withdrawn by whoever made it or an admin (`withdraw`), and the pair may be proposed again.
Two members marking the same pair (offline, say) leave two marks: either one keeps it out.
Every step is an audit event on the first customer of the pair.

Merges: a mark is never rewritten. When the marks are read, a customer merged away stands
for the one it was merged into (through any chain of merges): if A and C are not the same
and A was merged into K, then K and C are not the same either. This holds whichever
replica merged and whichever marked, in any order, with nothing to sync. The shared
database judges the same rules (`sync/judge_distinct.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from crmcli import clock, fields, permissions
from crmcli.errors import Conflict, Invalid, PermissionDenied
from crmcli.ids import short
from crmcli.models import Customer, DistinctPair
from crmcli.repo import audit, customers, refs
from crmcli.repo.machine import jsonable
from crmcli.repo.users import Actor


def ordered(a: str, b: str) -> tuple[str, str]:
    """The canonical order of a pair of ids (the shared database checks it)."""
    return (a, b) if a < b else (b, a)


def describe(mark: DistinctPair) -> str:
    return (f"{short(mark.id)}  {short(mark.first_id)} ≠ {short(mark.second_id)} "
            f"({mark.marked_by})")


def resolve(s: Session, ref: str) -> DistinctPair:
    """A live mark by a unique prefix of its id (`crm dedupe not-same list` shows them)."""
    return refs.resolve(s, DistinctPair, ref, kind='"not the same" mark', describe=describe)


def _live_marks(s: Session) -> list[DistinctPair]:
    query = select(DistinctPair).where(col(DistinctPair.deleted_at).is_(None))
    return list(s.exec(query.order_by(col(DistinctPair.created_at), col(DistinctPair.id))))


def survivors(s: Session, ids: Iterable[str]) -> dict[str, str]:
    """Each id mapped to the customer it stands for now: itself, or the customer it was
    merged into (following a chain of merges; a cycle, which merges never make, stops)."""
    merged: dict[str, str] = {}
    asked: set[str] = set()
    wanted = set(ids)
    while wanted - asked:
        batch = list(wanted - asked)
        asked |= wanted
        rows = s.exec(select(Customer.id, Customer.merged_into).where(
            col(Customer.id).in_(batch), col(Customer.merged_into).is_not(None),
            col(Customer.deleted_at).is_not(None))).all()
        merged.update(dict(rows))
        wanted |= set(merged.values())
    found = {}
    for start in set(ids):
        current, seen = start, {start}
        while current in merged and merged[current] not in seen:
            current = merged[current]
            seen.add(current)
        found[start] = current
    return found


def marked_pairs(s: Session) -> set[frozenset[str]]:
    """Every pair marked "not the same", as the customers its two stand for now."""
    marks = _live_marks(s)
    now = survivors(s, {i for mark in marks for i in (mark.first_id, mark.second_id)})
    pairs = {frozenset((now[mark.first_id], now[mark.second_id])) for mark in marks}
    return {pair for pair in pairs if len(pair) == 2}


def excluder(s: Session) -> Callable[[str, str], bool]:
    """`exclude` for `duplicates.pairs`: whether two customers were said not to be the same
    (read once; merges followed)."""
    pairs = marked_pairs(s)
    return lambda first, second: frozenset((first, second)) in pairs


def is_marked(s: Session, a: Customer, b: Customer) -> bool:
    return excluder(s)(a.id, b.id)


def mark(
    s: Session, a: Customer, b: Customer, *, by: Actor, reason: str | None = None
) -> DistinctPair:
    """Say that two live customers are not the same. Anyone who sees both may (on a
    replica: holds both); a pair already marked is a Conflict (exit 5)."""
    if a.id == b.id:
        raise Invalid("a customer is always the same as itself; name two customers", "customer")
    for customer in (a, b):
        fate = customers.gone(s, customer)
        if fate:
            raise Invalid(f"{fate}; only live customers are compared", "customer")
    first, second = ordered(a.id, b.id)
    already = _marks_of(s, first, second)
    if already or is_marked(s, a, b):
        whom = ", ".join(sorted({m.marked_by for m in already})) or "someone (before a merge)"
        raise Conflict(f"{customers.describe(a)} and {customers.describe(b)} are marked not "
                       f"the same already, by {whom}")
    made = DistinctPair(first_id=first, second_id=second, marked_by=by.handle,
                        reason=fields.parse_text(reason or "", "reason") or None)
    s.add(made)
    _event(s, "create", made, audit.snapshot(made), by)
    return made


def _marks_of(s: Session, first: str, second: str) -> list[DistinctPair]:
    return list(s.exec(select(DistinctPair).where(
        DistinctPair.first_id == first, DistinctPair.second_id == second,
        col(DistinctPair.deleted_at).is_(None))))


def withdraw(s: Session, mark: DistinctPair, *, by: Actor) -> dict[str, list]:
    """Take a mark back (its author or an admin): the pair may be proposed again, unless
    another mark of it stands."""
    if by.handle != mark.marked_by and not by.is_admin:
        raise PermissionDenied(permissions.refusal(
            by, f'withdraw the "not the same" mark {short(mark.id)}',
            f"only {mark.marked_by}, who made it, or an admin withdraws it"))
    if mark.deleted_at is not None:
        raise Conflict(f'the "not the same" mark {short(mark.id)} is withdrawn already')
    changes = audit.apply(mark, {"deleted_at": clock.now()}, by.handle)
    _event(s, "withdraw", mark, changes, by)
    return changes


def _event(s: Session, action: str, mark: DistinctPair, changes: dict, by: Actor) -> None:
    audit.record(
        s, by=by.handle, action=f"distinct_pair.{action}", entity="distinct_pair",
        entity_id=mark.id, customer_id=mark.first_id, changes=changes,
        detail={"other": mark.second_id},
    )


@dataclass(frozen=True)
class Mark:
    """A live mark with its two customers (as stored: perhaps deleted or merged away)."""

    mark: DistinctPair
    first: Customer
    second: Customer


def list_(s: Session) -> list[Mark]:
    """The live marks, oldest first, with their customers."""
    marks = _live_marks(s)
    ids = {i for m in marks for i in (m.first_id, m.second_id)}
    held = {c.id: c for c in s.exec(select(Customer).where(col(Customer.id).in_(ids)))}
    return [Mark(m, held[m.first_id], held[m.second_id]) for m in marks
            if m.first_id in held and m.second_id in held]


def as_dict(item: Mark) -> dict:
    mark = item.mark
    return {
        "id": mark.id, "first": mark.first_id, "first_name": item.first.name,
        "second": mark.second_id, "second_name": item.second.name,
        "marked_by": mark.marked_by, "marked_at": jsonable(mark.created_at),
        "reason": mark.reason,
    }
