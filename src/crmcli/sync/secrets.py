"""Sensitive values on a team: read from the shared database, never from a replica.

On a replica linked to a team the sensitive fields are not held locally (`tables.SENSITIVE`
never travel; what a member typed is pushed and then forgotten, `local.forget_sent`).
Revealing them asks the shared database's `crm_reveal`, which refuses an uncleared reader
and records the reveal in the audit trail before it answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmcli.errors import NotFound, PermissionDenied
from crmcli.sync import connection


def reveal(url: str, customer_id: str, names: list[str]) -> dict[str, Any]:
    """The values of these sensitive fields of a customer, as the shared database holds
    them (None where it holds none)."""
    import psycopg

    conn = connection.connect(url)
    try:
        found = conn.execute("SELECT crm_reveal(%s, %s)", (customer_id, names)).fetchone()[0]
    except psycopg.errors.InsufficientPrivilege as error:
        raise PermissionDenied(f"the shared database refused: {connection.first_line(error)}") from None
    except psycopg.errors.NoDataFound:
        raise NotFound("the shared database holds no such customer (not synced yet?)") from None
    except psycopg.OperationalError as error:
        raise connection.lost(error, url) from None
    finally:
        conn.close()
    values = found or {}
    return {
        name: (Decimal(values[name]) if name == "contract_amount" and values.get(name) else
               values.get(name))
        for name in names
    }


def reveal_for(url: str, customer_id: str, seen: Any) -> dict[str, Any]:
    """`reveal` of the sensitive fields this reader's clearance (`repo.sensitive`) may
    read; refused, naming the readers, if they may read none. The shared database
    judges again with its own readers."""
    from crmcli.repo import sensitive

    names = sorted(seen.sensitive, key=sensitive.standard_first)
    readable = [name for name in names if seen.may_read(name)]
    if not readable:
        raise seen.refusal(names)
    return reveal(url, customer_id, readable)
