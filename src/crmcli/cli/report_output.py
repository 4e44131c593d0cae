"""A report (`repo.reports.table.Report`) for people and for scripts.

For people: each section as a Rich table, its chart under it (bars drawn with block
characters, scaled to the terminal; a trend over weeks or months as a plotext line chart),
and the report's notes. For scripts: `--format json` an object of the sections' rows by
section name; ndjson one row a line with its "section"; csv the rows of one section (the
first, or `--section NAME`). `-o FILE.xlsx` writes the workbook (io/xlsx_report.py).
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from crmcli.cli.output import Format, safe, say, stdout_console
from crmcli.display import clean
from crmcli.errors import Invalid
from crmcli.io import writers
from crmcli.repo.reports.table import Report, Section, shown

BAR = "█"
EIGHTHS = " ▏▎▍▌▋▊▉"
MOST_WIDTH = 100  # a chart wider than this reads no better


def show(report: Report, fmt: Format, *, output: Path | None = None,
         section: str | None = None) -> None:
    """Render `report` as asked (see the module's docstring)."""
    if output is not None:
        if output.suffix.lower() != ".xlsx":
            raise Invalid(f"-o writes an Excel workbook: {str(output)!r} does not end in "
                          ".xlsx (for csv or json, use --format and redirect stdout)", "output")
        from crmcli.io import xlsx_report

        xlsx_report.write(report, output)
        say("wrote ", str(output))
        return
    sections = _chosen(report, section)
    if fmt is Format.json:
        json.dump({s.name: [_machine(row) for row in s.rows] for s in sections}, sys.stdout,
                  ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    elif fmt is Format.ndjson:
        writers.write_ndjson(sys.stdout, ({"section": s.name, **_machine(row)}
                                          for s in sections for row in s.rows))
    elif fmt is Format.csv:
        first = sections[0]
        writers.write_delimited(
            sys.stdout, [m.key for m in first.measures],
            ([_csv_cell(row.get(m.key)) for m in first.measures] for row in first.rows),
            delimiter=",")
    else:
        _for_people(report, sections)


def _chosen(report: Report, name: str | None) -> list[Section]:
    if name is None:
        return report.sections
    found = [s for s in report.sections if s.name == name]
    if not found:
        names = ", ".join(s.name for s in report.sections)
        raise Invalid(f"{report.name} has no section {name!r} (it has {names})", "section")
    return found


def _machine(row: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Decimal) else value
            for key, value in row.items()}


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _for_people(report: Report, sections: list[Section]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    console.print(Text(report.title, style="bold"))
    for section in sections:
        table = Table(title=section.title if len(sections) > 1 else None, title_justify="left",
                      box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for measure in section.measures:
            table.add_column(measure.header,
                             justify="left" if measure.kind in ("text", "date") else "right")
        for row in section.rows:
            table.add_row(*(safe(shown(row.get(m.key), m)) for m in section.measures))
        if not section.rows:
            console.print(Text(f"{section.title}: nothing in this period", style="dim"))
            continue
        console.print(table)
        if section.chart is not None:
            console.print(chart(section, console.width))
    for note in report.notes:
        console.print(safe(note, "dim"))


def chart(section: Section, width: int) -> Any:
    """The section's chart as a renderable at most `width` (and 100) columns wide."""
    width = min(width, MOST_WIDTH)
    if section.chart.kind == "line":
        return _lines(section, width)
    return _bars(section, width)


def _bars(section: Section, width: int) -> Any:
    from rich.cells import cell_len
    from rich.text import Text

    spec = section.chart
    labels = [clean(str(row.get(spec.label) or "")) for row in section.rows]
    label_width = min(max(map(cell_len, labels), default=0), width // 3)
    several = len(spec.values) > 1
    legend_width = max(cell_len(section.measure(k).header) for k in spec.values) + 1 \
        if several else 0
    out = Text()
    styles = ("cyan", "magenta", "green", "yellow")
    for key, style in zip(spec.values, styles * 4, strict=False):
        measure = section.measure(key)
        numbers = [v if isinstance(v, int | float | Decimal) else 0
                   for v in (row.get(key) for row in section.rows)]
        top = max(numbers, default=0) or 1
        room = max(width - label_width - legend_width - 14, 10)
        for label, row, number in zip(labels, section.rows, numbers, strict=True):
            out.append(_fit(label, label_width) + " ")
            if several:
                out.append(_fit(measure.header, legend_width - 1) + " ", style="dim")
            out.append(_bar(float(number) / float(top) * room), style=style)
            out.append(" " + shown(row.get(key), measure) + "\n")
    return out


def _fit(text: str, width: int) -> str:
    from rich.cells import cell_len, set_cell_size

    return set_cell_size(text, width) if cell_len(text) != width else text


def _bar(cells: float) -> str:
    whole, part = divmod(round(cells * 8), 8)
    return BAR * whole + (EIGHTHS[part] if part else "")


def _lines(section: Section, width: int) -> Any:
    import plotext
    from rich.text import Text

    spec = section.chart
    plotext.clear_figure()
    plotext.theme("clear")
    plotext.plotsize(max(width, 40), 15)
    labels = [clean(str(row.get(spec.label) or "")) for row in section.rows]
    for key in spec.values:
        numbers = [float(v) if isinstance(v, int | float | Decimal) else 0.0
                   for v in (row.get(key) for row in section.rows)]
        plotext.plot(list(range(len(labels))), numbers, label=clean(section.measure(key).header))
    step = max(1, len(labels) // 8)
    plotext.xticks(list(range(0, len(labels), step)), labels[::step])
    return Text.from_ansi(plotext.build())
