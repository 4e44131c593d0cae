"""A report section's chart in the dashboard: its bars as `crm report` draws them
(`charts.bars`, redrawn at the widget's width), or its trend as a textual-plotext line
chart. plotext is imported only when a trend is first shown (it adds to `crm tui`'s
start-up otherwise)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from crmcli import charts
from crmcli.repo.reports.table import Section


class SectionBars(Widget):
    DEFAULT_CSS = """
    SectionBars {
        height: auto;
    }
    """

    def __init__(self, section: Section, **kwargs) -> None:
        super().__init__(**kwargs)
        self.section = section

    def show(self, section: Section) -> None:
        self.section = section
        self.refresh(layout=True)

    def render(self) -> Text:
        drawn = charts.bars(self.section, max(self.size.width, 20))
        drawn.rstrip()
        return drawn

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.section.rows) * len(self.section.chart.values)


def chart_for(section: Section, **kwargs) -> Widget | None:
    """The widget that draws `section`'s chart (`show(section)` redraws it with other
    figures), or None for a section without a chart or without rows."""
    if section.chart is None or not section.rows:
        return None
    if section.chart.kind == "line":
        from crmcli.tui.widgets.trend_chart import SectionTrend

        return SectionTrend(section, **kwargs)
    return SectionBars(section, **kwargs)
