"""Who wrote each side of a conflict entry, and when: the current value and the other one.

Users read `mine` and `theirs` backwards (the resolver's "mine" was someone else's
change), so `crm conflicts show` names the sides by what they are and by their authors.
The other value's author is the entry's own `actor` (`made_at`, by their clock). The
current value's is not in the entry: the shared database kept it from a change someone
pushed earlier, and that change is in the audit trail every replica holds. An entry
between two resolutions (kind "resolution") names both of its resolvers itself.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from crmcli.models import AuditEvent, Conflict
from crmcli.repo.machine import jsonable

DELETED = "deleted_at"


def authors(s: Session, conflict: Conflict) -> dict[str, Any]:
    """{current_by, current_at, other_by, other_at} in machine form; the current side's
    are None when this replica holds no change that wrote it (a record imported before
    the team shared it, say)."""
    if conflict.kind == "resolution":
        current, other = conflict.theirs or {}, conflict.mine or {}
        return {"current_by": current.get("by"), "current_at": current.get("at"),
                "other_by": other.get("by"), "other_at": other.get("at")}
    event = _current_author(s, conflict)
    return {
        "current_by": event.actor if event else None,
        "current_at": jsonable(event.at) if event else None,
        "other_by": conflict.actor, "other_at": jsonable(conflict.made_at),
    }


def _current_author(s: Session, conflict: Conflict) -> AuditEvent | None:
    """The latest change to the record that wrote what the entry kept: the value itself
    (an edit), the deletion (a "deleted" entry) or, for a refused merge, the keeper's
    deletion or merge elsewhere. Failing an exact match, the latest change to the field
    made before the entry."""
    if conflict.kind == "gone":
        return None
    record_id, paths, kept = conflict.entity_id, conflict.field.split(", "), conflict.theirs
    if conflict.kind == "deleted":
        paths, kept = [DELETED], None
    elif conflict.kind == "merge":
        record_id, paths, kept = conflict.mine, [DELETED], None
    query = select(AuditEvent).where(
        AuditEvent.entity == conflict.entity, AuditEvent.entity_id == record_id,
        AuditEvent.id != conflict.event_id,
    ).order_by(col(AuditEvent.seq).desc())
    fallback = None
    for event in s.exec(query):
        for path in paths:
            found, after = _after(event.changes or {}, path)
            if not found:
                continue
            if path == DELETED and after is not None:
                return event
            if conflict.kind == "edit" and after == kept:
                return event
            if fallback is None and event.at <= conflict.created_at:
                fallback = event
    return fallback if conflict.kind == "edit" else None


def _after(changes: dict[str, Any], path: str) -> tuple[bool, Any]:
    """Whether an event's changes wrote `path` ("extra.k" inside `extra`), and to what."""
    column, _, key = path.partition(".")
    pair = changes.get(column)
    if not isinstance(pair, list) or len(pair) != 2:
        return False, None
    if not key:
        return True, pair[1]
    before, after = (pair[0] or {}), (pair[1] or {})
    if not isinstance(before, dict) or not isinstance(after, dict):
        return False, None
    if before.get(key) == after.get(key):
        return False, None
    return True, after.get(key)
