"""Lists of customers: the filters, sort orders and pages that `customer list`, `find`,
`export` and the dashboard's table share.

A filter given several values means any of them (`--stage lead --stage qualified`), except
tags, where every tag must be present (`--tag vip --tag 重点`, as `gh --label`): a tag
narrows, a stage or an owner names alternatives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_
from sqlmodel import Session, select

from crmcli import fields
from crmcli.errors import Invalid
from crmcli.models import Customer
from crmcli.repo import listing, search
from crmcli.repo.listing import Values

SORTABLE = (
    "name", "company", "city", "industry", "source", "stage", "level", "sla", "owner",
    "department", "created_at", "updated_at",
)


def same_text(column: Any, typed: Values) -> ColumnElement[bool]:
    """Free text typed as a filter matches ignoring case (`--city shanghai` finds Shanghai);
    any of several values."""
    return or_(*(func.lower(column) == func.lower(value.strip()) for value in typed))


def of_live(customer_id: Any) -> ColumnElement[bool]:
    """SQL: the record of `customer_id` (a column) belongs to no deleted customer. The
    deleted are few: SQLite lists them once and looks each record's customer up in that
    list, where a join would read every record's customer."""
    return customer_id.not_in(select(Customer.id).where(Customer.deleted_at.is_not(None)))


@dataclass
class CustomerQuery:
    """The filters `customer list`, `find`, `export` and the dashboard share: each filter
    takes one value or several (any of them; tags: all of them)."""

    owner: Values = ()
    department: Values = ()
    stage: Values = ()
    level: Values = ()
    tag: Values = ()
    city: Values = ()
    search: str | None = None
    sort: str | None = None
    limit: int | None = None
    offset: int = 0
    extra: dict[str, str] = field(default_factory=dict)
    deleted: bool = False  # the deleted customers instead of the live ones (to restore one)
    among: tuple[str, ...] | None = None  # only these ids (the customers behind a report's row)

    def __post_init__(self) -> None:
        for name in ("owner", "department", "stage", "level", "city"):
            setattr(self, name, listing.values(getattr(self, name)))
        self.tag = tuple(fields.parse_tags(listing.values(self.tag)))  # `vip, 重点` is two tags

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [
            Customer.deleted_at.is_not(None) if self.deleted else Customer.deleted_at.is_(None)]
        if self.owner:
            where.append(Customer.owner.in_([fields.normal_handle(o) for o in self.owner]))
        if self.department:
            where.append(same_text(Customer.department, self.department))
        if self.stage:
            where.append(Customer.stage.in_([fields.parse_stage(s) for s in self.stage]))
        if self.level:
            where.append(Customer.level.in_([fields.parse_level(v) for v in self.level]))
        if self.city:
            where.append(same_text(Customer.city, self.city))
        for tag in self.tag:
            tagged = func.json_each(Customer.tags).table_valued("value")
            where.append(select(tagged.c.value).where(tagged.c.value == tag).exists())
        if self.search and self.search.strip():
            where.append(search.matches(self.search))
        if self.among is not None:
            where.append(_among(self.among))
        return where

    def described(self) -> str:
        """The filters in words, for a front end to say what its list holds: `stage lead or
        qualified · tags vip and 重点` (any of a filter's values, every tag); "" for none."""
        said = [f"{name} {' or '.join(chosen)}" for name, chosen in (
            ("stage", self.stage), ("level", self.level), ("owner", self.owner),
            ("department", self.department), ("city", self.city)) if chosen]
        if self.tag:
            said.append(f"tag{'s' if len(self.tag) > 1 else ''} {' and '.join(self.tag)}")
        return " · ".join(said)

    def order(self, reverse: bool = False) -> list[Any]:
        """The ORDER BY terms; `reverse` flips every one (to read a list from its end).

        Names sort by pinyin (`Customer.sort_key`, indexed with the name: 陈 before 王
        before 张, Chen among them), then as written, so a page of a million customers is
        read from the index in either direction."""
        by_name = (Customer.sort_key, Customer.name, Customer.pk)
        if not self.sort:
            ranked = [search.rank(self.search)] if self.search and self.search.strip() else []
            keys = [(column, False) for column in (*ranked, *by_name)]
        elif self.sort.lstrip("-") == "name":
            keys = [(column, self.sort.startswith("-")) for column in by_name]
        else:
            name = self.sort.lstrip("-")
            if name not in SORTABLE:
                raise Invalid(f"cannot sort by {name!r}; one of {', '.join(SORTABLE)}", "sort")
            column: Any = getattr(Customer, name)
            if name == "stage":
                column = case(
                    {stage: i for i, stage in enumerate(fields.STAGES)}, value=Customer.stage
                )
            keys = [(column, self.sort.startswith("-")), *((c, False) for c in by_name)]
        return [column.desc() if descending != reverse else column.asc() for column, descending in keys]


def _among(ids: tuple[str, ...]) -> ColumnElement[bool]:
    """The customer is one of `ids`: given as one JSON parameter, so thousands of ids
    never meet SQLite's limit on bound parameters."""
    given = func.json_each(json.dumps(list(ids))).table_valued("value")
    return Customer.id.in_(select(given.c.value))


def list_(s: Session, query: CustomerQuery) -> list[Customer]:
    statement = select(Customer).where(*query.conditions()).order_by(*query.order())
    if query.limit:
        statement = statement.limit(query.limit)
    if query.offset:
        statement = statement.offset(query.offset)
    return list(s.exec(statement).all())


def count(s: Session, query: CustomerQuery) -> int:
    """How many customers the query selects, whatever its limit (one COUNT)."""
    statement = select(func.count()).select_from(Customer).where(*query.conditions())
    return s.exec(statement).one()


def list_and_total(s: Session, query: CustomerQuery) -> tuple[list[Customer], int]:
    """`list_` and how many the query selects without its limit, so a front end can say
    what the limit left out; counted only when the limit was reached."""
    rows = list_(s, query)
    return rows, listing.total(rows, query.limit, lambda: count(s, query))


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
