"""Checklist-gated hand-overs (`crm handoff`, the dashboard's "Hand over").

A role passes to a colleague only once the customer's record holds what the receiver
needs: the fields of the checklist (`--require`, else the team's default for the role,
setting `handoff.require.ROLE`, else none) must not be empty, or nothing is written and
the refusal lists the empty ones. Then, in the caller's one transaction:

- the role is assigned to the receiver as `crm assign` does it (`assignments.assign`:
  the previous holder's assignment ends, the new one waits for `crm ack`), with the
  hand-over note as its reason;
- the receiver gets the task "contact within sla", due the customer's response-time
  limit from now, in working minutes when the team set `work_hours` (as the SLA clock
  counts, `repo/sla.py`; no sla: no due date);
- one `customer.handoff` event (entity "handoff", its id the new assignment's) records
  the hand-over and carries what the receiver reads first: the note of whoever handed
  over and the customer's latest verbatim words (the newest note's quote), as they were
  at that moment. It syncs like every event; the receiver's views (`crm ack`, My work,
  the customer card and screen) find it by the assignment waiting for them (`of`,
  `pending`). No table of its own: nothing new for the shared database to judge.

Sensitive fields in a checklist are checked only for those who may read them: anyone
else is refused (permission denied) whatever the value, since an answer "empty" or "not
empty" would tell them something about a value they may not read (on a team their
replica does not even hold it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crmcli import clock, fields, workhours
from crmcli.errors import Invalid, PermissionDenied
from crmcli.models import Assignment, AuditEvent, Customer, Task
from crmcli.repo import (
    assignments,
    audit,
    custom_fields,
    notes,
    permissions,
    sensitive,
    settings,
    sla,
    tasks,
    users,
)
from crmcli.repo.users import Actor

ACTION = "customer.handoff"
ENTITY = "handoff"
TASK_TITLE = "contact within sla"
SETTING = "handoff.require."  # + a role: the team's default checklist for that role


class Incomplete(Invalid):
    """The record lacks what the checklist requires; `missing` names the empty fields."""

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Handover:
    """One hand-over as its receiver reads it first (plain data for both front ends)."""

    assignment_id: str
    customer_id: str | None
    to: str
    role: str
    by: str
    at: datetime
    note: str | None = None
    quote: str | None = None  # the customer's latest verbatim words when it was handed over
    quote_at: datetime | None = None
    task_id: str | None = None
    due: datetime | None = None
    checked: list[str] = field(default_factory=list)
    previous: list[str] = field(default_factory=list)  # who held the role before


# --- the checklist ---------------------------------------------------------------------


def split_names(text: str | Iterable[str]) -> list[str]:
    """Field names from `requirement,sla` (or `需求，响应时限`, or repeated values)."""
    return fields.parse_tags(text)


def parse_checklist(text: str | Iterable[str]) -> list[str]:
    """A checklist as stored in the team setting: standard fields by their canonical name
    (aliases accepted), anything else kept as typed (a custom field, checked against the
    declared ones when a hand-over uses it)."""
    return [fields.canonical_field(name) or name for name in split_names(text)]


def show_checklist(value: Any) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) and value else "(none)"


settings.register(settings.Known(
    SETTING, "fields a hand-over of role NAME checks by default (crm handoff), e.g. "
    "handoff.require.service requirement,sla,phone", parse_checklist, show_checklist,
    member=fields.parse_role))


def checklist(s: Session, role: str, require: str | Iterable[str] | None) -> list[str]:
    """The fields a hand-over of `role` checks: `require` if given (even empty: none),
    else the team's default for the role, else none; each the canonical name of a
    standard field or of a declared custom field (Invalid otherwise, naming where the
    name came from)."""
    if require is None:
        wanted, where = settings.get(s, SETTING + role) or [], f"team setting {SETTING}{role}"
    else:
        wanted, where = require, "require"
    listed = isinstance(wanted, (list, tuple)) and all(isinstance(n, str) for n in wanted)
    if not (isinstance(wanted, str) or listed):  # a value made by hand elsewhere
        raise Invalid("is not a list of field names", where)
    declared = {fields.fold(name): name for name in custom_fields.declared(s)}
    names = []
    for typed in split_names(wanted):
        name = fields.canonical_field(typed) or declared.get(fields.fold(typed))
        if name is None:
            raise Invalid(f"{typed!r} is not a field (standard fields, and custom fields "
                          "declared with `crm field add`)", where)
        if name not in names:
            names.append(name)
    return names


def _stored(customer: Customer, name: str) -> Any:
    if name in fields.FIELD_BY_NAME:
        return getattr(customer, name)
    return (customer.extra or {}).get(name)


def empty_fields(s: Session, customer: Customer, names: list[str], by: Actor) -> list[str]:
    """Which of `names` the customer's record leaves empty. A sensitive field is checked
    only for one of its readers (a team replica holds its mask, not its value);
    PermissionDenied for anyone else (see the module doc)."""
    seen = sensitive.clearance(s, by)
    hidden = [name for name in names if not seen.may_read(name)]
    if hidden:
        rules = "; ".join(f"{name}: {', '.join(seen.rules[name])}" for name in hidden)
        raise PermissionDenied(
            f"{by.handle} ({seen.who}) may not hand {customer.name} over with "
            f"{', '.join(hidden)} required: only its readers learn whether it is empty "
            f"(readers are {rules})")
    found = []
    for name in names:
        value = sensitive.with_mask(seen, customer.id, name, _stored(customer, name))
        if value is None or value == "" or value == [] or value == {}:
            found.append(name)
    return found


def refusal(customer: Customer, to: str, role: str, missing: list[str]) -> Incomplete:
    verb = "is" if len(missing) == 1 else "are"
    return Incomplete(f"cannot hand {customer.name} over to {to} as {role}: "
                      f"{', '.join(missing)} {verb} empty", missing)


# --- the hand-over ---------------------------------------------------------------------


def due_for(s: Session, customer: Customer, now: datetime) -> datetime | None:
    """When the receiver's first contact is due: the customer's sla from now, counted as
    its SLA clock counts it (working minutes when the team set `work_hours`,
    `repo/sla.py`); None without an sla."""
    if not customer.sla:
        return None
    return workhours.add(now, customer.sla, workhours.work_hours(settings.get(s, sla.WORK_HOURS)))


def hand_over(
    s: Session,
    customer: Customer,
    to: str,
    role: str,
    *,
    by: Actor,
    require: str | Iterable[str] | None = None,
    note: str | None = None,
) -> tuple[Handover, Task]:
    """Hand `role` of `customer` to `to` once the checklist is complete (see the module
    doc); returns the hand-over as its receiver reads it, and the receiver's task.

    Refused before anything is written: an unknown role or field (Invalid), an unknown
    receiver (NotFound) or a deactivated one (Invalid), one who may not assign the role
    (PermissionDenied: who may change the customer), the current holder (Invalid),
    a required sensitive field the actor may not read (PermissionDenied), an empty
    required field (`Incomplete`)."""
    role = fields.parse_role(role)
    receiver = users.get_active(s, to)
    permissions.require_change(s, customer, by)
    note = fields.parse_text(note or "", "note", 500) or None
    holders = assignments.current(s, customer.id, role)
    if any(row.user == receiver.handle for row in holders):
        raise Invalid(f"{receiver.handle} already is {role} of {customer.name}: "
                      "nothing to hand over", "to")
    names = checklist(s, role, require)
    missing = empty_fields(s, customer, names, by)
    if missing:
        raise refusal(customer, receiver.handle, role, missing)

    row, _ = assignments.assign(s, customer, receiver.handle, role, by=by, reason=note)
    due = due_for(s, customer, clock.now())
    task = tasks.add(s, customer, _task_title(customer), by=by, assignee=receiver.handle,
                     due=due)
    said = notes.latest_quote(s, customer.id)
    detail = {
        "to": receiver.handle, "role": role, "from": [holder.user for holder in holders],
        "checked": names, "note": note, "quote": said.quote if said else None,
        "quote_note": said.id if said else None,
        "quote_at": clock.iso(said.at) if said else None,
        "task": task.id, "due": clock.iso(due),
    }
    event = audit.record(s, by=by.handle, action=ACTION, entity=ENTITY, entity_id=row.id,
                         customer_id=customer.id, detail=detail)
    return from_event(event), task


def _task_title(customer: Customer) -> str:
    if customer.sla:
        return f"{TASK_TITLE} ({fields.show_duration(customer.sla)})"
    return TASK_TITLE


# --- reading hand-overs back -----------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _texts(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def from_event(event: Any) -> Handover:
    """A `customer.handoff` event (an AuditEvent, or a row of its columns) as a Handover.
    Its detail came perhaps from another replica: whatever is not of the expected kind is
    left out, never trusted."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    return Handover(
        assignment_id=event.entity_id or "", customer_id=event.customer_id,
        to=_text(detail.get("to")) or "", role=_text(detail.get("role")) or "",
        by=event.actor, at=event.at, note=_text(detail.get("note")),
        quote=_text(detail.get("quote")), quote_at=_time(detail.get("quote_at")),
        task_id=_text(detail.get("task")), due=_time(detail.get("due")),
        checked=_texts(detail.get("checked")), previous=_texts(detail.get("from")),
    )


