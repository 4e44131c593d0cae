"""Reports (F4): the reports of `crm report` (funnel, workload, attribution, data quality)
with their charts, asked with the same options, and the customers behind any row.

The screen knows no report: each is a module of `crmcli.repo.reports` with `build` and
`customers_behind`, listed in REPORTS, and whatever `Report` it returns is shown section
by section (a table, its chart, the notes), so a new report is one line here. Figures
read as in the CLI (`table.shown`); bars are drawn as `crm report` draws them, trends
with textual-plotext (widgets/section_chart.py). Enter on a row lists the customers
behind it in the customer list (`CustomersScreen(among=...)`), where one opens as
anywhere else.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from rich.text import Text
from sqlmodel import Session
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Header, Input, Label, Select, Static, Tab, Tabs

from crmcli.display import clean
from crmcli.errors import CrmError
from crmcli.repo import users
from crmcli.repo.reports import stage_history
from crmcli.repo.reports.table import BY, Options, Period, Report, Section, shown
from crmcli.sync import secrets
from crmcli.tui.data import post_if_current, reading_for
from crmcli.tui.literal import cell, literal
from crmcli.tui.screens.base import DataScreen
from crmcli.tui.screens.customers import CustomersScreen
from crmcli.tui.widgets.choice_filter import ChoiceFilter
from crmcli.tui.widgets.owner_filter import OwnerFilter
from crmcli.tui.widgets.record_table import RecordTable
from crmcli.tui.widgets.section_chart import chart_for


@dataclass(frozen=True)
class Listed:
    """A report the view offers: its module in crmcli.repo.reports, its tab, and what
    must be brought up to date (in a write) before it is read, as its command does."""

    name: str
    label: str
    first: Callable[[Session], None] | None = None
    builder: Callable[..., Report] | None = None  # when its command builds it otherwise

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(f"crmcli.repo.reports.{self.name}")

    def build(self, s: Session, me: Any, options: Any) -> Report:
        return (self.builder or self.module.build)(s, me, options)


REPORTS = (  # in the order of the tabs
    Listed("funnel", "Funnel", stage_history.catch_up),
    Listed("workload", "Workload"),
    Listed("attribution", "Attribution", builder=secrets.attribution),
    Listed("quality", "Data quality"),
)
LISTED = {listed.name: listed for listed in REPORTS}


def typed_values(text: str) -> tuple[str, ...]:
    """Several values typed in one box (`sales, 客服`), as a repeated `--dept` gives them."""
    return tuple(value.strip() for value in re.split("[,，]", text) if value.strip())


def row_label(section: Section, row: dict[str, Any]) -> str:
    """What a row is about, in words: its chart label, else its first column."""
    key = section.chart.label if section.chart else section.measures[0].key
    return shown(row.get(key), section.measure(key))


def section_rows(section: Section) -> list[tuple[str, list[Text]]]:
    """The section's rows as table cells (user data literal; figures right-aligned), keyed
    by their position in the section."""
    def one(value: Any, measure) -> Text:
        text = cell(shown(value, measure))
        if measure.kind not in ("text", "date"):
            text.justify = "right"
        return text

    return [(str(index), [one(row.get(m.key), m) for m in section.measures])
            for index, row in enumerate(section.rows)]


class ReportsScreen(DataScreen):
    BINDINGS = [
        Binding("n", "next_report(1)", "Next report"),
        Binding("N", "next_report(-1)", "Previous report", show=False),
        Binding("b", "next_by", "By"),
        Binding("slash", "filters", "Filters"),
        Binding("escape", "focus_report", "To report", show=False),
    ]

    class Loaded(Message):
        def __init__(self, name: str, report: Report) -> None:
            super().__init__()
            self.name, self.report = name, report

    class BehindFound(Message):
        """The customers behind a row, read; `about` says which row, for the list's title."""

        def __init__(self, ids: list[str], about: str) -> None:
            super().__init__()
            self.ids, self.about = ids, about

    def __init__(self) -> None:
        super().__init__()
        self.chosen = REPORTS[0].name
        self.options = Options()
        self.report: Report | None = None
        self.shape: tuple | None = None  # the sections' names, columns and charts on screen

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#report-body", VerticalScroll)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(*(Tab(listed.label, id=listed.name) for listed in REPORTS), id="report-tabs")
        with Horizontal(id="report-filters"):
            yield Input(placeholder="Since", id="since", compact=True)
            yield Input(placeholder="Until", id="until", compact=True)
            yield OwnerFilter(self.workspace)
            yield Input(placeholder="Department", id="dept", compact=True)
            yield Input(placeholder="Source", id="source", compact=True)
            yield Select(((f"by {by}", by) for by in BY), prompt="in total", id="by",
                         compact=True)
        yield VerticalScroll(id="report-body")
        yield Static(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Reports · {self.workspace.handle}"

    # --- reading -------------------------------------------------------------------------

    def reload(self) -> None:
        self.load_report()
        self.query_one(OwnerFilter).reload()

    @work(thread=True, exclusive=True, group="db")
    def load_report(self) -> None:
        listed, options = LISTED[self.chosen], self.options
        with reading_for(self, self.workspace, listed.first) as s:
            me = users.acting(s, self.workspace.handle)
            post_if_current(self, self.Loaded(listed.name, listed.build(s, me, options)))

    # --- showing -------------------------------------------------------------------------

    async def on_reports_screen_loaded(self, message: Loaded) -> None:
        if message.name != self.chosen:
            return
        self.report = report = message.report
        shape = tuple((s.name, s.measures, s.chart, bool(s.rows)) for s in report.sections)
        if shape != self.shape:
            await self.build_body(report)
            self.shape = shape
        for index, section in enumerate(report.sections):
            title = section.title if section.rows else f"{section.title}: {section.empty}"
            self.query_one(f"#title-{index}", Label).update(literal(title))
            self.query_one(f"#table-{index}", RecordTable).fill(section_rows(section))
            for chart in self.query(f"#chart-{index}"):
                chart.show(section)
        self.query_one("#notes", Static).update(literal("\n".join(report.notes)))
        self.say(f"⏎ a row's customers · / filters · b in total, by week or month · {report.title}")

    async def build_body(self, report: Report) -> None:
        """Lay the sections out afresh (another report, or other sections or columns)."""
        widgets: list[Widget] = []
        for index, section in enumerate(report.sections):
            widgets.append(Label(classes="section", id=f"title-{index}"))
            table = RecordTable([(m.header, None) for m in section.measures], id=f"table-{index}")
            table.display = bool(section.rows)
            widgets.append(table)
            chart = chart_for(section, id=f"chart-{index}", classes="chart")
            if chart is not None:
                widgets.append(chart)
        widgets.append(Static(id="notes"))
        focused = self.focused  # a filter being used keeps the focus; a table gives it on
        in_body = (self.shape is None or focused is None
                   or self.body in focused.ancestors_with_self)
        await self.body.remove_children()
        await self.body.mount_all(widgets)
        self.body.scroll_home(animate=False)
        if in_body:  # not scrolled to: it is not laid out yet, and the top is in view
            self.action_focus_report(scroll_visible=False)

    def say(self, line: str, style: str = "") -> None:
        self.query_one("#status", Static).update(Text(f" {line}", style=style))

    # --- the customers behind a row ------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        table_id = event.data_table.id or ""
        if self.report is None or not table_id.startswith("table-"):
            return
        event.stop()
        section = self.report.sections[int(table_id.removeprefix("table-"))]
        row = section.rows[int(event.row_key.value)]
        about = f"{self.report.title} · {section.title}: {row_label(section, row)}"
        self.find_behind(self.chosen, self.options, section.name, row, about)

    @work(thread=True, exclusive=True, group="behind")
    def find_behind(self, name: str, options: Options, section: str, row: dict,
                    about: str) -> None:
        with reading_for(self, self.workspace) as s:
            me = users.acting(s, self.workspace.handle)
            ids = LISTED[name].module.customers_behind(s, me, options, section, row)
            post_if_current(self, self.BehindFound(list(ids), about))

    def on_reports_screen_behind_found(self, message: BehindFound) -> None:
        if not message.ids:
            self.notify(clean(f"{message.about}: no customers behind it"), markup=False)
            return
        self.app.push_screen(CustomersScreen(among=tuple(message.ids), about=message.about))

    # --- choosing the report and its options ---------------------------------------------

    @on(Tabs.TabActivated, "#report-tabs")
    def report_chosen(self, event: Tabs.TabActivated) -> None:
        event.stop()
        name = event.tab.id or REPORTS[0].name
        if name != self.chosen:
            self.chosen = name
            self.load_report()

    def action_next_report(self, step: int) -> None:
        names = [listed.name for listed in REPORTS]
        following = names[(names.index(self.chosen) + step) % len(names)]
        self.query_one("#report-tabs", Tabs).active = following

    def action_next_by(self) -> None:
        """Total → by week → by month → total."""
        by = self.query_one("#by", Select)
        choices = [Select.NULL, *BY]
        by.value = choices[(choices.index(by.value) + 1) % len(choices)]

    def action_filters(self) -> None:
        self.query_one("#since", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_report":  # Esc from the tabs or a filter, not within the report
            return self.focused is None or self.body not in self.focused.ancestors_with_self
        return True

    def action_focus_report(self, scroll_visible: bool = True) -> None:
        """To the first table of the report (an empty section's is hidden)."""
        shown_tables = [table for table in self.body.query(RecordTable) if table.display]
        if shown_tables:
            shown_tables[0].focus(scroll_visible=scroll_visible)

    def read_options(self) -> Options:
        """The filters as `crm report` options; a period that does not read raises Invalid."""
        def typed(widget_id: str) -> str:
            return self.query_one(widget_id, Input).value.strip()

        by = self.query_one("#by", Select).value
        return Options(
            period=Period.parse(typed("#since") or None, typed("#until") or None),
            owner=self.query_one("#owner", ChoiceFilter).chosen,
            dept=typed_values(typed("#dept")),
            source=typed_values(typed("#source")),
            by=by if isinstance(by, str) else None,
        )

    def apply_filters(self) -> None:
        try:
            options = self.read_options()
        except CrmError as error:
            self.say(clean(str(error)), "red")
            return
        if options != self.options:
            self.options = options
            self.load_report()

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.apply_filters()
        self.action_focus_report()

    @on(Input.Blurred)
    def left_box(self) -> None:
        self.apply_filters()

    @on(ChoiceFilter.Changed)
    @on(Select.Changed)
    def chose(self) -> None:
        self.apply_filters()
