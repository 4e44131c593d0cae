"""`crm audit list`: the whole audit trail, searched (admins and managers)."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption, LimitOption
from crmcli.cli.output import Column, Format, emit, local_time, say, short_id
from crmcli.display import describe_changes, describe_detail

app = typer.Typer(help="The audit trail: who viewed, changed or exported what.",
                  no_args_is_help=True)

COLUMNS = [
    Column("at", "At", local_time),
    Column("actor", "Actor"),
    Column("action", "Action"),
    Column("entity_id", "Record", short_id),
    Column("customer_id", "Customer", short_id),
    Column("changes", "Changes", describe_changes, max_width=60),
    Column("detail", "Detail", describe_detail, max_width=60),
]


@app.command("list")
@data_command
def list_(
    actor: Annotated[Optional[str], typer.Option(
        "--actor", metavar="HANDLE", help="Only what this user did.")] = None,
    customer: Annotated[Optional[str], typer.Option(
        "--customer", metavar="REF", help="Only events about this customer (deleted or "
        "merged ones too).")] = None,
    action: Annotated[Optional[str], typer.Option(
        "--action", help="An action (customer.update), a verb (reveal, export: any "
        "*.reveal) or a kind of record (customer: any customer.*).")] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", metavar="DATE", help="From this day or moment on (2026-01-05, today, "
        "-7d).")] = None,
    limit: LimitOption = 100,
    format: FormatOption = Format.table,
) -> None:
    """List audit events, newest first: changes, reveals, exports, imports (admins and
    managers). Sensitive values in changes are masked as everywhere."""
    from crmcli.dates import parse_since
    from crmcli.repo import audit, customers, sensitive

    start = parse_since(since) if since else None
    with context.session(write=False) as s:
        ids = None
        if customer:
            found = customers.resolve(s, customer, deleted=True)
            ids = [found.id, *audit.merged_into(s, found.id)]
        events = audit.search(s, by=context.actor(s), actor=actor, customer_ids=ids,
                              action=action, since=start, limit=limit)
        events = sensitive.masked_events(context.clearance(s), events)
    shown = emit((audit.as_dict(event) for event in events), format, COLUMNS)
    if format is Format.table and not shown:
        say("no audit events match")
