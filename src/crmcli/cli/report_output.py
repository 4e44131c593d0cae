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

from crmcli import charts
from crmcli.cli.output import Format, safe, say, stdout_console
from crmcli.errors import Invalid
from crmcli.io import writers
from crmcli.repo.reports.table import Report, Section, shown

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
            console.print(Text(f"{section.title}: {section.empty}", style="dim"))
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
    return charts.bars(section, width)


def _lines(section: Section, width: int) -> Any:
    import plotext
    from rich.text import Text

    plotext.clear_figure()
    plotext.theme("clear")
    plotext.plotsize(max(width, 40), 15)
    charts.plot_trend(plotext, section)
    return Text.from_ansi(plotext.build())
