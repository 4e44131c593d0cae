"""Likely duplicates among the live customers: `crm report quality` lists them, `crm
dedupe` walks them.

Comparing every customer with every other is 5 billion pairs at 100,000 customers, so the
scan compares only customers that share a block (`likeness.keys`): the same name by its
sound (张三, 張三, "Zhang San" and "San Zhang" are all `zhangsan`), the same phone, e-mail or mailbox, or the same company and first letter of the name. Each
such pair is scored once (`likeness.compare`: rapidfuzz over the names' written and
sounded forms, and the evidence of company, phone and e-mail) and kept from `min_score`.

A block holding more than `CROWDED` customers is not paired: hundreds of customers with
one phone or one name are a placeholder value or a name too common to tell apart by
itself, and pairing them would cost the square of their number. The scan says which
(`Scan.crowded`); their members still pair through their other blocks.

Deleted (and merged) customers never take part. `exclude(first, second)` drops pairs
before they are scored (`crm dedupe` passes the pairs people marked "not the same").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from crmcli import likeness
from crmcli.likeness import Card
from crmcli.models import Customer

DEFAULT_MIN = 50.0
CROWDED = 500
BLOCKS = {"s": "name sounding", "p": "phone", "e": "e-mail", "m": "mailbox", "f": "company"}


@dataclass(frozen=True)
class Pair:
    """Two customers that are likely one: `first` the older (by creation), the score
    0..100 (higher = more likely the same) and the reasons in words, strongest first."""

    first: str
    second: str
    score: float
    reasons: tuple[str, ...]


@dataclass
class Scan:
    """What a scan found: the pairs (best first), how many customers and candidate pairs
    it looked at, and the blocks too crowded to pair, as (what they share, how many)."""

    pairs: list[Pair] = field(default_factory=list)
    customers: int = 0
    compared: int = 0
    crowded: list[tuple[str, int]] = field(default_factory=list)
    more: int = 0  # pairs past the limit


def cards(s: Session) -> list[Card]:
    """The live customers' identifying values, oldest first."""
    query = (select(Customer.id, Customer.name, Customer.company, Customer.phone,
                    Customer.email)
             .where(col(Customer.deleted_at).is_(None))
             .order_by(Customer.created_at, Customer.id))
    return [likeness.card(*row) for row in s.exec(query)]


def _blocks(found: list[Card]) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for place, one in enumerate(found):
        for key in likeness.keys(one):
            blocks[key].append(place)
    return blocks


def _said(key: str) -> str:
    kind, _, value = key.partition(":")
    return f"{BLOCKS[kind]} {value.rsplit(':', 1)[0] if kind == 'f' else value}"


def candidates(found: list[Card], scan: Scan) -> list[tuple[int, int]]:
    """The pairs of places in `found` that share a block (older first), each once; the
    crowded blocks noted in `scan`."""
    size = len(found)
    seen: set[int] = set()
    for key, places in _blocks(found).items():
        if len(places) < 2:
            continue
        if len(places) > CROWDED:
            scan.crowded.append((_said(key), len(places)))
            continue
        for i, older in enumerate(places):
            seen.update(older * size + newer for newer in places[i + 1:])
    return [divmod(pair, size) for pair in sorted(seen)]


def scan(
    s: Session,
    *,
    min_score: float = DEFAULT_MIN,
    limit: int | None = None,
    exclude: Callable[[str, str], bool] | None = None,
) -> Scan:
    """Score the candidate pairs of the live customers (see the module doc)."""
    found = cards(s)
    result = Scan(customers=len(found))
    kept = []
    for older, newer in candidates(found, result):
        first, second = found[older], found[newer]
        if exclude is not None and exclude(first.id, second.id):
            continue
        result.compared += 1
        score, reasons = likeness.compare(first, second)
        if score >= min_score:
            kept.append(Pair(first.id, second.id, score, reasons))
    kept.sort(key=lambda pair: (-pair.score, pair.first, pair.second))
    if limit is not None and len(kept) > limit:
        result.more = len(kept) - limit
        kept = kept[:limit]
    result.pairs = kept
    result.crowded.sort(key=lambda block: (-block[1], block[0]))
    return result


def pairs(
    s: Session,
    *,
    min_score: float = DEFAULT_MIN,
    limit: int | None = None,
    exclude: Callable[[str, str], bool] | None = None,
) -> list[Pair]:
    """The likely duplicate pairs among the live customers, best first."""
    return scan(s, min_score=min_score, limit=limit, exclude=exclude).pairs
