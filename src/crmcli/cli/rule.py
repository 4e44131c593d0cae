"""`crm rule …`: lead routing rules (team settings), what they would do, and what waits.

The rules themselves are `repo/routing.py`; they apply wherever a customer is created
without an owner (`crm customer add`, `crm import customers`, the dashboard's form).
"""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, emit_one, local_time, say, short_id
from crmcli.errors import UsageError

app = typer.Typer(
    help="Lead routing: who owns a new customer that names no owner.", no_args_is_help=True)

RuleName = Annotated[str, typer.Argument(metavar="NAME", help="The rule's name.")]
WHEN_HELP = ("FIELD=VALUE[,FIELD=VALUE…]: every one must hold (source, city, industry, "
             "stage, level, sla, department, company, tags or a custom field; values as "
             "the data dictionary reads them: stage=线索, city=上海).")
COLUMNS = [
    Column("order", "Order", justify="right"),
    Column("name", "Rule"),
    Column("when", "When", max_width=40),
    Column("to", "To"),
    Column("how", "How"),
]
PENDING_COLUMNS = [
    Column("customer", "ID", short_id),
    Column("name", "Customer", max_width=24),
    Column("owner", "Owner"),
    Column("rule", "Rule"),
    Column("assigned_by", "By"),
    Column("since", "Since", local_time),
    Column("due", "Ack due", local_time),
    Column("overdue", "Overdue", lambda value: "overdue" if value else ""),
]


@app.command("add")
@data_command
def add(
    name: RuleName,
    when: Annotated[str, typer.Option("--when", help=WHEN_HELP)] = "",
    to: Annotated[Optional[str], typer.Option(
        "--to", help="dept:NAME (its active members) or handles (alice,bob); not needed "
                     "with --how HANDLE.")] = None,
    how: Annotated[str, typer.Option(
        "--how", help="round-robin (turn by turn, in handle order), least-open (fewest "
                      "open customers) or a HANDLE.")] = "round-robin",
    order: Annotated[Optional[int], typer.Option(
        "--order", help="Rules are tried by order, then name; the first that matches "
                        "wins (default: after the others).")] = None,
) -> None:
    """Add (or replace) a routing rule; admins only. A rule without --when matches every
    new customer that names no owner."""
    from crmcli.repo import routing

    with context.session() as s:
        rule = routing.add(s, name, when=when, to=to, how=how, order=order, by=context.actor(s))
    say("rule ", rule.name, ": ", routing.show_when(rule.when) or "every new customer",
        " → ", routing.show_to(rule.to), " (", rule.how, ", order ", rule.order, ")")


@app.command("list")
@data_command
def list_(format: FormatOption = Format.table) -> None:
    """List the routing rules in the order they are tried."""
    from crmcli.repo import routing

    with context.session(write=False) as s:
        found = routing.rules(s)
    shown = emit((rule.as_dict() for rule in found), format, COLUMNS)
    if format is Format.table and not shown:
        say("no routing rules: new customers are owned by whoever adds them")


@app.command("remove")
@data_command
def remove(name: RuleName) -> None:
    """Remove a routing rule; admins only."""
    from crmcli.repo import routing

    with context.session() as s:
        routing.remove(s, name, by=context.actor(s))
    say("removed rule ", name)


@app.command("test")
@data_command
def test(
    ref: Annotated[Optional[str], typer.Argument(
        metavar="[REF]", help="A customer whose values to route by.")] = None,
    when: Annotated[Optional[str], typer.Option(
        "--when", help="FIELD=VALUE[,…]: the values of a new customer.")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Show which rule would route a new customer and to whom; writes nothing."""
    from crmcli.repo import customers, routing

    if bool(ref) == bool(when):
        raise UsageError("give either --when FIELD=VALUE,… or a customer REF")
    with context.session(write=False) as s:
        if ref:
            verdict = routing.test_customer(s, customers.resolve(s, ref))
        else:
            verdict = routing.test(s, routing.when_pairs(when or ""))
    emit_one(verdict, format, lambda: _card(verdict))


def _card(verdict: dict):
    from rich.text import Text

    if verdict["rule"] is None:
        return Text(verdict["why"])
    return Text(f"rule {verdict['rule']} ({verdict['how']}, to {verdict['to']}): "
                f"{verdict['owner'] or 'nobody'} — {verdict['why']}")


@app.command("pending")
@data_command
def pending(
    everyone: Annotated[bool, typer.Option(
        "--all", help="Every routed customer waiting, not only those you created.")] = False,
    overdue: Annotated[bool, typer.Option(
        "--overdue", help="Only those waiting longer than route.ack_within.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """Routed customers whose new owner has not acknowledged them yet (`crm ack`)."""
    from crmcli.repo import route_acks

    with context.session(write=False) as s:
        me = context.actor(s)
        found = route_acks.waiting(s, assigner=None if everyone else me.handle,
                                   overdue_only=overdue)
    shown = emit((row.as_dict() for row in found), format, PENDING_COLUMNS)
    if format is Format.table and not shown:
        say("no routed customer waits for acknowledgement")
