"""The masks a team replica shows for the sensitive values it does not hold.

A pull asks the shared database's `crm_masks` (`judge_masks.py`) for the customers it
brings, or for all of them when what this member may read could have changed (a first
pull, a view that moved, readers or users that changed), and keeps the masks in the
local `sensitive_mask` table, replacing what it held for those customers. The shared
database gives only what the connected member may read; `repo.sensitive` shows a mask to
a cleared reader and `restricted` to anyone else using this file.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from crmcli.models import SensitiveMask
from crmcli.repo.sensitive import mask
from crmcli.sync.local import chunks
from crmcli.sync.shared import pages

Held = tuple[str, str, str, str]  # customer id, field, mask, digest


def fetch(conn: Any, customer_ids: Iterable[str] | None) -> list[Held]:
    """The masks of these customers' values (None: every customer the member sees)."""
    ids = None if customer_ids is None else list(customer_ids)
    if ids == []:
        return []
    return _held(conn.execute("SELECT * FROM crm_masks(%s)", (ids,)).fetchall())


def _held(rows: Iterable[tuple]) -> list[Held]:
    return [
        (customer_id, field,
         mask(Decimal(stand_in) if field == "contract_amount" else stand_in), digest)
        for customer_id, field, stand_in, digest in rows
    ]


def store_all(conn: Any, s: Session, page: int) -> None:
    """Replace every mask held by those of every customer the member sees, read in pages
    (a team's masks can be many more than memory should hold)."""
    store(s, None, [])
    for rows in pages(conn, "SELECT * FROM crm_masks(NULL)", (), page):
        store(s, [], _held(tuple(row.values()) for row in rows))


def digests(s: Session, customer_ids: Iterable[str]) -> dict[tuple[str, str], str]:
    """(customer id, field) -> the digest of the value this replica last pulled a mask of."""
    table = SensitiveMask.__table__
    found = {}
    for chunk in chunks(list(customer_ids)):
        query = select(table.c.customer_id, table.c.field, table.c.digest)
        for customer_id, field, digest in s.connection().execute(
                query.where(table.c.customer_id.in_(chunk))):
            found[(customer_id, field)] = digest
    return found


def store(s: Session, customer_ids: Iterable[str] | None, masks: list[Held]) -> None:
    """Replace the masks held for these customers (None: every customer) by `masks`."""
    table = SensitiveMask.__table__
    connection = s.connection()
    if customer_ids is None:
        connection.execute(delete(table))
    else:
        for chunk in chunks(list(customer_ids)):
            connection.execute(delete(table).where(table.c.customer_id.in_(chunk)))
    if masks:
        connection.execute(insert(table), [
            {"customer_id": customer_id, "field": field, "mask": text, "digest": digest}
            for customer_id, field, text, digest in masks
        ])
