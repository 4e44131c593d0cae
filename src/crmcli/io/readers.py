"""Reading an import: which format, then its rows as (where, values), streamed.

Tabular formats (csv, tsv, xlsx) give the header once (`Source.headers`) and each row as a
list of cells; json and ndjson give each record as a dict. `where` is what an error
message points at: "line 7" (the record's first line, so quoted newlines count), "row 7"
of a sheet, "item 7" of a JSON array. Blank rows (Excel's trailing ones) are skipped.

The header is the first row that is not blank, or the row `header_row` names. A sheet
often has a title above its header (one cell, merged across: "2026年展会客户"), so in a
workbook leading rows of one filled cell are taken as titles when a row of several cells
follows among the first few: that row is the header (`Source.titles` says which rows
were passed over, so the caller can tell the user).
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any

from crmcli.errors import Invalid, UsageError
from crmcli.io import xlsx_cells
from crmcli.io.encoding import Text

FORMATS = ("csv", "tsv", "ndjson", "json", "xlsx")
EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".ndjson": "ndjson", ".jsonl": "ndjson",
    ".json": "json", ".xlsx": "xlsx", ".xlsm": "xlsx",
}
ZIP_MAGIC = b"PK\x03\x04"
Values = list[str] | dict[str, Any] | Invalid


@dataclass
class Source:
    """An open import: its name for messages, format, header (tabular) and rows."""

    name: str
    format: str
    headers: list[str] | None
    rows: Iterator[tuple[str, Values]]
    progress: Callable[[], tuple[int, int | None]]  # (done, total) in bytes or sheet rows
    header_at: str = ""  # where the header is ("row 2"), tabular formats
    titles: list[str] = field(default_factory=list)  # rows above it passed over as titles


@contextmanager
def open_source(
    path: str, *, format: str | None = None, encoding: str | None = None,
    sheet: str | None = None, header_row: int | None = None,
) -> Iterator[Source]:
    """Open FILE (or `-`, standard input) as an import source; `header_row` (1-based: a
    sheet's row, a text file's line) says where a tabular file's header is."""
    with ExitStack() as stack:
        if path == "-":
            if sys.stdin.isatty():
                raise UsageError("FILE is '-' but nothing is piped into standard input")
            stream, name, size = sys.stdin.buffer, "stdin", None
        else:
            file = Path(path)
            try:
                stream = stack.enter_context(file.open("rb"))
            except OSError as error:
                raise UsageError(f"cannot read {path}: {error.strerror}") from None
            name, size = file.name, file.stat().st_size
            format = format or EXTENSIONS.get(file.suffix.lower())
        if format is None and stream.peek(len(ZIP_MAGIC)).startswith(ZIP_MAGIC):
            format = "xlsx"
        if format == "xlsx":
            yield stack.enter_context(_xlsx(stream, name, sheet, header_row))
            return
        text = Text(stream, name, encoding)
        format = format or sniff(text.sample.decode(text.encoding, errors="ignore"))
        if format in ("csv", "tsv"):
            header_at, headers, rows = _delimited(text, "," if format == "csv" else "\t",
                                                  header_row)
            yield Source(name, format, headers, rows, lambda: (text.position, size), header_at)
            return
        if header_row is not None:
            raise UsageError(f"--header-row: {format} has no header row")
        rows = _ndjson(text) if format == "ndjson" else _json_array(text)
        yield Source(name, format, None, rows, lambda: (text.position, size))


def sniff(start: str) -> str:
    """The format of text beginning with `start`: a JSON array, ndjson, tsv or csv."""
    stripped = start.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "ndjson"
    first_line = stripped.split("\n", 1)[0]
    return "tsv" if first_line.count("\t") > first_line.count(",") else "csv"


def _blank(cells: list[Any]) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in cells)


def _delimited(
    text: Text, delimiter: str, header_row: int | None
) -> tuple[str, list[str], Iterator[tuple[str, Values]]]:
    reader = csv.reader(text.lines(), delimiter=delimiter, strict=True)
    start = 1

    def records() -> Iterator[tuple[int, list[str]]]:
        nonlocal start
        try:
            for cells in reader:
                yield start, cells
                start = reader.line_num + 1
        except csv.Error as error:
            raise Invalid(f"{text.label}, line {start}: malformed: {error}") from None

    rows = records()
    headers: list[str] = []
    header_at = ""
    for line, cells in rows:
        if not _blank(cells) if header_row is None else line >= header_row:
            headers, header_at = [cell.strip() for cell in cells], f"line {line}"
            break
    data = ((f"line {line}", cells) for line, cells in rows if not _blank(cells))
    return header_at, headers, data


