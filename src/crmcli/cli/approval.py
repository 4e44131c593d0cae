"""`crm approval …`: ask for a yes (a contract, a discount…) and decide it."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import CustomerRef, FormatOption, LimitOption
from crmcli.cli.output import (
    Column,
    Format,
    emit,
    emit_one,
    key_value_card,
    local_time,
    say,
    short_id,
)

app = typer.Typer(
    help="Approvals: request one for a customer, list them, approve, reject or withdraw.",
    no_args_is_help=True)

KINDS_HELP = ("contract, discount, quote, refund, payment or other (合同, 折扣, 报价, 退款, "
              "付款, 其他).")
TO_HELP = ("Who decides: role:manager (default: managers of the customer's department), "
           "role:admin, dept:DEPT (its managers) or a user's HANDLE. Admins decide any; "
           "nobody decides their own.")
ApprovalRef = Annotated[str, typer.Argument(metavar="ID", help="Approval: a unique id prefix.")]
ReasonOption = Annotated[Optional[str], typer.Option(help="Why (kept in the history).")]
COLUMNS = [
    Column("id", "ID", short_id),
    Column("created_at", "Asked", local_time),
    Column("kind", "Kind"),
    Column("amount", "Amount"),
    Column("status", "Status"),
    Column("requested_by", "By"),
    Column("target", "To"),
    Column("decided_by", "Decided by"),
    Column("customer_name", "Customer", max_width=24),
    Column("reason", "Reason", max_width=40),
]


def _row(approval, customer) -> dict:
    from crmcli.repo import approvals

    return {**approvals.as_dict(approval), "customer_name": customer.name}


@app.command("request")
@data_command
def request(
    ref: CustomerRef,
    kind: Annotated[str, typer.Option("--kind", help=KINDS_HELP)],
    amount: Annotated[Optional[str], typer.Option(
        help="Amount: 1234.50, ¥1,234, 50万 (exact, never rounded).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", help=TO_HELP)] = None,
    reason: ReasonOption = None,
) -> None:
    """Ask for an approval on a customer; prints its short id."""
    from crmcli.repo import approvals, customers

    with context.session() as s:
        customer = customers.resolve(s, ref)
        approval = approvals.request(s, customer, kind=kind, amount=amount, to=to,
                                     reason=reason, by=context.actor(s))
    typer.echo(short_id(approval.id))
    say("asked ", approval.target, " for ", approval.kind, " approval on ",
        customers.describe(customer))


@app.command("list")
@data_command
def list_(
    mine: Annotated[bool, typer.Option("--mine", help="Only those you asked for.")] = False,
    waiting: Annotated[bool, typer.Option(
        "--waiting", help="Only open ones waiting for your decision.")] = False,
    customer: Annotated[Optional[str], typer.Option(
        metavar="REF", help="Only this customer's.")] = None,
    status: Annotated[Optional[list[str]], typer.Option(
        metavar="STATUS", help="open, approved, rejected or withdrawn (repeat: any of them; "
                               "default all).")] = None,
    limit: LimitOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List approvals, newest first."""
    from crmcli.repo import approvals, customers

    with context.session(write=False) as s:
        me = context.actor(s)
        query = approvals.ApprovalQuery(
            requested_by=me.handle if mine else None,
            waiting_for=me if waiting else None,
            customer_id=customers.resolve(s, customer).id if customer else None,
            status=tuple(status or ()), limit=limit,
        )
        rows = approvals.list_(s, query)
    shown = emit((_row(approval, owner) for approval, owner in rows), format, COLUMNS)
    if format is Format.table and not shown:
        say("no approvals match")


@app.command("show")
@data_command
def show(approval_id: ApprovalRef, format: FormatOption = Format.table) -> None:
    """Show one approval."""
    from crmcli.repo import approvals, customers

    with context.session(write=False) as s:
        approval = approvals.resolve(s, approval_id)
        row = _row(approval, customers.by_id(s, approval.customer_id))
    times = ("created_at", "decided_at")
    keys = ("kind", "amount", "customer_name", "requested_by", "target", "reason", "status",
            "decided_by", "decided_at", "decision_reason", "created_at")
    pairs = [(k.replace("_name", ""), local_time(row[k]) if k in times else row[k]) for k in keys]
    emit_one(row, format, lambda: key_value_card([*pairs, ("id", row["id"])]))


def _decide(approval_id: str, decision: str, reason: str | None) -> None:
    from crmcli.repo import approvals

    with context.session() as s:
        approval = approvals.resolve(s, approval_id)
        if decision == "withdrawn":
            approvals.withdraw(s, approval, by=context.actor(s), reason=reason)
        else:
            approvals.decide(s, approval, decision, by=context.actor(s), reason=reason)
    say(decision, ": ", approvals.describe(approval))


@app.command("approve")
@data_command
def approve(approval_id: ApprovalRef, reason: ReasonOption = None) -> None:
    """Approve a request that waits for you (exit 6 if it does not, 5 if decided)."""
    _decide(approval_id, "approved", reason)


@app.command("reject")
@data_command
def reject(approval_id: ApprovalRef, reason: ReasonOption = None) -> None:
    """Reject a request that waits for you (exit 6 if it does not, 5 if decided)."""
    _decide(approval_id, "rejected", reason)


@app.command("withdraw")
@data_command
def withdraw(approval_id: ApprovalRef, reason: ReasonOption = None) -> None:
    """Take back your own open request."""
    _decide(approval_id, "withdrawn", reason)
