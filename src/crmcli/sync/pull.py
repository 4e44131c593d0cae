"""Pull: what changed in the shared database since this replica's cursor, streamed in pages.

Everything is read in one REPEATABLE READ READ ONLY transaction of the shared database,
so every table is read at the same moment: first the newest stamp visible (see
`schema.py`); if it is not past the cursor, that one query was the whole pull (three
round trips: BEGIN, the query, COMMIT). Otherwise, table by table (parents first, events
last), the rows stamped after the cursor up to that newest one, oldest first, through a
server-side cursor a page at a time (`CRM_SYNC_PAGE` rows, default PAGE), the next page
read while this one is written (`ahead.py`): memory holds three pages at most, however
large the team's data, and the cost follows the changes.

Each page is written into the replica and committed in a local transaction of its own
(`pull_apply.py`), together with how far that table got (`state.Progress`: the stamp of
the page's last row; stamps are unique, one sequence for every table, so the next page
and a later pull go on strictly after it). The search index is deferred during a page and
filled for it in one statement at its end (`search.deferred`), so it is right after every
commit. A pull cut off anywhere (the connection lost, the process killed, a page that
fails) leaves the replica with the pages it committed; the next pull reads each table
from where it stopped, in a new snapshot: a row changed since comes again with its new
stamp, and the parents of anything it brings are there (read before in this pull or an
earlier one). The last transaction stores the masks of every customer when what the
member may read could have changed (a first pull, a moved view, readers or users that
changed: `masks.py`; otherwise each page of customers brings theirs) and moves the
cursor to the newest stamp. Rows the push of the same sync stored exactly as this
replica holds them are left out (`sent.Unchanged`): each table is read in the stamp
ranges around theirs.

A pull that finds the view epoch moved compares what the replica holds with what the
member may see (`pull_view`): it reads and writes everything in one local transaction
(its temporary tables are one connection's), as rare as the view's changes are.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

from sqlmodel import Session

from crmcli import config, indexes
from crmcli.db import Database, session_scope
from crmcli.repo import search
from crmcli.repo.bulk import cyclic_gc_paused
from crmcli.sync import masks, pull_apply, pull_view, sent, shared, state
from crmcli.sync.ahead import read_ahead
from crmcli.sync.schema import ServerState
from crmcli.sync.tables import EVENTS, RECORDS, Synced

PAGE = 2000
PAGE_VARIABLE = "CRM_SYNC_PAGE"
# What the member may read of the sensitive fields changes with readers and users.
READING = ("user", "field_reader")


def page_size() -> int:
    """Rows per page: `CRM_SYNC_PAGE` if set, else PAGE."""
    return config.count_setting(PAGE_VARIABLE, PAGE)


def pull(conn: Any, database: Database, server: ServerState,
         unchanged: sent.Unchanged | None = None) -> int:
    """Bring what changed into the replica (see above), but the rows `unchanged`; returns
    how many events arrived."""
    import orjson
    import psycopg
    from psycopg.types.json import set_json_loads

    set_json_loads(orjson.loads, conn)  # several JSON columns a row: the faster parser
    with session_scope(database, write=False) as s:
        known = state.load(s)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.transaction():
            epoch, newest = shared.head(conn, (*RECORDS, EVENTS))
            narrowed = known.epoch is not None and epoch != known.epoch
            if newest > known.cursor or narrowed or known.pulling is not None:
                return _stream(conn, database, known, server, epoch, newest, narrowed,
                               unchanged or sent.Unchanged())
    finally:
        conn.isolation_level = None
        conn.read_only = None
    with session_scope(database) as s:
        state.synced(s, server_id=server.server_id, cursor=known.cursor, epoch=epoch,
                     member=server.who.handle)
    return 0


def _stream(conn: Any, database: Database, known: state.SyncState, server: ServerState,
            epoch: int, newest: int, narrowed: bool, unchanged: sent.Unchanged) -> int:
    page = page_size()
    progress = known.pulling or state.Progress()
    progress.all_masks = progress.all_masks or known.cursor == 0 or narrowed
    start = {synced.entity: progress.after.get(synced.entity, known.cursor)
             for synced in (*RECORDS, EVENTS)}
    false = shared.false_attachment(conn, start["attachment"], newest)
    if false:  # refused before anything is written
        attachment_id, filename, digest, not_a_digest = false
        raise pull_apply.refused_attachment(
            attachment_id, filename, f"with {digest!r} as its sha256 digest" if not_a_digest
            else "whose content does not match its sha256 digest")
    if narrowed:  # one local transaction (`pull_view`)
        with session_scope(database) as s:
            return _compare(conn, s, database, known, server, epoch, newest, progress,
                            start)
    with session_scope(database) as s:  # a fresh replica: indexes built at the end
        indexes.defer(s.connection())
    arrived = 0
    # (pages make hundreds of thousands of short-lived objects: left alone, the cycle
    # collector walked them again and again, a seventh of a first sync's CPU)
    with cyclic_gc_paused() as collect_cycles:
        for synced in (*RECORDS, EVENTS):
            changed = shared.changed_within(
                conn, synced, unchanged.spans(synced.entity, start[synced.entity], newest), page)
            with closing(read_ahead(changed)) as pages:
                for rows in pages:
                    with session_scope(database) as s:
                        unpushed = pull_apply.unpushed(s)
                        arrived += _write_page(
                            conn, s, synced, rows, progress, unpushed, database)
                        state.pulled_page(s, server_id=server.server_id, epoch=epoch,
                                          member=server.who.handle, progress=progress)
                    collect_cycles()
    with session_scope(database) as s:
        _finish(conn, s, known, server, epoch, newest, progress)
    return arrived


def _compare(conn: Any, s: Session, database: Database, known: state.SyncState,
             server: ServerState, epoch: int, newest: int, progress: state.Progress,
             start: dict[str, int]) -> int:
    """A pull whose view moved, in one local transaction: see `pull_view`."""
    page = page_size()
    unpushed = pull_apply.unpushed(s)
    pull_view.list_visible(conn, s, page)
    arrived = 0
    with search.deferred(s):
        for synced in (*RECORDS, EVENTS):
            arrived += pull_view.bring_lacking(
                conn, s, synced, unpushed, page, database.attachments_dir)
            for rows in shared.changed_between(conn, synced, start[synced.entity], newest, page):
                arrived += _write_page(conn, s, synced, rows, progress, unpushed, database)
        pull_view.leave(s, unpushed)
    _finish(conn, s, known, server, epoch, newest, progress)
    return arrived


def _finish(conn: Any, s: Session, known: state.SyncState, server: ServerState, epoch: int,
            newest: int, progress: state.Progress) -> None:
    """The indexes a first fill deferred built, the masks of every customer if they are
    due, and the cursor moved: the pull is done."""
    indexes.restore(s.connection())
    if progress.all_masks:
        masks.store_all(conn, s, page_size())
    state.synced(s, server_id=server.server_id, cursor=max(newest, known.cursor),
                 epoch=epoch, member=server.who.handle)


def _write_page(conn: Any, s: Session, synced: Synced, rows: list[dict],
                progress: state.Progress, unpushed: dict, database: Database) -> int:
    """Write one page of `synced` rows; returns how many events arrived. Moves `progress`."""
    progress.after[synced.entity] = rows[-1]["server_seq"]
    for row in rows:
        del row["server_seq"]
    if synced is EVENTS:
        return pull_apply.apply_events(s, rows)
    with search.deferred(s):
        if synced.entity == "attachment":
            pull_apply.check_digests(rows)
            pull_apply.store_blobs(conn, rows, database.attachments_dir)
        pull_apply.apply_rows(s, synced, rows, unpushed)
    if synced.entity in READING:
        progress.all_masks = True
    if synced.entity == "customer" and not progress.all_masks:
        customer_ids = [row["id"] for row in rows]
        masks.store(s, customer_ids, masks.fetch(conn, customer_ids))
    return 0
