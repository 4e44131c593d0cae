"""One current holder per role, when two replicas hand the same role over at once.

A replica keeps one current holder per customer and role (`repo/assignments.py`), but two
replicas offline may both hand a role over. When an assignment this push adds meets
another current one for the same customer and role, one stays and the others end (an
`assignment.end` event at the shared time):
- for the owner role, the one that agrees with the customer's `owner` field as the push
  leaves it (that field is merged like any other), so the rows always say what the
  customer says;
- for the other roles, the one that reached the shared database first.
An assignment of this push that had to end is kept in a conflict entry (resolving it with
`--restore-other` hands the role over), unless that is said already: the same person holds
the role (agreement), or the customer's `owner` field conflicts (resolving that one hands
the customer over). An assignment added to a customer deleted elsewhere arrives ended:
its "deleted" conflict entry restores the customer and hands the role over.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from crmcli.sync import merge, shared
from crmcli.sync.plan import Plan
from crmcli.sync.tables import BY_ENTITY

ASSIGNMENTS = BY_ENTITY["assignment"]
CUSTOMERS = BY_ENTITY["customer"]


def settle(
    conn: Any, plan: Plan, changed: list[merge.RecordChanges], local: dict[str, dict]
) -> None:
    """End what cannot hold its role (see the module doc). `changed` are the replica's
    changes to assignments in this push, `local` its rows of them."""
    written = plan.writes["assignment"]
    arriving = []
    for record_id, changes in plan.added["assignment"].items():
        row = written[record_id]
        if row["until"] is not None or row["deleted_at"] is not None:
            continue
        if plan.has_conflict("assignment", record_id):  # added to a customer deleted elsewhere
            plan.end_assignment(row, "the customer was deleted")
        else:
            arriving.append((changes, row))
    if not arriving:
        return
    customer_ids = {row["customer_id"] for _changes, row in arriving}
    owners = _owners(conn, plan, customer_ids)
    candidates: dict[tuple[str, str], list[dict]] = {}
    for row in _current(conn, customer_ids):
        if row["id"] not in written or written[row["id"]]["until"] is None:
            candidates.setdefault((row["customer_id"], row["role"]), []).append(row)
    for _changes, row in arriving:  # in the order the replica made them
        candidates.setdefault((row["customer_id"], row["role"]), []).append(row)
    seen = _seen(changed, local)
    added = {row["id"]: changes for changes, row in arriving}
    for (customer_id, role), rows in candidates.items():
        agreeing = [row for row in rows if role != "owner" or row["user"] == owners[customer_id]]
        stays = (agreeing or rows)[0]
        for row in rows:
            if row is stays:
                continue
            row = written.setdefault(row["id"], row)
            plan.end_assignment(row, f"{stays['user']} holds the {role} role")
            said = row["user"] == stays["user"] or (
                role == "owner" and plan.has_conflict("customer", customer_id, "owner")
            )
            if row["id"] in added and not said:
                changes = dataclasses.replace(
                    added[row["id"]], base={"user": seen.get((customer_id, role))}
                )
                plan.conflict("edit", changes, row["id"], ["user"], row, stays)


def _owners(conn: Any, plan: Plan, customer_ids: set[str]) -> dict[str, str | None]:
    """Each customer's owner as this push leaves it."""
    coming = plan.writes["customer"]
    found = shared.rows_by(conn, CUSTOMERS, "id", customer_ids - coming.keys(), ("id", "owner"))
    return {
        customer_id: (coming.get(customer_id) or found[customer_id])["owner"]
        for customer_id in customer_ids
    }


def _current(conn: Any, customer_ids: set[str]) -> list[dict]:
    """The current assignments of these customers in the shared database, in the order
    they reached it."""
    return shared.rows_where(
        conn, ASSIGNMENTS, "customer_id = ANY(%s) AND until IS NULL AND deleted_at IS NULL",
        (list(customer_ids),),
    )


def _seen(changed: list[merge.RecordChanges], local: dict[str, dict]) -> dict[tuple, str]:
    """(customer, role) -> the holder this replica had seen and ended by its own hand-over."""
    return {
        (local[c.entity_id]["customer_id"], local[c.entity_id]["role"]): local[c.entity_id]["user"]
        for c in changed
        if "until" in c.base and c.base["until"] is None and local[c.entity_id]["until"] is not None
    }
