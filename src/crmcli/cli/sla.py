"""`crm sla list`: customers waiting for an answer, against their response limits."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption, LimitOption
from crmcli.cli.output import Column, Format, emit, local_time, say, say_cut, short_id
from crmcli.display import show_left

app = typer.Typer(help="The SLA clock: who waits for an answer, and until when.",
                  no_args_is_help=True)

COLUMNS = [
    Column("customer", "ID", short_id),
    Column("name", "Customer", max_width=30),
    Column("owner", "Owner"),
    Column("department", "Dept"),
    Column("sla", "SLA"),
    Column("since", "Waiting since", local_time),
    Column("due", "Due", local_time),
    Column("left", "Left", show_left),
    Column("state", "State"),
]


@app.command("list")
@data_command
def list_(
    breached: Annotated[bool, typer.Option(
        "--breached", help="Only customers past due (breached or escalated).")] = False,
    mine: Annotated[bool, typer.Option(
        "--mine", help="Customers you own or hold a role on, and the escalated ones of the "
        "departments you manage.")] = False,
    dept: Annotated[Optional[str], typer.Option(
        metavar="D", help="Only customers of this department (the owner's).")] = None,
    limit: LimitOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List the customers waiting for an answer, soonest due first: when the wait began
    (the oldest contact --in not answered --out), when the answer is due, the time left
    or overdue, and the state (running, due soon, breached, escalated)."""
    from crmcli import clock
    from crmcli.repo import sla

    with context.session(write=False) as s:
        scope = sla.Scope(mine=context.actor(s).handle if mine else None, dept=dept,
                          breached=breached)
        found = sla.clocks(s, clock.now(), scope)
    shown = emit((sla.as_dict(c) for c in found[:limit]), format, COLUMNS)
    if format is Format.table and not shown:
        say("no customer is waiting for an answer" + (" past due" if breached else ""))
    say_cut(shown, len(found))
