"""Work left with a deactivated member goes to whoever took over from them.

`crm user deactivate eve --transfer-to dan` moves eve's customers (as owner), open tasks and
current roles to dan, but only those the admin's replica holds. Work for eve can reach the
shared database later: made on a replica that had not pulled the deactivation yet (where
eve was still active, so nothing refused it), or pushed before a deactivation whose author
had not pulled it. A push therefore leaves no live work with a deactivated member: what it
writes, and when it deactivates someone, what the shared database still leaves with them,
is handed over exactly as the deactivation did, to the colleague it named (or theirs, if
that one was deactivated too; to the pusher if nobody in the chain is active). Every move
is an ordinary change the push makes, by the pusher, with the reason "eve deactivated",
so it shows in `crm history` on every replica, and `crm sync` says how many it made.

Why a hand-over and not a conflict entry: the admin already decided where eve's work
goes, and nothing is lost (the records arrive, the history shows who they were meant
for). A conflict entry would leave the customer with eve until someone acted, and its
`--restore-other` could only be refused, as `crm user deactivate` refuses eve locally.
"""

from __future__ import annotations

from typing import Any

from crmcli.repo import assignments
from crmcli.repo.users import Actor
from crmcli.sync import shared
from crmcli.sync.plan import Plan
from crmcli.sync.tables import BY_ENTITY

HOLDERS = {"customer": "owner", "task": "assignee", "assignment": "user"}  # entity -> column
LIVE = {  # what counts as someone's live work: what `crm user deactivate` moves
    "customer": "deleted_at IS NULL",
    "task": "status = 'open' AND deleted_at IS NULL",
    "assignment": "until IS NULL AND deleted_at IS NULL",
}


def settle(conn: Any, plan: Plan, events: list[dict]) -> int:
    """Hand over the live work this push would leave with deactivated members (see the
    module doc); `events` are the push's own. Returns how many customers, tasks and roles
    other than owner moved (what `crm user deactivate` counts)."""
    if not any(plan.writes[entity] for entity in (*HOLDERS, "user")):
        return 0
    deactivated = _deactivated(conn, plan)
    leaving = {handle for handle in deactivated.values() if _holds_work(plan, handle)}
    leaving |= {row["handle"] for row in plan.writes["user"].values() if not row["active"]}
    if not leaving:
        return 0
    for entity, column in HOLDERS.items():  # what the shared database still leaves with them
        condition = f'"{column}" = ANY(%s) AND {LIVE[entity]}'
        for row in shared.rows_where(conn, BY_ENTITY[entity], condition, (sorted(leaving),)):
            plan.writes[entity].setdefault(row["id"], row)
    heirs = _heirs(conn, plan, events, deactivated)
    moved = 0
    for entity, column in HOLDERS.items():
        for row in list(plan.writes[entity].values()):
            if row[column] in heirs and _live(entity, row):
                _hand_over(plan, entity, row, heirs[row[column]])
                moved += entity != "assignment" or row["role"] != "owner"
    return moved


def _deactivated(conn: Any, plan: Plan) -> dict[str, str]:
    """Deactivated members as this push leaves them: user id -> handle."""
    found = {
        row["id"]: row["handle"]
        for row in shared.rows_where(conn, BY_ENTITY["user"], "NOT active", ())
    }
    for row in plan.writes["user"].values():
        if row["active"]:
            found.pop(row["id"], None)
        else:
            found[row["id"]] = row["handle"]
    return found


def _live(entity: str, row: dict) -> bool:
    """Whether a row is work `crm user deactivate` would move (see LIVE)."""
    if entity == "task" and row["status"] != "open":
        return False
    return row["deleted_at"] is None and (entity != "assignment" or row["until"] is None)


def _holds_work(plan: Plan, handle: str) -> bool:
    return any(
        row[column] == handle and _live(entity, row)
        for entity, column in HOLDERS.items() for row in plan.writes[entity].values()
    )


def _heirs(conn: Any, plan: Plan, events: list[dict], deactivated: dict[str, str]) -> dict:
    """Deactivated handle -> the active colleague their work goes to: the one their (last)
    deactivation named, followed through deactivations of that one; the pusher where the
    chain ends with nobody active (a deactivation that named no one, a loop)."""
    named: dict[str, str] = {}
    recorded = conn.execute(
        "SELECT entity_id, detail->>'transfer_to' FROM audit_event "
        "WHERE action = 'user.deactivate' AND entity_id = ANY(%s) ORDER BY server_seq",
        (list(deactivated),),
    ).fetchall()
    pushed = [
        (event["entity_id"], event["detail"].get("transfer_to"))
        for event in events if event["action"] == "user.deactivate"
    ]
    for user_id, heir in [*recorded, *pushed]:  # the last deactivation of each decides
        if user_id in deactivated and heir:
            named[deactivated[user_id]] = heir
    leaving = set(deactivated.values())
    heirs = {}
    for handle in leaving:
        heir, seen = handle, {handle}
        while heir in leaving:
            heir = named.get(heir, plan.handle)
            if heir in seen:
                heir = plan.handle
                break
            seen.add(heir)
        heirs[handle] = heir
    return heirs


def _hand_over(plan: Plan, entity: str, row: dict, heir: str) -> None:
    """Move one piece of live work to `heir` as `crm user deactivate` would: a customer's
    owner and a task's assignee change; an assignment ends and the heir's begins."""
    column = HOLDERS[entity]
    leaving = row[column]
    reason = f"{leaving} deactivated"
    if entity == "assignment":
        plan.end_assignment(row, reason)
        opened, event = assignments.opening_rows(
            row["customer_id"], heir, row["role"], by=Actor(plan.handle, plan.role),
            reason=reason, now=plan.now,
        )
        plan.writes["assignment"][opened["id"]] = opened
        plan.made.append(event)
        return
    row.update({column: heir, "updated_at": plan.now, "version": row["version"] + 1})
    customer_id = row["id"] if entity == "customer" else row["customer_id"]
    action = "customer.update" if entity == "customer" else "task.reassign"
    plan.made.append(plan.event(
        action, entity, row["id"], customer_id, changes={column: [leaving, heir]},
        detail={"reason": reason},
    ))
