"""References people type for records: a unique id prefix (full or short form) or a name.

The short id is the last eight hex digits of the uuid (see `crmcli.ids`); a reference may
be a prefix of it, a prefix of the full id, the full id, or (for customers) the exact name.
Several matches are an `Ambiguous` error listing the candidates; none is `NotFound`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, literal_column, or_
from sqlmodel import Session, select

from crmcli.errors import Ambiguous, NotFound
from crmcli.ids import could_be_id_prefix

T = TypeVar("T")
MAX_CANDIDATES = 10
SHORT_START = literal_column("29")  # the short id's first character in the 36-char uuid


def _prefix(column: Any, text: str) -> ColumnElement[bool]:
    """`column` starts with `text`, written as a range so that an index can answer it."""
    return (column >= text) & (column < text + "~")


def id_matches(model: Any, text: str) -> ColumnElement[bool] | None:
    """Condition for `text` as an id prefix (full or short form), or None if it cannot be one."""
    text = text.strip().lower()
    if not could_be_id_prefix(text):
        return None
    return or_(_prefix(model.id, text), _prefix(func.substr(model.id, SHORT_START), text))


def resolve(
    s: Session,
    model: type[T],
    ref: str,
    *,
    kind: str,
    describe: Callable[[T], str],
    name_column: Any = None,
    deleted: bool = False,
    only_deleted: bool = False,
) -> T:
    """The one live record `ref` names, or NotFound / Ambiguous.

    With `deleted`, deleted records count too, but only when no live one matches; with
    `only_deleted`, only deleted ones do (what a restore takes back)."""
    ref = ref.strip()
    conditions = []
    by_id = id_matches(model, ref)
    if by_id is not None:
        conditions.append(by_id)
    if name_column is not None and ref:
        conditions.append(name_column == ref)
    if not conditions:
        raise NotFound(f"no {kind} matches {ref!r}")
    query = select(model).where(or_(*conditions))
    if only_deleted:
        query = query.where(model.deleted_at.is_not(None))
    elif deleted:
        query = query.order_by(model.deleted_at.is_not(None))  # live ones first
    else:
        query = query.where(model.deleted_at.is_(None))
    found = list(s.exec(query.limit(MAX_CANDIDATES + 1)).all())
    if deleted and len(found) > 1:
        found = [record for record in found if record.deleted_at is None] or found
    if not found:
        raise NotFound(f"no {kind} matches {ref!r}")
    if len(found) > 1:
        raise Ambiguous(
            f"{ref!r} matches several {kind}s; give more of the id",
            [describe(record) for record in found[:MAX_CANDIDATES]],
        )
    return found[0]
