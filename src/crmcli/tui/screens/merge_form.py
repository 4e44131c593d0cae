"""Merge a duplicate into the customer on screen, after seeing the two side by side.

The user names the duplicate (an id prefix or the exact name, as `crm customer merge`
takes it) and presses Enter (or the Duplicates screen named it: compared at once): every field either record holds is shown for both, with what
the merge does to it (`merge_plan`: stays, filled from the other, the other's value kept in
a note). Only then does Save merge, through `customer_merges.merge` like the command line.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Static

from crmcli.errors import CrmError, Invalid
from crmcli.models import Customer
from crmcli.repo import customer_merges, customers, merge_plan, sensitive, users
from crmcli.repo.users import Actor
from crmcli.tui.data import Change
from crmcli.tui.literal import cell, literal
from crmcli.tui.messages import Refused
from crmcli.tui.screens.base import FormScreen

HINT = "the duplicate that goes: an id prefix or the exact name, then Enter to compare"


class MergeFormScreen(FormScreen):
    """Merge another customer into `keep` (the one the customer screen shows)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Merge"),
        Binding("escape", "cancel", "Cancel"),
    ]

    class Compared(Message):
        """The two records side by side, read for what the user typed."""

        def __init__(self, ref: str, other_id: str, other: str, rows: list) -> None:
            super().__init__()
            self.ref, self.other_id, self.other, self.rows = ref, other_id, other, rows

    def __init__(self, keep: Customer, other: Customer | None = None) -> None:
        """`other`: the duplicate already named (the Duplicates screen's pair), compared
        as soon as the form opens."""
        super().__init__(f"Merge a duplicate into {keep.name}")
        self.keep_id, self.keep_name = keep.id, keep.name
        self.named = other.id if other is not None else None
        self.compared: tuple[str, str] | None = None  # (what was typed, the duplicate's id)

    def compose_fields(self) -> ComposeResult:
        yield self.field("other", "merge in", Input(placeholder=HINT, compact=True))
        yield Static(id="merge-hint")
        table: DataTable = DataTable(id="merge-table", cursor_type="row", zebra_stripes=True)
        table.display = False
        yield table

    def on_mount(self) -> None:  # (FormScreen's on_mount runs too: the MRO's handlers all do)
        self.query_one("#save", Button).label = "Merge"
        self.fields["other"].control.focus()

    async def fill(self, data: Any) -> None:
        """A duplicate already named is compared once the form is ready (after its load:
        both are workers of one exclusive group)."""
        if self.named:
            self.fields["other"].control.value = self.named
            self.compare(self.named)

    @on(Input.Submitted)
    def compare_typed(self, event: Input.Submitted) -> None:
        event.stop()
        self.compare(event.value)

    @work(thread=True, exclusive=True, group="db")
    def compare(self, ref: str) -> None:
        """Read both records and what the merge would do (nothing is written)."""
        try:
            with self.workspace.reading() as s:
                keep = customers.live(s, self.keep_id)
                other = customers.resolve(s, ref)
                if other.id == keep.id:
                    raise Invalid("that is this customer; name the duplicate", "other")
                seen = sensitive.clearance(s, users.acting(s, self.workspace.handle))
                fates = customer_merges.plan_merge(s, keep, other)
                rows = merge_plan.side_by_side(seen, keep, other, fates)
                compared = self.Compared(ref, other.id, customers.describe(other), rows)
        except CrmError as error:
            self.post_message(Refused(error))
        else:
            self.post_message(compared)

    def on_merge_form_screen_compared(self, message: Compared) -> None:
        self.compared = (message.ref, message.other_id)
        self.query_one("#merge-hint", Static).update(literal(
            f"{message.other} goes; its notes, tasks and roles move here. Merge to do it."))
        table = self.query_one("#merge-table", DataTable)
        table.clear(columns=True)
        table.add_columns("field", "this one (stays)", "the duplicate (goes)", "merge")
        for name, ours, theirs, outcome in message.rows:
            table.add_row(cell(name), cell(ours), cell(theirs), cell(outcome))
        table.display = True

    def on_input_changed(self, event: Input.Changed) -> None:
        """Typing another name hides a comparison that no longer answers it."""
        if self.compared and event.value != self.compared[0]:
            self.compared = None
            self.query_one("#merge-table", DataTable).display = False
            self.query_one("#merge-hint", Static).update("")

    def change(self) -> Change | None:
        if self.compared is None:
            raise Invalid("press Enter to see the two side by side first", "other")
        keep_id, other_id = self.keep_id, self.compared[1]

        def merge(s: Session, me: Actor) -> str:
            keep, other = customers.live(s, keep_id), customers.live(s, other_id)
            result: dict[str, Any] = customer_merges.merge(s, keep, other, by=me)
            return merge_plan.summary(customers.describe(keep), customers.describe(other), result)

        return merge
