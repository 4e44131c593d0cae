"""The customer list: search as you type (the CLI's search, Chinese included), filters by
stage, level, owner and tag, sorting by column, and pages read from the database.

The filters build the same `CustomerQuery` as `crm customer list`: several stages, levels
or owners ticked mean any of them, several tags typed (`vip, 重点`) all of them.

The same screen lists a given set of customers (`among`: the customers behind a report's
row), with the same search, filters and sorting within them; Esc goes back from it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static

from crmcli import fields
from crmcli.display import clean
from crmcli.repo.customer_lists import CustomerQuery
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.customer import CustomerScreen
from crmcli.tui.screens.customer_form import CustomerFormScreen
from crmcli.tui.screens.duplicates import DuplicatesScreen
from crmcli.tui.widgets.choice_filter import ChoiceFilter
from crmcli.tui.widgets.customer_table import CustomerTable
from crmcli.tui.widgets.owner_filter import OwnerFilter

TYPING_PAUSE = 0.15  # seconds of quiet typing before the search runs


class CustomersScreen(DataScreen):
    BINDINGS = [
        Binding("a", "add", "Add"),
        Binding("slash", "search", "Search"),
        Binding("escape", "focus_table", "To list", show=False),
        Binding("escape", "back", "Back", show=False),
        # no room in the footer at 80 columns: the palette lists it (and the key)
        Binding("d", "duplicates", "Duplicates", show=False),
    ]

    def __init__(self, among: tuple[str, ...] | None = None, about: str = "") -> None:
        super().__init__()
        self._typing: Timer | None = None
        self.among = among  # only these customers (None: all)
        self.about = clean(about)  # what they are, said in the title and the status line

    @property
    def table(self) -> CustomerTable:
        return self.query_one(CustomerTable)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filters"):
            yield Input(placeholder="Search name, phone, notes… 搜索", id="search", compact=True)
            yield ChoiceFilter("Stage", fields.STAGES, id="stage")
            yield ChoiceFilter("Level", fields.LEVELS, id="level")
            yield OwnerFilter(self.workspace)
            yield Input(placeholder="Tag", id="tag", compact=True)
        yield CustomerTable(self.workspace, among=self.among)
        yield Static(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Customers · {self.about or self.workspace.handle}"
        self.table.focus()

    def reload(self) -> None:
        """The rows, and the Owner filter's choices."""
        self.table.reload()
        self.query_one(OwnerFilter).reload()

    # --- filters -------------------------------------------------------------------------

    def build_query(self) -> CustomerQuery:
        def chosen(filter_id: str) -> tuple[str, ...]:
            return self.query_one(filter_id, ChoiceFilter).chosen

        return CustomerQuery(
            search=self.query_one("#search", Input).value.strip() or None,
            stage=chosen("#stage"),
            level=chosen("#level"),
            owner=chosen("#owner"),
            tag=self.query_one("#tag", Input).value.strip() or None,
            sort=self.table.query.sort,
            among=self.among,
        )

    def apply_filters(self) -> None:
        query = self.build_query()
        if query != self.table.query:
            self.table.show_query(query)

    @on(Input.Changed)
    def typed(self) -> None:
        if self._typing is not None:
            self._typing.stop()
        self._typing = self.set_timer(TYPING_PAUSE, self.apply_filters)

    @on(ChoiceFilter.Changed)
    def chose(self) -> None:
        self.apply_filters()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.apply_filters()
        self.table.focus()

    # --- status and actions --------------------------------------------------------------

    def on_customer_table_page_shown(self, message: CustomerTable.PageShown) -> None:
        total = "…" if message.total is None else f"{message.total:,}"
        if message.shown:
            where = f"{message.start + 1:,}–{message.start + message.shown:,} of {total}"
        else:
            where = "no customers match" if message.total == 0 else "0 of …"
        if message.sort:
            arrow = "▼" if message.sort.startswith("-") else "▲"
            order = f"sorted by {message.sort.lstrip('-')} {arrow} · s sort, r reverse"
        else:
            order = "sorted by relevance · s sort"
        filters = " · ".join(filter(None, (self.about, self.table.query.described())))
        if filters:
            where = f"{where} · {filters}"
        self.query_one("#status", Static).update(
            Text(f" {where} · {order}, Home/End first/last page"))

    def on_customer_table_selected(self, message: CustomerTable.Selected) -> None:
        self.app.push_screen(CustomerScreen(message.customer_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A report's customers: Esc goes back to the report (from the list; from a box,
        back to the list first), and Add is off (a new customer is behind no row)."""
        on_list = self.among is not None and isinstance(self.focused, CustomerTable)
        if action == "back":
            return on_list
        if action == "focus_table":
            return not on_list
        if action == "add":
            return self.among is None
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_add(self) -> None:
        self.open_form(CustomerFormScreen())

    def action_duplicates(self) -> None:
        self.app.push_screen(DuplicatesScreen())

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_focus_table(self) -> None:
        self.table.focus()
