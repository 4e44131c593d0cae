"""Bulk import of notes and tasks, each naming its customer by id, e-mail, phone or name.

Rows go through notes.add and tasks.add, the functions behind `crm note add` and `crm task
add`, one savepoint each so that `--partial` can drop a refused row and keep the rest.
These imports are not on the hot path customer imports are, so they use the ORM.

Which stored record a row is: the one its `id` names (an export's; a new record keeps that
id, so export → import into an empty database → export gives the same file). A row
without an id is matched on its customer and text (a note: same text, and same time if
given; a task: same title): the n-th such row of the file is the n-th such stored record,
oldest first, and a row beyond those is a new record. So two tasks with the same title
stay two, and running the same import twice adds nothing the second time. The counts of
rows without an id are kept for the whole import (one small entry per distinct text),
the one thing here that grows with the file. A matched row is handled as --on-duplicate
says.
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
from crmcli.repo import customers, notes, tasks, users
from crmcli.repo.bulk import Importer, Row, parse_id, remembered


@dataclass
class Entry:
    row: Row
    customer: Customer | None
    record_id: str | None = None
    at: datetime | None = None


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


class FollowUpImport(Importer):
    """Resolving the customer column, matching stored records, the savepoint per row."""

    model: Any = None  # Note or Task

    def __init__(self, s, **options):
        super().__init__(s, **options)
        self.region = region(s)
        self.found: dict[str, Customer | Invalid] = {}
        self.people: dict[str, User | Invalid] = {}
        self.occurrences: dict[tuple, int] = {}  # (customer, text…) of id-less rows → rows seen

    def person(self, text: str, field: str, *, active: bool = True) -> User:
        """The user a cell names by handle or name (an active one unless `active` is False:
        a note's author may have left since); an unknown one is the row's problem,
        reported against `field`."""
        key = f"{text}\x1f{active}"
        return remembered(self.people, key,
                          lambda _: users.named(self.s, text, active=active), field)

    def handle(self, values: dict[str, Any], field: str, *, active: bool = True) -> str | None:
        """The handle of the user the row's `field` names, if it names one."""
        text = _text(values, field)
        return self.person(text, field, active=active).handle if text else None

    def entry(self, row: Row, whole: bool, at: datetime | None = None) -> Entry:
        """The row's customer and id (`whole=False`: only those it holds, see `problems`)."""
        values = row.values
        record_id = parse_id(values.get("id"), self.kind.removesuffix("s"))
        customer = self.customer(_text(values, "customer")) if whole or "customer" in values else None
        return Entry(row, customer, record_id, at)

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
            try:
                existing = self.existing(entry)
            except Invalid as problem:
                self.refuse(entry.row.where, [problem])
                continue
            if existing is None:
                if self._guarded(entry, self.create, entry) is not None:
                    self.report.created += 1
            elif self.on_duplicate == "skip":
                self.report.skipped += 1
            elif self.on_duplicate == "error":
                what = self.kind.rstrip("s")
                self.refuse(entry.row.where, [Invalid(f"the same {what} exists already", "duplicate")])
            else:
                changed = self._guarded(entry, self.revise, existing, entry)
                if changed:
                    self.report.updated += 1
                elif changed is False:
                    self.report.unchanged += 1
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

    def existing(self, entry: Entry) -> Any:
        """The stored record the row is: by id, else the n-th of its customer and text."""
        what = self.kind.removesuffix("s")
        if entry.record_id:
            record = self.s.get(self.model, entry.record_id)
            if record is None:
                return None
            if record.deleted_at is not None:
                raise Invalid(f"{what} {entry.record_id} was deleted", "id")
            if record.customer_id != entry.customer.id:
                raise Invalid(f"{what} {entry.record_id} belongs to another customer", "customer")
            return record
        text, conditions = self.same(entry)
        key = (entry.customer.id, *text)
        seen = self.occurrences.get(key, 0)
        self.occurrences[key] = seen + 1
        query = (select(self.model)
                 .where(self.model.customer_id == entry.customer.id, *conditions,
                        col(self.model.deleted_at).is_(None))
                 .order_by(*self.age(), self.model.id))
        return self.s.exec(query.offset(seen).limit(1)).first()

    def same(self, entry: Entry) -> tuple[tuple, list[Any]]:
        """What an id-less row is matched on, and the conditions a stored record of its
        customer meets to be the same."""
        raise NotImplementedError

    def age(self) -> tuple[Any, ...]:
        """The columns ordering records oldest first."""
        raise NotImplementedError

    def create(self, entry: Entry) -> Any: ...

    def revise(self, record: Any, entry: Entry) -> bool: ...


class NoteImport(FollowUpImport):
    kind = "notes"
    model = Note

    def parse(self, row: Row, whole: bool = True) -> Entry:
        self.handle(row.values, "author", active=False)
        if _text(row.values, "direction"):
            notes.parse_direction(_text(row.values, "direction"),
                                  fields.parse_note_kind(_text(row.values, "kind") or "internal"))
        return self.entry(row, whole, at=self.when(row.values, "at"))

    def same(self, entry: Entry) -> tuple[tuple, list[Any]]:
        body = _text(entry.row.values, "body")
        conditions = [Note.body == body]
        second = entry.at.replace(microsecond=0) if entry.at else None
        if second:  # to the second: exports write times to the second
            conditions += [col(Note.at) >= second, col(Note.at) < second + timedelta(seconds=1)]
        return (body, second), conditions

    def age(self) -> tuple[Any, ...]:
        return (Note.at,)

    def create(self, entry: Entry) -> Note:
        values = entry.row.values
        return notes.add(
            self.s, entry.customer, _text(values, "body"), by=self.by,
            kind=_text(values, "kind") or "internal", quote=_text(values, "quote") or None,
            author=self.handle(values, "author", active=False), at=entry.at,
            note_id=entry.record_id, direction=_text(values, "direction") or None,
        )

    def revise(self, note: Note, entry: Entry) -> bool:
        """Set the row's non-empty values that differ through notes.edit, the function
        behind `crm note edit`: its history action and its right (a row changing nothing
        needs none). The text differs only in a row matched by id."""
        values = entry.row.values
        body, quote, kind, direction = (
            _text(values, name) for name in ("body", "quote", "kind", "direction"))
        edits = {}
        if body and fields.parse_text(body, "body") != note.body:
            edits["body"] = body
        if quote and fields.parse_text(quote, "quote") != note.quote:
            edits["quote"] = quote
        if kind and fields.parse_note_kind(kind) != note.kind:
            edits["kind"] = kind
        if direction and fields.parse_direction(direction) != note.direction:
            edits["direction"] = direction
        return bool(edits and notes.edit(self.s, note, by=self.by, **edits))


class TaskImport(FollowUpImport):
    kind = "tasks"
    model = Task

    def parse(self, row: Row, whole: bool = True) -> Entry:
        self.handle(row.values, "assignee")
        return self.entry(row, whole)

    def same(self, entry: Entry) -> tuple[tuple, list[Any]]:
        title = _text(entry.row.values, "title")
        return (title,), [Task.title == title]

    def age(self) -> tuple[Any, ...]:
        return (Task.created_at,)

    def create(self, entry: Entry) -> Task:
        values = entry.row.values
        return tasks.add(
            self.s, entry.customer, _text(values, "title"), by=self.by,
            assignee=self.handle(values, "assignee"), due=_text(values, "due") or None,
            priority=_text(values, "priority") or "normal",
            status=_text(values, "status") or "open", task_id=entry.record_id,
        )

    def revise(self, task: Task, entry: Entry) -> bool:
        """Set the row's non-empty values that differ through the functions behind `crm
        task edit`, `reassign`, `done`, `cancel` and `reopen`: the history says what it
        says for those commands, and each change takes the right its command takes (a row
        changing nothing needs none)."""
        values = entry.row.values
        title, due, priority, status = (
            _text(values, name) for name in ("title", "due", "priority", "status"))
        edits = {}
        if title and fields.parse_text(title, "title", 500) != task.title:  # matched by id
            edits["title"] = title
        if due and self.when(values, "due") != task.due:
            edits["due"] = due
        if priority and fields.parse_priority(priority) != task.priority:
            edits["priority"] = priority
        changed = bool(edits and tasks.edit(self.s, task, by=self.by, **edits))
        assignee = self.handle(values, "assignee")
        if assignee and assignee != task.assignee:
            changed |= tasks.reassign(self.s, task, assignee, by=self.by)
        if status:
            transition = {"open": tasks.reopen, "done": tasks.complete, "cancelled": tasks.cancel}
            changed |= transition[fields.parse_task_status(status)](self.s, task, by=self.by)
        return changed
