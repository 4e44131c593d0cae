"""What one push writes into the shared database, decided record by record.

`push.py` reads what the shared database holds and hands each record the replica changed
to a `Plan`: judged field by field against the shared row (`merge.judge`), inserted as
new, placed under the parent it ends at (`parents.py`), or kept in a conflict entry. The
plan collects the rows to write, the conflict entries, and the events of the changes
the push makes itself (a record moved to a merged customer, an assignment ended), all
stamped with the shared database's time and the pushing member's handle.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crmcli.models import Conflict
from crmcli.repo import audit, entities
from crmcli.sync import merge, merges, rights, shared
from crmcli.sync.schema import Who
from crmcli.sync.tables import BY_ENTITY, Synced, comparable

UNSHARED_ON_JOIN = frozenset({"role"})  # a user's role comes from the shared admins
# What a conflict entry's resolution needs to know of the record it is about (`may_resolve`)
SUBJECT_COLUMNS = {
    "note": ("customer_id", "author"), "task": ("customer_id", "assignee", "created_by"),
    "attachment": ("note_id",), "assignment": ("customer_id",),
}


def _comparable(row: dict) -> dict:
    return {name: comparable(value) for name, value in row.items()}


@dataclass
class Plan:
    """What one push writes, built record by record (see the module doc)."""

    handle: str
    now: datetime
    role: str  # the pusher's role in the shared database
    who: Who | None = None  # the pusher as the shared database knows them
    # customer id -> who answers for it before the push (`rights.standings`)
    standing: dict[str, rights.Standing] = field(default_factory=dict)
    writes: dict[str, dict[str, dict]] = field(default_factory=lambda: defaultdict(dict))
    conflicts: list[Conflict] = field(default_factory=list)
    remapped: dict[tuple[str, str], str] = field(default_factory=dict)
    # (entity, id) -> the shared record a conflict entry this push resolves is about
    subjects: dict[tuple[str, str], dict] = field(default_factory=dict)
    made: list[dict] = field(default_factory=list)  # events of changes the push itself makes
    # entity -> id -> the replica's changes, for the records this push adds
    added: dict[str, dict[str, merge.RecordChanges]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    def conflict(
        self, kind: str, changes: merge.RecordChanges, record_id: str, paths: list[str],
        mine: dict, theirs: dict | None,
    ) -> None:
        """Keep what did not make it. An "edit" conflict is about one field and holds plain
        values; a "deleted" or "gone" one is about the record and holds {field: value}."""
        paths = sorted(paths)
        if kind == "edit":
            [path] = paths
            values = (
                changes.base.get(path), entities.get(mine, path), entities.get(theirs or {}, path)
            )
        else:
            values = (
                {path: changes.base.get(path) for path in paths},
                {path: entities.get(mine, path) for path in paths},
                {path: entities.get(theirs, path) for path in paths} if theirs else None,
            )
        author = max((changes.authors[path] for path in paths), key=lambda a: a.order)
        self.conflicts.append(Conflict(
            kind=kind, entity=changes.entity, entity_id=record_id,
            customer_id=changes.customer_id, field=", ".join(paths),
            base=values[0], mine=values[1], theirs=values[2],
            actor=author.actor, made_at=author.at, event_id=author.event_id,
            created_at=self.now, updated_at=self.now,
        ))

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def may_write(self, entity: str) -> bool:
        """Whether the pusher may change records of this kind (`entities.WRITERS`)."""
        return self.role in entities.WRITERS.get(entity, (self.role,))

    def may_take(
        self, entity: str, current: dict, paths: list[str], changes: merge.RecordChanges
    ) -> bool:
        """Whether the pusher may make these changes to the shared record `current`: what
        `crm user` and `crm field` would refuse, and the record permissions (`rights.py`)
        the shared database applies."""
        if not self.may_write(entity):
            return False
        if self.who is None or entity not in rights.GUARDED:
            return True
        standing = self.standing.get(changes.customer_id or "")
        return rights.may_take(self.who, entity, current, paths, standing)

    def read_subjects(self, conn: Any, entries: dict[str, dict]) -> None:
        """Read what the conflict entries this push resolves are about, as the shared
        database holds it (and who answers for their customers), for `may_resolve`; for an
        entry between two resolutions, the entry it is about, and what that one is about."""
        originals = shared.rows_by(conn, BY_ENTITY["conflict"], "id", {
            entry["entity_id"] for entry in entries.values()
            if entry.get("resolved_at") is not None and entry["entity"] == "conflict"})
        self.subjects.update({("conflict", key): row for key, row in originals.items()})
        entries = {**entries, **originals}
        wanted: dict[str, set[str]] = defaultdict(set)
        for entry in entries.values():
            if entry.get("resolved_at") is not None and entry["entity"] in SUBJECT_COLUMNS:
                wanted[entry["entity"]].add(entry["entity_id"])
        for entity, record_ids in wanted.items():
            found = shared.rows_by(
                conn, BY_ENTITY[entity], "id", record_ids, ("id", *SUBJECT_COLUMNS[entity]))
            self.subjects.update({(entity, key): row for key, row in found.items()})
        notes = shared.rows_by(conn, BY_ENTITY["note"], "id", {
            row["note_id"] for (entity, _), row in self.subjects.items() if entity == "attachment"
        }, ("id", "customer_id", "author"))
        for (entity, _), row in self.subjects.items():
            if entity == "attachment" and row["note_id"] in notes:
                row.update(notes[row["note_id"]])
        missing = {row.get("customer_id") for row in self.subjects.values()} | {
            entry["customer_id"] for entry in entries.values()}
        self.standing.update(rights.standings(
            conn, {c for c in missing if c and c not in self.standing}))

    def may_resolve(self, entry: dict, resolution: str | None) -> bool:
        """Whether the pusher may resolve the shared conflict entry so, as the shared
        database's `crm_require_resolves` judges it (and `crm conflicts resolve` does)."""
        if self.who is None:
            return True
        entity = entry["entity"]
        if entity in entities.WRITERS:
            return resolution == "theirs" or self.may_write(entity)
        if resolution == "theirs" and entry["actor"] == self.handle:
            return True  # giving up one's own change
        if entity == "conflict":  # between two resolutions: as writing into the one it is about
            original = self.subjects.get((entity, entry["entity_id"]))
            return original is None or self.may_resolve(original, "value")
        subject = self.subjects.get((entity, entry["entity_id"]), {})
        if entity == "note" and subject:
            return rights.may_change_note(
                self.who, subject.get("author"), self.standing.get(subject["customer_id"]))
        if self.handle in {subject.get(name) for name in ("author", "assignee", "created_by")}:
            return True
        customer_id = entry["entity_id"] if entity == "customer" else (
            subject.get("customer_id") or entry["customer_id"])
        return customer_id is None or rights.may_change(self.who, self.standing.get(customer_id))

    def end_unentitled_hand_overs(self) -> None:
        """End, and keep in a conflict entry, each role this push still hands over (after
        `roles.settle`) on a customer the pusher may no longer change: someone entitled
        can take it with `crm conflicts resolve`."""
        for record_id, changes in self.added["assignment"].items():
            row = self.writes["assignment"][record_id]
            standing = self.standing.get(row["customer_id"])
            if self.who is None or row["until"] is not None or rights.may_change(self.who, standing):
                continue
            self.end_assignment(row, f"{self.handle} may not hand over roles on this customer")
            if not (row["role"] == "owner"
                    and self.has_conflict("customer", row["customer_id"], "owner")):
                self.conflict("edit", changes, record_id, ["user"], row, None)

    def insert(self, synced: Synced, changes: merge.RecordChanges, row: dict) -> None:
        """Insert a record new to the shared database. A user added by someone who is not
        an admin joins as a member (a member's own record is added so when they join); a
        custom field declared by someone `crm field add` refuses arrives deleted, kept in a
        "deleted" conflict an admin or manager may restore."""
        row = dict(row)
        if synced.entity == "user" and not self.admin:
            row["role"] = "member"
        refused = synced.entity != "user" and not self.may_write(synced.entity)
        if refused and row["deleted_at"] is None:
            row.update(deleted_at=self.now, updated_at=self.now)
            self.record_conflict("deleted", changes, row)
        self.writes[synced.entity][row["id"]] = row
        self.added[synced.entity][row["id"]] = changes

    def insert_child(
        self, synced: Synced, changes: merge.RecordChanges, row: dict, home: dict, knew: bool
    ) -> None:
        """Insert a record added on the replica under `home`, the parent it ends at
        (`parents.homes`): moved there if its own parent was merged away, and kept with a
        "deleted" conflict if that one is deleted, unless this replica deleted it (`knew`)."""
        column = synced.parent[0] if synced.parent else ""
        if row[column] != home["id"]:
            self.made.append(self.event(
                f"{synced.entity}.update", synced.entity, row["id"], home["id"],
                changes={column: [row[column], home["id"]]}, detail={"merged_from": row[column]},
            ))
            row = {**row, column: home["id"]}
            changes = dataclasses.replace(changes, customer_id=home["id"])
        self.insert(synced, changes, row)
        if home["deleted_at"] is not None and not knew:
            self.record_conflict("deleted", changes, row)

    def end_assignment(self, row: dict, reason: str) -> None:
        """End an assignment this push writes, now, as `assignments.end` would."""
        row.update(until=self.now, updated_at=self.now, version=row["version"] + 1)
        self.made.append(self.event(
            "assignment.end", "assignment", row["id"], row["customer_id"],
            changes={"until": [None, comparable(self.now)]}, detail={"reason": reason},
        ))

    def has_conflict(self, entity: str, record_id: str, field: str | None = None) -> bool:
        """Whether this push made a conflict entry about the record (or that field of it)."""
        return any(
            entry.entity == entity and entry.entity_id == record_id
            and (field is None or (entry.kind == "edit" and entry.field == field))
            for entry in self.conflicts
        )

    def record_conflict(self, kind: str, changes: merge.RecordChanges, row: dict) -> None:
        """A conflict about a whole record the replica added or changed (its fields with a
        value)."""
        mine = _comparable(row)
        paths = [path for path in changes.base if entities.get(mine, path) is not None]
        if paths:
            self.conflict(kind, changes, row["id"], paths, mine, None)

    def merge_into(
        self, synced: Synced, changes: merge.RecordChanges, current: dict, row: dict
    ) -> None:
        """Judge the replica's changes against the shared `current` row, field by field."""
        if (synced.entity, changes.entity_id) in self.remapped:
            changes = self.recognised(synced, changes, row)
        theirs, mine = _comparable(current), _comparable(row)
        verdict = merge.judge(theirs, mine, changes, synced.stamps)
        if synced.entity == "conflict":
            allowed = not verdict.take or self.may_resolve(current, row.get("resolution"))
        else:
            allowed = not verdict.take or self.may_take(
                synced.entity, current, verdict.take, changes)
        if not allowed:
            verdict.conflicts += [("edit", path) for path in verdict.take]
            verdict.take = []
        updated = dict(current)
        for path in verdict.take:
            entities.put(updated, path, entities.get(row, path))
        if verdict.take:
            updated["version"] = current["version"] + 1
            updated["updated_at"] = self.now
            if "updated_by" in updated and changes.last:
                updated["updated_by"] = changes.last.actor
        self.writes[synced.entity][updated["id"]] = updated
        if synced.entity == "conflict":
            return  # who resolved a conflict first stands; the resolution's own change merges
        deleted = [path for kind, path in verdict.conflicts if kind == "deleted"]
        if deleted:
            self.conflict("deleted", changes, current["id"], deleted, mine, theirs)
        if verdict.unseen:
            self.unseen_conflict(changes, current, mine, verdict.unseen)
        for kind, path in verdict.conflicts:
            if kind == "edit":
                self.conflict(kind, changes, current["id"], [path], mine, theirs)

    def unseen_conflict(
        self, changes: merge.RecordChanges, current: dict, mine: dict, paths: list[str]
    ) -> None:
        """Keep the edits made elsewhere that this push's deletion removes unseen (see
        `merge.unseen`): a "deleted" entry as for an edit that arrives after the deletion,
        holding the edited values (`--restore-other` restores the record with them), what the
        deleter had seen as `base`, and the editor as its author (the record's
        `updated_by`, where it has one)."""
        deletion, theirs = changes.authors[merge.DELETED], _comparable(current)
        self.conflicts.append(Conflict(
            kind="deleted", entity=changes.entity, entity_id=theirs["id"],
            customer_id=changes.customer_id, field=", ".join(paths),
            base={path: entities.get(mine, path) for path in paths},
            mine={path: entities.get(theirs, path) for path in paths}, theirs=None,
            actor=current.get("updated_by") or deletion.actor,
            made_at=current.get("updated_at") or deletion.at, event_id=deletion.event_id,
            created_at=self.now, updated_at=self.now,
        ))

    def refused_merge(self, refused: merges.Refused) -> None:
        """Keep a merge the shared database refuses (`merges.py`): one "merge" entry about
        the customer it was to merge away; `mine` is the keeper, `theirs` where it went."""
        event = refused.event
        self.conflicts.append(Conflict(
            kind="merge", entity="customer", entity_id=refused.other,
            customer_id=refused.other, field="merged_into", base=None, mine=refused.keeper,
            theirs=refused.went_to, actor=event.actor, made_at=event.at, event_id=event.id,
            created_at=self.now, updated_at=self.now,
        ))

    def recognised(
        self, synced: Synced, changes: merge.RecordChanges, row: dict
    ) -> merge.RecordChanges:
        """The changes still to judge on a record the shared database knew by its natural
        key: never a user's role; and for the pusher's own user record (the one `crm init`
        made when they joined), nothing its creation alone set: they get the shared record."""
        own = synced.entity == "user" and row["handle"] == self.handle
        base = {
            path: value for path, value in changes.base.items()
            if path not in UNSHARED_ON_JOIN and not (own and changes.set_only_by_creation(path))
        }
        return dataclasses.replace(changes, base=base)

    def event(self, action: str, entity: str, record_id: str, customer_id: str | None,
              **what: Any) -> dict:
        """An event of a change the push makes itself (as the pusher, at the shared time)."""
        return audit.event_row(
            by=self.handle, action=action, entity=entity, entity_id=record_id,
            customer_id=customer_id, at=self.now, **what,
        )

    def events(self) -> list[dict]:
        """The events of the changes the push made, then a `conflict.create` event for every
        conflict entry made."""
        return self.made + [
            self.event(
                "conflict.create", "conflict", entry.id, entry.customer_id,
                changes=audit.snapshot(entry),
            )
            for entry in self.conflicts
        ]
