"""备注 in a customer import: each row's remark becomes an internal note on its customer.

Customer lists made in Excel nearly always have a 备注 (remarks) column: what someone
noted about the person. No customer field is meant for it, and dropping it would lose
what the team wrote, so a customer import takes it as a note, by the importing user, on
the customer the row created or updated (a `--map` line sends the column to a field, or
to "ignore", instead). A customer already holding a live note with the same text does not
get it again, so importing a file twice adds each remark once. The notes and their
note.create events are inserted a batch at a time, as the customers are.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from crmcli import fields
from crmcli.models import AuditEvent, Note
from crmcli.repo import audit
from crmcli.repo.bulk import insert_rows
from crmcli.repo.machine import new_row
from crmcli.repo.users import Actor

FIELD = "note"  # the name import gives the column, and a --map file may use
HEADERS = (FIELD, "备注", "remark", "remarks")


def parse(value: object) -> str | None:
    """A remark cell: checked as a note's text; empty is none."""
    return fields.parse_text("" if value is None else str(value), FIELD) or None


def add(
    s: Session, remarks: list[tuple[str, str | None]], *, by: Actor, now: datetime
) -> list[str]:
    """Add each (customer id, remark) as an internal note unless that customer has a live
    note with that text already; returns the customer id of each note added."""
    wanted = {(customer_id, text) for customer_id, text in remarks if text}
    if not wanted:
        return []
    query = select(Note.customer_id, Note.body).where(
        col(Note.customer_id).in_({customer_id for customer_id, _ in wanted}),
        col(Note.body).in_({text for _, text in wanted}),
        col(Note.deleted_at).is_(None),
    )
    held = {(customer_id, body) for customer_id, body in s.exec(query)}
    notes, events = [], []
    for customer_id, text in remarks:
        if not text or (customer_id, text) in held:
            continue
        held.add((customer_id, text))
        note = new_row(Note, {"customer_id": customer_id, "kind": "internal", "body": text,
                              "author": by.handle, "at": now, "created_at": now,
                              "updated_at": now})
        events.append(audit.event_row(
            by=by.handle, action="note.create", entity="note", entity_id=note["id"],
            customer_id=customer_id, changes=audit.snapshot_values(note), at=now,
        ))
        notes.append(note)
    given = [note["customer_id"] for note in notes]
    insert_rows(s, Note, notes)
    insert_rows(s, AuditEvent, events)
    return given
