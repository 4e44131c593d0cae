"""Who may change what: the record permission rules, as pure functions over plain values.

Every member reads every customer and may add notes and tasks to it. Beyond that:

- a customer's fields (an edit, tags, custom fields, a conflict resolution or an import
  that writes them) and its role hand-overs are changed by its owner, its current role
  holders, managers of its owner's department and admins; a customer with no owner, by
  anyone (`may_change_customer`);
- a task is changed by its assignee, its creator and whoever may change its customer
  (`may_change_task`);
- a note is changed or deleted only by its author, its customer's owner and those who may
  delete the customer (managers of the owner's department, admins; of a customer with no
  owner, managers and admins) — not by the customer's other role holders, who add notes
  like everyone (`may_change_note`);
- a customer is deleted, merged away or restored only by a manager of its owner's
  department or an admin; one with no owner, by managers and admins (`may_delete_customer`); a merge
  also needs the right to change the customer that stays (`may_change_customer`);
- acting as another user (`--as`, CRM_USER) on a local database is for an active admin
  remembered by `crm init` (`may_act_as`).

No session, no SQL, no ORM: the caller reads the facts (the owner's handle and department,
the handles holding a role now) wherever it keeps them — the local replica
(`repo/permissions.py`) or the shared database — and asks. `who` is anything with
`handle`, `role` ("member", "manager", "admin") and `department` (`Person`, or the
repository's `Actor`). A manager manages the department named exactly like theirs; a
manager or an owner with no department manages / is managed by no one.

Each rule has a sentence that names it, for the one-line refusal (`change_refusal` …).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol


class Who(Protocol):
    @property
    def handle(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def department(self) -> str | None: ...


@dataclass(frozen=True)
class Person:
    """A user as the rules see them (for callers that hold no `Actor`)."""

    handle: str
    role: str = "member"
    department: str | None = None


def is_admin(who: Who) -> bool:
    return who.role == "admin"


def manages(who: Who, department: str | None) -> bool:
    """Whether `who` is a manager of `department` (compared exactly; None is nobody's)."""
    return who.role == "manager" and department is not None and who.department == department


# --- the rules -----------------------------------------------------------------------------


def may_change_customer(
    who: Who, owner: str | None, owner_department: str | None, holders: Collection[str]
) -> bool:
    """Fields, tags, custom fields and role hand-overs of a customer owned by `owner`
    (whose department is `owner_department`), with `holders` holding a role on it now."""
    return (
        owner is None
        or is_admin(who)
        or who.handle == owner
        or who.handle in holders
        or manages(who, owner_department)
    )


def may_delete_customer(who: Who, owner: str | None, owner_department: str | None) -> bool:
    """Deleting a customer, merging it away into another, or restoring it."""
    if is_admin(who):
        return True
    if owner is None:
        return who.role == "manager"
    return manages(who, owner_department)


def may_change_task(
    who: Who, assignee: str, created_by: str | None, may_change_its_customer: bool
) -> bool:
    """Changing, completing, cancelling, reopening or reassigning a task."""
    return may_change_its_customer or who.handle in (assignee, created_by)


def may_change_note(
    who: Who, author: str | None, owner: str | None, owner_department: str | None
) -> bool:
    """Changing or deleting a note (adding one is open to everyone) on a customer owned by
    `owner`: its author, that owner, or a manager scoped as for deleting the customer."""
    return (
        who.handle == author
        or (owner is not None and who.handle == owner)
        or may_delete_customer(who, owner, owner_department)
    )


def may_act_as(handle: str, remembered: str | None, remembered_is_active_admin: bool) -> bool:
    """Acting as `handle` on a local database whose `crm init` remembered `remembered`."""
    return remembered is None or handle == remembered or remembered_is_active_admin


# --- the sentences that name them ------------------------------------------------------------


def _listed(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _managers(owner_department: str | None) -> list[str]:
    return [f"managers of {owner_department}"] if owner_department is not None else []


def change_rule(owner: str | None, owner_department: str | None) -> str:
    """Who changes a customer's fields, said of this customer."""
    if owner is None:
        return "a customer with no owner is changed by anyone"
    changers = [f"its owner ({owner})", "its role holders", *_managers(owner_department), "admins"]
    return f"its fields are changed by {_listed(changers)}"


def delete_rule(owner: str | None, owner_department: str | None) -> str:
    """Who deletes, merges away or restores a customer, said of this customer."""
    if owner is None:
        return ("a customer with no owner is deleted, merged away or restored only by managers "
                "and admins")
    deleters = _listed([*_managers(owner_department), "admins"])
    return f"a customer owned by {owner} is deleted, merged away or restored only by {deleters}"


def refusal(who: Who, action: str, rule: str) -> str:
    """The one line a refused user reads: who, what they tried, and the rule."""
    return f"{who.handle} may not {action}: {rule}"


def change_refusal(who: Who, customer: str, owner: str | None, owner_department: str | None) -> str:
    return refusal(who, f"change customer {customer}", change_rule(owner, owner_department))


def delete_refusal(
    who: Who, customer: str, owner: str | None, owner_department: str | None, *,
    verb: str = "delete",
) -> str:
    """`verb` is "delete", "merge away" or "restore"."""
    return refusal(who, f"{verb} customer {customer}", delete_rule(owner, owner_department))


def merge_refusal(
    who: Who, gone: str, keep: str, keep_owner: str | None, keep_owner_department: str | None
) -> str:
    """A merge refused for the keeper (one refused for the customer merged away is a
    `delete_refusal(..., merge=True)`)."""
    return refusal(
        who, f"merge {gone} into customer {keep}", change_rule(keep_owner, keep_owner_department)
    )


def task_refusal(
    who: Who,
    task: str,
    customer: str,
    assignee: str,
    created_by: str | None,
    owner: str | None,
    owner_department: str | None,
) -> str:
    people = [f"its assignee ({assignee})"]
    if created_by and created_by != assignee:
        people.append(f"its creator ({created_by})")
    rule = (
        f"a task is changed by {', '.join(people)} and whoever may change its customer "
        f"({change_rule(owner, owner_department)})"
    )
    return refusal(who, f"change task {task!r} of {customer}", rule)


def note_rule(author: str | None, owner: str | None, owner_department: str | None) -> str:
    """Who changes or deletes a note, said of this note."""
    if owner is None:
        changers = [f"its author ({author})", "managers", "admins"]
        return ("a note on a customer with no owner is changed or deleted only by "
                f"{_listed(changers)}")
    changers = [f"its author ({author})", f"the customer's owner ({owner})",
                *_managers(owner_department), "admins"]
    return f"a note is changed or deleted only by {_listed(changers)}"


def note_refusal(
    who: Who, customer: str, author: str | None, owner: str | None, owner_department: str | None
) -> str:
    return refusal(who, f"change a note on {customer}", note_rule(author, owner, owner_department))


def act_as_refusal(handle: str, remembered: str) -> str:
    return (
        f"{remembered} may not act as {handle} on this database: acting as another user "
        f"(--as, CRM_USER) is for an active admin remembered by `crm init` ({remembered} is not)"
    )


# --- approvals -------------------------------------------------------------------------------
# An approval names whom it waits for (`target`): `role:manager` (a manager of the
# customer's department: its `department`, else its owner's; of a customer with neither,
# any manager), `role:admin`, `dept:DEPT` (a manager of DEPT) or `user:HANDLE`. Admins
# decide any; nobody decides their own request. The shared database's
# `crm_may_decide` (`sync/judge_approvals.py`) is this rule in SQL.


def may_decide_approval(
    who: Who, target: str, requested_by: str | None, department: str | None
) -> bool:
    """Approving or rejecting a request (or writing its decision in a conflict's
    resolution) made by `requested_by` for a customer of `department`."""
    if who.handle == requested_by:
        return False
    if is_admin(who):
        return True
    kind, _, name = target.partition(":")
    if kind == "role":
        return name == "manager" and who.role == "manager" and (
            department is None or who.department == department)
    if kind == "dept":
        return manages(who, name)
    return kind == "user" and who.handle == name


def approvers_rule(target: str, department: str | None) -> str:
    """Who decides an approval with this target, said of it."""
    kind, _, name = target.partition(":")
    if kind == "role" and name == "manager":
        whom = f"managers of {department}" if department else "managers"
    elif kind == "dept":
        whom = f"managers of {name}"
    elif kind == "user":
        whom = name
    else:
        whom = ""
    return f"it is decided by {whom + ' or ' if whom else ''}admins, never by its requester"


def decide_refusal(who: Who, approval: str, target: str, department: str | None) -> str:
    return refusal(who, f"decide approval {approval}", approvers_rule(target, department))
