"""When the view moved: what the replica holds compared with what the member may see.

A record can leave what a member sees (deleted outright, a role taken away, the team's
visibility changed) and come into it (a role given on a customer out of sight) without
a stamp of its own moving: the shared database says so by its view epoch. A pull that
finds the epoch moved lists every id the member may see, streamed into a temporary table
of the replica (a team's ids can be many more than memory should hold), then:
- reads the visible records (and events) the replica lacks, whatever their stamp, in
  pages and parents first, so one that comes into the view arrives whole;
- drops what the replica holds beyond them. Records with unpushed changes stay until
  pushed, and so do the records they belong to (a local foreign key).
A pull that compares runs in one local transaction (the temporary tables are its
connection's) and in one snapshot: `list_visible`, then per table (parents first)
`bring_lacking` before the table's changes (a changed record may belong to one that only
now comes into view), and `leave` at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlmodel import Session

from crmcli.sync import pull_apply, shared
from crmcli.sync.tables import EVENTS, RECORDS, Synced

VISIBLE, KEPT = "temp.pull_visible", "temp.pull_kept"


def list_visible(conn: Any, s: Session, page: int) -> None:
    """List every id the member may see in the replica's temporary tables (and none kept)."""
    run = s.connection().exec_driver_sql
    for name in (VISIBLE, KEPT):
        run(f"CREATE TABLE IF NOT EXISTS {name} (entity TEXT NOT NULL, id TEXT NOT NULL, "
            "PRIMARY KEY (entity, id)) WITHOUT ROWID")
        run(f"DELETE FROM {name}")
    for synced in (*RECORDS, EVENTS):
        for ids in shared.ids(conn, synced, page):
            run(f"INSERT OR IGNORE INTO {VISIBLE} VALUES (?, ?)", [(synced.entity, i) for i in ids])


def bring_lacking(conn: Any, s: Session, synced: Synced, unpushed: dict, page: int,
                  attachments_dir: Path) -> int:
    """Read the visible records (or events) of `synced` the replica lacks, whatever their
    stamp; returns how many events arrived."""
    arrived = 0
    for ids in _lacking(s, synced, page):
        if synced is EVENTS:
            arrived += pull_apply.apply_events(s, shared.events_by_id(conn, ids))
            continue
        rows = sorted(shared.rows_by(conn, synced, "id", ids).values(), key=lambda r: r["id"])
        if synced.entity == "attachment":
            pull_apply.check_digests(rows)
            pull_apply.store_blobs(conn, rows, attachments_dir)
        pull_apply.apply_rows(s, synced, rows, unpushed)
    return arrived


def leave(s: Session, unpushed: dict) -> None:
    """Drop what the member no longer sees (see above) and the temporary tables."""
    run = s.connection().exec_driver_sql
    if unpushed:
        run(f"INSERT OR IGNORE INTO {KEPT} VALUES (?, ?)", list(unpushed))
    _leave(s)
    for name in (VISIBLE, KEPT):
        run(f"DROP TABLE {name}")


def _lacking(s: Session, synced: Synced, page: int) -> Iterator[list[str]]:
    """The visible ids of `synced` this replica does not hold, a page at a time."""
    query = (
        f'SELECT v.id FROM {VISIBLE} v WHERE v.entity = ? AND v.id > ? AND NOT EXISTS '
        f'(SELECT 1 FROM "{synced.name}" t WHERE t.id = v.id) ORDER BY v.id LIMIT ?'
    )
    last = ""
    while ids := list(s.connection().exec_driver_sql(query, (synced.entity, last, page)).scalars()):
        yield ids
        last = ids[-1]


def _leave(s: Session) -> None:
    """Delete the records (children first) and synced events the member no longer sees,
    but those kept for their unpushed changes and the parents of records still held."""
    run = s.connection().exec_driver_sql
    for synced in reversed(RECORDS):
        children = "".join(
            f' AND id NOT IN (SELECT "{child.parent[0]}" FROM "{child.name}")'
            for child in RECORDS if child.parent and child.parent[1] == synced.entity
        )
        run(f'DELETE FROM "{synced.name}" WHERE id NOT IN '
            f"(SELECT id FROM {VISIBLE} WHERE entity = ?) AND id NOT IN "
            f"(SELECT id FROM {KEPT} WHERE entity = ?){children}",
            (synced.entity, synced.entity))
    run(f"DELETE FROM audit_event WHERE synced AND id NOT IN "
        f"(SELECT id FROM {VISIBLE} WHERE entity = ?)", (EVENTS.entity,))
