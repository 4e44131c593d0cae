"""The customers a report counts: the filters of `reports.table.Options`, as SQL.

Every report narrows its customers the same way, so `--owner`, `--dept` and `--source`
read alike in each: the live customers (not deleted, not merged into another), owned by
any of the handles given, of any of the departments given (the customer's own, ignoring
case, as `crm customer list --department`), from any of the sources given (ignoring case).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from crmcli.fields import normal_handle
from crmcli.models import Customer
from crmcli.repo.customer_lists import same_text
from crmcli.repo.listing import values
from crmcli.repo.reports.table import Options


def conditions(options: Options) -> list[ColumnElement[bool]]:
    """The WHERE terms that keep the customers `options` asks about."""
    return [Customer.deleted_at.is_(None), Customer.merged_into.is_(None),
            *terms(options, Customer.owner, Customer.department, Customer.source)]


def terms(options: Options, owner: Any, department: Any, source: Any) -> list[ColumnElement[bool]]:
    """The filters' terms over any columns holding a customer's owner, department and
    source (the customer's own, or a copy of them kept beside its history)."""
    where = []
    if owners := values(options.owner):
        where.append(owner.in_([normal_handle(handle) for handle in owners]))
    if departments := values(options.dept):
        where.append(same_text(department, departments))
    if sources := values(options.source):
        where.append(same_text(source, sources))
    return where


def described(options: Options) -> str:
    """The filters in words for a report's notes ("" for none): `owner alice or bob ·
    department sales · source expo`."""
    said = [f"{name} {' or '.join(chosen)}" for name, chosen in (
        ("owner", values(options.owner)), ("department", values(options.dept)),
        ("source", values(options.source))) if chosen]
    return " · ".join(said)
