"""What `crm dedupe` and the dashboard's Duplicates screen walk: the likely duplicate pairs
(`duplicates.pairs`), best first, without those someone marked "not the same"
(`distinct_pairs`), each with its two customers and the two records side by side.

Both front ends take these and end in the same writes: `customer_merges.merge` (as `crm
customer merge`: the one kept takes the other's notes, tasks and roles, fills its empty
fields and keeps the other's differing values in a note) or `distinct_pairs.mark`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from crmcli.models import Customer
from crmcli.repo import customer_merges, distinct_pairs, duplicates, merge_plan, sensitive
from crmcli.repo.users import Actor


@dataclass(frozen=True)
class Candidate:
    """A likely duplicate pair with its two (live) customers, `first` the older."""

    pair: duplicates.Pair
    first: Customer
    second: Customer

    @property
    def score(self) -> float:
        return self.pair.score


def candidates(
    s: Session, *, min_score: float | None = None, limit: int | None = None
) -> list[Candidate]:
    """The pairs to look at, best first, those marked "not the same" left out."""
    found = duplicates.pairs(
        s, min_score=duplicates.DEFAULT_MIN if min_score is None else min_score,
        limit=limit, exclude=distinct_pairs.excluder(s))
    ids = {i for pair in found for i in (pair.first, pair.second)}
    held = {c.id: c for c in s.exec(select(Customer).where(col(Customer.id).in_(ids)))}
    return [Candidate(pair, held[pair.first], held[pair.second]) for pair in found]


@dataclass(frozen=True)
class Row:
    """One field of the two records as this reader may see it (masked or "restricted"
    for a sensitive one); `differs` when the two values are not the same."""

    field: str
    first: str
    second: str

    @property
    def differs(self) -> bool:
        return self.first != self.second


def side_by_side(s: Session, who: Actor, first: Customer, second: Customer) -> list[Row]:
    """Every field either record holds, the way the merge form shows them
    (`merge_plan.side_by_side`), without what a merge would do: that depends on which
    one is kept, asked afterwards."""
    seen = sensitive.clearance(s, who)
    fates = customer_merges.plan_merge(s, first, second)
    return [Row(name, ours, theirs)
            for name, ours, theirs, _ in merge_plan.side_by_side(seen, first, second, fates)]


def shown_score(score: float) -> str:
    return f"{score:.0f}"


def as_dict(candidate: Candidate) -> dict[str, Any]:
    """A pair for `crm dedupe --list --format json|ndjson|csv`."""
    return {
        "first": candidate.first.id, "first_name": candidate.first.name,
        "second": candidate.second.id, "second_name": candidate.second.name,
        "score": round(candidate.score, 1), "reasons": list(candidate.pair.reasons),
    }
