"""Pull: what changed in the shared database since this replica's cursor, as one snapshot.

`fetch` is a query over what the connected role can see, in one REPEATABLE READ READ ONLY
transaction, so every table is read at the same moment: first the newest stamp visible
(see `schema.py`); if it is not past the cursor, that one query was the whole pull (three
round trips: BEGIN, the query, COMMIT). Otherwise, per table, the rows stamped after the
cursor up to that newest one, which becomes the new cursor and leaves nothing behind. Its
cost follows the changes, not the size of the data. When the shared view epoch moved since
this replica last compared, `fetch` also lists the ids the role can see, and `apply` drops
what the replica holds beyond them: a record that leaves a member's view leaves their
replica. It also reads the visible records the replica lacks, whatever their stamp: one
that comes into the view (a role given on a customer out of sight) arrives whole.

`apply` writes the rows into the replica in one local transaction with the new cursor:
- a field this replica changed and has not pushed yet keeps its local value (the next
  push judges it against the shared one); a record it deleted and has not pushed yet
  keeps all of them (the push compares what the deleter had seen);
- a user or custom field that exists here under another id (made here independently) is
  re-keyed to the shared id, its events with it;
- audit events arrive as synced, their changes in column order (as the author stored
  them, `audit.in_column_order`); the search index follows by its triggers, deferred
  during the pull and filled in one statement at its end (`search.deferred`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from crmcli.errors import Invalid
from crmcli.ids import short
from crmcli.models import AuditEvent, Conflict
from crmcli.repo import audit, entities, search
from crmcli.repo.customers import derived
from crmcli.repo.notes import is_digest, stored_path
from crmcli.sync import local, masks, merge, shared
from crmcli.sync.tables import BY_ENTITY, EVENTS, RECORDS, Synced


@dataclass
class Pulled:
    rows: dict[str, list[dict]]  # entity -> shared rows, oldest change first
    events: list[dict]
    cursor: int
    epoch: int
    visible: dict[str, set[str]] | None  # entity ("event" too) -> ids, if the view narrowed
    blobs: dict[str, bytes]
    masks: list[masks.Held]  # the masks of what this member may read: `masks.py`
    masked: list[str] | None  # the customers whose masks those replace (None: all)


def fetch(
    conn: Any, cursor: int, epoch_seen: int | None, attachments_dir: Path,
    held: Callable[[], dict[str, set[str]]] | None = None,
) -> Pulled:
    """Read everything newer than `cursor` in one snapshot; a no-op is one query (see above).

    When the view epoch moved, the view may have widened too (a role given to the member
    on a customer they could not see): `held()` says which ids the replica holds, and the
    visible records it lacks are read whatever their stamp."""
    import psycopg

    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.transaction():
            epoch, newest = shared.head(conn, (*RECORDS, EVENTS))
            narrowed = epoch_seen is not None and epoch != epoch_seen
            if newest <= cursor and not narrowed:
                return Pulled({t.entity: [] for t in RECORDS}, [], cursor, epoch, None, {}, [], [])
            rows = {t.entity: shared.changed_between(conn, t, cursor, newest) for t in RECORDS}
            events = shared.changed_between(conn, EVENTS, cursor, newest)
            visible = None
            if narrowed:
                visible = {synced.entity: shared.ids(conn, synced) for synced in (*RECORDS, EVENTS)}
                if held is not None:
                    _add_widened(conn, rows, events, visible, held())
            _check_digests(rows["attachment"])
            missing = [
                row["sha256"] for row in rows["attachment"]
                if not stored_path(attachments_dir, row["sha256"]).is_file()
            ]
            blobs = _checked_blobs(shared.load_blobs(conn, missing), rows["attachment"])
            # What this member may read changes with readers and users (role, department).
            everything = cursor == 0 or narrowed or rows["field_reader"] or rows["user"]
            masked = None if everything else [row["id"] for row in rows["customer"]]
            found_masks = masks.fetch(conn, masked)
    finally:
        conn.isolation_level = None
        conn.read_only = None
    return Pulled(rows, events, max(newest, cursor), epoch, visible, blobs, found_masks, masked)


def _add_widened(conn: Any, rows: dict[str, list[dict]], events: list[dict],
                 visible: dict[str, set[str]], held: dict[str, set[str]]) -> None:
    """Add the visible records (and events) the replica lacks to what the pull brings."""
    for synced in (*RECORDS, EVENTS):
        coming = {row["id"] for row in (events if synced is EVENTS else rows[synced.entity])}
        lacking = visible[synced.entity] - held.get(synced.entity, set()) - coming
        if lacking:
            found = list(shared.rows_by(conn, synced, "id", lacking).values())
            found.sort(key=lambda row: row.get("id"))
            (events if synced is EVENTS else rows[synced.entity]).extend(found)


def _refused_attachment(row: dict, why: str) -> Invalid:
    return Invalid(
        f"the shared database sent attachment {short(row['id'])} ({row['filename']!r}) {why}; "
        "it was refused and nothing was received (ask the team's administrator to repair "
        "the shared database)"
    )


def _check_digests(rows: list[dict]) -> None:
    """Refuse the pull if an attachment's digest is not one: it would become a file path."""
    for row in rows:
        if not is_digest(row["sha256"]):
            raise _refused_attachment(row, f"with {row['sha256']!r} as its sha256 digest")


