"""Ask for an approval on a customer, or decide one: the dashboard's `crm approval
request` and `crm approval approve|reject`, ending in the same repository functions."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input, Select

from crmcli.repo import approvals, customers
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.screens.base import FormScreen

TO_HINT = "role:manager (default), role:admin, dept:finance or a handle"


class ApprovalFormScreen(FormScreen):
    """A new request: kind, amount, whom it waits for, why."""

    def __init__(self, customer_id: str, customer_name: str) -> None:
        super().__init__(f"Ask for an approval on {customer_name}")
        self.customer_id = customer_id

    def compose_fields(self) -> ComposeResult:
        kinds = [(Text(kind), kind) for kind in approvals.KINDS]
        yield self.field("kind", "kind", Select(kinds, value="contract", allow_blank=False,
                                                compact=True))
        yield self.field("amount", "amount", Input(placeholder="50万, ¥1,234.50 (optional)",
                                                   compact=True))
        yield self.field("to", "to", Input(placeholder=TO_HINT, compact=True))
        yield self.field("reason", "reason", Input(placeholder="why", compact=True))

    async def fill(self, data: None) -> None:
        self.fields["amount"].control.focus()

    def change(self) -> Change | None:
        typed = {name: self.fields[name].control.value for name in ("amount", "to", "reason")}
        kind, customer_id = str(self.fields["kind"].control.value), self.customer_id

        def ask(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            approval = approvals.request(
                s, customer, kind=kind, by=me, amount=typed["amount"] or None,
                to=typed["to"].strip() or None, reason=typed["reason"] or None)
            return f"asked {approval.target} for {kind} approval on {customers.describe(customer)}"

        return ask


class DecisionFormScreen(FormScreen):
    """Approve or reject one request, with a reason."""

    def __init__(self, approval_id: str, decision: str, about: str) -> None:
        verb = "Approve" if decision == "approved" else "Reject"
        super().__init__(f"{verb} {about}")
        self.approval_id = approval_id
        self.decision = decision

    def compose_fields(self) -> ComposeResult:
        yield self.field("reason", "reason", Input(placeholder="why (optional)", compact=True))

    async def fill(self, data: None) -> None:
        self.fields["reason"].control.focus()

    def change(self) -> Change | None:
        reason = self.fields["reason"].control.value or None
        approval_id, decision = self.approval_id, self.decision

        def decide(s: Session, me: Actor) -> str:
            approval = approvals.resolve(s, approval_id)
            approvals.decide(s, approval, decision, by=me, reason=reason)
            return f"{decision}: {approvals.describe(approval)}"

        return decide
