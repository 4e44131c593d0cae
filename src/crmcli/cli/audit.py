"""`crm audit list`: the whole audit trail, searched (admins and managers); `crm audit
verify`: the shared database's trail checked link by link."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context, server
from crmcli.cli.context import data_command
from crmcli.cli.history import columns
from crmcli.cli.options import FormatOption, LimitOption
from crmcli.cli.output import Format, emit, emit_one, say, say_cut

app = typer.Typer(help="The audit trail: who viewed, changed or exported what.",
                  no_args_is_help=True)


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
    from crmcli.repo import audit, custom_fields, customers, sensitive

    start = parse_since(since) if since else None
    with context.session(write=False) as s:
        ids = None
        if customer:
            found = customers.resolve(s, customer, deleted=True)
            ids = [found.id, *audit.merged_into(s, found.id)]
        events, total = audit.search(s, by=context.actor(s), actor=actor, customer_ids=ids,
                                     action=action, since=start, limit=limit)
        events = sensitive.masked_events(context.clearance(s), events)
        labels = custom_fields.labels(s)
    shown = emit((audit.as_dict(event) for event in events), format,
                 columns(labels, whole_trail=True))
    if format is Format.table and not shown:
        say("no audit events match")
    say_cut(shown, total)


@app.command("verify")
def verify(url: server.UrlOption = None, format: FormatOption = Format.table) -> None:
    """Check the shared database's audit trail is whole (with the owner's URL): no event
    changed or removed since it was written (its hash chain). Prints the newest hash: keep
    it elsewhere to anchor the chain. Exit code 4 if a link is broken."""
    from crmcli.errors import Invalid
    from crmcli.sync import members, security

    with server.shared_connection(url) as conn:
        # a member's login may read only part of the trail: its chain would not hold
        members.owner(conn, "`crm audit verify`")
        verdict = security.verify(conn)
    record = {
        "events": verdict.events, "intact": verdict.broken_at is None,
        "head": verdict.head, "broken_at": verdict.broken_at, "why": verdict.why,
    }
    if verdict.broken_at is not None:
        raise Invalid(
            f"the audit trail is broken at event {verdict.broken_at}: {verdict.why} "
            f"({verdict.events} events checked)"
        )
    emit_one(record, format, lambda: _verdict_card(record))


def _verdict_card(record: dict):
    from rich.table import Table

    from crmcli.cli.output import safe

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("audit trail", safe(f"intact: {record['events']} events, every link holds"))
    grid.add_row("newest hash", safe(record["head"] or "(no events yet)"))
    return grid
