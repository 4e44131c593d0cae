"""The kinds of record audit events and conflict entries name, and paths to their fields.

An audit event or a conflict entry names its record by entity ("customer", "note", …) and
id; `MODELS` is the one map from those names to the tables (sync's list of what travels,
`sync/tables.py`, is built on it). A path names one field of a record in JSON form: a
column ("city"), or "column.key" for one key of a JSON object column ("extra.budget", a
custom field), so custom fields are read, merged and restored one by one.
"""

from __future__ import annotations

from typing import Any

from crmcli.models import (
    Approval,
    Assignment,
    Attachment,
    Conflict,
    Customer,
    DistinctPair,
    FieldDef,
    FieldReader,
    Note,
    Setting,
    Task,
    User,
)

MODELS: dict[str, Any] = {
    "user": User,
    "field_def": FieldDef,
    "field_reader": FieldReader,
    "setting": Setting,
    "customer": Customer,
    "note": Note,
    "attachment": Attachment,
    "task": Task,
    "assignment": Assignment,
    "approval": Approval,
    "distinct_pair": DistinctPair,
    "conflict": Conflict,
}

_ENTITIES = {model: entity for entity, model in MODELS.items()}

# Who may change records of these kinds: the roles `crm user add` / `crm user deactivate`
# and `crm field add` require. A conflict's resolution checks them (`repo/conflicts.py`),
# and so does a push (`sync/plan.py`), so no other path writes what those commands refuse.
WRITERS: dict[str, tuple[str, ...]] = {
    "user": ("admin",), "field_def": ("admin", "manager"), "field_reader": ("admin",),
    "setting": ("admin",),
}


def entity_of(record: Any) -> str:
    """The entity name of a record ("user" for a User, whose table is "users")."""
    return _ENTITIES[type(record)]


def get(row: dict[str, Any], path: str) -> Any:
    """A field's value in a row; "extra.k" reads a key of `extra`."""
    column, _, key = path.partition(".")
    value = row.get(column)
    if key:
        return (value or {}).get(key)
    return value


def put(row: dict[str, Any], path: str, value: Any) -> None:
    """Set a field in a row; for "extra.k" a None value removes the key."""
    column, _, key = path.partition(".")
    if not key:
        row[column] = value
        return
    updated = dict(row.get(column) or {})
    if value is None:
        updated.pop(key, None)
    else:
        updated[key] = value
    row[column] = updated
