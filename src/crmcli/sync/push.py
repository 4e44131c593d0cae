"""Push: one batch of a replica's outbox into the shared database, in one transaction.

A batch (`outbox.py`) is unsynced audit events, oldest first, and the current local rows
of the records they touched. Under the writer lock the shared database:

1. skips events it holds already (a push cut off after the shared commit but before the
   replica marked its events is simply sent again: it applies once);
2. folds the rest per record (`merge.fold`) and judges each field (`merge.judge`) against
   the shared row: take the replica's value, keep the shared one as it is, or keep the
   shared one and write the replica's into a conflict entry (plus a `conflict.create`
   event, so every replica's history shows it);
3. inserts records created on the replica; a user or custom field whose handle or name the
   shared database already knows is the same record (the shared one stands; a user's
   role is never taken from a replica's own copy, the pushing member's own record, made
   by `crm init` on joining, gives way to the one the admins entered without conflicts,
   and a user added by someone who is not a shared admin joins as a member); a change to
   a user or custom field that its command would refuse the pusher (`entities.WRITERS`)
   is a conflict, and a custom field they declared arrives deleted, with one; a note,
   task or assignment added to a customer merged or deleted elsewhere goes where
   `parents.py` says (moved to the merged customer; kept, with a "deleted" conflict);
   one whose parent left the shared database, or an edit to a record that is no longer
   there, becomes a conflict of kind "gone"; a customer merge whose keeper was deleted or
   merged away elsewhere is refused whole, into a conflict of kind "merge" (`merges.py`);
   one role handed over on two replicas at once keeps one holder (`roles.py`); a conflict
   entry resolved here after someone else resolved it otherwise takes none of this
   resolution's changes and keeps both resolutions in a new entry (`resolutions.py`); live work
   (a customer's owner, an open task, a current role) left with a member deactivated
   elsewhere goes to whoever the deactivation named, as it would have (`handover.py`);
4. writes every touched record back (even if nothing was taken, so it gets a new
   `server_seq` and the pull that follows brings the shared version back to the replica),
   stores the events themselves, and the contents of new attachments; and says which rows
   it stored exactly as sent, which the pull may leave out (`sent.py`).

The replica marks the batch's events synced only after this transaction committed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from crmcli.errors import Invalid, PermissionDenied, Unavailable
from crmcli.ids import short
from crmcli.models import AuditEvent
from crmcli.sync import (
    handover,
    merge,
    merges,
    parents,
    resolutions,
    rights,
    roles,
    sent,
    shared,
)
from crmcli.sync.connection import first_line
from crmcli.sync.outbox import Outbox
from crmcli.sync.plan import Plan
from crmcli.sync.schema import Who
from crmcli.sync.tables import BY_ENTITY, EVENTS, RECORDS, Synced


@dataclass
class Pushed:
    sent: list[str]  # the outbox's event ids, all in the shared database now
    new: int  # how many of them this push brought
    conflicts: int  # conflict entries this push made
    handed_over: int  # work left with deactivated members this push handed on (`handover.py`)
    # the sensitive values the outbox held, sent or withheld: the replica forgets them all
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    withheld: list[tuple[str, str, str]] = field(default_factory=list)  # (customer, field, why)
    dropped: list[str] = field(default_factory=list)  # events not sent: the replica drops them
    # (entity, id) of records made here that the shared database did not take (`resolutions`,
    # a refused merge's note)
    unmade: list[tuple[str, str]] = field(default_factory=list)
    # entity -> id -> stamp of the rows the shared database holds as this replica does
    # (`sent.picked`), and the push's time, their `updated_at` there
    kept: dict[str, dict[str, int]] = field(default_factory=dict)
    now: Any = None


# An outbox event is a row of every audit_event column (`local.unsynced_after`): its
# values are taken by place, four times quicker than by name (a push takes 200,000)
_EVENT_VALUES = itemgetter(*map(AuditEvent.__table__.columns.keys().index, EVENTS.columns))


def _event_row(event: Any, entity_id: str | None) -> dict:
    """An outbox event's columns, as `crm_push` takes them, under the record id `entity_id`."""
    row = dict(zip(EVENTS.columns, _EVENT_VALUES(event), strict=True))
    row["entity_id"] = entity_id
    return row


