"""Substring search over customers, Chinese included, and names by pinyin.

An FTS5 table with the trigram tokenizer (rowid = customer.pk) answers substrings of three
characters or more in about a millisecond at a million rows. A pattern shorter than three
characters silently matches *nothing* there (even with LIKE), and two-character Chinese
names are common, so short queries scan the base tables instead.

Besides the fields, a name is found by its `spelled` column (`names.spelled`: the
simplified form, the pinyin run together, the initials), so `zhangsan` and `zs` find 张三;
a query in traditional script is also looked for in simplified (`張三` finds 张三).

The index follows every write by construction: triggers on customer and note (schema
step m007) rewrite a customer's row whenever its searched fields or notes change,
whoever writes them (an edit, a merge, an import, a pull, a conflict resolution, a note
edit). A bulk load defers them (`deferred`) and indexes what it wrote in one statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import ColumnElement, case, column, func, or_, table
from sqlmodel import Session, select

from crmcli.migrations import INDEX_ALL
from crmcli.models import Customer, Note
from crmcli.names import simplified
from crmcli.phones import search_forms

TRIGRAM = 3
FTS = table("customer_fts", column("rowid"), column("customer_fts"))
DEFERRED = "search_deferred"


@contextmanager
def deferred(s: Session) -> Iterator[None]:
    """Write many records with the index's triggers standing aside, then index them all in
    one statement: kept up to date row by row, the index cuts a bulk load from ~165,000 to
    ~13,000 rows/s.

    Meanwhile the triggers only list the existing customers they would have re-indexed
    (`search_dirty`); customers added meanwhile (pk above the highest one before) are
    indexed with them at the end. The switch is a row in meta written in the caller's
    transaction: no other connection ever sees it, and a failed load rolls it back with
    the rest. Nested, the outer one indexes.
    """
    connection = s.connection()
    s.flush()
    if connection.exec_driver_sql("SELECT 1 FROM meta WHERE key = ?", (DEFERRED,)).first():
        yield
        return
    after = connection.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM customer").scalar_one()
    connection.exec_driver_sql("INSERT INTO meta (key, value) VALUES (?, ?)", (DEFERRED, str(after)))
    try:
        yield
        s.flush()
    finally:
        connection.exec_driver_sql("DELETE FROM meta WHERE key = ?", (DEFERRED,))
        for statement in (
            "DELETE FROM search_dirty WHERE pk > :after",
            "DELETE FROM customer_fts WHERE rowid IN (SELECT pk FROM search_dirty)",
            "DELETE FROM customer_fts WHERE rowid > :after",
            f"{INDEX_ALL} WHERE c.pk IN (SELECT pk FROM search_dirty)",
            f"{INDEX_ALL} WHERE c.pk > :after",
            "DELETE FROM search_dirty",
        ):
            connection.exec_driver_sql(statement.replace(":after", str(int(after))))


def _like_pattern(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matches(query: str) -> ColumnElement[bool]:
    """A condition on Customer: `query` is a substring of a searched field or of a note.

    A query that looks like a phone also matches the forms it is stored in
    (`phones.search_forms`: `138 0013 8000` finds `+8613800138000`), one in traditional
    script its simplified form, and pinyin typed with spaces (`zhang san`) the pinyin as
    stored (`zhangsan`)."""
    query = query.strip()
    alternatives = [query, *search_forms(query), *_spelled_forms(query)]
    if all(len(text) >= TRIGRAM for text in alternatives):
        phrases = " OR ".join('"' + text.replace('"', '""') + '"' for text in alternatives)
        hits = select(FTS.c.rowid).where(FTS.c.customer_fts.op("MATCH")(phrases))
        return Customer.pk.in_(hits)
    return or_(*(_scanned(text) for text in alternatives))


def _spelled_forms(query: str) -> list[str]:
    """A query's other spellings: simplified script, or pinyin without its spaces."""
    if query.isascii():
        joined = query.replace(" ", "")
        return [joined] if joined != query and joined.isalpha() else []
    simple = simplified(query)
    return [simple] if simple != query else []


def _scanned(query: str) -> ColumnElement[bool]:
    """`query` as a substring, found by scanning the tables (shorter than a trigram)."""
    pattern = _like_pattern(query)
    columns = (Customer.name, Customer.company, Customer.phone, Customer.email,
               Customer.requirement, Customer.spelled)
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
