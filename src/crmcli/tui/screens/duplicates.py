"""Duplicates: the likely duplicate customers best first (`crm dedupe`'s pairs, those marked
"not the same" left out), the pair under the cursor shown side by side below.

m merges the pair in the merge form (`merge_form.py`, keeping the left one; M keeps the
right one), which shows what the merge does to each field before it is made; n says the
two are not the same (`distinct_pairs.mark`: remembered and synced, never proposed
again); s skips the pair until the screen is opened again; Enter opens the older (left)
customer. Opened from the customer list (d) or the palette.
"""

from __future__ import annotations

from sqlmodel import Session
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker

from crmcli.repo import customers, dedupe, distinct_pairs, users
from crmcli.repo.dedupe import Candidate, Row
from crmcli.repo.users import Actor
from crmcli.tui.data import Change, post_if_current, reading_for
from crmcli.tui.literal import cell, literal
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.merge_form import MergeFormScreen
from crmcli.tui.widgets.record_table import RecordTable

SHOWN = 200  # pairs listed at most (best first); the rest wait for these to be settled
DIFFERS = "≠"


def not_the_same(first_id: str, second_id: str) -> Change:
    """The write behind n: the same as `crm dedupe`'s answer n."""

    def change(s: Session, me: Actor) -> str:
        first, second = customers.live(s, first_id), customers.live(s, second_id)
        distinct_pairs.mark(s, first, second, by=me)
        return (f"marked not the same: {customers.describe(first)} and "
                f"{customers.describe(second)}")

    return change


def key_of(candidate: Candidate) -> str:
    return f"{candidate.first.id} {candidate.second.id}"


class DuplicatesScreen(DataScreen):
    BINDINGS = [
        Binding("m", "merge('first')", "Merge"),
        Binding("M", "merge('second')", "Merge, keep right", show=False),
        Binding("n", "not_the_same", "Not the same"),
        Binding("s", "skip", "Skip"),
        Binding("escape", "app.pop_screen", "Back", show=False),
    ]

    class Loaded(Message):
        def __init__(self, pairs: list[Candidate]) -> None:
            super().__init__()
            self.pairs = pairs

    class Compared(Message):
        def __init__(self, key: str, rows: list[Row]) -> None:
            super().__init__()
            self.key, self.rows = key, rows

    def __init__(self) -> None:
        super().__init__()
        self.pairs: dict[str, Candidate] = {}
        self.skipped: set[str] = set()
        self.scanning: Worker | None = None
        self.stale = False  # something changed while a scan ran: scan again after it

    @property
    def table(self) -> RecordTable:
        return self.query_one(RecordTable)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="dup-status")
        yield RecordTable([("Score", 5), ("First", 26), ("Second", 26), ("Why", 30)])
        yield DataTable(id="dup-compare", cursor_type="none", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Duplicates · {self.workspace.handle}"
        compared = self.query_one("#dup-compare", DataTable)
        compared.add_column("", width=1)
        compared.add_column("field", width=15)
        compared.add_columns("first (older)", "second")
        self.table.focus()

    def reload(self) -> None:
        """Scan again, one scan at a time: a scan of 100,000 customers takes seconds, and
        a thread cannot be stopped, so changes arriving meanwhile (an import elsewhere,
        every second) ask for one more scan after it instead of piling scans up."""
        if self.scanning is not None and not self.scanning.is_finished:
            self.stale = True
            return
        self.stale = False
        self.scanning = self.scan()

    @work(thread=True, group="scan")
    def scan(self) -> None:
        with reading_for(self, self.workspace) as s:
            self.post_message(self.Loaded(dedupe.candidates(s, limit=SHOWN)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self.scanning and event.worker.is_finished and self.stale:
            self.reload()

    def on_duplicates_screen_loaded(self, message: Loaded) -> None:
        shown = [one for one in message.pairs if key_of(one) not in self.skipped]
        self.pairs = {key_of(one): one for one in shown}
        self.table.fill(
            (key_of(one), [cell(dedupe.shown_score(one.score)),
                           cell(customers.describe(one.first)),
                           cell(customers.describe(one.second)),
                           cell("; ".join(one.pair.reasons))])
            for one in shown
        )
        count = len(shown)
        line = (f" {count} likely duplicate pair{'' if count == 1 else 's'}, best first"
                if count else " No likely duplicates")
        self.query_one("#dup-status", Static).update(literal(line))
        self.compare_selected()
        self.refresh_bindings()

    # --- the pair under the cursor, side by side -------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.compare_selected()

    def compare_selected(self) -> None:
        candidate = self.selected
        if candidate is None:
            self.show_compared(None, [])
        else:
            self.compare(candidate)

    @work(thread=True, exclusive=True, group="compare")
    def compare(self, candidate: Candidate) -> None:
        with reading_for(self, self.workspace) as s:
            me = users.acting(s, self.workspace.handle)
            # (as stored: one merged elsewhere meanwhile leaves at the next reload)
            first = customers.by_id(s, candidate.first.id)
            second = customers.by_id(s, candidate.second.id)
            rows = dedupe.side_by_side(s, me, first, second)
            post_if_current(self, self.Compared(key_of(candidate), rows))

    def on_duplicates_screen_compared(self, message: Compared) -> None:
        if message.key == self.table.selected_key:
            self.show_compared(self.pairs.get(message.key), message.rows)

    def show_compared(self, candidate: Candidate | None, rows: list[Row]) -> None:
        """The rows of the pair (its two customers are named in the list above)."""
        table = self.query_one("#dup-compare", DataTable)
        table.clear()
        if candidate is None:
            return
        for row in rows:
            style = "bold" if row.differs else ""
            table.add_row(DIFFERS if row.differs else "", cell(row.field),
                          cell(row.first, style), cell(row.second, style))

    # --- actions -------------------------------------------------------------------------

    @property
    def selected(self) -> Candidate | None:
        return self.pairs.get(self.table.selected_key or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("merge", "not_the_same", "skip"):
            return True if self.selected is not None else None
        return True

    def action_merge(self, keep: str) -> None:
        candidate = self.selected
        if candidate is not None:
            kept, other = ((candidate.first, candidate.second) if keep == "first"
                           else (candidate.second, candidate.first))
            self.open_form(MergeFormScreen(kept, other))

    def action_not_the_same(self) -> None:
        candidate = self.selected
        if candidate is not None:
            self.write(not_the_same(candidate.first.id, candidate.second.id))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter opens the older customer of the pair (the left one) on its own screen."""
        candidate = self.pairs.get(event.row_key.value or "")
        if candidate is not None:
            self.app.push_screen(CustomerScreen(candidate.first.id))

    def action_skip(self) -> None:
        """Leave the pair for now: hidden until the screen is opened again."""
        key = self.table.selected_key
        if key is not None:
            self.skipped.add(key)
            self.on_duplicates_screen_loaded(self.Loaded(list(self.pairs.values())))
