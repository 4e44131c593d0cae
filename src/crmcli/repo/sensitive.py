"""Graded access to the sensitive fields: who may read them, and what everyone else sees.

Sensitive fields are contract_amount, id_number, bank_account and the custom fields
declared with `crm field add NAME --sensitive`. Their readers are rules:

- `role:ROLE` (admin, manager, member), `dept:DEPARTMENT` (compared ignoring case and
  width), `user:HANDLE`;
- by default admins and department finance read all of them, and managers (of any
  department) read contract_amount too;
- an admin changes them with `crm field access NAME --grant R --revoke R`, stored as
  `FieldReader` rows (the differences from the defaults), each change an audit event.
  Admins always read every sensitive field (they manage who else does).

`present` is the one place that decides what a value looks like to a reader: the value
itself (revealed, or not sensitive), a mask (a cleared reader: `••••3445`, the last four
characters; money only as its order of magnitude, `≥100,000`), or `restricted` (a reader
who may not read the field; an empty field stays empty). The command line, the
dashboard, exports and history all go through it. A replica of a team holds no sensitive
value, only the masks its member may see (`sync/masks.py`): `with_mask` puts the mask in
the place of the value it stands for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from crmcli import fields
from crmcli.documents import MASK, RESTRICTED
from crmcli.errors import Invalid, PermissionDenied, UsageError
from crmcli.models import AuditEvent, FieldDef, FieldReader, SensitiveMask
from crmcli.repo import audit, entities
from crmcli.repo.users import Actor, require_role

STANDARD = tuple(spec.name for spec in fields.CUSTOMER_FIELDS if spec.sensitive)
CUSTOM_DEFAULT = ("role:admin", "dept:finance")
DEFAULT_READERS: dict[str, tuple[str, ...]] = {
    "contract_amount": ("role:admin", "role:manager", "dept:finance"),
    "id_number": CUSTOM_DEFAULT,
    "bank_account": CUSTOM_DEFAULT,
}
ALWAYS = "role:admin"
KINDS = ("role", "dept", "user")


def parse_reader(text: str) -> str:
    """`role:manager`, `dept:Finance`, `user:bob` in their stored form."""
    kind, colon, name = text.strip().partition(":")
    kind = kind.strip().lower()
    if not colon or kind not in KINDS or not name.strip():
        raise Invalid(f"{text!r}: a reader is role:ROLE, dept:DEPARTMENT or user:HANDLE", "reader")
    if kind == "role":
        return f"role:{fields.parse_user_role(name)}"
    if kind == "user":
        return f"user:{fields.parse_handle(name, 'reader')}"
    return f"dept:{fields.parse_text(name, 'reader', 100)}"


def _same(a: str, b: str) -> bool:
    return fields.fold(a) == fields.fold(b)


def matches(reader: str, actor: Actor) -> bool:
    kind, _, name = reader.partition(":")
    if kind == "role":
        return actor.role == name
    if kind == "user":
        return actor.handle == name
    return actor.department is not None and _same(actor.department, name)


def _rows(s: Session, field: str | None = None) -> list[FieldReader]:
    query = select(FieldReader).where(col(FieldReader.deleted_at).is_(None))
    if field is not None:
        query = query.where(FieldReader.field == field)
    return list(s.exec(query.order_by(FieldReader.field, FieldReader.created_at)))


def custom_sensitive(s: Session) -> list[str]:
    """The declared custom fields that are sensitive (they have reader rules)."""
    live = s.exec(select(FieldDef.name).where(col(FieldDef.deleted_at).is_(None))).all()
    ruled = {row.field for row in _rows(s)}
    return sorted(name for name in live if name in ruled)


def readers(s: Session) -> dict[str, list[str]]:
    """Every sensitive field and the readers it has now, standard fields first."""
    result: dict[str, list[str]] = {}
    rows = _rows(s)
    for name in (*STANDARD, *custom_sensitive(s)):
        current = list(DEFAULT_READERS.get(name, ()))
        for row in rows:
            if row.field != name:
                continue
            if row.granted and row.reader not in current:
                current.append(row.reader)
            elif not row.granted and row.reader in current:
                current.remove(row.reader)
        if ALWAYS not in current:
            current.insert(0, ALWAYS)
        result[name] = current
    return result


def sensitive_name(s: Session, name: str) -> str:
    """`name` as a sensitive field's name, or Invalid."""
    wanted = fields.canonical_field(name) or name.strip()
    for known in (*STANDARD, *custom_sensitive(s)):
        if _same(known, wanted):
            return known
    raise Invalid(
        f"{name!r} is not a sensitive field (those are {', '.join(readers(s))})", "field")


