"""A customer's whole story: the record, its notes, tasks, assignments and history, and
the timeline that merges them newest first (`crm customer show`, the customer screen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from crmcli.models import Assignment, AuditEvent, Customer, Note, Task
from crmcli.repo import assignments, audit, notes, tasks


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # note | task | assignment | event
    record: Any


SHOWN_AS_RECORDS = frozenset({"note", "attachment", "assignment"})
# ... but a note shows only as it is now: its corrections and its deletion are told too.
SHOWN_AS_EVENTS = frozenset({"note.update", "note.delete"})


@dataclass
class CustomerDetail:
    customer: Customer
    notes: list[Note]
    tasks: list[Task]
    assignments: list[Assignment]
    history: list[AuditEvent]

    @property
    def newest_seq(self) -> int:
        """The local seq of the last event this replica recorded about the customer.

        It moves whenever a change reaches this replica, even one stamped earlier than
        everything already shown (a colleague worked offline and synced later), which the
        time order of `history` hides: its last event is the latest written, not the
        latest to arrive.
        """
        return max((event.seq for event in self.history), default=0)

    def timeline(self) -> list[TimelineEntry]:
        """Notes, tasks, assignments and history events merged, newest first."""
        entries = [TimelineEntry(note.at, "note", note) for note in self.notes]
        entries += [TimelineEntry(task.created_at, "task", task) for task in self.tasks]
        entries += [TimelineEntry(a.since, "assignment", a) for a in self.assignments]
        entries += [
            TimelineEntry(event.at, "event", event)
            for event in self.history
            if (event.entity not in SHOWN_AS_RECORDS or event.action in SHOWN_AS_EVENTS)
            and event.action != "task.create"
        ]
        # uuid7 ids grow with creation time: they order records made in the same instant.
        return sorted(entries, key=lambda entry: (entry.at, entry.record.id), reverse=True)


def detail(s: Session, customer: Customer) -> CustomerDetail:
    return CustomerDetail(
        customer=customer,
        notes=notes.for_customer(s, customer.id),
        tasks=tasks.for_customer(s, customer.id),
        assignments=assignments.for_customer(s, customer.id),
        history=audit.for_customer(s, customer),
    )
