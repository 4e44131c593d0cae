"""`crm assign` and `crm ack`: who is responsible, and their acceptance of it."""

from typing import Annotated, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import CustomerRef
from crmcli.cli.output import say


@data_command
def assign(
    ref: CustomerRef,
    to: Annotated[str, typer.Option("--to", metavar="HANDLE", help="Who takes over.")],
    role: Annotated[str, typer.Option(
        help=f"One of {', '.join(fields.ROLES)}; owner also changes the customer's owner.")
    ] = "owner",
    reason: Annotated[Optional[str], typer.Option(help="Why (kept in the history).")] = None,
) -> None:
    """Make someone responsible for a customer in a role (a recorded hand-over)."""
    from crmcli.repo import assignments, customers

    with context.session() as s:
        customer = customers.resolve(s, ref)
        row, changed = assignments.assign(
            s, customer, to, role, by=context.actor(s), reason=reason
        )
    if changed:
        say("assigned ", row.user, " as ", row.role, " of ", customers.describe(customer),
            "" if row.acknowledged_at else f"; waiting for {row.user} to acknowledge (crm ack)")
    else:
        say(row.user, " already is ", row.role, " of ", customers.describe(customer))


@data_command
def ack(ref: CustomerRef) -> None:
    """Acknowledge the responsibilities you were given for a customer.

    A hand-over (`crm handoff`) is shown first: its note and the customer's own words."""
    from crmcli.cli.handoff import show_handovers
    from crmcli.repo import assignments, customers, handoffs

    with context.session() as s:
        customer = customers.resolve(s, ref)
        me = context.actor(s)
        accepted = assignments.acknowledge(s, customer, by=me)
        handed = handoffs.of(s, [row.id for row in accepted])
    show_handovers([handed[row.id] for row in accepted if row.id in handed])
    if accepted:
        roles = ", ".join(row.role for row in accepted)
        say("acknowledged ", roles, " of ", customers.describe(customer))
    else:
        say("nothing to acknowledge: no assignment of ", me.handle, " on ",
            customers.describe(customer), " is waiting")
