"""Substring search over customers, Chinese included.

An FTS5 table with the trigram tokenizer (rowid = customer.pk) answers substrings of three
characters or more in about a millisecond at a million rows. A pattern shorter than three
characters silently matches *nothing* there (even with LIKE), and two-character Chinese
names are common, so short queries scan the base tables instead.

The index is refreshed explicitly by the writes that change what it covers (`refresh`), and
after a bulk load in one statement for the new rows (`index_new`), which keeps imports
fast; `refresh_all` rebuilds it whole.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, case, column, func, or_, table
from sqlmodel import Session, select

from crmcli.models import Customer, Note
from crmcli.phones import search_forms

TRIGRAM = 3
FTS = table("customer_fts", column("rowid"), column("customer_fts"))

_INDEXED = """
INSERT INTO customer_fts (rowid, name, company, phone, email, requirement, notes)
SELECT c.pk, c.name, c.company, c.phone, c.email, c.requirement,
       (SELECT group_concat(n.body || ' ' || coalesce(n.quote, ''), ' ')
          FROM note n WHERE n.customer_id = c.id AND n.deleted_at IS NULL)
  FROM customer c WHERE c.deleted_at IS NULL"""


def refresh(s: Session, pks: Iterable[int]) -> None:
    """Bring the index up to date for these customers (deleted ones drop out)."""
    pks = sorted(set(pks))
    if not pks:
        return
    listed = ",".join(str(int(pk)) for pk in pks)
    s.connection().exec_driver_sql(f"DELETE FROM customer_fts WHERE rowid IN ({listed})")
    s.connection().exec_driver_sql(f"{_INDEXED} AND c.pk IN ({listed})")


def index_new(s: Session, after_pk: int) -> None:
    """(Re-)index every customer added after `after_pk`, in one statement (after a bulk load)."""
    s.connection().exec_driver_sql("DELETE FROM customer_fts WHERE rowid > ?", (int(after_pk),))
    s.connection().exec_driver_sql(f"{_INDEXED} AND c.pk > ?", (int(after_pk),))


def last_pk(s: Session) -> int:
    """The highest customer pk so far: customers added from now on get higher ones."""
    return s.connection().exec_driver_sql("SELECT coalesce(max(pk), 0) FROM customer").scalar_one()


def refresh_all(s: Session) -> None:
    """Rebuild the whole index in one statement (after bulk loads)."""
    s.connection().exec_driver_sql("DELETE FROM customer_fts")
    s.connection().exec_driver_sql(_INDEXED)


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches(query: str) -> ColumnElement[bool]:
    """A condition on Customer: `query` is a substring of a searched field or of a note.

    A query that looks like a phone also matches the forms it is stored in
    (`phones.search_forms`: `138 0013 8000` finds `+8613800138000`)."""
    query = query.strip()
    alternatives = [query, *search_forms(query)]
    if all(len(text) >= TRIGRAM for text in alternatives):
        phrases = " OR ".join('"' + text.replace('"', '""') + '"' for text in alternatives)
        hits = select(FTS.c.rowid).where(FTS.c.customer_fts.op("MATCH")(phrases))
        return Customer.pk.in_(hits)
    return or_(*(_scanned(text) for text in alternatives))


def _scanned(query: str) -> ColumnElement[bool]:
    """`query` as a substring, found by scanning the tables (shorter than a trigram)."""
    pattern = _like_pattern(query)
    columns = (Customer.name, Customer.company, Customer.phone, Customer.email, Customer.requirement)
    # Notes are scanned once (not probed per customer, which costs a second at 1M rows).
    in_notes = select(Note.customer_id).where(
        Note.deleted_at.is_(None),
        or_(Note.body.like(pattern, escape="\\"), Note.quote.like(pattern, escape="\\")),
    )
    return or_(*(column.like(pattern, escape="\\") for column in columns), Customer.id.in_(in_notes))


def rank(query: str) -> ColumnElement[int]:
    """Exact name matches first, then names starting with the query, then the rest."""
    query = query.strip()
    prefix = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return case(
        (func.lower(Customer.name) == query.lower(), 0),
        (Customer.name.like(prefix, escape="\\"), 1),
        (func.lower(Customer.company) == query.lower(), 2),
        (Customer.company.like(prefix, escape="\\"), 3),
        else_=4,
    )
