"""Add a note: the team's summary, and the customer's own words kept apart, verbatim."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Select, TextArea

from crmcli import fields
from crmcli.repo import customers, notes
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.screens.base import FormScreen


class NoteFormScreen(FormScreen):
    def __init__(self, customer_id: str, customer_name: str) -> None:
        super().__init__(f"Note on {customer_name}")
        self.customer_id = customer_id

    def compose_fields(self) -> ComposeResult:
        kinds = [(Text(kind), kind) for kind in fields.NOTE_KINDS]
        yield self.field("kind", "kind", Select(kinds, value="call", allow_blank=False,
                                                compact=True))
        yield self.field("body", "summary", TextArea(placeholder="跟进内容: what happened, "
                                                     "in the team's words", compact=True))
        yield self.field("quote", "their words", TextArea(placeholder="客户原话: what the "
                                                          "customer said, verbatim", compact=True))

    async def fill(self, data: None) -> None:
        self.fields["body"].control.focus()

    def change(self) -> Change | None:
        kind = str(self.fields["kind"].control.value)
        body = self.fields["body"].control.text
        quote = self.fields["quote"].control.text
        customer_id = self.customer_id

        def add(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            note = notes.add(s, customer, body, by=me, kind=kind, quote=quote or None)
            return f"added {note.kind} note to {customers.describe(customer)}"

        return add
