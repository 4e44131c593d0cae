"""Where a record added on a replica belongs in the shared database.

A note, task or assignment points at its customer (an attachment at its note). While the
replica was offline, that customer may have changed elsewhere:
- merged into another one: the record moves to the customer it was merged into (through
  any chain of merges), as a local merge would have moved it;
- deleted: the record still goes in (nothing is dropped), and the push keeps a "deleted"
  conflict entry for it, whose `--restore-other` restores the customer;
- removed from the shared database outright: the record has nowhere to go and becomes a
  "gone" conflict entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crmcli.sync import shared
from crmcli.sync.tables import Synced

STATE = ("id", "deleted_at", "merged_into")  # what deciding a home needs of a parent


def homes(
    conn: Any, parents: Synced, coming: dict[str, dict], wanted: Iterable[str]
) -> dict[str, dict]:
    """The parent record each wanted id ends at, as this push leaves it: `coming` are the
    parent rows this push writes, the others are read from the shared database. Ids the
    shared database does not hold are left out."""
    columns = [name for name in STATE if name in parents.columns]
    known: dict[str, dict] = {}
    asked: set[str] = set()
    missing = set(wanted)
    while missing:  # one round trip per step of a chain of merges (almost always one)
        asked |= missing
        known |= {record_id: coming[record_id] for record_id in missing & coming.keys()}
        known |= shared.rows_by(conn, parents, "id", missing - coming.keys(), columns)
        missing = {target for row in known.values() if (target := _merged_into(row))} - asked
    found = {}
    for record_id in set(wanted) & known.keys():
        row, seen = known[record_id], {record_id}
        while (target := _merged_into(row)) in known and target not in seen:
            row = known[target]
            seen.add(target)
        found[record_id] = row
    return found


def _merged_into(row: dict) -> str | None:
    """The customer a deleted customer was merged into (None for anything else)."""
    return row.get("merged_into") if row.get("deleted_at") is not None else None
