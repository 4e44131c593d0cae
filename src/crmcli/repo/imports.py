"""The imports a front end can run, and the columns each one understands."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from crmcli import fields, record_columns
from crmcli.repo import bulk_remarks, custom_fields
from crmcli.repo.bulk import Importer
from crmcli.repo.bulk_customers import CustomerImport
from crmcli.repo.bulk_followups import NoteImport, TaskImport

KINDS = {"customers": CustomerImport, "notes": NoteImport, "tasks": TaskImport}


def vocabulary(s: Session, kind: str) -> Callable[[str], str | None]:
    """header → the field it means, for `kind` (customers: also custom fields, id and a
    remark column that becomes a note, `bulk_remarks`)."""
    if kind == "notes":
        return lambda header: record_columns.canonical_column(record_columns.NOTE_COLUMNS, header)
    if kind == "tasks":
        return lambda header: record_columns.canonical_column(record_columns.TASK_COLUMNS, header)
    custom = {fields.fold(name): name for name in custom_fields.declared(s)}
    remark = {fields.fold(header) for header in bulk_remarks.HEADERS}

    def customer_field(header: str) -> str | None:
        folded = fields.fold(header)
        return fields.canonical_field(header) or custom.get(folded) or (
            "id" if folded == "id" else bulk_remarks.FIELD if folded in remark else None)

    return customer_field


def importer(s: Session, kind: str, **options) -> Importer:
    return KINDS[kind](s, **options)
