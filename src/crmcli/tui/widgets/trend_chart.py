"""A trend section's chart: a plotext line per value over the weeks or months (the
module imports plotext: `section_chart.chart_for` imports it when a trend is shown)."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from crmcli import charts
from crmcli.repo.reports.table import Section


class SectionTrend(PlotextPlot):
    DEFAULT_CSS = """
    SectionTrend {
        height: 12;
    }
    """

    def __init__(self, section: Section, **kwargs) -> None:
        super().__init__(**kwargs)
        self.show(section)

    def show(self, section: Section) -> None:
        self.plt.clear_data()
        charts.plot_trend(self.plt, section)
        self.refresh()
