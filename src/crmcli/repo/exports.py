"""What `crm export` writes: the columns an import reads back, streamed from the database.

An export carries exactly what `crm import` understands (for customers: the id, the
data-dictionary fields and the declared custom fields; no bookkeeping such as versions or
timestamps), so export → import into an empty database → export gives the same bytes.
Rows are fetched in pages (yield_per), so exporting a million customers needs no more
memory than exporting ten.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlmodel import Session, col, select

from crmcli import fields
from crmcli.models import Customer, Note, Task
from crmcli.repo import custom_fields, customers
from crmcli.repo.customers import CustomerQuery
from crmcli.repo.machine import jsonable

PAGE = 1000
RECORD_COLUMNS = {"notes": fields.NOTE_COLUMNS, "tasks": fields.TASK_COLUMNS}


def columns(s: Session, kind: str, *, chinese: bool = False) -> tuple[list[str], list[str]]:
    """(keys, headers) of an export of `kind`; headers are Chinese labels with `chinese`."""
    if kind == "customers":
        custom = list(custom_fields.declared(s))
        keys = ["id", *(spec.name for spec in fields.CUSTOMER_FIELDS), *custom]
        labels = {spec.name: spec.label for spec in fields.CUSTOMER_FIELDS}
    else:
        keys = [column.name for column in RECORD_COLUMNS[kind]]
        labels = {column.name: column.label for column in RECORD_COLUMNS[kind]}
    headers = [labels.get(key, key) for key in keys] if chinese else keys
    return keys, headers


def rows(s: Session, kind: str, query: CustomerQuery) -> Iterator[dict[str, Any]]:
    """The records of `kind` belonging to the customers `query` selects, as machine dicts."""
    keys, _ = columns(s, kind)
    if kind == "customers":
        custom = list(custom_fields.declared(s))
        statement = select(Customer).where(*query.conditions()).order_by(*query.order())
        for customer in _paged(s, statement, query):
            record = customers.as_dict(customer, custom)
            yield {key: record.get(key) for key in keys}
        return
    model = Note if kind == "notes" else Task
    order = (model.at if model is Note else model.created_at, model.id)
    statement = (
        select(model).join(Customer, Customer.id == model.customer_id)
        .where(*query.conditions(), col(model.deleted_at).is_(None))
        .order_by(*query.order(), *order)
    )
    for record in _paged(s, statement, query):
        values = {key: jsonable(getattr(record, key)) for key in keys if key != "customer"}
        yield {"customer": record.customer_id, **values}


def _paged(s: Session, statement: Any, query: CustomerQuery) -> Iterator[Any]:
    if query.limit:
        statement = statement.limit(query.limit)
    yield from s.exec(statement.execution_options(yield_per=PAGE))
