"""When a member leaves: access ends at once and their work moves to a named colleague."""

from __future__ import annotations

from sqlmodel import Session

from crmcli.errors import Invalid
from crmcli.repo import assignments, audit, customers, tasks, users
from crmcli.repo.users import Actor


def deactivate(s: Session, handle: str, *, transfer_to: str, by: Actor) -> dict[str, int]:
    """Deactivate `handle`; their customers (as owner), open tasks and current assignments
    move to `transfer_to`, each move an ordinary audited change. Returns what moved."""
    users.require_admin(by, "deactivate users")
    leaving = users.get(s, handle)
    if not leaving.active:
        raise Invalid(f"user {leaving.handle!r} is already deactivated", "user")
    if leaving.role == "admin" and not users.other_active_admins(s, leaving.handle):
        raise Invalid(
            f"{leaving.handle} is the last active admin; make someone else an admin first", "user"
        )
    heir = users.get_active(s, transfer_to)
    if heir.handle == leaving.handle:
        raise Invalid("cannot transfer work to the user who is leaving", "transfer-to")
    reason = f"{leaving.handle} deactivated"
    moved = {
        "customers": customers.transfer_owned(s, leaving.handle, heir.handle, by=by, reason=reason),
        "tasks": tasks.transfer_open(s, leaving.handle, heir.handle, by=by),
        "assignments": assignments.transfer_current(
            s, leaving.handle, heir.handle, by=by, reason=reason
        ),
    }
    changes = audit.apply(leaving, {"active": False}, by.handle)
    audit.record(
        s, by=by.handle, action="user.deactivate", entity="user", entity_id=leaving.id,
        changes=changes, detail={"transfer_to": heir.handle, **moved},
    )
    return moved