def _plan_table(conn: Any, plan: Plan, synced: Synced, records: list, outbox: Outbox) -> None:
    rows = outbox.rows.get(synced.entity, {})
    records = [changes for changes in records if changes.entity_id in rows]
    current = shared.rows_by(conn, synced, "id", [c.entity_id for c in records])
    if synced.natural_key:
        key = synced.natural_key
        unknown = [rows[c.entity_id][key] for c in records if c.entity_id not in current]
        for value, row in shared.rows_by(conn, synced, key, unknown).items():
            for changes in records:
                if changes.entity_id not in current and rows[changes.entity_id][key] == value:
                    plan.remapped[(synced.entity, changes.entity_id)] = row["id"]
                    current[changes.entity_id] = row
    homes: dict[str, dict] = {}
    deleted_here: set[str] = set()  # parents this replica deleted itself
    if synced.parent:
        column, parent_entity = synced.parent
        wanted = {rows[c.entity_id][column] for c in records if c.entity_id not in current}
        parent = BY_ENTITY[parent_entity]
        homes = parents.homes(conn, parent, plan.writes[parent_entity], wanted)
        deleted_here = {
            record_id for record_id, local_row in outbox.rows.get(parent_entity, {}).items()
            if local_row["deleted_at"] is not None
        }
    for changes in records:
        row = rows[changes.entity_id]
        home = homes.get(row[synced.parent[0]]) if synced.parent else None
        if changes.entity_id in current:
            plan.merge_into(synced, changes, current[changes.entity_id], row)
        elif changes.created and not synced.parent:
            plan.insert(synced, changes, row)
        elif changes.created and home is not None:
            plan.insert_child(synced, changes, row, home, knew=home["id"] in deleted_here)
        else:
            plan.record_conflict("gone", changes, row)


def deactivated(handle: str) -> PermissionDenied:
    """The refusal of a member the shared database knows as deactivated: they may have
    worked offline since, but nothing of theirs goes in and nothing comes out."""
    return PermissionDenied(
        f"{handle} is deactivated in the shared database; sync refused (nothing was sent "
        "or received)"
    )


ATTEMPTS = 5  # pushes prepared while others committed are prepared again, this many times


def push(
    conn: Any, outbox: Outbox, who: Who, meanwhile: Callable[[], object] = lambda: None
) -> Pushed:
    """Push the outbox through the shared database's `crm_push` (one transaction, committed
    when this returns). The plan is prepared from what the shared database holds at one
    stamp; if anything arrived since, `crm_push` refuses it and it is prepared again.
    `meanwhile` is called as the plan goes to `crm_push` (each time): the caller's work
    that can overlap the shared database's (`run.push_batches` reads its next batch)."""
    import psycopg

    if not outbox.events:
        return Pushed([], 0, 0, 0)
    for _attempt in range(ATTEMPTS):
        try:
            return _push(conn, outbox, who, meanwhile)
        except psycopg.errors.SerializationFailure:
            continue
        except (psycopg.DataError, psycopg.IntegrityError) as error:
            raise _refusal(error, outbox) from None
    raise Unavailable(
        "the shared database kept changing while this push was prepared; run `crm sync` again"
    )


