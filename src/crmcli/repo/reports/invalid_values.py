"""Stored values today's rules refuse (`crm report quality`, section "invalid").

Values stored before a rule existed or changed (an import by an older client, a sheet
loaded by hand, a replica that checked less) stay until someone edits them. The check
runs the data dictionary's own parsers (`fields`), so it cannot drift from what a writer
accepts: each field's distinct stored values are read with SQL (a few for a stage or a
city, one per customer for a phone, each parse a few µs), judged, and the customers
holding the refused ones found with SQL again. A value is invalid when its parser
refuses it (the reason is the parser's), or would store something else (`Foo@X.com`
where the rules store `foo@x.com`). An owner must be an active user.

Sensitive fields (contract_amount, id_number, bank_account, custom ones declared
sensitive) are checked only for their readers, shown masked; a team replica does not
hold their values at all (`sensitive`), so there they are not checked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crmcli import fields
from crmcli.db import region
from crmcli.errors import Invalid
from crmcli.models import Customer, User
from crmcli.repo import custom_fields, sensitive

CHECKED = ("name", "company", "phone", "email", "wechat", "city", "industry", "source",
           "stage", "level", "sla", "requirement", "owner", "department", "contract_amount",
           "id_number", "bank_account")
CHUNK = 500  # values asked at once (SQLite bounds a statement's parameters)


@dataclass(frozen=True)
class Bad:
    """A customer's stored value the rules refuse: which field, the value as this reader
    may see it, and why."""

    id: str
    customer: str
    stage: str
    field: str
    value: Any
    why: str


def column(name: str, custom: bool) -> ColumnElement[Any]:
    """The SQL of a field's stored value: its column, or a custom field's JSON member."""
    if custom:
        return func.json_extract(Customer.extra, f'$."{name}"')
    return getattr(Customer, name)


def judge(parse: Any, show: Any, value: Any, *, secret: bool = False) -> str | None:
    """Why the rules refuse a stored value (None if they accept it as stored): `parse`
    reads the text a person would type, `show` writes a stored value as that text. A
    `secret` (sensitive) value is never repeated in the reason: its reader sees a mask."""
    try:
        text = show(value)
    except (TypeError, ValueError, ArithmeticError):  # stored as another kind of value
        text = str(value)
    try:
        parsed = parse(text)
    except Invalid as refusal:
        said = refusal.reason
        return said.replace(repr(text), "the value").replace(text, "…") if secret else said
    if parsed is None:
        return "is empty text (the rules store no value)"
    if parsed != value:
        return "is not in the form the rules store" if secret else \
            f"the rules store {str(parsed)!r}"
    return None


def _standard(name: str, where: str) -> tuple[Any, Any]:
    spec = fields.FIELD_BY_NAME[name]
    return (lambda text: spec.parse(text, where)), spec.show


def _refused(s: Session, expression: ColumnElement[Any], scope: list[Any],
             parse: Any, show: Any, secret: bool) -> dict[Any, str]:
    """The distinct stored values of `expression` the rules refuse, with why."""
    query = select(expression).where(*scope, expression.is_not(None)).distinct()
    judged = ((value, judge(parse, show, value, secret=secret)) for value in s.exec(query))
    return {value: why for value, why in judged if why}


def _holders(s: Session, expression: ColumnElement[Any], values: Iterable[Any],
             scope: list[Any]) -> list[tuple[str, str, str, Any]]:
    """(id, name, stage, value) of the customers holding any of `values`."""
    wanted, found = list(values), []
    for start in range(0, len(wanted), CHUNK):
        query = select(Customer.id, Customer.name, Customer.stage, expression).where(
            *scope, expression.in_(wanted[start:start + CHUNK])
        ).order_by(Customer.sort_key, Customer.name, Customer.id)
        found.extend(s.exec(query).all())
    return found


def _owners(s: Session, scope: list[Any]) -> dict[Any, str]:
    """Owners that are no user, or a deactivated one."""
    users = {handle: active for handle, active in s.exec(select(User.handle, User.active))}
    query = select(Customer.owner).where(*scope, col(Customer.owner).is_not(None)).distinct()
    return {owner: "is no user" if owner not in users else "is a deactivated user"
            for owner in s.exec(query) if not users.get(owner, False)}


def found(s: Session, seen: sensitive.Clearance, scope: list[Any]) -> tuple[list[Bad], list[str]]:
    """The invalid values of the customers `scope` selects, by field then customer, and
    the sensitive fields not checked for this reader."""
    where = region(s)
    checks: list[tuple[str, ColumnElement[Any], Any, Any]] = [
        (name, column(name, False), *_standard(name, where)) for name in CHECKED]
    checks += [(name, column(name, True), spec.parse, lambda value: "" if value is None else str(value))
               for name, spec in custom_fields.declared(s).items()]
    bad: list[Bad] = []
    unchecked = []
    for name, expression, parse, show in checks:
        if not seen.may_read(name):
            unchecked.append(name)
            continue
        refused = _refused(s, expression, scope, parse, show, name in seen.sensitive)
        if name == "owner":
            refused.update(_owners(s, scope))
        for id_, customer, stage, value in _holders(s, expression, refused, scope):
            shown = sensitive.present(seen, name, value).value
            bad.append(Bad(id_, customer, stage, name, shown, refused[value]))
    return bad, unchecked
