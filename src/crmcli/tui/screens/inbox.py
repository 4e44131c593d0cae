"""The inbox: the notifications of the acting user (hand-overs to acknowledge, tasks due
and overdue, mentions, and what the other sources tell), newest first, new ones marked.

Opening the view collects what is new first (the same `notifications.collect` as `crm
notify run`); Enter opens the customer a notification is about and marks it read; r / u
mark the one under the cursor read or unread, a marks them all read.
"""

from __future__ import annotations

from sqlmodel import Session
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from crmcli import clock
from crmcli.models import Notification
from crmcli.repo import notifications
from crmcli.repo.users import Actor
from crmcli.tui.data import Change, post_if_current, reading_for
from crmcli.tui.literal import cell, joined, literal
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.widgets.record_table import RecordTable

UNREAD = "●"


def collect(s: Session, me: Actor) -> str:
    """The write behind opening the inbox: record what is new (bookkeeping: says nothing)."""
    notifications.collect(s)
    return ""


def mark(ids: list[str] | None, read: bool = True) -> Change:
    """The write behind Read / Unread / All read (`ids` None: all of mine)."""

    def change(s: Session, me: Actor) -> str:
        if read:
            notifications.mark_read(s, me.handle, ids)
        else:
            notifications.mark_unread(s, me.handle, ids or [])
        return ""

    return change


class InboxScreen(DataScreen):
    BINDINGS = [
        Binding("r", "mark_read", "Read"),
        Binding("u", "mark_unread", "Unread"),
        Binding("a", "mark_all_read", "All read"),
    ]

    class Loaded(Message):
        def __init__(self, rows: list[Notification], unread: int) -> None:
            super().__init__()
            self.rows, self.unread = rows, unread

    def __init__(self) -> None:
        super().__init__()
        self.shown: dict[str, Notification] = {}

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="inbox-status")
        yield RecordTable([("", 1), ("When", 16), ("Kind", 12), ("Notification", 44)])
        yield Static(id="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Inbox · {self.workspace.handle}"

    def on_screen_resume(self) -> None:
        self.write(collect)  # its Saved reloads the screen if anything was new
        self.reload()

    @work(thread=True, exclusive=True, group="db")
    def reload(self) -> None:
        handle = self.workspace.handle
        with reading_for(self, self.workspace) as s:
            rows = notifications.inbox(s, handle)
            post_if_current(self, self.Loaded(rows, notifications.unread_count(s, handle)))

    def on_inbox_screen_loaded(self, message: Loaded) -> None:
        self.shown = {row.id: row for row in message.rows}
        self.table.fill(
            (row.id, [cell("" if row.read_at else UNREAD, "bold"),
                      cell(clock.show(row.created_at)), cell(row.kind),
                      cell(row.title, "" if row.read_at else "bold")])
            for row in message.rows
        )
        count = len(message.rows)
        line = (f" {message.unread} unread of {count} notification{'' if count == 1 else 's'}"
                if count else " No notifications")
        self.query_one("#inbox-status", Static).update(literal(line))
        self.show_detail()
        self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        key = self.table.selected_key
        detail = self.query_one("#detail", Static)
        row = self.shown.get(key) if key else None
        if row is None:
            detail.update("")
            return
        detail.update(joined(literal(row.title, "bold"), "\n", literal(row.body)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        row = self.shown.get(event.row_key.value)
        if row is None:
            return
        if row.read_at is None:
            self.write(mark([row.id]))
        if row.customer_id:
            self.app.push_screen(CustomerScreen(row.customer_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("mark_read", "mark_unread"):
            row = self.shown.get(self.table.selected_key or "")
            if row is None:
                return None
            return (row.read_at is None) == (action == "mark_read") or None
        if action == "mark_all_read":
            return True if any(r.read_at is None for r in self.shown.values()) else None
        return True

    def action_mark_read(self) -> None:
        key = self.table.selected_key
        if key:
            self.write(mark([key]))

    def action_mark_unread(self) -> None:
        key = self.table.selected_key
        if key:
            self.write(mark([key], read=False))

    def action_mark_all_read(self) -> None:
        self.write(mark(None))
