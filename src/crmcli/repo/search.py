"""Substring search over customers, Chinese included, and names by pinyin.

An FTS5 table with the trigram tokenizer (rowid = customer.pk) answers substrings of three
characters or more in about a millisecond at a million rows. A pattern shorter than three
characters matches *nothing* there (MATCH and LIKE alike), yet two-character Chinese names
(王伟) and initials (`zs`) are what people type most. Every indexed value therefore ends in
two padding characters (U+001F, schema step m008), so each character and pair of characters
of a value begins one of its trigrams: a short query finds the customers holding a term
that begins with it, a range of the index's sorted terms (`customer_fts_terms`, an
fts5vocab table) rather than a scan of every customer and note (a second at a million).

Besides the fields, a name is found by its `spelled` column (`names.spelled`: the
simplified form, the pinyin run together, the initials), so `zhangsan` and `zs` find 张三;
a query in traditional script is also looked for in simplified (`張三` finds 张三).

The index follows every write by construction: triggers on customer and note (schema
step m007) rewrite a customer's row whenever its searched fields or notes change,
whoever writes them (an edit, a merge, an import, a pull, a conflict resolution, a note
edit). A bulk load defers them (`deferred`) and indexes what it wrote in one statement.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, case, column, func, table, union_all
from sqlmodel import Session, select

from crmcli.migrations import INDEX_ALL
from crmcli.models import Customer
from crmcli.names import simplified
from crmcli.phones import search_forms

TRIGRAM = 3
FTS = table("customer_fts", column("rowid"), column("customer_fts"))
TERMS = table("customer_fts_terms", column("term"), column("doc"))
LAST = "\U0010ffff"  # the greatest character: a term beginning with `ab` sorts up to `ab` + LAST
DEFERRED = "search_deferred"
INSERT_TRIGGER = "customer_fts_insert"


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

    The insert trigger is dropped for the load and made again after it, in the same
    transaction (SQLite's schema changes are transactional: a failed load gets it back by
    its rollback). Idle, it still cost more than the insert itself: a table with a trigger
    has every INSERT open a statement journal, and executemany runs one INSERT per row, so
    each row copied the pages it touched there first (measured, 100,000 customers: 4.9 s
    with the trigger standing aside, 2.1 s without it).
    """
    connection = s.connection()
    s.flush()
    if connection.exec_driver_sql("SELECT 1 FROM meta WHERE key = ?", (DEFERRED,)).first():
        yield
        return
    after = connection.exec_driver_sql("SELECT coalesce(max(pk), 0) FROM customer").scalar_one()
    connection.exec_driver_sql("INSERT INTO meta (key, value) VALUES (?, ?)", (DEFERRED, str(after)))
    on_insert = _trigger_sql(connection, INSERT_TRIGGER)
    if on_insert:
        connection.exec_driver_sql(f"DROP TRIGGER {INSERT_TRIGGER}")
    try:
        yield
        s.flush()
    finally:
        if on_insert and not _trigger_sql(connection, INSERT_TRIGGER):
            connection.exec_driver_sql(on_insert)
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


def _trigger_sql(connection: Any, name: str) -> str | None:
    """The statement that made the trigger `name`, None if there is none."""
    return connection.exec_driver_sql(
        "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?", (name,)
    ).scalar()


def matches(query: str) -> ColumnElement[bool]:
    """A condition on Customer: `query` is a substring of a searched field or of a note.

    A query that looks like a phone also matches the forms it is stored in
    (`phones.search_forms`: `138 0013 8000` finds `+8613800138000`), one in traditional
    script its simplified form, and pinyin typed with spaces (`zhang san`) the pinyin as
    stored (`zhangsan`)."""
    alternatives = forms(query)
    hits: list[Select] = [_beginning_terms(text) for text in alternatives if len(text) < TRIGRAM]
    long = [text for text in alternatives if len(text) >= TRIGRAM]
    if long:
        phrases = " OR ".join('"' + text.replace('"', '""') + '"' for text in long)
        hits.append(select(FTS.c.rowid).where(FTS.c.customer_fts.op("MATCH")(phrases)))
    return Customer.pk.in_(hits[0] if len(hits) == 1 else union_all(*hits))


def forms(query: str) -> list[str]:
    """The texts a query is looked for as: itself, a phone's stored forms, other spellings."""
    query = query.strip()
    return [query, *search_forms(query), *_spelled_forms(query)]


def _spelled_forms(query: str) -> list[str]:
    """A query's other spellings: simplified script, or pinyin without its spaces."""
    if query.isascii():
        joined = query.replace(" ", "")
        return [joined] if joined != query and joined.isalpha() else []
    simple = simplified(query)
    return [simple] if simple != query else []


def _beginning_terms(short: str) -> Select:
    """The customers holding `short` (one or two characters): those with a trigram that
    begins with it, read from the index's sorted terms between `short` and `short` + LAST…
    (terms are exactly three characters, and folded: `short` is folded the same way)."""
    start = "".join(_folded(char) for char in short)
    end = start + LAST * (TRIGRAM - len(start))
    return select(TERMS.c.doc).where(TERMS.c.term >= start, TERMS.c.term <= end)


@functools.cache
def _folded(char: str) -> str:
    """`char` as the trigram tokenizer writes it into a term: case folded by SQLite's own
    table, which differs from Python's `lower` for ~400 characters (ſ, µ, ς, İ, Cherokee),
    so the tokenizer itself is asked, in a private in-memory database."""
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE VIRTUAL TABLE folding USING fts5(text, tokenize = 'trigram')")
        db.execute("CREATE VIRTUAL TABLE folded USING fts5vocab(folding, 'row')")
        db.execute("INSERT INTO folding VALUES (?)", (char * TRIGRAM,))
        term = db.execute("SELECT term FROM folded").fetchone()
    return term[0][0] if term else char


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