def _push(conn: Any, outbox: Outbox, who: Who, meanwhile: Callable[[], object]) -> Pushed:
    head, now = conn.execute("SELECT crm_head(), now()").fetchone()
    held = shared.held(conn, EVENTS, [event.id for event in outbox.events])
    fresh = [event for event in outbox.events if event.id not in held]
    overruled = resolutions.overruled(conn, fresh)
    overruled_events = resolutions.untaken(overruled)
    refused = merges.refused(conn, [e for e in fresh if e.id not in overruled_events])
    by_entity: dict[str, list] = defaultdict(list)

    def untaken(event: AuditEvent) -> bool:  # (asked of every event: cheapest test first)
        return event.id in overruled_events or bool(refused) and merges.merged_away(event) in refused

    # What a refused merge made (the note of the values it kept, `customer_merges.merge`) tells of
    # a merge that did not happen: it is not sent, and the replica drops it with its events
    # (the "merge" entry's --take mine makes the merge, and its note, again).
    unmade = {(e.entity, e.entity_id or "") for e in fresh if refused
              and e.action.endswith(".create") and merges.merged_away(e) in refused}
    for changes in merge.fold(fresh, set(BY_ENTITY), untaken):
        if (changes.entity, changes.entity_id) not in unmade:
            by_entity[changes.entity].append(changes)
    plan = Plan(who.handle, now, who.role, who)
    plan.standing = rights.standings(conn, {
        changes.customer_id for folded in by_entity.values() for changes in folded
        if changes.customer_id
    })
    plan.read_subjects(conn, outbox.rows.get("conflict", {}))
    for refusal in refused.values():
        plan.refused_merge(refusal)
    for item in overruled.values():
        plan.conflicts.append(resolutions.entry(
            item, now, outbox.secrets.get(item.entry["customer_id"] or "", {})))
    for synced in RECORDS:
        if by_entity[synced.entity]:
            _plan_table(conn, plan, synced, by_entity[synced.entity], outbox)
    roles.settle(conn, plan, by_entity["assignment"], outbox.rows.get("assignment", {}))
    plan.end_unentitled_hand_overs()
    # A member's own user record from `crm init` is the team's to keep: its events describe
    # nothing the shared database took (only admins write users), so they leave the replica.
    dropped = [e.id for e in fresh if (e.entity == "user" and not plan.may_write("user"))
               or (e.entity, e.entity_id) in unmade]
    mine = [e for e in fresh if e.id not in dropped]
    events = [_event_row(e, plan.remapped.get((e.entity, e.entity_id or ""), e.entity_id))
              for e in mine]
    handed_over = handover.settle(conn, plan, events)
    secrets, withheld = rights.sendable_secrets(
        conn, who, resolutions.taken_secrets(outbox.secrets, fresh, overruled_events),
        outbox.bases, plan.writes["customer"], plan.standing)
    meanwhile()
    answer, now = send(conn, plan, events, outbox.files, head, secrets)
    return Pushed(
        [event.id for event in outbox.events], len(events), len(plan.conflicts), handed_over,
        outbox.secrets, withheld, dropped, resolutions.created(overruled, fresh) + sorted(unmade),
        sent.picked(answer, outbox, plan, list(zip(events, mine, strict=True))), now,
    )


