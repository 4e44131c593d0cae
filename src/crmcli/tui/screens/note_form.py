"""Add a note, or correct one: the team's summary, and the customer's own words kept apart,
verbatim."""

from __future__ import annotations

from rich.text import Text
from sqlmodel import Session
from textual.app import ComposeResult
from textual.widgets import Select, TextArea

from crmcli import fields
from crmcli.display import what_changed
from crmcli.models import Note
from crmcli.repo import customers, notes
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.screens.base import FormScreen


class NoteFormScreen(FormScreen):
    """A new note on a customer, or (`note_id`) the note to correct, read afresh when the
    form opens; saving a correction sends only what was changed (`notes.edit`, as
    `crm note edit`)."""

    def __init__(self, customer_id: str, customer_name: str, note_id: str | None = None) -> None:
        super().__init__(f"{'Edit note' if note_id else 'Note'} on {customer_name}")
        self.customer_id = customer_id
        self.note_id = note_id
        self.loaded: dict[str, str] = {}  # the edited note's values as the form shows them

    def compose_fields(self) -> ComposeResult:
        kinds = [(Text(kind), kind) for kind in fields.NOTE_KINDS]
        yield self.field("kind", "kind", Select(kinds, value="call", allow_blank=False,
                                                compact=True))
        directions = [(Text("—"), ""), (Text("in: they reached us"), "in"),
                      (Text("out: we answered"), "out")]
        yield self.field("direction", "direction", Select(directions, value="", allow_blank=False,
                                                          compact=True))
        yield self.field("body", "summary", TextArea(placeholder="跟进内容: what happened, "
                                                     "in the team's words", compact=True))
        yield self.field("quote", "their words", TextArea(placeholder="客户原话: what the "
                                                          "customer said, verbatim", compact=True))

    def read(self, s: Session) -> Note | None:
        return notes.resolve(s, self.note_id) if self.note_id else None

    async def fill(self, data: Note | None) -> None:
        if data is not None:
            self.loaded = {"kind": data.kind, "direction": data.direction or "",
                           "body": data.body, "quote": data.quote or ""}
            self.fields["kind"].control.value = data.kind
            self.fields["direction"].control.value = data.direction or ""
            self.fields["body"].control.text = data.body
            self.fields["quote"].control.text = data.quote or ""
        self.fields["body"].control.focus()

    def change(self) -> Change | None:
        typed = {"kind": str(self.fields["kind"].control.value),
                 "direction": str(self.fields["direction"].control.value),
                 "body": self.fields["body"].control.text,
                 "quote": self.fields["quote"].control.text}
        customer_id, note_id = self.customer_id, self.note_id
        if note_id:
            edited = {name: value for name, value in typed.items()
                      if value != self.loaded.get(name)}

            def edit(s: Session, me: Actor) -> str:
                note = notes.resolve(s, note_id)
                changed = notes.edit(s, note, by=me, **edited)
                return f"{what_changed(changed)}: note {notes.describe(note)}"

            return edit

        def add(s: Session, me: Actor) -> str:
            customer = customers.live(s, customer_id)
            note = notes.add(s, customer, typed["body"], by=me, kind=typed["kind"],
                             quote=typed["quote"] or None, direction=typed["direction"] or None)
            return f"added {note.kind} note to {customers.describe(customer)}"

        return add
