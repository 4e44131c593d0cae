"""What the list queries (customers, tasks) share: a filter's values, typed once or with
a repeated option, and how many rows a limit left out.

Kept in one place so `--owner a --owner b` and `showing 50 of 205` mean the same for every
list a front end shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized

Values = tuple[str, ...]


def values(given: str | Iterable[str] | None) -> Values:
    """A filter's values: one typed value, several (a repeated option) or none; blank ones
    (`--city ""`) filter nothing."""
    typed = () if given is None else (given,) if isinstance(given, str) else given
    return tuple(value for value in typed if value.strip())


def total(rows: Sized, limit: int | None, count: Callable[[], int]) -> int:
    """How many rows the query selects without its limit, given the rows it returned:
    `count` (one COUNT query) runs only when the limit was reached."""
    return count() if limit is not None and len(rows) >= limit else len(rows)
