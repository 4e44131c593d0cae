"""Team-defined custom fields: declared with a type before any record may use them."""

from __future__ import annotations

from sqlmodel import Session, select

from crmcli import fields
from crmcli.errors import Invalid, NotFound
from crmcli.models import FieldDef
from crmcli.repo import audit, entities, sensitive
from crmcli.repo.users import Actor, require_role


def declared(s: Session) -> dict[str, fields.CustomField]:
    """The custom fields in force, by name, as the data dictionary parses them."""
    rows = s.exec(select(FieldDef).where(FieldDef.deleted_at.is_(None)).order_by(FieldDef.name))
    secret = set(sensitive.custom_sensitive(s))
    return {row.name: fields.CustomField(row.name, row.type, tuple(row.choices), row.name in secret)
            for row in rows}


def add(
    s: Session, name: str, type_: str, choices: list[str], *, by: Actor, secret: bool = False
) -> FieldDef:
    """Declare a custom field; `secret` makes it sensitive (admins only), read by admins
    and finance until `crm field access` says otherwise."""
    require_role(by, entities.WRITERS["field_def"], "declare custom fields")
    spec = fields.check_custom_definition(name.strip(), type_.strip().lower(), choices)
    if any(fields.fold(existing) == fields.fold(spec.name) for existing in declared(s)):
        raise Invalid(f"a field {spec.name!r} exists already", "name")
    row = FieldDef(name=spec.name, type=spec.type, choices=list(spec.choices))
    s.add(row)
    audit.record(
        s, by=by.handle, action="field.create", entity="field_def", entity_id=row.id,
        changes=audit.snapshot(row),
    )
    if secret:
        sensitive.declare(s, row.name, by=by)
    return row


def get(s: Session, name: str) -> FieldDef:
    """The custom field in force named `name` (compared as declarations are: case and
    width folded)."""
    rows = s.exec(select(FieldDef).where(FieldDef.deleted_at.is_(None)))
    found = [row for row in rows if fields.fold(row.name) == fields.fold(name.strip())]
    if not found:
        raise NotFound(f"no custom field {name!r}; `crm field list` shows them")
    return found[0]


def edit(
    s: Session,
    name: str,
    *,
    by: Actor,
    add_choices: list[str] | None = None,
    label: str | None = None,
) -> tuple[FieldDef, dict[str, list]]:
    """Add choices to a choice field (those it has already are left as they are) or set
    its label (empty: none), for those who declare fields. Values stored keep their
    meaning: a choice is never taken away or renamed. One `field.update` event."""
    require_role(by, entities.WRITERS["field_def"], "change custom fields")
    row = get(s, name)
    values: dict = {}
    new = [fields.parse_text(choice, "add-choice", 100) for choice in add_choices or []]
    if not all(new):
        raise Invalid("a choice needs some text", "add-choice")
    if new:
        if row.type != "choice":
            raise Invalid(f"{row.name} is a {row.type} field; only a choice field has choices",
                          "add-choice")
        known = {fields.fold(choice) for choice in row.choices}
        added = [c for c in dict.fromkeys(new) if fields.fold(c) not in known]
        if added:
            values["choices"] = [*row.choices, *added]
    if label is not None:
        values["label"] = fields.parse_text(label, "label", 100) or None
    changes = audit.apply(row, values, by.handle)
    if changes:
        audit.record(s, by=by.handle, action="field.update", entity="field_def",
                     entity_id=row.id, changes=changes)
    return row, changes


def labels(s: Session) -> dict[str, str]:
    """The labels of the custom fields that have one, by name (what people read)."""
    return {row.name: row.label for row in list_(s) if row.label}


def list_(s: Session) -> list[FieldDef]:
    return list(s.exec(select(FieldDef).where(FieldDef.deleted_at.is_(None)).order_by(FieldDef.name)))