def change_readers(
    s: Session, name: str, *, grant: Iterable[str] = (), revoke: Iterable[str] = (), by: Actor
) -> dict[str, list[str]]:
    """Grant and revoke readers of a sensitive field (admins only); returns what changed
    as {"granted": [...], "revoked": [...]}, leaving out what was so already."""
    require_role(by, entities.WRITERS["field_reader"], "change who reads sensitive fields")
    field = sensitive_name(s, name)
    granting = [parse_reader(r) for r in grant]
    revoking = [parse_reader(r) for r in revoke]
    if both := {fields.fold(r) for r in granting} & {fields.fold(r) for r in revoking}:
        raise UsageError(f"{', '.join(sorted(both))} is both granted and revoked")
    if ALWAYS in revoking:
        raise Invalid("admins always read sensitive fields (they decide who else does)", "reader")
    current = readers(s)[field]
    rows = {row.reader: row for row in _rows(s, field)}
    done: dict[str, list[str]] = {"granted": [], "revoked": []}
    for typed, granted in [*((r, True) for r in granting), *((r, False) for r in revoking)]:
        # `dept:Finance` is the rule `dept:finance` already: keep the spelling it has
        reader = next((known for known in (*current, *rows) if _same(known, typed)), typed)
        if (reader in current) == granted:
            continue
        _write_rule(s, field, reader, granted, rows.get(reader), by)
        done["granted" if granted else "revoked"].append(reader)
    return done


def _write_rule(
    s: Session, field: str, reader: str, granted: bool, row: FieldReader | None, by: Actor
) -> None:
    if row is None:
        row = FieldReader(field=field, reader=reader, granted=granted)
        s.add(row)
        action, changes = "field_reader.create", audit.snapshot(row)
    else:
        action, changes = "field_reader.update", audit.apply(row, {"granted": granted}, by.handle)
    audit.record(s, by=by.handle, action=action, entity="field_reader", entity_id=row.id,
                 changes=changes, detail={"field": field, "reader": reader})


def declare(s: Session, name: str, *, by: Actor) -> None:
    """Make a newly declared custom field sensitive: its readers are admins and finance."""
    require_role(by, entities.WRITERS["field_reader"], "declare sensitive fields")
    for reader in CUSTOM_DEFAULT:
        _write_rule(s, name, reader, True, None, by)


# --- what a reader sees ----------------------------------------------------------------


@dataclass(frozen=True)
class Clearance:
    """What one user may read: `sensitive` names every sensitive field, `readable` those
    this user may read; `rules` are the readers of each, for messages."""

    handle: str
    sensitive: frozenset[str]
    readable: frozenset[str]
    rules: dict[str, list[str]]
    who: str = ""  # "a member of service": how messages describe the reader
    # A customer id -> the masks of the values a team replica does not hold (`masks_of`).
    held: Callable[[str], dict[str, str]] = lambda _customer_id: {}

    def may_read(self, name: str) -> bool:
        return name not in self.sensitive or name in self.readable

    def refusal(self, names: Iterable[str], verb: str = "read") -> PermissionDenied:
        """Why this reader may not read (or write) these fields: each field's readers."""
        rules = "; ".join(f"{name}: {', '.join(self.rules[name])}" for name in names)
        return PermissionDenied(
            f"{self.handle} ({self.who}) may not {verb} {', '.join(names)}; readers are {rules}")