CHUNK = 500  # assignment ids asked at once (SQLite bounds a statement's parameters)


def of(s: Session, assignment_ids: Iterable[str]) -> dict[str, Handover]:
    """The hand-over that made each of these assignments, by assignment id (those made
    by a plain `crm assign` have none). Reads the events' columns, not records: the
    notifications ask for every assignment waiting (`notice_sources`)."""
    ids = list(dict.fromkeys(assignment_ids))
    columns = (AuditEvent.entity_id, AuditEvent.customer_id, AuditEvent.actor,
               AuditEvent.at, AuditEvent.detail)
    found: dict[str, Handover] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(*columns).where(col(AuditEvent.entity_id).in_(ids[start:start + CHUNK]),
                                       AuditEvent.action == ACTION)
        for event in s.exec(query.order_by(*audit.HISTORY_ORDER)):
            found[event.entity_id] = from_event(event)
    return found


def as_dict(handover: Handover) -> dict[str, Any]:
    """The machine form (`crm customer show --format json`'s "handovers")."""
    return {
        "assignment": handover.assignment_id, "customer": handover.customer_id,
        "to": handover.to, "role": handover.role, "by": handover.by,
        "at": clock.iso(handover.at), "note": handover.note, "quote": handover.quote,
        "quote_at": clock.iso(handover.quote_at), "task": handover.task_id,
        "due": clock.iso(handover.due), "checked": handover.checked, "from": handover.previous,
    }


def pending(current: Iterable[Assignment], history: Iterable[AuditEvent]) -> list[Handover]:
    """The hand-overs of a customer still waiting for their receiver's acknowledgement,
    oldest first: from its assignments and its history (`customer_story.detail`)."""
    waiting = {row.id for row in current
               if row.until is None and row.acknowledged_at is None and row.deleted_at is None}
    return [from_event(event) for event in history
            if event.action == ACTION and event.entity_id in waiting]
