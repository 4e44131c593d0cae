"""How a won deal's amount is shared out: the team's split rule and the exact arithmetic.

The rule is the team setting `attribution.split`, three whole percentages for the
creator (who brought the lead in), the followers (who worked on it before it was won) and
the closer (who set the stage to won), summing to 100; 30/40/30 by default. A stored value
that is malformed (written by hand, or by a client that checked less) counts as unset.

Sharing one customer's amount:
- the followers' share is split equally among the followers;
- a role left empty (no follower; no creator known) gives its share to the closer;
- one member in two roles (the creator who also closed) gets both shares;
- money is Decimal throughout: each share is rounded down to the cent (or to the amount's
  own smallest digit if finer), and the cents left over go one each to the largest
  remainders (ties: the closer, the creator, then the followers by handle), so the
  credits of a customer add up to its amount exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from crmcli.errors import Invalid
from crmcli.repo import settings

SETTING = "attribution.split"
DEFAULT = (30, 40, 30)
CENT = Decimal("0.01")


def parse_split(text: str) -> list[int]:
    """`30/40/30` (creator/followers/closer) as stored: three whole percentages that sum
    to 100; `Invalid` otherwise."""
    parts = [part.strip() for part in str(text).replace("／", "/").split("/")]
    if len(parts) != 3 or not all(part.isascii() and part.isdigit() for part in parts):
        raise Invalid(f"{text!r}: the split is three whole percentages, "
                      "creator/followers/closer, e.g. 30/40/30", "value")
    numbers = [int(part) for part in parts]
    if sum(numbers) != 100:
        raise Invalid(f"{text!r}: the three percentages add up to {sum(numbers)}, not 100",
                      "value")
    return numbers


def show_split(value: Any) -> str:
    return "/".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


settings.register(settings.Known(
    SETTING, "how a won deal's amount is credited (crm report attribution): percentages "
    "creator/followers/closer, e.g. 30/40/30", parse_split, show_split))


@dataclass(frozen=True)
class Split:
    """Percentages of a won deal for its creator, its followers together and its closer."""

    creator: int = DEFAULT[0]
    followers: int = DEFAULT[1]
    closer: int = DEFAULT[2]

    @property
    def text(self) -> str:
        return f"{self.creator}/{self.followers}/{self.closer}"


def split(s: Session) -> Split:
    """The team's split rule (the default when unset or stored malformed)."""
    stored = settings.get(s, SETTING)
    try:
        return Split(*parse_split(show_split(stored))) if stored is not None else Split()
    except (Invalid, TypeError):
        return Split()


def shares(amount: Decimal, rule: Split, creator: str | None, followers: list[str],
           closer: str) -> dict[str, Decimal]:
    """Each member's credit on one customer's `amount` (see the module's docstring); the
    values add up to `amount` exactly."""
    count = len(followers)
    weights: list[tuple[str, int]] = []  # in hundredths of a follower's count: exact
    to_closer = rule.closer * max(count, 1)
    if count:
        weights += [(follower, rule.followers) for follower in sorted(followers)]
    else:
        to_closer += rule.followers
    if creator is not None:
        weights.insert(0, (creator, rule.creator * max(count, 1)))
    else:
        to_closer += rule.creator * max(count, 1)
    weights.insert(0, (closer, to_closer))
    return _allot(amount, weights)


def _allot(amount: Decimal, weights: list[tuple[str, int]]) -> dict[str, Decimal]:
    """Share `amount` by integer `weights` in whole units (largest remainders get the
    units left over, earlier entries first on a tie)."""
    unit = min(CENT, Decimal(1).scaleb(min(amount.as_tuple().exponent, 0)))
    units = int(amount / unit)
    whole = sum(weight for _, weight in weights)
    parts = [divmod(units * weight, whole) for _, weight in weights]
    left = units - sum(quotient for quotient, _ in parts)
    order = sorted(range(len(parts)), key=lambda i: -parts[i][1])
    given = [quotient for quotient, _ in parts]
    for place in order[:left]:
        given[place] += 1
    credit: dict[str, Decimal] = {}
    for (member, _), count in zip(weights, given, strict=True):
        credit[member] = credit.get(member, Decimal(0)) + count * unit
    return credit
