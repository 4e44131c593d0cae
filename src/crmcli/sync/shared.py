"""The shared database's side of a sync: rows read from PostgreSQL, many per round trip.

Statements are composed with psycopg.sql (identifiers quoted: `assignment."user"`). Writes
go through the shared database's own `crm_push` (`push.send`, `judge_writes.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing
from itertools import count
from typing import Any

from crmcli.sync import local
from crmcli.sync.tables import EVENTS, Synced


def _names(names: Iterable[str]) -> Any:
    from psycopg import sql

    return sql.SQL(", ").join(map(sql.Identifier, names))


def rows_by(
    conn: Any,
    synced: Synced,
    column: str,
    values: Iterable[Any],
    columns: Iterable[str] | None = None,
) -> dict[Any, dict]:
    """The shared rows whose `column` is one of `values`, keyed by it (all the table's
    synced columns, or only `columns`)."""
    from psycopg import sql
    from psycopg.rows import dict_row

    values = list(set(values))
    if not values:
        return {}
    query = sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%s)").format(
        _names(columns or synced.columns), sql.Identifier(synced.name), sql.Identifier(column)
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(query, (values,))
        return {row[column]: row for row in cursor}


def events_by_id(conn: Any, event_ids: Iterable[str]) -> list[dict]:
    """The shared events of these ids, by id, as a pull reads them (`_parsed`)."""
    from psycopg import sql
    from psycopg.rows import dict_row

    query = sql.SQL("SELECT {} FROM audit_event WHERE id = ANY(%s) ORDER BY id").format(
        _as_text(EVENTS, EVENTS.columns))
    with conn.cursor(row_factory=dict_row) as cursor:
        return _parsed(EVENTS, cursor.execute(query, (list(event_ids),)).fetchall())


def rows_where(conn: Any, synced: Synced, condition: str, params: tuple) -> list[dict]:
    """The shared rows (all synced columns) meeting `condition`, a fixed SQL text with %s
    placeholders for `params`, in the order they reached the shared database."""
    from psycopg import sql
    from psycopg.rows import dict_row

    query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY server_seq").format(
        _names(synced.columns), sql.Identifier(synced.name), sql.SQL(condition)
    )
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def held(conn: Any, synced: Synced, record_ids: Iterable[str]) -> set[str]:
    """Which of these ids the shared table holds."""
    from psycopg import sql

    query = sql.SQL("SELECT id FROM {} WHERE id = ANY(%s)").format(sql.Identifier(synced.name))
    return {row[0] for row in conn.execute(query, (list(record_ids),))}


def head(conn: Any, tables: Iterable[Synced]) -> tuple[int, int]:
    """The view epoch and the newest stamp the connected role can see, in one statement.

    max() reads the end of each server_seq index, whatever the size of the table and
    whether or not the planner has statistics yet.
    """
    from psycopg import sql

    newest = sql.SQL(", ").join(
        sql.SQL("(SELECT max(server_seq) FROM {})").format(sql.Identifier(synced.name))
        for synced in tables
    )
    query = sql.SQL("SELECT view_epoch, coalesce(greatest({}), 0) FROM crm_server").format(newest)
    epoch, stamp = conn.execute(query).fetchone()
    return epoch, stamp


def pages(conn: Any, query: Any, params: tuple, page: int) -> Iterator[list[dict]]:
    """The rows of `query` in lists of `page`, read through a server-side cursor inside the
    caller's transaction (its snapshot): memory holds one page, whatever the table's size."""
    from psycopg.rows import dict_row

    with conn.cursor(name=f"crm_pages_{next(_cursors)}", row_factory=dict_row) as cursor:
        cursor.execute(query, params)
        while rows := cursor.fetchmany(page):
            yield rows


_cursors = count()


def changed_between(conn: Any, synced: Synced, after: int, upto: int, page: int) -> Iterator[list[dict]]:
    """Rows stamped in (after, upto], oldest first, in pages; each with its `server_seq`.
    Bounded on both sides, the condition is an index range scan for the planner even
    before it has statistics. JSON values as `as_text` says."""
    from psycopg import sql

    query = sql.SQL(
        "SELECT {}, server_seq FROM {} WHERE server_seq > %s AND server_seq <= %s "
        "ORDER BY server_seq"
    ).format(_as_text(synced, synced.columns), sql.Identifier(synced.name))
    with closing(pages(conn, query, (after, upto), page)) as read:
        for rows in read:
            yield _parsed(synced, rows)


def _as_text(synced: Synced, names: Iterable[str]) -> Any:
    """The columns a pull reads, JSON values as their text, parsed by orjson itself
    (`_parsed`): through psycopg's loader (even given orjson), the 392,000 of a first
    sync's 196,000 events cost 3.5 s of CPU, against 0.4 s."""
    from psycopg import sql

    return sql.SQL(", ").join(
        sql.SQL("{}::text AS {}").format(sql.Identifier(name), sql.Identifier(name))
        if name in synced.json_columns else sql.Identifier(name) for name in names)


def _parsed(synced: Synced, rows: list[dict]) -> list[dict]:
    """The rows read through `_as_text`, in place: a record's JSON values parsed (an
    event's by `local.prepared`), then made ready to be written (`local.prepared`)."""
    import orjson

    if synced is not EVENTS:
        for row in rows:
            for name in synced.json_columns:
                if row[name] is not None:
                    row[name] = orjson.loads(row[name])
    return local.prepared(synced, rows)


def changed_within(conn: Any, synced: Synced, spans: Iterable[tuple[int, int]],
                   page: int) -> Iterator[list[dict]]:
    """`changed_between` of each stamp range (after, upto] in turn, in one stream of pages."""
    for after, upto in spans:
        yield from changed_between(conn, synced, after, upto, page)


def ids(conn: Any, synced: Synced, page: int) -> Iterator[list[str]]:
    """Every id of the table the connected role can see, in pages."""
    from psycopg import sql

    query = sql.SQL("SELECT id FROM {}").format(sql.Identifier(synced.name))
    for rows in pages(conn, query, (), page):
        yield [row["id"] for row in rows]


def false_attachment(conn: Any, after: int, upto: int) -> tuple[str, str, str, bool] | None:
    """An attachment stamped in (after, upto] whose digest is not one, or whose content
    does not hash to it: (id, filename, sha256, whether the digest itself is the fault).
    A pull asks before it writes anything, so it refuses such a pull whole."""
    return conn.execute(
        "SELECT a.id, a.filename, a.sha256, a.sha256 !~ '^[0-9a-f]{64}$' FROM attachment a "
        "LEFT JOIN attachment_blob b ON b.sha256 = a.sha256 "
        "WHERE a.server_seq > %s AND a.server_seq <= %s AND (a.sha256 !~ '^[0-9a-f]{64}$' "
        "OR encode(sha256(b.content), 'hex') <> a.sha256) LIMIT 1",
        (after, upto),
    ).fetchone()


def load_blobs(conn: Any, digests: Iterable[str]) -> dict[str, bytes]:
    digests = list(set(digests))
    if not digests:
        return {}
    rows = conn.execute(
        "SELECT sha256, content FROM attachment_blob WHERE sha256 = ANY(%s)", (digests,)
    )
    return {sha: bytes(content) for sha, content in rows}