def send(
    conn: Any, plan: Plan, events: list[dict], files: dict[str, Path], head: int | None,
    secrets: dict[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Hand the plan to `crm_push`, which checks every record against the pusher's rights,
    stamps it and writes it (`judge_writes.py`); `head` None skips its check that nothing
    arrived since the plan was prepared. `secrets` are sensitive values to set on
    customers the plan writes. Returns what `crm_push` stored as sent (`judge_sent.py`;
    no record if a value had to change on the way: a NUL, see `_dumps`) and its time."""
    text = _writes_text(plan, secrets or {})
    new_files = {row["sha256"] for row in plan.writes["attachment"].values()}
    blobs = {sha: path.read_bytes() for sha, path in files.items() if sha in new_files}
    sendable = _sendable(text)
    with conn.transaction():  # a client that dies before the commit leaves nothing behind
        answer, now = _call_push(conn, plan, events, sendable, blobs, head)
    if sendable is not text:
        answer["records"] = {}
    return answer, now


def _writes_text(plan: Plan, secrets: dict[str, dict[str, Any]]) -> bytes:
    """The records the plan writes, as JSON text for `crm_push` (its copies of the rows,
    with `secrets` set on the customers, are gone before the call: memory holds the text
    alone while the shared database works)."""
    writes = {
        synced.entity: [_jsonable(synced, row) for row in plan.writes[synced.entity].values()]
        for synced in RECORDS if plan.writes[synced.entity]
    }
    for row in writes.get("customer", []):
        row.update(secrets.get(row["id"], {}))
    return _json(writes)


def _call_push(conn: Any, plan: Plan, events: list[dict], writes: bytes, blobs: dict,
               head: int | None) -> tuple[dict[str, Any], Any]:
    from psycopg.types.json import Jsonb

    entries = BY_ENTITY["conflict"]
    # (as text made before the call: the copies of the events go before it runs)
    made = _dumps([_jsonable(EVENTS, row) for row in events + plan.events()])
    return conn.execute(
        "SELECT crm_push(%s, %s, %s, %s, %s, %s), now()",
        (
            head,
            Jsonb(None, dumps=lambda _value: made),
            Jsonb(None, dumps=lambda _value: writes),  # (the JSON text made by `send`)
            Jsonb([
                _jsonable(entries, {name: getattr(e, name) for name in entries.columns})
                for e in plan.conflicts
            ], dumps=_dumps),
            list(blobs), list(blobs.values()),
        ),
    ).fetchone()


def _jsonable(synced: Synced, row: dict) -> dict:
    """A row as `crm_push` reads it: its columns, as JSON values (see `_dumps`)."""
    return {name: row[name] for name in synced.columns if name in row}


# A NUL character escaped in JSON text: `\u0000` after an even number of backslashes
# (an odd one makes the first of them an escaped backslash and the rest plain text)
_ESCAPED_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


def _dumps(value: Any) -> bytes:
    """JSON for `crm_push`: times to the microsecond with their offset, money as exact
    decimal text (orjson, several times faster than the standard library), and every
    NUL character replaced as `tables.sendable` does, in the JSON text at once (a push
    carries hundreds of thousands of values; almost none holds one)."""
    return _sendable(_json(value))


def _json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value, default=_exact)


def _sendable(data: bytes) -> bytes:
    """JSON text with every escaped NUL replaced; the same object if it holds none."""
    if b"\\u0000" not in data:
        return data
    return _ESCAPED_NUL.sub(rb"\1\\ufffd", data)  # U+FFFD, `tables.REPLACEMENT`


def _exact(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot send {type(value).__name__} to the shared database")


def _refusal(error: Exception, outbox: Outbox) -> Invalid:
    """The one-line error for a push the shared database refused for its data, naming the
    record (`crm_push` says which in its hint: "customer <id>")."""
    entity, _, record_id = (getattr(error.diag, "message_hint", None) or "").partition(" ")
    row = outbox.rows.get(entity, {}).get(record_id)
    if row is not None:
        what = _describe(BY_ENTITY[entity], row)
    elif entity == "event":
        found = next((e for e in outbox.events if e.id == record_id), None)
        what = _describe(EVENTS, _event_row(found, found.entity_id)) if found else "a change"
    else:
        what = f"{entity} {short(record_id)}" if record_id else "this push"
    return Invalid(
        f"cannot push {what}: the shared database refused it ({first_line(error)}); nothing "
        "from it on was sent, correct it here and run `crm sync` again"
    )


def _describe(synced: Synced, row: dict) -> str:
    """A record or event for a message: `customer 1a2b3c4d (Acme)`, `the change
    customer.update of customer 1a2b3c4d`."""
    if synced is EVENTS:
        return f"the change {row['action']} of {row['entity']} {short(row['entity_id'] or '')}"
    name = row.get("name") or row.get("title") or row.get("handle")
    return f"{synced.entity} {short(row['id'])}" + (f" ({name})" if name else "")
