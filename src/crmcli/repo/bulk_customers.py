"""Bulk import of customers: the same rules as `crm customer add`, at bulk speed.

Every value goes through fields.parse_customer and every new customer through
customers.new_rows (defaults, owner assignment, audit events), exactly as
customers.create; updates go through customers.change, as `crm customer edit`. What
differs is only how rows reach the database: new customers, their assignments and their
events are inserted with SQLAlchemy Core, a batch at a time (an ORM object per row is
~15× slower), and the search index is filled in one statement after the load.

Duplicates are looked for on the id (an export's), normalised phone, normalised e-mail,
then name + company case-folded: in the database with one query per key kind and batch,
and within the batch; a row repeating an earlier row of the same batch waits for the
next one, by which time the earlier row is in the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from crmcli import clock, fields
from crmcli.db import region
from crmcli.errors import CrmError, Duplicate, Invalid
from crmcli.models import Assignment, AuditEvent, Customer, User
from crmcli.repo import custom_fields, customers, search, users
from crmcli.repo.bulk import Importer, Row, insert_rows, remembered

KEY_COLUMNS = {
    "id": Customer.id,
    "phone": Customer.phone,
    "email": Customer.email,
    "name and company": Customer.dedupe_key,
}


@dataclass
class Entry:
    """A parsed row: its values, the owner it names, and its duplicate keys in match order."""

    row: Row
    standard: dict[str, Any]
    extra: dict[str, Any]
    customer_id: str | None
    owner: User | None
    keys: list[tuple[str, str]]


def parse_id(text: Any) -> str | None:
    """An `id` column (an export's): a full uuid, kept so notes and tasks can point at it."""
    if text is None or not str(text).strip():
        return None
    try:
        return str(uuid.UUID(str(text).strip()))
    except ValueError:
        raise Invalid(f"{text!r} is not a full customer id", "id") from None


class CustomerImport(Importer):
    kind = "customers"

    def __init__(self, s, **options):
        super().__init__(s, **options)
        self.region = region(s)
        self.custom = custom_fields.declared(s)
        self.owners: dict[str, User | Invalid] = {}
        self.last_pk = search.last_pk(s)

    def parse(self, row: Row, whole: bool = True) -> Entry:
        values = dict(row.values)
        customer_id = parse_id(values.pop("id", None))
        standard, extra = fields.parse_customer(values, self.region, self.custom)
        owner = self._owner(standard["owner"]) if standard.get("owner") else None
        keys = [("id", customer_id)] if customer_id else []
        keys += [(kind, standard[kind]) for kind in ("phone", "email") if standard.get(kind)]
        if standard.get("name"):
            key = customers.dedupe_key(standard["name"], standard.get("company"))
            keys.append(("name and company", key))
        return Entry(row, standard, extra, customer_id, owner, keys)

    def _owner(self, handle: str) -> User:
        return remembered(self.owners, handle, lambda h: users.get_active(self.s, h), "owner")

    def write(self, entries: list[Entry]) -> list[Entry]:
        self.now = clock.now()  # a batch is stamped with one time
        found = self._existing(entries)
        pending: set[tuple[str, str]] = set()
        new: list[customers.NewCustomer] = []
        updates: list[tuple[Any, Entry]] = []
        deferred: list[Entry] = []
        for entry in entries:
            match = next((key for key in entry.keys if key in found), None)
            if match:
                self._duplicate(entry, match[0], found[match], updates)
            elif pending.intersection(entry.keys):
                deferred.append(entry)
            elif (rows := self._new(entry)) is not None:
                new.append(rows)
                pending.update(entry.keys)
        self._insert(new)
        self._update(updates)
        return deferred

    def _existing(self, entries: list[Entry]) -> dict[tuple[str, str], Any]:
        """The stored customers any of these rows' keys point at (ids: deleted ones too)."""
        found: dict[tuple[str, str], Any] = {}
        for kind, column in KEY_COLUMNS.items():
            wanted = {value for entry in entries for k, value in entry.keys if k == kind}
            if not wanted:
                continue
            query = select(Customer.pk, Customer.id, Customer.name, Customer.company,
                           Customer.deleted_at, column.label("key")).where(col(column).in_(wanted))
            if kind != "id":
                query = query.where(col(Customer.deleted_at).is_(None))
            for match in self.s.exec(query):
                found[(kind, match.key)] = match
        return found

    def _duplicate(self, entry: Entry, kind: str, match: Any, updates: list) -> None:
        if match.deleted_at is not None:
            self.refuse(entry.row.where, [Invalid("belongs to a deleted customer", "id")])
        elif self.on_duplicate == "skip":
            self.report.skipped += 1
        elif self.on_duplicate == "error":
            reason = f"same {kind} as existing customer {customers.describe(match)}"
            self.refuse(entry.row.where, [Invalid(reason, "duplicate")])
        else:
            updates.append((match.pk, entry))

    def _new(self, entry: Entry) -> customers.NewCustomer | None:
        try:
            owner = entry.owner or self._owner(self.by.handle)
            return customers.new_rows(
                entry.standard, entry.extra, owner=owner, by=self.by,
                customer_id=entry.customer_id, now=self.now,
            )
        except Invalid as problem:
            return self.refuse(entry.row.where, [problem])

    def _insert(self, new: list[customers.NewCustomer]) -> None:
        if not new:
            return
        insert_rows(self.s, Customer, [rows.customer for rows in new])
        insert_rows(self.s, Assignment, [rows.assignment for rows in new])
        insert_rows(self.s, AuditEvent, [event for rows in new for event in rows.events])
        self.report.created += len(new)

    def _update(self, updates: list[tuple[int, Entry]]) -> None:
        """Non-empty incoming values overwrite; empty ones never erase."""
        if not updates:
            return
        query = select(Customer).where(col(Customer.pk).in_({pk for pk, _ in updates}))
        stored = {customer.pk: customer for customer in self.s.exec(query)}
        changed = []
        for pk, entry in updates:
            customer = stored[pk]
            standard = {k: v for k, v in entry.standard.items() if v not in (None, [])}
            extra = {k: v for k, v in entry.extra.items() if v is not None}
            savepoint = self.s.begin_nested()
            try:
                changes = customers.change(self.s, customer, standard, extra, by=self.by)
                savepoint.commit()
            except CrmError as problem:
                savepoint.rollback()
                self.refuse(entry.row.where, [_invalid(problem, customer)])
                continue
            if changes:
                self.report.updated += 1
                changed.append(pk)
            else:
                self.report.unchanged += 1
        search.refresh(self.s, changed)

    def finish(self) -> None:
        search.index_new(self.s, self.last_pk)


def _invalid(error: CrmError, customer: Customer) -> Invalid:
    """A refused update of `customer` as an invalid row. The duplicate guard's own way out
    (--allow-duplicate) is `crm customer`'s; an import offers --on-duplicate instead."""
    if isinstance(error, Duplicate):
        return Invalid(
            f"{error.found} (the row updates {customers.describe(customer)}); correct the "
            "row, or pass --on-duplicate skip to leave stored customers as they are",
            error.field,
        )
    return error if isinstance(error, Invalid) else Invalid(str(error))