def clearance(s: Session, actor: Actor) -> Clearance:
    rules = readers(s)
    readable = {name for name, who in rules.items() if any(matches(r, actor) for r in who)}
    article = "an" if actor.role[:1] in "aeiou" else "a"
    who = f"{article} {actor.role}" + (f" of {actor.department}" if actor.department else "")
    return Clearance(actor.handle, frozenset(rules), frozenset(readable), rules, who,
                     masks_of(s))


def masks_of(s: Session) -> Callable[[str], dict[str, str]]:
    """Where a customer's masks are looked up: a team replica keeps them for the values
    it does not hold (`sync/masks.py`); on a database without any, nothing is asked.

    Looked up in `s`'s transaction and remembered, so a front end that renders after the
    transaction ended shows what it looked up before; nothing reopens the database then
    (a new transaction on a write session would keep the file locked)."""
    if s.exec(select(SensitiveMask.customer_id).limit(1)).first() is None:
        return lambda _customer_id: {}
    found: dict[str, dict[str, str]] = {}

    def held(customer_id: str) -> dict[str, str]:
        if customer_id not in found and s.in_transaction():
            query = select(SensitiveMask.field, SensitiveMask.mask)
            found[customer_id] = dict(
                s.exec(query.where(SensitiveMask.customer_id == customer_id)).all())
        return found.get(customer_id, {})

    return held


PLAIN, MASKED, HIDDEN = "plain", "masked", "restricted"


@dataclass(frozen=True)
class Shown:
    value: Any  # the machine value: the stored one, a mask or "restricted"
    state: str  # plain | masked | restricted


def mask(value: Any) -> str:
    """A cleared reader's view of a sensitive value until revealed."""
    if isinstance(value, Decimal):
        if value < 1:
            return "<1"
        return f"≥{10 ** (len(str(int(value))) - 1):,}"
    text = str(value)
    return MASK * 4 + (text[-4:] if len(text) > 4 else "")


def clears_held(s: Session, customer: Any, values: dict[str, Any]) -> list[str]:
    """The sensitive fields `values` clears whose value a team replica does not hold but
    knows is there (a mask): clearing one is a change to push, and its mask goes now."""
    names = [name for name, value in values.items()
             if value is None and _value(customer, name) is None]
    if not names:
        return []
    masks = SensitiveMask.__table__
    held = masks.c.customer_id == customer.id
    found = [row[0] for row in s.connection().execute(
        select(masks.c.field).where(held, masks.c.field.in_(names), masks.c.mask != ""))]
    if found:  # not shown any more; its digest stays: what the push compares
        s.connection().execute(
            masks.update().where(held, masks.c.field.in_(found)).values(mask=""))
    return found


@dataclass(frozen=True)
class HeldMask:
    """A value this replica does not hold, known by the mask its team gave it."""

    text: str


def with_mask(clearance: Clearance, customer_id: str | None, name: str, value: Any) -> Any:
    """`value`, or the mask held in its place when the replica holds no value."""
    if value in (None, "") and customer_id and name in clearance.sensitive:
        text = clearance.held(customer_id).get(name)
        if text:
            return HeldMask(text)
    return value


def present(clearance: Clearance, name: str, value: Any, *, reveal: bool = False) -> Shown:
    """How field `name`'s stored `value` is shown to this reader: the one decision."""
    if isinstance(value, HeldMask):  # revealing asks the team's database (`sync/secrets`)
        return Shown(value.text, MASKED) if clearance.may_read(name) else Shown(RESTRICTED, HIDDEN)
    if name not in clearance.sensitive or value in (None, "", [], {}):
        return Shown(value, PLAIN)
    if not clearance.may_read(name) or value == RESTRICTED:  # a team's history holds the
        return Shown(RESTRICTED, HIDDEN)  # word in place of values (sync's scrubbing)
    if reveal:
        return Shown(value, PLAIN)
    if name == "contract_amount" and not isinstance(value, Decimal):
        value = Decimal(str(value))
    return Shown(mask(value), MASKED)


