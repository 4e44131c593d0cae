"""Customers: create, edit, delete, find, and the duplicate guard (restore and merge:
`customer_merges`).

Values arrive as the text people typed (from options, import cells or form fields) keyed by
canonical field name, Chinese alias or custom field name; `fields.parse_customer` turns
them into stored values, so every writer applies the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from crmcli import clock, fields, names
from crmcli.db import region
from crmcli.errors import Conflict, Duplicate, Invalid, NotFound
from crmcli.ids import short
from crmcli.models import Assignment, AuditEvent, Customer, User
from crmcli.names import name_key, same_name
from crmcli.repo import (
    approvals,
    assignments,
    audit,
    custom_fields,
    permissions,
    refs,
    routing,
    sensitive,
    users,
)
from crmcli.repo.machine import jsonable, new_row
from crmcli.repo.users import Actor

# --- identity ----------------------------------------------------------------------------

KEYS_REMEMBERED = 8192


@lru_cache(maxsize=KEYS_REMEMBERED)
def dedupe_key(name: str, company: str | None) -> str:
    """What the duplicate guard compares besides phone and e-mail: name + company, folded.

    The name is folded as identity folds it (`names.name_key`: 張 三 is 张三), so the
    name + company rule and the phone + name rule agree on who is the same person.
    Remembered for the last few thousand: an import asks for each row's key twice, to
    look for its duplicates and when it writes the row, a batch (2,000 rows) apart."""
    return f"{name_key(name)}\x1f{fields.fold(company or '')}"


def derived(name: str, company: str | None) -> dict[str, str]:
    """The local columns derived from a customer's name and company, set by every write
    of them: the duplicate guard's key, the pinyin lists sort by and the spellings search
    finds the name by (`names.spelled`)."""
    sort_key, spelled = names.spelled(name)
    return {"dedupe_key": dedupe_key(name, company), "sort_key": sort_key, "spelled": spelled}


def derive(customer: Customer) -> None:
    for column, value in derived(customer.name, customer.company).items():
        setattr(customer, column, value)


def describe(customer: Customer) -> str:
    company = f" ({customer.company})" if customer.company else ""
    return f"{short(customer.id)}  {customer.name}{company}"


def resolve(s: Session, ref: str, *, deleted: bool = False) -> Customer:
    """The live customer `ref` names: an id prefix (full or short form) or the exact name.

    With `deleted`, a deleted or merged-away customer too (its history stays readable);
    a live one is preferred when a name is shared. A reference to a customer that is gone
    says where it went rather than just "no customer matches".
    """
    try:
        return refs.resolve(
            s, Customer, ref, kind="customer", describe=describe, name_column=Customer.name,
            deleted=deleted,
        )
    except NotFound as error:
        raise _why_gone(s, ref) or error from None


def by_id(s: Session, customer_id: str) -> Customer:
    """A customer by its full id, deleted ones included (tasks and notes point at them)."""
    customer = s.exec(select(Customer).where(Customer.id == customer_id)).first()
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}")
    return customer


def live(s: Session, customer_id: str) -> Customer:
    """The customer with this full id, if it is not deleted; else NotFound saying what
    became of it. For a front end acting on a customer it showed: `resolve` would answer
    "no customer matches '<full id>'", a reference the user never typed."""
    customer = by_id(s, customer_id)
    fate = gone(s, customer)
    if fate:
        raise NotFound(fate)
    return customer


def gone(s: Session, customer: Customer, name: str | None = None) -> str | None:
    """What became of a deleted customer, or None while it is live: deleted, or merged
    into whom (following a chain of merges). `name` is how the message names it: the
    reference the user typed, else `describe`."""
    if customer.deleted_at is None:
        return None
    name = name or describe(customer)
    survivor, seen = customer, set()
    while survivor.merged_into and survivor.id not in seen:
        seen.add(survivor.id)
        survivor = by_id(s, survivor.merged_into)
    if not seen:
        return f"customer {name} was deleted"
    since = ", since deleted" if survivor.deleted_at is not None else ""
    return f"customer {name} was merged into {describe(survivor)}{since}"


def ref_conditions(ref: str) -> list[Any]:
    conditions: list[Any] = [Customer.name == ref.strip()]
    if (by_id_prefix := refs.id_matches(Customer, ref)) is not None:
        conditions.append(by_id_prefix)
    return conditions


def _why_gone(s: Session, ref: str) -> NotFound | None:
    """What became of the one deleted customer `ref` names: merged into whom, or deleted."""
    found = s.exec(select(Customer).where(or_(*ref_conditions(ref))).limit(2)).all()
    if len(found) != 1 or found[0].deleted_at is None:
        return None
    fate = gone(s, found[0], repr(ref))
    if not found[0].merged_into:
        fate += f"; `crm history {ref}` still shows it"
    return NotFound(fate)


def find_duplicate(
    s: Session,
    customer: Customer,
    *,
    changed: Iterable[str] = ("phone", "email", "name"),
    shared_contacts: bool = False,
) -> tuple[Customer, str] | None:
    """Another live customer with the same phone, e-mail, or name + company as `customer`,
    and which one matched, looking only at the keys `changed` touches (a new customer:
    all). With `shared_contacts`, a phone or e-mail held under another name is no
    duplicate (`crmcli.names.same_name`): an import's --on-name-mismatch create."""
    keys = []
    if customer.phone and "phone" in changed:
        keys.append(("phone", Customer.phone == customer.phone))
    if customer.email and "email" in changed:
        keys.append(("email", Customer.email == customer.email))
    if {"name", "company"} & set(changed):
        keys.append(("name and company", Customer.dedupe_key == customer.dedupe_key))
    if not keys:
        return None
    query = select(Customer).where(or_(*(condition for _, condition in keys)),
                                   Customer.deleted_at.is_(None), Customer.id != customer.id)
    matches = s.exec(query.order_by(Customer.pk).limit(50)).all()
    for reason, _ in keys:
        for match in matches:
            if reason == "name and company":
                if match.dedupe_key == customer.dedupe_key:
                    return match, reason
            elif getattr(match, reason) == getattr(customer, reason) and (
                    not shared_contacts or same_name(match.name, customer.name)):
                return match, reason
    return None