def _checked_blobs(blobs: dict[str, bytes], rows: list[dict]) -> dict[str, bytes]:
    """The pulled contents, each checked against its digest (a content stored under a
    digest it does not hash to would show one file and open another)."""
    for sha, content in blobs.items():
        if hashlib.sha256(content).hexdigest() != sha:
            row = next(row for row in rows if row["sha256"] == sha)
            raise _refused_attachment(row, "whose content does not match its sha256 digest")
    return blobs


def _unpushed(s: Session) -> dict[tuple[str, str], set[str]]:
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


def _apply_rows(s: Session, synced: Synced, rows: list[dict], unpushed: dict) -> None:
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
            for path in unpushed.get((synced.entity, row["id"]), ()) if mine else ():
                entities.put(values, path, entities.get(mine, path))
            if synced.entity == "customer":
                values.update(derived(values["name"], values["company"]))
            (updates if mine else inserts).append(values)
        local.insert(s, synced, inserts)
        local.update(s, synced, updates)


def _deleted_here(mine: dict, unpushed: Iterable[str]) -> bool:
    """Whether this replica deleted the record and has not pushed that yet: the pull then
    leaves it as it is, so the push still compares what the deleter had seen with the
    shared record and keeps an edit made elsewhere meanwhile (`merge.unseen`)."""
    return mine.get(merge.DELETED) is not None and merge.DELETED in unpushed


def _apply_events(s: Session, events: list[dict]) -> int:
    """Store pulled events as synced; returns how many this replica did not have.

    An event this replica holds keeps its row, except for the record it names: a user or
    custom field re-keyed to its shared id (see `_rekey`) is named by that id everywhere.
    """
    arrived = 0
    for chunk in local.chunks(events):
        held = local.event_records(s, [event["id"] for event in chunk])
        local.insert(s, EVENTS, [
            {**e, "changes": audit.in_column_order(e["entity"], e["changes"]), "synced": True}
            for e in chunk if e["id"] not in held
        ])
        local.update(s, EVENTS, [
            {"id": e["id"], "entity_id": e["entity_id"], "synced": True}
            for e in chunk if e["id"] in held and held[e["id"]] != e["entity_id"]
        ])
        arrived += sum(event["id"] not in held for event in chunk)
    return arrived


def _leave_view(s: Session, visible: dict[str, set[str]], unpushed: dict) -> None:
    """Drop records (and their events) the member can no longer see. Records with
    unpushed changes stay until pushed, and so do the records they belong to."""
    kept = {record_id for (_entity, record_id) in unpushed}
    for synced in reversed(RECORDS):
        gone = local.ids(s, synced) - visible[synced.entity] - kept
        for child in RECORDS:
            if child.parent and child.parent[1] == synced.entity:
                column = child.table.c[child.parent[0]]
                gone -= set(s.connection().execute(select(column).distinct()).scalars())
        local.remove(s, synced, gone)
    events = local.synced_event_ids(s) - visible[EVENTS.entity]
    local.remove(s, EVENTS, events)


def apply(s: Session, pulled: Pulled, attachments_dir: Path) -> int:
    """Write a pull into the replica; returns how many events arrived from elsewhere."""
    unpushed = _unpushed(s)
    with search.deferred(s):
        for synced in RECORDS:
            _apply_rows(s, synced, pulled.rows[synced.entity], unpushed)
        arrived = _apply_events(s, pulled.events)
        if pulled.visible is not None:
            _leave_view(s, pulled.visible, unpushed)
    masks.store(s, pulled.masked, pulled.masks)
    for sha, content in pulled.blobs.items():
        _store_blob(attachments_dir, sha, content)
    return arrived


def _store_blob(attachments_dir: Path, sha: str, content: bytes) -> None:
    """Write an attachment's content where notes.stored_path expects it (atomically)."""
    target = stored_path(attachments_dir, sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".part")
    temporary.write_bytes(content)
    temporary.replace(target)

