"""What the pusher may change, judged as the shared database will judge it (`judge_writes.py`).

The shared database refuses a push holding a change its author has no right to make. A
replica's changes can lose their right while it is offline (a role handed to someone
else, a customer given to another department), so before sending, a push keeps such
changes in conflict entries instead, as it keeps a value someone else changed first:
nothing is lost, someone entitled can take it with `crm conflicts resolve`, and the sync
is not stuck. The rules are the record permissions of `crmcli.permissions`, the same
the repository applies and the shared database's `crm_may_change` / `crm_may_delete`
spell in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crmcli import permissions
from crmcli.sync import masks, shared
from crmcli.sync.schema import Who
from crmcli.sync.tables import BY_ENTITY

GUARDED = frozenset({"customer", "note", "attachment", "task", "assignment"})
REMOVALS = frozenset({"deleted_at", "merged_into"})  # changes that delete, merge or restore


@dataclass
class Standing:
    """Who answers for a customer in the shared database, before the push."""

    owner: str | None
    owner_department: str | None
    holders: set[str] = field(default_factory=set)


def may_change(who: Who, standing: Standing | None) -> bool:
    """`permissions.may_change_customer` for a customer in the shared database (None: one
    this push creates)."""
    return standing is None or permissions.may_change_customer(
        who, standing.owner, standing.owner_department, standing.holders
    )


def may_change_note(who: Who, author: str | None, standing: Standing | None) -> bool:
    """`permissions.may_change_note` for a note on a customer in the shared database."""
    return standing is None or permissions.may_change_note(
        who, author, standing.owner, standing.owner_department
    )


def may_remove(who: Who, standing: Standing | None) -> bool:
    return standing is None or permissions.may_delete_customer(
        who, standing.owner, standing.owner_department
    )


def standings(conn: Any, customer_ids: Iterable[str]) -> dict[str, Standing]:
    """The standing of each customer the shared database holds (three round trips)."""
    customers = shared.rows_by(conn, BY_ENTITY["customer"], "id", customer_ids, ("id", "owner"))
    owners = {row["owner"] for row in customers.values() if row["owner"]}
    departments = {
        handle: row["department"]
        for handle, row in shared.rows_by(
            conn, BY_ENTITY["user"], "handle", owners, ("handle", "department")
        ).items()
    }
    found = {
        customer_id: Standing(row["owner"], departments.get(row["owner"]))
        for customer_id, row in customers.items()
    }
    if found:
        for row in shared.rows_where(
            conn, BY_ENTITY["assignment"],
            "customer_id = ANY(%s) AND until IS NULL AND deleted_at IS NULL", (list(found),),
        ):
            found[row["customer_id"]].holders.add(row["user"])
    return found


def may_take(who: Who, entity: str, current: dict, paths: list[str],
             standing: Standing | None) -> bool:
    """Whether `who` may change `paths` of the shared record `current` of this kind."""
    if entity == "customer":
        removing = any(path in REMOVALS for path in paths)
        editing = any(path not in REMOVALS for path in paths)
        return (not removing or may_remove(who, standing)) and (
            not editing or may_change(who, standing)
        )
    changes_customer = may_change(who, standing)
    if entity == "note":
        return may_change_note(who, current.get("author"), standing)
    if entity == "task":
        return permissions.may_change_task(
            who, current.get("assignee"), current.get("created_by"), changes_customer
        )
    if entity == "assignment" and "acknowledged_at" in paths:
        # only the user a role was given to acknowledges it (an admin pushes others' work)
        if current.get("user") != who.handle and not permissions.is_admin(who):
            return False
        return set(paths) == {"acknowledged_at"} or changes_customer
    return changes_customer


NO_RIGHT = "you may no longer write it"
CHANGED = "changed by someone else since your last sync"


def sendable_secrets(
    conn: Any, who: Who, secrets: dict[str, dict[str, Any]], bases: dict[tuple[str, str], str],
    writes: Iterable[str], standing: dict[str, Standing],
) -> tuple[dict[str, dict[str, Any]], list[tuple[str, str, str]]]:
    """The sensitive values a push takes to the shared database, and those it withholds
    as (customer id, field, why): for a customer the push does not write, one deleted
    there or no longer the pusher's to change, or a field they may no longer read (NO_RIGHT);
    or a value someone else changed since this replica last pulled its mask (CHANGED:
    `bases` are the digests it pulled; the first change stands, as for any field). A
    withheld value cannot wait in a conflict entry (those never hold sensitive values): the
    replica forgets it and the sync names it, for its author to set again if it should."""
    if not secrets:
        return {}, []
    unreadable = set(conn.execute("SELECT crm_unreadable()").fetchone()[0])
    live = {row[0] for row in conn.execute(
        "SELECT id FROM customer WHERE id = ANY(%s) AND deleted_at IS NULL", (list(secrets),))}
    current = {(c, f): digest for c, f, _mask, digest in masks.fetch(conn, list(secrets))}
    written = set(writes)
    sent: dict[str, dict[str, Any]] = {}
    withheld: list[tuple[str, str, str]] = []
    for customer_id, values in secrets.items():
        known = standing.get(customer_id)  # None: a customer this push creates
        entitled = customer_id in written and (
            known is None or (customer_id in live and may_change(who, known)))
        for name, value in values.items():
            if not entitled or name in unreadable:  # (one declared by this push is not)
                withheld.append((customer_id, name, NO_RIGHT))
            elif bases.get((customer_id, name)) != current.get((customer_id, name)):
                withheld.append((customer_id, name, CHANGED))
            else:
                sent.setdefault(customer_id, {})[name] = value
    return sent, withheld
