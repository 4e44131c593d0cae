"""Team-defined custom fields: declared with a type before any record may use them."""

from __future__ import annotations

from sqlmodel import Session, select

from crmcli import fields
from crmcli.errors import Invalid
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


def list_(s: Session) -> list[FieldDef]:
    return list(s.exec(select(FieldDef).where(FieldDef.deleted_at.is_(None)).order_by(FieldDef.name)))
