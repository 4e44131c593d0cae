"""Bulk import of notes and tasks, each naming its customer by id, e-mail, phone or name.

Rows go through notes.add and tasks.add, the functions behind `crm note add` and `crm task
add`, one savepoint each so that `--partial` can drop a refused row and keep the rest.
These imports are not on the hot path customer imports are, so they use the ORM. A row
that repeats a stored note (same customer, same text, same time if given) or task (same
customer, same title) is a duplicate, handled as --on-duplicate says; so running the same
import twice adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from crmcli import clock, dates, fields
from crmcli.db import region
from crmcli.errors import Ambiguous, CrmError, Invalid, NotFound, PermissionDenied
from crmcli.models import Customer, Note, Task, User
from crmcli.repo import audit, customers, notes, permissions, search, tasks, users
from crmcli.repo.bulk import Importer, Row, remembered


@dataclass
class Entry:
    row: Row
    customer: Customer | None
    at: datetime | None = None


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


class FollowUpImport(Importer):
    """Resolving the customer column, the savepoint per row, the search refresh."""

    def __init__(self, s, **options):
        super().__init__(s, **options)
        self.region = region(s)
        self.found: dict[str, Customer | Invalid] = {}
        self.people: dict[str, User | Invalid] = {}
        self.touched: set[int] = set()

    def person(self, handle: str, field: str, *, active: bool = True) -> User:
        """The user a cell names (an active one unless `active` is False: a note's author may
        have left since); an unknown one is the row's problem, reported against `field`."""
        lookup = users.get_active if active else users.get
        key = f"{handle}\x1f{active}"
        return remembered(self.people, key, lambda _: lookup(self.s, handle), field)

    def customer(self, ref: str) -> Customer:
        """The customer a cell names: id (or unique prefix), exact name, e-mail or phone."""
        if not ref:
            raise Invalid("is required", "customer")
        return remembered(self.found, ref, self._lookup, "customer")

    def _lookup(self, ref: str) -> Customer:
        try:
            return customers.resolve(self.s, ref)
        except NotFound:
            pass
        if "@" in ref:
            condition = Customer.email == fields.parse_email(ref)
        else:
            try:
                condition = Customer.phone == fields.parse_phone(ref, self.region)
            except Invalid:
                raise NotFound(f"no customer matches {ref!r}") from None
        query = select(Customer).where(condition, col(Customer.deleted_at).is_(None))
        matches = list(self.s.exec(query.limit(2)))
        if not matches:
            raise NotFound(f"no customer matches {ref!r}")
        if len(matches) > 1:
            raise Ambiguous(f"{ref!r} matches several customers; use the id", [])
        return matches[0]

    def write(self, entries: list[Entry]) -> list[Entry]:
        for entry in entries:
            existing = self.existing(entry)
            if existing is None:
                if self._guarded(entry, self.create, entry) is not None:
                    self.report.created += 1
                    self.touched.add(entry.customer.pk)
            elif self.on_duplicate == "skip":
                self.report.skipped += 1
            elif self.on_duplicate == "error":
                what = self.kind.rstrip("s")
                self.refuse(entry.row.where, [Invalid(f"the same {what} exists already", "duplicate")])
            else:
                changed = self._guarded(entry, self.revise, existing, entry)
                if changed:
                    self.report.updated += 1
                    self.touched.add(entry.customer.pk)
                elif changed is False:
                    self.report.unchanged += 1
        search.refresh(self.s, self.touched)
        self.touched.clear()
        self.found.clear()
        return []

    def _guarded(self, entry: Entry, action: Callable[..., Any], *args: Any) -> Any:
        """One row's write in a savepoint: its result, or None if the row was refused.
        A row the importing user may not write ends the import (`Importer.denied`)."""
        savepoint = self.s.begin_nested()
        try:
            result = action(*args)
            savepoint.commit()
            return result
        except PermissionDenied as refusal:
            raise self.denied(entry.row, refusal) from None
        except CrmError as error:
            savepoint.rollback()
            problem = error if isinstance(error, Invalid) else Invalid(str(error))
            self.refuse(entry.row.where, [problem])
            return None

    def when(self, values: dict[str, Any], name: str) -> datetime | None:
        text = _text(values, name)
        return dates.parse_when(text, clock.now(), name) if text else None

    def apply(self, record: Any, values: dict[str, Any]) -> bool:
        """Set the non-empty incoming values that differ, audited as an update. Changing
        a record takes the right its own command does; a row changing nothing needs none."""
        values = {k: v for k, v in values.items() if v is not None}
        if any(getattr(record, name) != value for name, value in values.items()):
            permissions.require_record_change(self.s, record, self.by)
        changes = audit.apply(record, values, self.by.handle)
        if changes:
            audit.record(
                self.s, by=self.by.handle, action=f"{type(record).__tablename__}.update",
                entity=type(record).__tablename__, entity_id=record.id,
                customer_id=record.customer_id, changes=changes,
            )
        return bool(changes)

    def existing(self, entry: Entry) -> Any: ...

    def create(self, entry: Entry) -> Any: ...

    def revise(self, record: Any, entry: Entry) -> bool: ...


