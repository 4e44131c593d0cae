"""`crm handoff`: hand a role over once the record is complete (`repo/handoffs.py`), and
what the receiver reads first (`crm ack`, the customer card)."""

from typing import Annotated, Optional

import typer

from crmcli import clock, fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import CustomerRef
from crmcli.cli.output import say
from crmcli.display import handover_text


@data_command
def handoff(
    ref: CustomerRef,
    to: Annotated[str, typer.Option("--to", metavar="HANDLE", help="Who takes over.")],
    role: Annotated[str, typer.Option(
        "--role", metavar="ROLE", help=f"The role handed over: one of {', '.join(fields.ROLES)}.")],
    require: Annotated[Optional[str], typer.Option(
        "--require", metavar="FIELDS",
        help="Fields that must not be empty, comma-separated (requirement,sla,phone; custom "
             "fields too); default: the team's setting handoff.require.ROLE; '' checks none.",
    )] = None,
    note: Annotated[Optional[str], typer.Option(
        "--note", metavar="TEXT", help="What the receiver should know (they read it first).")
    ] = None,
) -> None:
    """Hand a customer's role to a colleague once its record is complete.

    Refused (exit 4, naming the empty fields) until every required field is filled; then
    the role is assigned (waiting for `crm ack`), the receiver gets the task "contact
    within sla" due the customer's sla from now, and the hand-over carries your note and
    the customer's latest verbatim words, which the receiver reads first."""
    from crmcli.repo import customers, handoffs

    with context.session() as s:
        customer = customers.resolve(s, ref)
        handover, task = handoffs.hand_over(
            s, customer, to, role, by=context.actor(s), require=require, note=note)
        me = context.actor(s).handle
    due = f", due {clock.show(task.due)}" if task.due else " (no sla: no due date)"
    checked = ", ".join(handover.checked) or "nothing"
    say("handed ", customers.describe(customer), " over to ", handover.to, " as ",
        handover.role, " (checked ", checked, "); their task '", task.title, "'", due,
        "" if handover.to == me else f"; waiting for {handover.to} to acknowledge (crm ack)")


def show_handovers(handovers: list) -> None:
    """The hand-overs a receiver reads first, on stdout (the customer's words are data):
    who handed what over, the note, the customer's words, when contact is due."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    for handover in handovers:
        console.print(handover_text(handover))