def _ndjson(text: Text) -> Iterator[tuple[str, Values]]:
    for number, line in enumerate(text.lines(), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {number}", _object(json.loads(line))
        except json.JSONDecodeError as error:
            yield f"line {number}", Invalid(f"not valid JSON: {error.msg}")


def _object(value: Any) -> dict[str, Any] | Invalid:
    return value if isinstance(value, dict) else Invalid("is not an object with field names")


_SPACE = re.compile(r"\s*")


class _Array:
    """The items of one JSON array, decoded one at a time as the text streams in."""

    def __init__(self, text: Text):
        self.label = text.label
        self.chunks = text.chunks()
        self.buffer = ""
        self.pos = 0
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        for chunk in self.chunks:
            self.buffer = self.buffer[self.pos:] + chunk
            self.pos = 0
            return True
        return False

    def _next_char(self) -> str:
        while True:
            self.pos = _SPACE.match(self.buffer, self.pos).end()
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def _value(self, where: str) -> Any:
        self._next_char()
        while True:
            try:
                value, self.pos = self.decoder.raw_decode(self.buffer, self.pos)
                return value
            except json.JSONDecodeError as error:
                if not self._more():
                    raise Invalid(f"{self.label}, {where}: not valid JSON: {error.msg}") from None

    def items(self) -> Iterator[tuple[str, Values]]:
        if self._next_char() != "[":
            raise Invalid(
                f"{self.label}: JSON input is an array of objects ([{{…}}, …]); "
                "one object per line is ndjson"
            )
        self.pos += 1
        number = 0
        if self._next_char() == "]":
            self.pos += 1
        else:
            while True:
                number += 1
                yield f"item {number}", _object(self._value(f"item {number}"))
                following = self._next_char()
                self.pos += 1
                if following == "]":
                    break
                if following != ",":
                    raise Invalid(f"{self.label}, item {number}: expected ',' or ']' after it")
        if self._next_char():
            raise Invalid(f"{self.label}: text after the end of the JSON array")


def _json_array(text: Text) -> Iterator[tuple[str, Values]]:
    return _Array(text).items()


@contextmanager
def _xlsx(stream: IO[bytes], name: str, sheet: str | None, header_row: int | None) -> Iterator[Source]:
    """The first sheet (or `sheet`) of a workbook; stdin is spooled to a temporary file,
    because a zip file cannot be read front to back."""
    from openpyxl import load_workbook

    with tempfile.TemporaryFile() as spool:
        if not stream.seekable():
            while block := stream.read(1 << 20):
                spool.write(block)
            spool.seek(0)
            stream = spool
        try:
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except Exception as error:  # noqa: BLE001 - zipfile and openpyxl raise many kinds
            raise Invalid(f"{name} is not a readable Excel workbook ({error})") from None
        try:
            if sheet is not None and sheet not in workbook.sheetnames:
                raise UsageError(
                    f"{name} has no sheet {sheet!r}; its sheets: {', '.join(workbook.sheetnames)}"
                )
            worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
            done = 0

            def texts() -> Iterator[tuple[int, list[str]]]:
                nonlocal done
                for done, cells in enumerate(worksheet.iter_rows(), start=1):
                    yield done, [xlsx_cells.text(cell.value, cell.number_format) for cell in cells]

            rows = texts()
            titles, (number, headers), ahead = _sheet_header(rows, header_row)
            data = ((f"row {row}", cells) for row, cells in chain(ahead, rows) if not _blank(cells))
            total = worksheet.max_row
            yield Source(f"{name} ({worksheet.title})", "xlsx",
                         [cell.strip() for cell in headers], data, lambda: (done, total),
                         f"row {number}" if number else "", [f"row {row}" for row in titles])
        finally:
            workbook.close()


TITLE_ROWS = 5  # how many rows of one cell above a header are looked through as titles


def _sheet_header(
    rows: Iterator[tuple[int, list[str]]], header_row: int | None
) -> tuple[list[int], tuple[int, list[str]], list[tuple[int, list[str]]]]:
    """(title rows passed over, (row, cells) of the header, rows read ahead after it)."""
    if header_row is not None:
        for number, cells in rows:
            if number >= header_row:
                return [], (number, cells), []
        return [], (0, []), []
    ahead: list[tuple[int, list[str]]] = []
    for number, cells in rows:
        if not _blank(cells):
            ahead.append((number, cells))
            if _filled(cells) > 1 or len(ahead) > TITLE_ROWS:
                break
    wide = next((index for index, (_, cells) in enumerate(ahead) if _filled(cells) > 1), 0)
    if not ahead:
        return [], (0, []), []
    return [number for number, _ in ahead[:wide]], ahead[wide], ahead[wide + 1:]


def _filled(cells: list[str]) -> int:
    return sum(1 for cell in cells if cell.strip())