def customer_view(
    clearance: Clearance, record: dict[str, Any], *, reveal: bool = False
) -> dict[str, Any]:
    """A customer's machine form (`customers.as_dict`) as this reader may see it."""
    view = dict(record)
    held = clearance.held(record["id"]) if record.get("id") else {}
    for name in clearance.sensitive & (record.keys() | held.keys()):
        value = with_mask(clearance, record.get("id"), name, record.get(name))
        view[name] = present(clearance, name, value, reveal=reveal).value
    return view


def changes_view(clearance: Clearance, changes: dict[str, Any]) -> dict[str, Any]:
    """An audit event's {field: [before, after]} for display: sensitive values masked
    (or restricted), custom ones inside `extra` too. The stored event is untouched."""
    view: dict[str, Any] = {}
    for name, pair in (changes or {}).items():
        if name == "extra" and isinstance(pair, list):
            pair = [_extra_view(clearance, side) for side in pair]
        elif name in clearance.sensitive and isinstance(pair, list):
            pair = [present(clearance, name, side).value for side in pair]
        view[name] = pair
    if _conflict_of_sensitive(clearance, view):
        field = view["field"][1]
        for side in ("base", "mine", "theirs"):
            if isinstance(view.get(side), list):
                view[side] = [present(clearance, field, v).value for v in view[side]]
    return view


def _conflict_of_sensitive(clearance: Clearance, changes: dict[str, Any]) -> bool:
    field = changes.get("field")
    name = field[1] if isinstance(field, list) and len(field) == 2 else None
    name = name.removeprefix("extra.") if isinstance(name, str) else None
    return name in clearance.sensitive


