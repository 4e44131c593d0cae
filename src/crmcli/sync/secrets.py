"""Sensitive values on a team: read from the shared database, never from a replica.

On a replica linked to a team the sensitive fields are not held locally (`tables.SENSITIVE`
never travel; what a member typed is pushed and then forgotten, `local.forget_sent`).
Revealing them asks the shared database's `crm_reveal`, which refuses an uncleared reader
and records the reveal in the audit trail before it answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from crmcli.errors import NotFound, PermissionDenied
from crmcli.sync import connection

if TYPE_CHECKING:
    from sqlmodel import Session

    from crmcli.repo.reports.table import Options, Report
    from crmcli.repo.users import Actor


def reveal(url: str, customer_id: str, names: list[str]) -> dict[str, Any]:
    """The values of these sensitive fields of a customer, as the shared database holds
    them (None where it holds none)."""
    return reveal_each(url, [customer_id], names, missing_ok=False)[customer_id]


def reveal_each(url: str, customer_ids: list[str], names: list[str], *,
                missing_ok: bool = True) -> dict[str, dict[str, Any]]:
    """`reveal` of several customers over one connection, each reveal recorded by the
    shared database as it answers; one it no longer holds (deleted there, out of sight)
    is left out, unless `missing_ok` is false."""
    import psycopg

    conn = connection.connect(url)
    found: dict[str, dict[str, Any]] = {}
    try:
        for customer_id in customer_ids:
            try:
                values = conn.execute("SELECT crm_reveal(%s, %s)",
                                      (customer_id, names)).fetchone()[0] or {}
            except psycopg.errors.NoDataFound:
                if missing_ok:
                    continue
                raise NotFound("the shared database holds no such customer (not synced yet?)") from None
            found[customer_id] = {
                name: (Decimal(values[name]) if name == "contract_amount" and values.get(name)
                       else values.get(name))
                for name in names
            }
    except psycopg.errors.InsufficientPrivilege as error:
        raise PermissionDenied(f"the shared database refused: {connection.first_line(error)}") from None
    except psycopg.OperationalError as error:
        raise connection.lost(error, url) from None
    finally:
        conn.close()
    return found


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


def attribution(s: Session, actor: Actor, options: Options) -> Report:
    """`crm report attribution` (and the dashboard's) on any database. On a team replica,
    the amounts a cleared reader may read are held only by the shared database: they are
    asked of it, which records each read in its audit trail (customer.reveal), and
    credited. When it cannot be asked (unreachable, or it judges the reader otherwise),
    the amounts stay masked, out of the credits, and the report's notes say why."""
    from crmcli.repo.reports import attribution as report
    from crmcli.sync import state

    team = state.team_url(s)

    def amounts(customer_ids: list[str]) -> dict[str, Any]:
        return {customer_id: each[report.FIELD] for customer_id, each
                in reveal_each(team, customer_ids, [report.FIELD]).items()}

    return report.build(s, actor, options, amounts if team else None)
