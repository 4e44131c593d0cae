"""One page of a pull written into the replica: records, events and attachment contents.

`pull.py` streams what changed in pages and commits each page with how far it got; this
module writes one page, in the caller's transaction:
- a field this replica changed and has not pushed yet keeps its local value (the next
  push judges it against the shared one); a record it deleted and has not pushed yet
  keeps all of them (the push compares what the deleter had seen);
- a user or custom field that exists here under another id (made here independently) is
  re-keyed to the shared id, its events with it;
- what needs nothing of the replica is made ready where the pages are read
  (`local.prepared`): a customer's derived columns (derived again here if it keeps a
  value of its own), an audit event's JSON, its changes in column order (as the author
  stored them, `audit.in_column_order`); events arrive as synced.
Anything read from the shared database is untrusted: an attachment's digest becomes a
file path only once checked, and a content is stored only under the digest it hashes to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import Session

from crmcli.errors import Invalid
from crmcli.ids import short
from crmcli.models import AuditEvent, Conflict
from crmcli.repo import entities
from crmcli.repo.customers import derived
from crmcli.repo.notes import is_digest, stored_path
from crmcli.sync import local, merge, shared
from crmcli.sync.tables import BY_ENTITY, EVENTS, Synced

# Attachment contents are read a few at a time, at most about this many bytes together
# (as the attachments declare their sizes; a content alone may be larger).
BLOB_BYTES = 16 * 2**20


def refused_attachment(attachment_id: str, filename: str, why: str) -> Invalid:
    return Invalid(
        f"the shared database sent attachment {short(attachment_id)} ({filename!r}) {why}; "
        "it was refused and nothing was received (ask the team's administrator to repair "
        "the shared database)"
    )


def check_digests(rows: list[dict]) -> None:
    """Refuse an attachment whose digest is not one: it would become a file path."""
    for row in rows:
        if not is_digest(row["sha256"]):
            raise refused_attachment(
                row["id"], row["filename"], f"with {row['sha256']!r} as its sha256 digest")


def store_blobs(conn: Any, rows: list[dict], attachments_dir: Path) -> None:
    """Fetch the contents of these attachments this replica lacks, a few at a time, check
    each against its digest and write it where `notes.stored_path` expects it."""
    wanted = {row["sha256"]: row for row in rows
              if not stored_path(attachments_dir, row["sha256"]).is_file()}
    piece: list[str] = []
    size = 0
    for sha, row in wanted.items():
        piece.append(sha)
        size += max(int(row["size"] or 0), 0)
        if size >= BLOB_BYTES:
            _store_piece(conn, piece, wanted, attachments_dir)
            piece, size = [], 0
    _store_piece(conn, piece, wanted, attachments_dir)


def _store_piece(conn: Any, digests: list[str], rows: dict[str, dict], attachments_dir: Path) -> None:
    for sha, content in shared.load_blobs(conn, digests).items():
        if hashlib.sha256(content).hexdigest() != sha:
            row = rows[sha]
            raise refused_attachment(
                row["id"], row["filename"], "whose content does not match its sha256 digest")
        target = stored_path(attachments_dir, sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".part")
        temporary.write_bytes(content)
        temporary.replace(target)


def unpushed(s: Session) -> dict[tuple[str, str], set[str]]:
    """The fields of each record that this replica changed and has not pushed yet."""
    changed = merge.fold(local.unsynced(s), set(BY_ENTITY))
    return {(c.entity, c.entity_id): set(c.base) for c in changed}


def _rekey(s: Session, synced: Synced, old: str, new: str, unpushed: dict) -> None:
    """Give a record made here the id of the shared record it turned out to be."""
    table = synced.table
    s.connection().execute(update(table).where(table.c.id == old).values(id=new))
    for model in (AuditEvent, Conflict):
        column = model.__table__.c
        s.connection().execute(
            update(model.__table__)
            .where(column.entity == synced.entity, column.entity_id == old)
            .values(entity_id=new)
        )
    if (synced.entity, old) in unpushed:
        unpushed[(synced.entity, new)] = unpushed.pop((synced.entity, old))


def apply_rows(s: Session, synced: Synced, rows: list[dict], unpushed: dict) -> None:
    for chunk in local.chunks(rows):
        held = local.rows_by(s, synced, "id", [row["id"] for row in chunk])
        if synced.natural_key:
            key = synced.natural_key
            others = local.rows_by(s, synced, key, [r[key] for r in chunk if r["id"] not in held])
            for row in chunk:
                other = others.get(row[key])
                if row["id"] not in held and other and other["id"] != row["id"]:
                    _rekey(s, synced, other["id"], row["id"], unpushed)
                    held[row["id"]] = {**other, "id": row["id"]}
        inserts, updates = [], []
        for row in chunk:
            values = dict(row)
            mine = held.get(row["id"])
            if mine and _deleted_here(mine, unpushed.get((synced.entity, row["id"]), ())):
                continue
            kept = unpushed.get((synced.entity, row["id"]), ()) if mine else ()
            for path in kept:
                entities.put(values, path, entities.get(mine, path))
            # (rows read by a pull's pages have them already: `local.prepared`)
            if synced.entity == "customer" and (kept or "spelled" not in values):
                values.update(derived(values["name"], values["company"]))
            (updates if mine else inserts).append(values)
        local.insert(s, synced, inserts)
        local.update(s, synced, updates)


def _deleted_here(mine: dict, unpushed: Iterable[str]) -> bool:
    """Whether this replica deleted the record and has not pushed that yet: the pull then
    leaves it as it is, so the push still compares what the deleter had seen with the
    shared record and keeps an edit made elsewhere meanwhile (`merge.unseen`)."""
    return mine.get(merge.DELETED) is not None and merge.DELETED in unpushed


def apply_events(s: Session, events: list[dict]) -> int:
    """Store pulled events as synced; returns how many this replica did not have.

    An event this replica holds keeps its row, except for the record it names: a user or
    custom field re-keyed to its shared id (see `_rekey`) is named by that id everywhere.
    """
    arrived = 0
    for chunk in local.chunks(events):
        held = local.event_records(s, [event["id"] for event in chunk])
        local.insert_events(s, [e for e in chunk if e["id"] not in held])
        local.update(s, EVENTS, [
            {"id": e["id"], "entity_id": e["entity_id"], "synced": True}
            for e in chunk if e["id"] in held and held[e["id"]] != e["entity_id"]
        ])
        arrived += sum(event["id"] not in held for event in chunk)
    return arrived
