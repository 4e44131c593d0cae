"""A customer merge pushed after its keeper was deleted or merged away elsewhere.

`crm customer merge KEEP OTHER` on a replica writes several events: the keeper's filled
fields (`customer.merge`), the other's deletion pointing at the keeper (`customer.delete`
with `merged_into`), and the moves of the other's notes, tasks and assignments
(`merged_from`, and `assignment.end` with reason "merged" for roles the keeper held). Taken
one field at a time against a keeper that someone else deleted, or merged away (perhaps
into this very "other": two members merging the same pair in opposite directions), they
would move the work onto a deleted customer or close a cycle of merges, and nothing would
say so.

So a merge is judged whole, before anything else, in the order the replica made them:
it stands when its keeper is alive in the shared database as this push leaves it; else it
is refused. A refused merge's events change nothing (the records they touched are still
written back, so the replica pulls the shared state again), its customers stay as the
shared database has them, and the push keeps one conflict entry of kind "merge" about the
other customer: `mine` is the keeper, `theirs` where the keeper went (None: deleted).
`--restore-other` restores the keeper and merges again (`repo/conflicts.py`). A cycle cannot
arise: a keeper that is alive has merged into nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmcli.sync import shared
from crmcli.sync.tables import BY_ENTITY

CUSTOMERS = BY_ENTITY["customer"]


def merged_away(event: Any) -> str | None:
    """The customer a merge event of the replica merged away (None: not a merge's event)."""
    detail = event.detail or {}
    if event.action == "customer.delete" and detail.get("merged_into"):
        return event.entity_id
    if event.action == "customer.merge":
        return detail.get("merged")
    if event.action == "assignment.end" and detail.get("reason") == "merged":
        return event.customer_id  # ended before it moved: still the other customer's
    return detail.get("merged_from")


@dataclass(frozen=True)
class Refused:
    """One merge the shared database refuses: `other` was to be merged into `keeper`."""

    other: str
    keeper: str
    went_to: str | None  # where the keeper was merged (None: deleted outright)
    event: Any  # the other's deletion


def refused(conn: Any, events: list[Any]) -> dict[str, Refused]:
    """The replica's merges (among `events`, oldest first) whose keeper is deleted in the
    shared database as this push leaves it, keyed by the customer they merged away. The
    replica's own earlier events count: a keeper it restored (resolving a conflict) is
    alive, a customer it merged away stands merged."""
    keepers = {keeper for event in events if (keeper := _keeper(event))}
    if not keepers:
        return {}
    state = shared.rows_by(conn, CUSTOMERS, "id", keepers, ("id", "deleted_at", "merged_into"))
    found: dict[str, Refused] = {}
    for event in events:
        if event.entity != "customer":
            continue
        keeper = state.get(_keeper(event) or "")
        if keeper is not None and keeper["deleted_at"] is not None:
            found[event.entity_id] = Refused(
                event.entity_id, keeper["id"], keeper["merged_into"], event
            )
        elif "deleted_at" in (event.changes or {}):
            merged_into = (event.changes.get("merged_into") or [None, None])[1]
            state[event.entity_id] = {
                "id": event.entity_id, "deleted_at": event.changes["deleted_at"][1],
                "merged_into": merged_into,
            }
    return found


def _keeper(event: Any) -> str | None:
    """The keeper of the merge whose deletion of the other customer `event` is (or None)."""
    if event.action == "customer.delete":
        return (event.detail or {}).get("merged_into")
    return None
