"""Lists of customers: the filters, sort orders and pages that `customer list`, `export`
and the dashboard's table share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Session, select

from crmcli import fields
from crmcli.errors import Invalid
from crmcli.models import Customer
from crmcli.repo import search

SORTABLE = (
    "name", "company", "city", "industry", "source", "stage", "level", "sla", "owner",
    "department", "created_at", "updated_at",
)


def _same_text(column: Any, typed: str) -> ColumnElement[bool]:
    """Free text typed as a filter matches ignoring case (`--city shanghai` finds Shanghai)."""
    return func.lower(column) == func.lower(typed.strip())


@dataclass
class CustomerQuery:
    """The filters `customer list`, `export` and the dashboard share."""

    owner: str | None = None
    department: str | None = None
    stage: str | None = None
    level: str | None = None
    tag: str | None = None
    city: str | None = None
    search: str | None = None
    sort: str | None = None
    limit: int | None = None
    offset: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [Customer.deleted_at.is_(None)]
        if self.owner:
            where.append(Customer.owner == fields.normal_handle(self.owner))
        if self.department:
            where.append(_same_text(Customer.department, self.department))
        if self.stage:
            where.append(Customer.stage == fields.parse_stage(self.stage))
        if self.level:
            where.append(Customer.level == fields.parse_level(self.level))
        if self.city:
            where.append(_same_text(Customer.city, self.city))
        if self.tag:
            tagged = func.json_each(Customer.tags).table_valued("value")
            where.append(select(tagged.c.value).where(tagged.c.value == self.tag.strip()).exists())
        if self.search and self.search.strip():
            where.append(search.matches(self.search))
        return where

    def order(self, reverse: bool = False) -> list[Any]:
        """The ORDER BY terms; `reverse` flips every one (to read a list from its end)."""
        if not self.sort:
            ranked = [search.rank(self.search)] if self.search and self.search.strip() else []
            keys = [(column, False) for column in (*ranked, Customer.name, Customer.pk)]
        else:
            name = self.sort.lstrip("-")
            if name not in SORTABLE:
                raise Invalid(f"cannot sort by {name!r}; one of {', '.join(SORTABLE)}", "sort")
            column: Any = getattr(Customer, name)
            if name == "stage":
                column = case(
                    {stage: i for i, stage in enumerate(fields.STAGES)}, value=Customer.stage
                )
            keys = [(column, self.sort.startswith("-")), (Customer.name, False), (Customer.pk, False)]
        return [column.desc() if descending != reverse else column.asc() for column, descending in keys]


def list_(s: Session, query: CustomerQuery) -> list[Customer]:
    statement = select(Customer).where(*query.conditions()).order_by(*query.order())
    if query.limit:
        statement = statement.limit(query.limit)
    if query.offset:
        statement = statement.offset(query.offset)
    return list(s.exec(statement).all())


def count(s: Session, query: CustomerQuery) -> int:
    statement = select(func.count()).select_from(Customer).where(*query.conditions())
    return s.exec(statement).one()


def page(
    s: Session, query: CustomerQuery, *, start: int, size: int, total: int | None = None
) -> list[Customer]:
    """`size` customers from position `start` of the query's order: one page of a table.

    OFFSET makes the database step over every skipped row, so given `total` (from `count`)
    a page in the second half is read backwards from the end instead: the last page of a
    million customers then costs what the first page does.
    """
    statement = select(Customer).where(*query.conditions())
    if total is None or start <= max(total - start - size, 0):
        return list(s.exec(statement.order_by(*query.order()).offset(start).limit(size)).all())
    if start >= total:
        return []
    backwards = statement.order_by(*query.order(reverse=True))
    backwards = backwards.offset(max(total - start - size, 0)).limit(min(size, total - start))
    return list(reversed(s.exec(backwards).all()))
