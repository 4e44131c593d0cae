"""A report section's chart, drawn the same way by the command line and the dashboard.

Bars are drawn here with block characters (eighths of a cell), measured in terminal cells,
so Chinese labels line up (plotext counts characters, not cells, and shifts the bars of a
wide label). A trend over weeks or months is a plotext line chart: `plot_trend` feeds any
plotext figure (the `plotext` module for `crm report`, a textual-plotext widget's `plt`
in the dashboard). Labels are user data (a member, a source, a department): `clean`ed,
so a typed escape sequence is shown, never obeyed; never read as markup.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmcli.display import clean
from crmcli.repo.reports.table import Section, shown

BAR = "█"
EIGHTHS = " ▏▎▍▌▋▊▉"
STYLES = ("cyan", "magenta", "green", "yellow")


def labels(section: Section) -> list[str]:
    """Each row's label in the chart, safe to draw."""
    return [clean(str(row.get(section.chart.label) or "")) for row in section.rows]


def numbers(section: Section, key: str) -> list[float]:
    """Each row's value of `key` as a number to draw (a value that is not one, such as
    `restricted` or nothing, draws as 0; its figure beside the bar says what it is)."""
    return [float(v) if isinstance(v, int | float | Decimal) else 0.0
            for v in (row.get(key) for row in section.rows)]


def bars(section: Section, width: int) -> Any:
    """A horizontal bar per row (per row and value when the chart has several values),
    scaled to `width` cells, each with its figure as the table shows it."""
    from rich.cells import cell_len
    from rich.text import Text

    spec = section.chart
    names = labels(section)
    label_width = min(max(map(cell_len, names), default=0), width // 3)
    several = len(spec.values) > 1
    legend_width = max(cell_len(section.measure(k).header) for k in spec.values) + 1 \
        if several else 0
    out = Text()
    for key, style in zip(spec.values, STYLES * 4, strict=False):
        measure = section.measure(key)
        values = numbers(section, key)
        top = max(values, default=0) or 1
        room = max(width - label_width - legend_width - 14, 10)
        for label, row, number in zip(names, section.rows, values, strict=True):
            out.append(_fit(label, label_width) + " ")
            if several:
                out.append(_fit(measure.header, legend_width - 1) + " ", style="dim")
            out.append(_bar(number / top * room), style=style)
            out.append(" " + shown(row.get(key), measure) + "\n")
    return out


def plot_trend(plt: Any, section: Section) -> None:
    """Draw the section's lines (one per value, labelled by its header) on `plt`, a
    plotext figure, with at most eight period labels under them."""
    names = labels(section)
    for key in section.chart.values:
        plt.plot(list(range(len(names))), numbers(section, key),
                 label=clean(section.measure(key).header))
    step = max(1, len(names) // 8)
    plt.xticks(list(range(0, len(names), step)), names[::step])


def _fit(text: str, width: int) -> str:
    from rich.cells import cell_len, set_cell_size

    return set_cell_size(text, width) if cell_len(text) != width else text


def _bar(cells: float) -> str:
    whole, part = divmod(round(cells * 8), 8)
    return BAR * whole + (EIGHTHS[part] if part else "")
