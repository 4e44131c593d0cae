"""What changed: what others did to the customers I own or am assigned to since I last
looked. The list stays put while I read it, and while I look at a customer opened from it;
the next visit (coming back to the view with F3 after switching to another) starts after
what I saw."""

from __future__ import annotations

from sqlmodel import Session
from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from crmcli import clock
from crmcli.display import describe_event
from crmcli.models import AuditEvent, Customer
from crmcli.repo import custom_fields, dashboard, sensitive, users
from crmcli.repo.dashboard import LastLook
from crmcli.repo.users import Actor
from crmcli.tui.data import post_if_current, reading_for
from crmcli.tui.literal import cell, literal
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.widgets.record_table import RecordTable


class ChangesScreen(DataScreen):

    class Loaded(Message):
        def __init__(
            self, look: LastLook, rows: list[tuple[AuditEvent, Customer]], labels: dict[str, str]
        ) -> None:
            super().__init__()
            self.look, self.rows, self.labels = look, rows, labels

    def __init__(self) -> None:
        super().__init__()
        self.look: LastLook | None = None  # where this visit starts
        self.remembered = 0  # the newest event recorded as seen
        self.events: dict[str, tuple[AuditEvent, Customer]] = {}
        self.labels: dict[str, str] = {}  # the custom fields' (`custom_fields.labels`)

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="since")
        yield RecordTable([("When", 16), ("Who", 8), ("Customer", 16), ("What", 18),
                           ("Changes", 40)])
        yield Static(id="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"What changed · {self.workspace.handle}"
        self.app.mode_change_signal.subscribe(self, self.mode_changed, immediate=True)

    def mode_changed(self, mode: str) -> None:
        """Leaving the view ends this visit: the next one shows what came after it.

        Only a switch of view does: coming back from a customer opened here (a screen
        pushed on this view's stack) resumes this screen too, and must keep the list."""
        if self not in self.app.screen_stack:
            self.look = None

    @work(thread=True, exclusive=True, group="db")
    def reload(self) -> None:
        handle = self.workspace.handle
        with reading_for(self, self.workspace) as s:
            look = self.look or dashboard.last_look(s, handle)
            rows = dashboard.changes_for(s, handle, look.seq)
            seen = sensitive.clearance(s, users.acting(s, handle))
            shown = sensitive.masked_events(seen, [event for event, _ in rows])
            rows = [(event, customer) for event, (_, customer) in zip(shown, rows, strict=True)]
            post_if_current(self, self.Loaded(look, rows, custom_fields.labels(s)))

    def on_changes_screen_loaded(self, message: Loaded) -> None:
        self.look, self.labels = message.look, message.labels
        self.events = {event.id: (event, customer) for event, customer in message.rows}
        self.table.fill(
            (event.id, [cell(clock.show(event.at)), cell(event.actor), cell(customer.name),
                        cell(event.action), cell(self.described(event))])
            for event, customer in message.rows
        )
        count = len(message.rows)
        line = f" {count or 'No'} change{'' if count == 1 else 's'} by others to your customers"
        if message.look.at:
            line += f" since you last looked, {clock.show(message.look.at)}"
        if count == dashboard.SHOWN_CHANGES:
            line += " (the newest shown)"
        self.query_one("#since", Static).update(literal(line))
        self.show_detail()
        newest = message.rows[0][0].seq if message.rows else 0
        if newest > self.remembered:
            self.remembered = newest
            self.write(lambda s, me: self._remember(s, me, newest))

    @staticmethod
    def _remember(s: Session, me: Actor, seq: int) -> str:
        dashboard.remember_look(s, me.handle, seq)
        return ""

    def described(self, event: AuditEvent) -> str:
        return describe_event(event.action, event.changes, event.detail, event.entity_id,
                              self.labels)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        key = self.table.selected_key
        detail = self.query_one("#detail", Static)
        if key is None:
            detail.update("")
            return
        event, customer = self.events[key]
        detail.update(literal(f"{customer.name}: {event.action} by {event.actor}\n"
                              f"{self.described(event)}"))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        _, customer = self.events[event.row_key.value]
        self.app.push_screen(CustomerScreen(customer.id))