class NoteImport(FollowUpImport):
    kind = "notes"

    def parse(self, row: Row, whole: bool = True) -> Entry:
        values = row.values
        customer = self.customer(_text(values, "customer")) if whole or "customer" in values else None
        if _text(values, "author"):
            self.person(_text(values, "author"), "author", active=False)
        return Entry(row, customer, self.when(values, "at"))

    def existing(self, entry: Entry) -> Note | None:
        query = select(Note).where(
            Note.customer_id == entry.customer.id,
            Note.body == _text(entry.row.values, "body"),
            col(Note.deleted_at).is_(None),
        )
        if entry.at:  # to the second: exports write times to the second
            second = entry.at.replace(microsecond=0)
            query = query.where(col(Note.at) >= second, col(Note.at) < second + timedelta(seconds=1))
        return self.s.exec(query.limit(1)).first()

    def create(self, entry: Entry) -> Note:
        values = entry.row.values
        return notes.add(
            self.s, entry.customer, _text(values, "body"), by=self.by,
            kind=_text(values, "kind") or "internal", quote=_text(values, "quote") or None,
            author=_text(values, "author") or None, at=entry.at, refresh_search=False,
        )

    def revise(self, note: Note, entry: Entry) -> bool:
        values = entry.row.values
        kind, quote = _text(values, "kind"), _text(values, "quote")
        return self.apply(note, {
            "kind": fields.parse_note_kind(kind) if kind else None,
            "quote": fields.parse_text(quote, "quote") or None,
        })


class TaskImport(FollowUpImport):
    kind = "tasks"

    def parse(self, row: Row, whole: bool = True) -> Entry:
        values = row.values
        customer = self.customer(_text(values, "customer")) if whole or "customer" in values else None
        if _text(values, "assignee"):
            self.person(_text(values, "assignee"), "assignee")
        return Entry(row, customer)

    def existing(self, entry: Entry) -> Task | None:
        query = select(Task).where(
            Task.customer_id == entry.customer.id,
            Task.title == _text(entry.row.values, "title"),
            col(Task.deleted_at).is_(None),
        )
        return self.s.exec(query.limit(1)).first()

    def create(self, entry: Entry) -> Task:
        values = entry.row.values
        return tasks.add(
            self.s, entry.customer, _text(values, "title"), by=self.by,
            assignee=_text(values, "assignee") or None, due=_text(values, "due") or None,
            priority=_text(values, "priority") or "normal",
            status=_text(values, "status") or "open",
        )

    def revise(self, task: Task, entry: Entry) -> bool:
        values = entry.row.values
        assignee, priority, status = (_text(values, n) for n in ("assignee", "priority", "status"))
        changed = self.apply(task, {
            "assignee": self.person(assignee, "assignee").handle if assignee else None,
            "due": self.when(values, "due"),
            "priority": fields.parse_priority(priority) if priority else None,
        })
        if status:
            transition = {"open": tasks.reopen, "done": tasks.complete, "cancelled": tasks.cancel}
            changed |= transition[fields.parse_task_status(status)](self.s, task, by=self.by)
        return changed
