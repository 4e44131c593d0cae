"""What `crm export` writes: the columns an import reads back, streamed from the database.

An export carries exactly what `crm import` understands (for customers: the id, the
data-dictionary fields and the declared custom fields; for notes and tasks: their id and
their customer's, then their columns; no bookkeeping such as versions or timestamps), so
export → import into an empty database → export gives the same bytes.
Rows are fetched in pages (yield_per), so exporting a million customers needs no more
memory than exporting ten.

Sensitive fields: an export holds the values its reader may read in clear (an export is
made to be imported, so it never holds masks), and leaves out the columns of those they
may not read (a column of `restricted` would be no data; absent, an import of the file
leaves the stored values alone). `record` writes the audit event every export leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli import fields, record_columns
from crmcli.models import Customer, Note, Task
from crmcli.repo import audit, custom_fields, customers
from crmcli.repo.customer_lists import CustomerQuery
from crmcli.repo.machine import jsonable
from crmcli.repo.sensitive import Clearance
from crmcli.repo.users import Actor

PAGE = 1000
RECORD_COLUMNS = {"notes": record_columns.NOTE_COLUMNS, "tasks": record_columns.TASK_COLUMNS}


def columns(
    s: Session, kind: str, clearance: Clearance, *, chinese: bool = False
) -> tuple[list[str], list[str]]:
    """(keys, headers) of an export of `kind` for this reader; headers are Chinese labels
    with `chinese`. Sensitive fields the reader may not read have no column."""
    if kind == "customers":
        custom = list(custom_fields.declared(s))
        keys = ["id", *(spec.name for spec in fields.CUSTOMER_FIELDS), *custom]
        keys = [key for key in keys if clearance.may_read(key)]
        labels = {spec.name: spec.label for spec in fields.CUSTOMER_FIELDS}
    else:
        keys = [column.name for column in RECORD_COLUMNS[kind]]
        labels = {column.name: column.label for column in RECORD_COLUMNS[kind]}
    headers = [labels.get(key, key) for key in keys] if chinese else keys
    return keys, headers


def cell_kinds(s: Session, kind: str, keys: list[str]) -> list[str | None]:
    """What a spreadsheet writes each column as (io.xlsx_cells.KINDS): money, a number,
    a date, a moment, or None for text, so finance can add up amounts and sort by dates."""
    if kind == "customers":
        types = {"int": "number", "decimal": "number", "date": "date"}
        kinds = {name: types.get(spec.type) for name, spec in custom_fields.declared(s).items()}
        kinds["contract_amount"] = "money"
    else:
        kinds = {"due": "moment", "at": "moment"}
    return [kinds.get(key) for key in keys]


def in_clear(keys: list[str], clearance: Clearance) -> list[str]:
    """The sensitive fields among an export's columns: those it holds in clear."""
    return [key for key in keys if key in clearance.sensitive]


def record(
    s: Session, kind: str, *, by: Actor, rows: int, fields_in_clear: list[str],
    options: dict[str, Any],
) -> None:
    """The audit event of an export: who, what (`kind`), the filters and options given,
    how many rows, which sensitive fields it held in clear."""
    audit.record(s, by=by.handle, action=f"{kind.removesuffix('s')}.export",
                 entity=kind.removesuffix("s"),
                 detail={"rows": rows, "in_clear": fields_in_clear, "options": options})


def rows(
    s: Session, kind: str, query: CustomerQuery, clearance: Clearance
) -> Iterator[dict[str, Any]]:
    """The records of `kind` belonging to the customers `query` selects, as machine dicts."""
    keys, _ = columns(s, kind, clearance)
    statement = _statement(kind, query)
    if kind == "customers":
        custom = list(custom_fields.declared(s))
        for customer in s.exec(statement.execution_options(yield_per=PAGE)):
            record = customers.as_dict(customer, custom)
            yield {key: record.get(key) for key in keys}
        return
    for record in s.exec(statement.execution_options(yield_per=PAGE)):
        yield {key: jsonable(getattr(record, "customer_id" if key == "customer" else key))
               for key in keys}


def count(s: Session, kind: str, query: CustomerQuery) -> int:
    """How many rows `rows` gives, in the same transaction: the export's audit event is
    written with it before the first row leaves."""
    return s.exec(select(func.count()).select_from(_statement(kind, query).subquery())).one()


def _statement(kind: str, query: CustomerQuery) -> Any:
    if kind == "customers":
        statement = select(Customer).where(*query.conditions()).order_by(*query.order())
    else:
        model = Note if kind == "notes" else Task
        order = (model.at if model is Note else model.created_at, model.id)
        statement = (
            select(model).join(Customer, Customer.id == model.customer_id)
            .where(*query.conditions(), col(model.deleted_at).is_(None))
            .order_by(*query.order(), *order)
        )
    return statement.limit(query.limit) if query.limit else statement
