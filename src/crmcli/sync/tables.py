"""What travels between a replica and the shared database: the synced tables and their columns.

Every synced record table exists on both sides with the same columns, except the local-only
ones (customer.pk, the search index's rowid, and customer.dedupe_key, sort_key and spelled,
derived from name and company). The shared side adds `server_seq`. Audit events travel too, without their local
`seq` and `synced`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import JSON, Table

from crmcli.models import AuditEvent
from crmcli.repo.entities import MODELS
from crmcli.repo.machine import jsonable

LOCAL_ONLY = frozenset({"pk", "dedupe_key", "sort_key", "spelled", "seq", "synced"})
# Sensitive values never travel: on a team they live in the shared database alone, read
# through its audited reveal function (`judge.py`), never in a replica.
SENSITIVE = ("contract_amount", "id_number", "bank_account")


@dataclass(frozen=True)
class Synced:
    """One synced table.

    `entity` is the name audit events use for its records. `natural_key` names the column
    that identifies a record across replicas besides its id (a handle, a field name): two
    replicas may create "the same" user independently, and the shared one then stands for
    both. `parent` is the column pointing at the record this one belongs to, and the table
    it points into. `stamps` maps a column that records when a state was reached to the
    column holding that state (None: the state is whether the stamp is set at all): two
    replicas that reached the same state agree, whenever each of them reached it.
    """

    entity: str
    natural_key: str | None = None
    parent: tuple[str, str] | None = None
    stamps: dict[str, str | None] = field(default_factory=dict)
    model: Any = None  # the entity's table model (`entities.MODELS`) unless given

    def __post_init__(self) -> None:
        if self.model is None:
            object.__setattr__(self, "model", MODELS[self.entity])

    @property
    def table(self) -> Table:
        return self.model.__table__

    @property
    def name(self) -> str:
        return self.table.name

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The columns that travel between both sides, in table order."""
        kept = LOCAL_ONLY | (frozenset(SENSITIVE) if self.entity == "customer" else frozenset())
        return tuple(c.name for c in self.table.columns if c.name not in kept)

    @cached_property
    def json_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.table.columns if isinstance(c.type, JSON))


# Every kind of record (`repo/entities.py`), in dependency order: a record's parent first.
RECORDS: tuple[Synced, ...] = (
    Synced("user", natural_key="handle"),
    Synced("field_def", natural_key="name"),
    Synced("field_reader"),
    Synced("setting", natural_key="key"),
    Synced("customer"),
    Synced("note", parent=("customer_id", "customer")),
    Synced("attachment", parent=("note_id", "note")),
    Synced("task", parent=("customer_id", "customer"), stamps={"done_at": "status"}),
    Synced(
        "assignment", parent=("customer_id", "customer"),
        stamps={"until": None, "acknowledged_at": None},
    ),
    Synced("approval", parent=("customer_id", "customer"), stamps={"decided_at": "status"}),
    Synced("distinct_pair"),  # names two customers: no one parent (`repo/distinct_pairs.py`)
    Synced("conflict"),
)
BY_ENTITY = {synced.entity: synced for synced in RECORDS}
BY_NAME = {synced.name: synced for synced in RECORDS}
EVENTS = Synced("event", model=AuditEvent)


NUL, REPLACEMENT = "\x00", "\ufffd"


def sendable(value: Any) -> Any:
    """A value as the shared database can hold it: every NUL (U+0000) replaced by U+FFFD.

    SQLite stores NUL in text, PostgreSQL's text and jsonb refuse it, and a replica may
    hold such values from before crmcli refused them on entry. So they travel with the
    replacement character, in records, events and conflict entries alike: the record
    converges on that everywhere (its author's replica takes it back with the pull of the
    same sync), while the author's own audit event keeps the original value."""
    if isinstance(value, str):
        return value.replace(NUL, REPLACEMENT) if NUL in value else value
    if isinstance(value, dict):
        return {sendable(key): sendable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [sendable(item) for item in value]
    return value


def comparable(value: Any) -> Any:
    """A stored value in the form audit events record it and the shared database holds it,
    so either side can compare."""
    return sendable(jsonable(value))
