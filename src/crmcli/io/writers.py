"""Writing an export: rows of {column: value} to csv, tsv, ndjson, json or xlsx, streamed.

Tabular formats get text cells (the caller renders lists and numbers as text); json and
ndjson get the machine values; xlsx text is escaped as OOXML says (io.ooxml), so control
characters survive the trip back, and the columns the caller says are money, numbers or
dates get typed cells (io.xlsx_cells). A spreadsheet must never run what a customer typed:
every other xlsx cell is text (type `s`, format `@`), so "=1+2" stays those characters,
and `escape_formulas` prefixes CSV cells beginning with = @ or a tab with a quote. A
leading + is left alone: it begins every phone number in E.164.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterable
from typing import IO, Any

from crmcli.io import ooxml, xlsx_cells

FORMATS = ("csv", "tsv", "ndjson", "json", "xlsx")
BOM = "\ufeff"  # Excel on Windows reads a CSV file as UTF-8 only if it begins with one
FORMULA_STARTS = ("=", "@", "\t")


def escape_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_delimited(
    out: IO[str], headers: list[str], rows: Iterable[list[str]], *, delimiter: str,
    escape_formulas: bool = False,
) -> int:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers)
    count = 0
    for cells in rows:
        writer.writerow([escape_formula(c) for c in cells] if escape_formulas else cells)
        count += 1
    return count


def write_ndjson(out: IO[str], records: Iterable[dict[str, Any]]) -> int:
    count = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_json(out: IO[str], records: Iterable[dict[str, Any]]) -> int:
    """A JSON array, one object per line, written as the records come."""
    count = 0
    out.write("[")
    for record in records:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(record, ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def write_xlsx(
    out: IO[bytes], sheet: str, headers: list[str], rows: Iterable[list[Any]],
    kinds: list[str | None] | None = None,
) -> int:
    """One sheet, streamed (openpyxl's write-only mode). A column whose `kinds` entry is
    one of xlsx_cells.KINDS holds machine values written as typed cells where they are exact;
    every other cell is text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet)

    def text_cell(value: str) -> Any:
        cell = WriteOnlyCell(worksheet, value=ooxml.escape(value))
        cell.data_type = "s"  # never a formula, a number or a date: what was stored
        cell.number_format = "@"
        return cell

    def typed_cell(value: Any, kind: str) -> Any:
        found = xlsx_cells.typed(value, kind)
        if found is None:
            return text_cell("" if value is None else str(value))
        cell = WriteOnlyCell(worksheet, value=found[0])
        cell.number_format = found[1]
        return cell

    worksheet.append([text_cell(header) for header in headers])
    kinds = kinds or [None] * len(headers)
    count = 0
    for values in rows:
        worksheet.append([typed_cell(value, kind) if kind else text_cell(value)
                          for value, kind in zip(values, kinds, strict=True)])
        count += 1
    save_reproducibly(workbook, out)
    return count


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


def save_reproducibly(workbook: Any, out: IO[bytes]) -> None:
    """Save `workbook` so that the same cells give the same bytes: openpyxl stamps the
    document properties and every zip entry with the time of saving, which would make
    each export differ. The properties get the zip epoch instead, and the archive is
    copied entry by entry (streamed) with that time on each."""
    import tempfile
    import zipfile
    from datetime import datetime

    from openpyxl.writer.excel import ExcelWriter

    workbook.properties.created = workbook.properties.modified = datetime(*ZIP_EPOCH)
    with tempfile.TemporaryFile() as staged:
        with zipfile.ZipFile(staged, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            ExcelWriter(workbook, archive).save()
        staged.seek(0)
        with zipfile.ZipFile(staged) as source, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
            for entry in source.infolist():
                stamped = zipfile.ZipInfo(entry.filename, date_time=ZIP_EPOCH)
                stamped.compress_type = zipfile.ZIP_DEFLATED
                stamped.external_attr = 0o600 << 16
                stamped.file_size = entry.file_size  # decides whether zip64 is needed
                with source.open(entry) as data, target.open(stamped, "w") as copy:
                    shutil.copyfileobj(data, copy, 1 << 20)
