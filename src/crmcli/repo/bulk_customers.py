"""Bulk import of customers: the same rules as `crm customer add`, at bulk speed.

Every value goes through fields.parse_customer and every new customer through
customers.new_rows (defaults, owner assignment, audit events), exactly as
customers.create; updates go through customers.change, as `crm customer edit`. What
differs is only how rows reach the database: new customers, their assignments and their
events are inserted with SQLAlchemy Core, a batch at a time (an ORM object per row is
~15× slower), and the search index is filled in one statement after the load
(`Importer.run` defers it).

Duplicates are looked for on the id (an export's), normalised phone, normalised e-mail
(under the same name only: `bulk_identity` says who is whom), then name + company
case-folded: in the database with one query per key kind and batch, and within the batch.
Only an id match changes a stored name. Rows of one batch that are one customer (a `Group`):
with --on-duplicate update they are folded together in file order, a later non-empty
value winning as it would over a stored one, and the result is compared with the
database once, so a file holding a customer twice is created, updated or left alone as
one record and importing it again changes nothing. With skip or error, a group's later
rows are skipped or refused as repeats of its first. Groups are per batch (bulk.BATCH
rows), so memory stays flat: rows of one customer further apart than a batch meet in the
database instead, the later one updating what the earlier one wrote. A row whose keys join
two groups (its phone in one, its e-mail in another), or a group and a stored customer
the group does not match, waits for the next batch, as do the rows after it in the batch
that share its keys.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from crmcli import clock, fields
from crmcli.db import region
from crmcli.errors import CrmError, Duplicate, Invalid, PermissionDenied
from crmcli.models import Assignment, AuditEvent, Customer, User
from crmcli.repo import bulk_remarks, custom_fields, customers, routing, sensitive, users
from crmcli.repo.bulk import Importer, Row, insert_rows, listed, parse_id, remembered
from crmcli.repo.bulk_identity import Entry, Group, grouped

ON_NAME_MISMATCH = ("error", "create")

KEY_COLUMNS = {
    "id": Customer.id,
    "phone": Customer.phone,
    "email": Customer.email,
    "name and company": Customer.dedupe_key,
}


def given(entry: Entry) -> tuple[dict[str, Any], dict[str, Any]]:
    """The values a row gives: --on-duplicate update lets these overwrite, and never lets
    an empty one erase."""
    standard = {k: v for k, v in entry.standard.items() if v not in (None, [])}
    extra = {k: v for k, v in entry.extra.items() if v is not None}
    return standard, extra


def folded(group: Group) -> tuple[Entry, list[bool]]:
    """A group's rows as one, in file order (a later non-empty value wins), and for each
    later row whether it changed what the rows before it said."""
    first = group.first
    if len(group.rows) == 1:  # most groups: the row itself, nothing to fold
        return first, []
    standard, extra, owner = dict(first.standard), dict(first.extra), first.owner
    changed = []
    for entry in group.rows[1:]:
        more, more_extra = given(entry)
        if standard.get("name") and not entry.customer_id:
            more.pop("name", None)  # only an id renames: a phone, e-mail or name match never
        changed.append(any(standard.get(k) != v for k, v in more.items())
                       or any(extra.get(k) != v for k, v in more_extra.items()))
        standard.update(more)
        extra.update(more_extra)
        owner = entry.owner or owner
    return Entry(first.row, standard, extra, group.customer_id, owner, first.keys), changed


class CustomerImport(Importer):
    kind = "customers"

    def __init__(self, s, *, on_name_mismatch: str = "error",
                 router: routing.Router | None = None, **options):
        super().__init__(s, **options)
        self.router = router or routing.Router(s)  # owners for rows that name none
        if on_name_mismatch not in ON_NAME_MISMATCH:
            raise Invalid(f"{on_name_mismatch!r} is not one of {', '.join(ON_NAME_MISMATCH)}",
                          "on-name-mismatch")
        self.separate_names = on_name_mismatch == "create"
        self.region = region(s)
        self.custom = custom_fields.declared(s)
        self.memo = fields.ParseMemo()
        self.owners: dict[str, User | Invalid] = {}
        self.clearance = sensitive.clearance(s, self.by)
        self.writable: set[tuple[str, ...]] = set()  # the sets of fields found writable
        self.remarks: list[tuple[str, str | None]] = []  # (customer id, 备注) of the batch
        self.notes_added = 0

    def parse(self, row: Row, whole: bool = True) -> Entry:
        values = dict(row.values)
        customer_id = parse_id(values.pop("id", None))
        bulk_remarks.parse(values.pop(bulk_remarks.FIELD, None))
        if values.get("owner") is not None and str(values["owner"]).strip():  # 王芳 → wangfang
            values["owner"] = self._owner(str(values["owner"]).strip()).handle
        standard, extra = fields.parse_customer(values, self.region, self.custom, self.memo)
        written = (*standard, *extra)
        if written not in self.writable:  # a file's rows name the same fields row after row
            sensitive.require_writable(self.clearance, written)
            self.writable.add(written)
        owner = self._owner(standard["owner"]) if standard.get("owner") else None
        keys = [("id", customer_id)] if customer_id else []
        keys += [(kind, standard[kind]) for kind in ("phone", "email") if standard.get(kind)]
        if standard.get("name"):
            key = customers.dedupe_key(standard["name"], standard.get("company"))
            keys.append(("name and company", key))
        return Entry(row, standard, extra, customer_id, owner, keys)

    def _owner(self, handle: str) -> User:
        return remembered(self.owners, handle, lambda h: users.owner(self.s, h, or_name=True), "owner")

    def write(self, entries: list[Entry]) -> list[Entry]:
        self.now = clock.now()  # a batch is stamped with one time
        found = self._existing(entries)
        groups, deferred, clashes = grouped(entries, found, separate_names=self.separate_names)
        for entry, clash in clashes:
            self.refuse(entry.row.where, [Invalid(clash.reason(entry), clash.kind)])
        new: list[customers.NewCustomer] = []
        updates: list[tuple[Any, Group]] = []
        routed = self._route([group for group in groups if group.match is None])
        for group in groups:
            if group.match is None:
                self._new_group(group, new, routed.get(id(group)))
            else:
                self._duplicate(group, updates)
        self._insert(new)
        self._update(updates)
        self._add_remarks()
        return deferred

    def _add_remarks(self) -> None:
        """The 备注 of the rows that created or updated a customer, as notes on it."""
        noted = bulk_remarks.add(self.s, self.remarks, by=self.by, now=self.now)
        self.notes_added += len(noted)
        self.remarks.clear()

    def _remember_remarks(self, customer_id: str, rows: list[Entry]) -> None:
        self.remarks += [(customer_id, bulk_remarks.parse(entry.row.values.get(bulk_remarks.FIELD)))
                         for entry in rows]

    def _existing(self, entries: list[Entry]) -> dict[tuple[str, str], list[Any]]:
        """The stored customers any of these rows' keys point at, oldest first (ids:
        deleted ones too). A phone or e-mail may be several differently named people's."""
        found: dict[tuple[str, str], list[Any]] = {}
        wanted: dict[str, set[str]] = {kind: set() for kind in KEY_COLUMNS}
        for entry in entries:
            for kind, value in entry.keys:
                wanted[kind].add(value)
        for kind, column in KEY_COLUMNS.items():
            if not wanted[kind]:
                continue
            query = select(Customer.pk, Customer.id, Customer.name, Customer.company,
                           Customer.deleted_at, column.label("key")).where(
                col(column).in_(select(listed(wanted[kind]).c.value)))
            if kind != "id":
                query = query.where(col(Customer.deleted_at).is_(None))
            for match in self.s.exec(query.order_by(Customer.pk)):
                found.setdefault((kind, match.key), []).append(match)
        return found

    def _duplicate(self, group: Group, updates: list) -> None:
        """A group matching a stored customer: update it once, skip or refuse the rows."""
        match = group.match
        if match.deleted_at is not None:
            self.refuse_all(group.rows, Invalid("belongs to a deleted customer", "id"))
        elif self.on_duplicate == "skip":
            self.report.skipped += len(group.rows)
        elif self.on_duplicate == "error":
            reason = f"same {group.kind} as existing customer {customers.describe(match)}"
            self.refuse(group.first.row.where, [Invalid(reason, "duplicate")])
            self._repeats(group, stored=reason)
        else:
            updates.append((match.pk, group))

    def _route(self, fresh: list[Group]) -> dict[int, routing.Routed]:
        """The batch's new customers that name no owner, routed by the rules at once (one
        turn-taking per rule and batch, not per row): {id(group): routed}."""
        made = [(group, self._made_of(group)) for group in fresh]
        unowned = [(group, entry) for group, entry in made
                   if entry.owner is None and entry.standard.get("name")]
        if not unowned:
            return {}
        chosen = self.router.route([(entry.standard, entry.extra) for _, entry in unowned])
        return {id(group): routed for (group, _), routed in zip(unowned, chosen, strict=True)
                if routed is not None}

    def _made_of(self, group: Group) -> Entry:
        """The entry a new group's customer is made of (`_new_group`)."""
        return folded(group)[0] if self.on_duplicate == "update" else group.first

    def _new_group(self, group: Group, new: list[customers.NewCustomer],
                   routed: routing.Routed | None) -> None:
        """A group no stored customer matches: one new customer, from the folded rows
        (update) or from the first row, the others skipped or refused (skip, error)."""
        if self.on_duplicate != "update":
            self._create(group.first, [group.first], new, routed)
            self._repeats(group)
            return
        entry, changed = folded(group)
        if self._create(entry, group.rows, new, routed):
            self._count_later(changed, record_changed=True)

    def _create(self, entry: Entry, rows: list[Entry], new: list,
                routed: routing.Routed | None) -> bool:
        """Add the new customer `entry` says to `new`; if refused, each of `rows` is."""
        try:
            owner = entry.owner or (routed.owner if routed else self._owner(self.by.handle))
            new.append(customers.new_rows(
                entry.standard, entry.extra, owner=owner, by=self.by,
                customer_id=entry.customer_id, now=self.now,
                rule=routed.rule if routed and not entry.owner else None,
            ))
        except Invalid as problem:
            self.refuse_all(rows, problem)
            return False
        self.report.created += 1
        self._remember_remarks(new[-1].customer["id"], rows)
        return True

    def _repeats(self, group: Group, stored: str | None = None) -> None:
        """skip or error: a group's later rows are duplicates of an earlier row (told by
        its line), or, if they share no key with one, of the `stored` customer."""
        for index, entry in enumerate(group.rows[1:], start=1):
            if self.on_duplicate == "skip":
                self.report.skipped += 1
                continue
            shared = next((f"same {kind} as {earlier.row.where}"
                           for earlier in group.rows[:index]
                           for kind, value in entry.keys if (kind, value) in earlier.keys),
                          stored)
            self.refuse(entry.row.where, [Invalid(shared, "duplicate")])

    def _count_later(self, changed: list[bool], *, record_changed: bool) -> None:
        """A group's later rows count as updated where they changed the folded values of
        a record that was created or updated, else as unchanged."""
        updated = sum(changed) if record_changed else 0
        self.report.updated += updated
        self.report.unchanged += len(changed) - updated

    def refuse_all(self, rows: list[Entry], problem: Invalid) -> None:
        """Every one of `rows` refused for the problem of the record they make together."""
        for entry in rows:
            self.refuse(entry.row.where, [problem])

    def _insert(self, new: list[customers.NewCustomer]) -> None:
        if not new:
            return
        insert_rows(self.s, Customer, [rows.customer for rows in new])
        insert_rows(self.s, Assignment, [rows.assignment for rows in new])
        insert_rows(self.s, AuditEvent, [event for rows in new for event in rows.events])

    def _update(self, updates: list[tuple[int, Group]]) -> None:
        """Each group's folded values set on its stored customer, in one change: non-empty
        values overwrite, empty ones never erase. A row updating a customer the importing
        user may not change ends the import (`Importer.denied`).

        The batch's changes are tried together under one savepoint (one per change cost
        more than the change); only if one is refused are they made again one by one,
        each under its own, so the refused group is left out and the others kept."""
        if not updates:
            return
        query = select(Customer).where(col(Customer.pk).in_({pk for pk, _ in updates}))
        stored = {customer.pk: customer for customer in self.s.exec(query)}
        pairs = [(stored[pk], group) for pk, group in updates]
        attempt = self.s.begin_nested()
        try:
            changed = [(customer, group, self._change(customer, group)) for customer, group in pairs]
            attempt.commit()
        except PermissionDenied:
            raise
        except CrmError:
            attempt.rollback()
            changed = [(customer, group, self._change_alone(customer, group))
                       for customer, group in pairs]
        for customer, group, changes in changed:
            if changes is None:
                continue
            self._remember_remarks(customer.id, group.rows)
            if changes:
                self.report.updated += 1
            else:
                self.report.unchanged += 1
            self._count_later(folded(group)[1], record_changed=bool(changes))

    def _change_alone(self, customer: Customer, group: Group) -> dict[str, list[Any]] | None:
        """`_change` under a savepoint of its own: a refused change is undone and its rows
        refused (None)."""
        savepoint = self.s.begin_nested()
        try:
            changes = self._change(customer, group)
            savepoint.commit()
        except PermissionDenied:
            raise
        except CrmError as problem:
            savepoint.rollback()
            self.refuse_all(group.rows, _invalid(problem, customer))
            return None
        return changes

    def _change(self, customer: Customer, group: Group) -> dict[str, list[Any]]:
        entry, _later = folded(group)
        standard, extra = given(entry)
        if group.kind != "id":
            standard.pop("name", None)  # only an id renames: a phone, e-mail or name match never
        try:
            return customers.change(self.s, customer, standard, extra, by=self.by,
                                    shared_contacts=self.separate_names)
        except PermissionDenied as refusal:
            raise self.denied(group.first.row, refusal) from None


def _invalid(error: CrmError, customer: Customer) -> Invalid:
    """A refused update of `customer` as an invalid row. The duplicate guard's own way out
    (--allow-duplicate) is `crm customer`'s; an import offers --on-duplicate instead."""
    if isinstance(error, Duplicate):
        shared = error.found.startswith(("same phone", "same email"))
        return Invalid(
            f"{error.found} (the row updates {customers.describe(customer)}); correct the "
            "row, or pass --on-duplicate skip to leave stored customers as they are"
            + ("; a number shared under two names is allowed by --on-name-mismatch create"
               if shared else ""),
            error.field,
        )
    return error if isinstance(error, Invalid) else Invalid(str(error))

