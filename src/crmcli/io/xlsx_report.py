"""A report as an Excel workbook: one sheet per section, typed cells and a native chart.

What a manager pastes into a deck: each section's table with numbers as numbers (counts,
money as `xlsx_cells` writes it, ratios as percentages, durations in days), and beside it
the section's chart as an Excel chart object (openpyxl's BarChart or LineChart) drawn from
those cells, so it stays editable. As in every export, text a person typed is a text cell,
never a formula, and the same report gives the same bytes (`writers.save_reproducibly`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from crmcli.io import ooxml, writers, xlsx_cells
from crmcli.repo.reports.table import Chart, Measure, Report, Section

SECONDS_PER_DAY = 86_400
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def header(measure: Measure) -> str:
    """The column's header in the workbook: durations are in days there."""
    return f"{measure.header} (days)" if measure.kind == "seconds" else measure.header


def write(report: Report, path: Path) -> None:
    """Write `report` to `path` (replaced if it exists)."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for section in report.sections:
        sheet = workbook.create_sheet(_sheet_name(section.title, used))
        _fill(sheet, section)
        if section.chart and section.rows:
            sheet.add_chart(_chart(sheet, section, section.chart),
                            f"{_column_letter(len(section.measures) + 2)}2")
    if report.notes:
        notes = workbook.create_sheet(_sheet_name("Notes", used))
        for number, line in enumerate(report.notes, start=1):
            _set_text(notes.cell(number, 1), line)
    with path.open("wb") as out:
        writers.save_reproducibly(workbook, out)


def _sheet_name(title: str, used: set[str]) -> str:
    base = _NOT_IN_SHEET_NAMES.sub(" ", title).strip()[:28] or "Sheet"
    name, number = base, 2
    while name.lower() in used:
        name, number = f"{base} {number}", number + 1
    used.add(name.lower())
    return name


def _fill(sheet: Any, section: Section) -> None:
    from openpyxl.styles import Font

    for column, measure in enumerate(section.measures, start=1):
        cell = _set_text(sheet.cell(1, column), header(measure))
        cell.font = Font(bold=True)
        for number, row in enumerate(section.rows, start=2):
            value, number_format = _cell(row.get(measure.key), measure)
            if isinstance(value, str):
                _set_text(sheet.cell(number, column), value)
            elif value is not None:
                sheet.cell(number, column, value).number_format = number_format
        width = max((len(str(cells[0].value or "")) for cells in sheet.iter_rows(
            min_col=column, max_col=column)), default=8)
        sheet.column_dimensions[_column_letter(column)].width = min(max(width + 2, 8), 40)


_FORMATS = {"ratio": "0.0%", "seconds": "0.00", "count": "#,##0"}


def _cell(value: Any, measure: Measure) -> tuple[Any, str]:
    """A machine value as a cell's value and number format: numbers as numbers (a
    duration in days), everything else as text."""
    if measure.kind in ("count", "ratio") and isinstance(value, int | float):
        return value, _FORMATS[measure.kind]
    if measure.kind == "seconds" and isinstance(value, int | float):
        return round(value / SECONDS_PER_DAY, 4), _FORMATS["seconds"]
    if measure.kind == "money" and value is not None:
        found = xlsx_cells.typed(value, "money")
        if found is not None:
            return found
    return (None if value is None else str(value)), "@"


def _set_text(cell: Any, text: str) -> Any:
    """A text cell: never parsed as a formula, a number or a date (what a person typed)."""
    cell._value = ooxml.escape(text)
    cell.data_type = "s"
    cell.number_format = "@"
    return cell


def _chart(sheet: Any, section: Section, chart: Chart) -> Any:
    from openpyxl.chart import BarChart, LineChart, Reference

    made = BarChart() if chart.kind == "bar" else LineChart()
    if chart.kind == "bar":
        made.type = "bar"  # horizontal: long category names read
    made.title = section.title
    made.height, made.width = 7.5 + 0.4 * min(len(section.rows), 30), 16
    keys = [m.key for m in section.measures]
    last = len(section.rows) + 1
    for value in chart.values:
        column = keys.index(value) + 1
        made.add_data(Reference(sheet, min_col=column, min_row=1, max_row=last),
                      titles_from_data=True)
    label = keys.index(chart.label) + 1
    made.set_categories(Reference(sheet, min_col=label, min_row=2, max_row=last))
    return made


def _column_letter(number: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(number)