def _extra_view(clearance: Clearance, values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    return {k: present(clearance, k, v).value for k, v in values.items()}


GROUP_TITLES = {"contact": "Contact", "sales": "Sales", "service": "Service",
                "sensitive": "Sensitive"}


def field_sections(
    clearance: Clearance, customer: Any, *, reveal: bool = False,
    labels: dict[str, str] | None = None,
) -> list[tuple[str, list[tuple[str, str]]]]:
    """A customer's fields as a card shows them, in groups (Contact, Sales, Service,
    Sensitive, Custom), as (title, [(field, text)]); empty fields are left out; a custom
    field is shown by its label where it has one (`custom_fields.labels`). The command
    line's card and the dashboard's customer screen render this."""
    sections = []
    for group, title in GROUP_TITLES.items():
        rows = []
        for spec in fields.CUSTOMER_FIELDS:
            if spec.group != group or spec.name == "name":
                continue
            value = with_mask(clearance, customer.id, spec.name, getattr(customer, spec.name))
            shown = present(clearance, spec.name, value, reveal=reveal)
            rows.append((spec.name, spec.show(shown.value) if shown.state == PLAIN else shown.value))
        sections.append((title, [(name, text) for name, text in rows if text]))
    custom = []
    masked = {name: None for name, text in clearance.held(customer.id).items()
              if text and name not in STANDARD}
    for name, value in sorted({**masked, **customer.extra}.items()):
        value = with_mask(clearance, customer.id, name, value)
        shown = present(clearance, name, value, reveal=reveal)
        custom.append(((labels or {}).get(name, name), fields.show_value(name, shown.value)))
    sections.append(("Custom", custom))
    return [(title, rows) for title, rows in sections if rows]


def revealable(clearance: Clearance, customer: Any) -> list[str]:
    """The sensitive fields of this customer that hold a value this reader may read."""
    names = [n for n in clearance.sensitive if _value(customer, n) not in (None, "")]
    return sorted((n for n in names if clearance.may_read(n)), key=standard_first)


def _value(customer: Any, name: str) -> Any:
    return getattr(customer, name) if name in fields.FIELD_BY_NAME else customer.extra.get(name)


def masked_events(clearance: Clearance, events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """Copies of these events with their changes as `changes_view` shows them, for front
    ends that render events (history, timelines, what changed). Copies, so the stored
    events are never touched; events without sensitive values are passed as they are."""
    shown = []
    for event in events:
        view = changes_view(clearance, event.changes)
        if view != event.changes:
            values = {name: getattr(event, name) for name in AuditEvent.model_fields}
            event = AuditEvent(**{**values, "changes": view})
        shown.append(event)
    return shown


def reveal(s: Session, customer: Any, clearance: Clearance, *, by: Actor, via: str) -> list[str]:
    """Record that `by` reveals this customer's sensitive values (before they are shown):
    an audit event `customer.reveal` whose detail lists the fields revealed. A reader
    cleared for none of the sensitive fields is refused, naming their readers."""
    if not clearance.readable:
        raise clearance.refusal(sorted(clearance.sensitive, key=standard_first))
    names = revealable(clearance, customer)
    audit.record(s, by=by.handle, action="customer.reveal", entity="customer",
                 entity_id=customer.id, customer_id=customer.id,
                 detail={"fields": names, "via": via})
    return names


def put_revealed(customer: Any, values: dict[str, Any]) -> None:
    """Put the values a team's database revealed on a customer that is shown, never
    stored (off its session): standard fields as themselves, custom ones in `extra`."""
    extra = dict(customer.extra)
    for name, value in values.items():
        if name in fields.FIELD_BY_NAME:
            setattr(customer, name, value)
        else:
            extra[name] = value
    customer.extra = extra


def standard_first(name: str) -> tuple[int, str]:
    return (STANDARD.index(name), "") if name in STANDARD else (len(STANDARD), name)


def masked_detail(clearance: Clearance, detail: Any) -> Any:
    """A customer's story (`customer_story.CustomerDetail`) with its history masked."""
    from dataclasses import replace

    return replace(detail, history=masked_events(clearance, detail.history))


def conflict_view(clearance: Clearance, row: dict[str, Any]) -> dict[str, Any]:
    """A conflict entry's machine form (`conflicts.as_dict`) for display: the values of a
    sensitive field (base, mine, theirs) as `present` shows them to this reader."""
    if row.get("entity") != "customer":
        return row
    view = dict(row)
    for side in ("base", "mine", "theirs"):
        value = row.get(side)
        if isinstance(value, dict):  # a deleted or gone record: {field: value}
            view[side] = {name: _field_view(clearance, name, item) for name, item in value.items()}
        else:
            view[side] = _field_view(clearance, str(row.get("field") or ""), value)
    return view


def _field_view(clearance: Clearance, path: str, value: Any) -> Any:
    if path == "extra":
        return _extra_view(clearance, value)
    return present(clearance, path.removeprefix("extra."), value).value


def require_writable(clearance: Clearance, names: Iterable[str]) -> None:
    """Only a sensitive field's readers may write it. Otherwise a write would answer a
    question about a value its writer may not see: an edit that changes nothing says so,
    and the history shows whether it did. Refused with PermissionDenied (exit 6)."""
    refused = sorted({n for n in names if not clearance.may_read(n)}, key=standard_first)
    if refused:
        raise clearance.refusal(refused, "write")


def check_write(s: Session, by: Actor, names: Iterable[str]) -> None:
    """`require_writable` for the fields (data-dictionary or custom names, or "extra.NAME"
    paths) a write by `by` sets."""
    names = [name.removeprefix("extra.") for name in names]
    if names:
        require_writable(clearance(s, by), names)
