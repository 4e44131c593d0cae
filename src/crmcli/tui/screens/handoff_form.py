"""Hand a customer's role over once its record is complete (`crm handoff`): who takes
over, which role, and a note the receiver reads first. A record that lacks what the
checklist requires (the team's default for the role, `handoff.require.ROLE`) is refused
in the form's banner, naming the empty fields; nothing is written then."""

from __future__ import annotations

from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Input

from crmcli import clock
from crmcli.repo import customers, handoffs
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.screens.handover_form import HandoverFormScreen


class HandoffFormScreen(HandoverFormScreen):
    """The assign form's receiver and role, with a note instead of a reason."""

    def __init__(self, customer) -> None:
        super().__init__(customer=customer)
        self.form_title = f"Hand over {customer.name}"

    def compose_fields(self) -> ComposeResult:
        yield from self.receiver_and_role()
        yield self.field("note", "note", Input(
            placeholder="what the receiver should know (they read it first)", compact=True))

    def change(self) -> Change | None:
        handle, role = self.receiver(), str(self.fields["role"].control.value)
        note, customer_id = self.fields["note"].control.value, self.target_customer.id

        def hand_over(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            handover, task = handoffs.hand_over(s, customer, handle, role, by=me, note=note)
            due = f", due {clock.show(task.due)}" if task.due else ""
            return (f"handed {customers.describe(customer)} over to {handover.to} as "
                    f"{handover.role}; their task '{task.title}'{due}")

        return hand_over