def guard_duplicates(s: Session, customer: Customer, **keys: Any) -> None:
    found = find_duplicate(s, customer, **keys)
    if found:
        match, reason = found
        raise Duplicate(f"same {reason} as existing customer {describe(match)}")


# --- writes ------------------------------------------------------------------------------


def parse(s: Session, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Typed text → (standard values, custom values), by the data dictionary's rules."""
    return fields.parse_customer(raw, region(s), custom_fields.declared(s))


def create(
    s: Session, raw: dict[str, Any], *, by: Actor, allow_duplicate: bool = False,
    router: routing.Router | None = None,
) -> Customer:
    """Add a customer; the owner gets an owner assignment. The owner is the one given,
    else the one the first matching routing rule chooses (`router`: the front end's, with
    the turns of its database), else the acting user."""
    standard, extra = parse(s, raw)
    sensitive.check_write(s, by, [*standard, *extra])  # only their readers write them
    owner = users.owner(s, standard.get("owner") or by.handle)
    rows = new_rows(standard, extra, owner=owner, by=by)
    customer = Customer(**rows.customer)
    if not allow_duplicate:
        guard_duplicates(s, customer)
    if not standard.get("owner"):  # routed once refusals are behind: a turn is not wasted
        (routed,) = (router or routing.Router(s)).route([(standard, extra)])
        if routed:
            rows = new_rows(standard, extra, owner=routed.owner, by=by, rule=routed.rule,
                            customer_id=customer.id)
            customer = Customer(**rows.customer)
    s.add(customer)
    s.flush()
    created, assigned = rows.events
    s.add_all([AuditEvent(**created), Assignment(**rows.assignment), AuditEvent(**assigned)])
    return customer


@dataclass
class NewCustomer:
    """The rows one new customer consists of (columns as dicts, ready to insert)."""

    customer: dict[str, Any]
    assignment: dict[str, Any]  # the owner's
    events: list[dict[str, Any]]  # customer.create, then assignment.create


def new_rows(
    standard: dict[str, Any],
    extra: dict[str, Any],
    *,
    owner: User,
    by: Actor,
    customer_id: str | None = None,
    now: datetime | None = None,
    rule: str | None = None,
) -> NewCustomer:
    """A new customer from parsed values: the defaults (stage, the owner's department), the
    owner assignment, and the audit events, all stamped `now`. `create` and bulk imports
    both build with it; an import of an export keeps the exported `customer_id`. An owner a
    routing `rule` chose is assigned for that reason (and waits for acknowledgement)."""
    if not standard.get("name"):
        raise Invalid("is required", "name")
    now = now or clock.now()
    values = {
        **({"id": customer_id} if customer_id else {}),
        **standard,
        "owner": owner.handle,
        "stage": standard.get("stage") or fields.DEFAULT_STAGE,
        "extra": {k: v for k, v in extra.items() if v is not None},
        **derived(standard["name"], standard.get("company")),
        "created_by": by.handle,
        "updated_by": by.handle,
        "created_at": now,
        "updated_at": now,
    }
    values.setdefault("department", owner.department)
    row = new_row(Customer, values)
    created = audit.event_row(
        by=by.handle, action="customer.create", entity="customer", entity_id=row["id"],
        customer_id=row["id"], changes=audit.snapshot_values(row), at=now,
    )
    assignment, assigned = assignments.opening_rows(
        row["id"], owner.handle, "owner", by=by, now=now,
        reason=f"rule {rule}" if rule else "created", rule=rule,
    )
    return NewCustomer(row, assignment, [created, assigned])


def update(
    s: Session,
    customer: Customer,
    raw: dict[str, Any],
    *,
    by: Actor,
    allow_duplicate: bool = False,
    expected: dict[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Edit fields; an empty value clears a field. Returns {field: [before, after]}.

    `expected` makes the edit a compare-and-set: the values an editor showed when it
    opened (`field_values`). If any of them is not the stored value any more, someone
    else changed it meanwhile and the edit is refused (Conflict) before anything is
    written, instead of saving over their change. Values are compared, not `version`:
    sync does not keep versions in step (a push folds several local bumps into one, a
    pull takes the shared record's), so a version can match while the values moved.
    A new owner is a hand-over, recorded as an assignment like `crm assign --role owner`.
    Only who may change the customer may edit it (`crmcli.permissions`).
    """
    permissions.require_change(s, customer, by)
    if expected is not None:
        _refuse_if_changed(customer, expected)
    standard, extra = parse(s, raw)
    sensitive.check_write(s, by, [*standard, *extra])  # only their readers write them
    changes = change(s, customer, standard, extra, by=by, allow_duplicate=allow_duplicate)
    return changes


def expected_values(s: Session, typed: dict[str, str]) -> dict[str, Any]:
    """Values a user typed as the ones they expect stored (`crm customer edit --expect`),
    in the stored form `update` compares: `--expect phone="138 0013 8000"` expects
    +8613800138000, an empty value expects the field empty. A sensitive field cannot be
    expected: the answer (refused or not) would tell its value to whoever may not read it,
    and a team replica does not hold it to compare anyway."""
    standard, extra = parse(s, typed)
    standard_hidden = {spec.name for spec in fields.CUSTOMER_FIELDS if spec.sensitive}
    hidden = sorted(standard.keys() & standard_hidden
                    | extra.keys() & set(sensitive.custom_sensitive(s)))
    if hidden:
        raise Invalid(f"{', '.join(hidden)} is sensitive: compare fields everyone reads", "expect")
    return {**standard, **extra}


def field_values(customer: Customer, names: Iterable[str]) -> dict[str, Any]:
    """The stored values of these fields (data-dictionary or custom field names): what an
    editor shows, and hands back to `update` as `expected` when it saves."""
    return {
        name: getattr(customer, name) if name in fields.FIELD_BY_NAME else customer.extra.get(name)
        for name in names
    }


def _refuse_if_changed(customer: Customer, expected: dict[str, Any]) -> None:
    now = field_values(customer, expected)
    moved = [name for name, value in expected.items() if now[name] != value]
    if moved:
        raise Conflict(
            f"{describe(customer)} was changed by {customer.updated_by} since you opened it "
            f"({', '.join(moved)}); reload and edit again"
        )


def change(
    s: Session,
    customer: Customer,
    standard: dict[str, Any],
    extra: dict[str, Any],
    *,
    by: Actor,
    allow_duplicate: bool = False,
    shared_contacts: bool = False,
) -> dict[str, list[Any]]:
    """Set parsed values on a customer, audited; `update`, bulk imports and conflict
    resolutions share it. Only who may change the customer may (`crmcli.permissions`).
    The duplicate guard looks at the keys the change touches (`find_duplicate`).

    A refused value (or duplicate) raises before anything is recorded, but may leave the
    object modified: the caller rolls back (or expires it). Values that change nothing
    need no right: a member importing an export again is not refused.
    """
    cleared = sensitive.clears_held(s, customer, {**standard, **extra})
    if cleared or _would_change(customer, standard, extra):
        permissions.require_change(s, customer, by)
    if "name" in standard and not standard["name"]:
        raise Invalid("is required", "name")
    if "stage" in standard and standard["stage"] is None:
        raise Invalid("cannot be empty", "stage")
    if "stage" in standard:  # the team may make `won` wait for an approval
        approvals.require_for_stage(s, customer, standard["stage"])
    new_owner = standard.pop("owner", None)
    if new_owner and new_owner != customer.owner:
        users.owner(s, new_owner)  # refused before anything is set
    if extra:
        merged = {**customer.extra, **extra}
        standard["extra"] = {k: v for k, v in merged.items() if v is not None}
    changes = audit.apply(customer, standard, by.handle, unknown=cleared)
    derive(customer)
    if changes and not allow_duplicate:
        guard_duplicates(s, customer, changed=changes.keys(), shared_contacts=shared_contacts)
    if changes:
        audit.record(
            s, by=by.handle, action="customer.update", entity="customer",
            entity_id=customer.id, customer_id=customer.id, changes=changes,
        )
    if new_owner and new_owner != customer.owner:
        previous = customer.owner
        assignments.assign(s, customer, new_owner, "owner", by=by, reason=None)
        changes["owner"] = [previous, customer.owner]
    return changes


def _would_change(customer: Customer, standard: dict[str, Any], extra: dict[str, Any]) -> bool:
    """Whether `change` would change anything (an owner of None hands nothing over)."""
    return any(
        getattr(customer, name) != value
        for name, value in standard.items()
        if name != "owner" or value is not None
    ) or any(customer.extra.get(name) != value for name, value in extra.items())


def delete(s: Session, customer: Customer, *, by: Actor) -> None:
    """Soft-delete: the record stays as a tombstone so the deletion can sync. Only a
    manager of the owner's department or an admin may (`crmcli.permissions`)."""
    permissions.require_delete(s, customer, by)
    changes = audit.apply(customer, {"deleted_at": clock.now()}, by.handle)
    audit.record(
        s, by=by.handle, action="customer.delete", entity="customer", entity_id=customer.id,
        customer_id=customer.id, changes=changes,
    )


def transfer_owned(s: Session, leaving: str, heir: str, *, by: Actor, reason: str) -> int:
    """Hand every live customer owned by `leaving` to `heir` (offboarding)."""
    owned = s.exec(select(Customer).where(Customer.owner == leaving, Customer.deleted_at.is_(None)))
    count = 0
    for customer in owned:
        assignments.assign(s, customer, heir, "owner", by=by, reason=reason)
        count += 1
    return count


def as_dict(customer: Customer, custom: Iterable[str] = ()) -> dict[str, Any]:
    """The machine form: data-dictionary names, full id, then the custom fields.

    `custom` names the declared custom fields, so every row has the same keys (CSV
    columns) whether or not this customer has a value for them.
    """
    values: dict[str, Any] = {"id": customer.id}
    for spec in fields.CUSTOMER_FIELDS:
        values[spec.name] = jsonable(getattr(customer, spec.name))
    values["sla"] = fields.show_duration(customer.sla) or None
    for name in custom:
        values[name] = customer.extra.get(name)
    for name, value in customer.extra.items():
        values.setdefault(name, value)
    values["created_at"] = clock.iso(customer.created_at)
    values["updated_at"] = clock.iso(customer.updated_at)
    values["version"] = customer.version
    if customer.deleted_at is not None:  # `crm customer list --deleted`
        values["deleted_at"] = clock.iso(customer.deleted_at)
        values["deleted_by"] = customer.updated_by
        values["merged_into"] = customer.merged_into
    return values
