"""The customer list as a window onto the database: one page of rows at a time.

A DataTable holding every row would take seconds to fill at 10,000 customers, so the
widget holds one page (PAGE_SIZE rows) and moves the window when the cursor leaves it.
The first page is shown before the customers are counted, and pages past the middle are
read from the end (see `repo.customer_lists.page`), so neither the first paint nor a jump to
the last page grows with the size of the database.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from crmcli import fields
from crmcli.models import Customer
from crmcli.repo import customer_lists
from crmcli.repo.customer_lists import CustomerQuery
from crmcli.tui.data import Workspace, post_if_current, reading_for
from crmcli.tui.literal import cell
from crmcli.tui.widgets.record_table import RecordTable

PAGE_SIZE = 100
LAST = -1  # a `start` meaning "the last page, whatever the count turns out to be"

COLUMNS = (  # field, header, width
    ("name", "Name", 18),
    ("company", "Company", 20),
    ("stage", "Stage", 11),
    ("level", "Lvl", 3),
    ("owner", "Owner", 8),
    ("city", "City", 8),
    ("phone", "Phone", 14),
    ("tags", "Tags", 16),
)


def _cells(customer: Customer) -> list[Text]:
    return [cell(fields.show_value(name, getattr(customer, name))) for name, _, _ in COLUMNS]


class CustomerTable(RecordTable):
    """Customers matching `query`, a page at a time; Enter posts `Selected`."""

    BINDINGS = [
        Binding("home,ctrl+home", "first_page", "First page", show=False),
        Binding("end,ctrl+end", "last_page", "Last page", show=False),
        Binding("s", "sort_next", "Sort"),
        Binding("r", "sort_reverse", "Reverse", show=False),
    ]

    class Selected(Message):
        """The user chose a customer (Enter or a click on the cursor row)."""

        def __init__(self, customer_id: str) -> None:
            super().__init__()
            self.customer_id = customer_id

    class PageShown(Message):
        """Rows `start`.. of `total` (None while still counting) are on screen, in the
        order `sort` (see `CustomerTable.sort`)."""

        def __init__(self, start: int, shown: int, total: int | None, sort: str):
            super().__init__()
            self.start, self.shown, self.total, self.sort = start, shown, total, sort

    class Loaded(Message):
        def __init__(self, start: int, rows: list[Customer], cursor: int, total: int | None):
            super().__init__()
            self.start, self.rows, self.cursor, self.total = start, rows, cursor, total

    class Counted(Message):
        def __init__(self, query: CustomerQuery, total: int) -> None:
            super().__init__()
            self.query, self.total = query, total

    def __init__(self, workspace: Workspace, among: tuple[str, ...] | None = None,
                 **kwargs) -> None:
        super().__init__([(header, width) for _, header, width in COLUMNS], **kwargs)
        self.workspace = workspace
        self.query = CustomerQuery(among=among)
        self.start = 0
        self.total: int | None = None

    # --- what is shown -------------------------------------------------------------------

    @property
    def sort(self) -> str:
        """The order the rows are in: a column (`-column` descending), or "" for
        relevance, the order of a search no column was chosen for."""
        return self.query.sort or ("" if self.query.search else "name")

    def set_up_columns(self) -> None:
        """The headers, with an arrow on the column the rows are sorted by."""
        sort = self.sort
        for name, header, width in COLUMNS:
            arrow = ""
            if sort.lstrip("-") == name:
                arrow = " ▼" if sort.startswith("-") else " ▲"
            self.add_column(Text(header + arrow), width=width)

    def show_query(self, query: CustomerQuery) -> None:
        """Show the first page of another filter / search / sort."""
        self.query, self.total = query, None
        self.clear(columns=True)
        self.set_up_columns()
        self.load(0, 0)

    def reload(self) -> None:
        """Read the current page again (the data changed) and recount, keeping the cursor.
        Before the first count (the screen just opened) it is the first paint: page first."""
        self.load(self.start, self.cursor_row, recount=self.total is not None)

    @work(thread=True, exclusive=True, group="db")
    def load(self, start: int, cursor: int, recount: bool = False) -> None:
        """Read a page and show it. A new query is counted after its first page is shown,
        so counting never delays the first paint; a reload counts first, as rows may have
        come or gone."""
        query, total = self.query, self.total
        with reading_for(self, self.workspace) as s:
            if recount or (start == LAST and total is None):
                total = customer_lists.count(s, query)
            if total is not None and (start == LAST or start >= total):
                start = max(total - PAGE_SIZE, 0)
            rows = customer_lists.page(s, query, start=start, size=PAGE_SIZE, total=total)
            if not rows and start > 0:  # nothing this far (not counted yet, or rows went)
                total = customer_lists.count(s, query)
                start = max(total - PAGE_SIZE, 0)
                rows = customer_lists.page(s, query, start=start, size=PAGE_SIZE, total=total)
            post_if_current(self, self.Loaded(start, rows, cursor, total))
            if total is None:
                post_if_current(self, self.Counted(query, customer_lists.count(s, query)))

    def on_customer_table_loaded(self, message: Loaded) -> None:
        self.start = message.start
        if message.total is not None:
            self.total = message.total
        self.fill((customer.id, _cells(customer)) for customer in message.rows)
        if self.row_count:
            self.move_cursor(row=min(max(message.cursor, 0), self.row_count - 1), animate=False)
        self._announce()

    def on_customer_table_counted(self, message: Counted) -> None:
        if message.query is self.query:
            self.total = message.total
            self._announce()

    def _announce(self) -> None:
        self.post_message(self.PageShown(self.start, self.row_count, self.total, self.sort))

    # --- moving the window ---------------------------------------------------------------

    def _has_next(self) -> bool:
        end = self.start + self.row_count
        return end < self.total if self.total is not None else self.row_count == PAGE_SIZE

    def _turn_page(self, forward: bool, cursor: int) -> bool:
        """Load the next (or previous) page if the cursor is at that edge of this one."""
        if forward and self.cursor_row >= self.row_count - 1 and self._has_next():
            self.load(self.start + self.row_count, 0)
        elif not forward and self.cursor_row == 0 and self.start > 0:
            self.load(max(self.start - PAGE_SIZE, 0), cursor)
        else:
            return False
        return True

    def action_cursor_down(self) -> None:
        if not self._turn_page(forward=True, cursor=0):
            super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if not self._turn_page(forward=False, cursor=PAGE_SIZE - 1):
            super().action_cursor_up()

    def action_page_down(self) -> None:
        if not self._turn_page(forward=True, cursor=0):
            super().action_page_down()

    def action_page_up(self) -> None:
        if not self._turn_page(forward=False, cursor=0):
            super().action_page_up()

    def action_first_page(self) -> None:
        self.load(0, 0)

    def action_last_page(self) -> None:
        self.load(LAST, PAGE_SIZE)

    # --- sorting -------------------------------------------------------------------------

    def sort_by(self, name: str) -> None:
        """Sort by `name`, ascending first (from relevance too); sorting by the same column
        again reverses the order."""
        current = self.sort
        ascending = current.lstrip("-") != name or current.startswith("-")
        self.show_query(replace(self.query, sort=name if ascending else f"-{name}"))

    def action_sort_next(self) -> None:
        """Sort by the next column (ascending)."""
        names = [name for name, _, _ in COLUMNS if name in customer_lists.SORTABLE]
        current = self.sort.lstrip("-")
        following = names[(names.index(current) + 1) % len(names)] if current in names else "name"
        self.show_query(replace(self.query, sort=following))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sort_reverse":
            return bool(self.sort)  # relevance has no reverse
        return super().check_action(action, parameters)

    def action_sort_reverse(self) -> None:
        self.sort_by(self.sort.lstrip("-"))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        name = COLUMNS[event.column_index][0]
        if name in customer_lists.SORTABLE:
            self.sort_by(name)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Selected(event.row_key.value))
