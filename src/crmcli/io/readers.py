"""Reading an import: which format, then its rows as (where, values), streamed.

Tabular formats (csv, tsv, xlsx) give the header once (`Source.headers`) and each row as a
list of cells; json and ndjson give each record as a dict. `where` is what an error
message points at: "line 7" (the record's first line, so quoted newlines count), "row 7"
of a sheet, "item 7" of a JSON array. Blank rows (Excel's trailing ones) are skipped.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from crmcli.errors import Invalid, UsageError
from crmcli.io import ooxml
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


@contextmanager
def open_source(
    path: str, *, format: str | None = None, encoding: str | None = None, sheet: str | None = None
) -> Iterator[Source]:
    """Open FILE (or `-`, standard input) as an import source."""
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
            yield stack.enter_context(_xlsx(stream, name, sheet))
            return
        text = Text(stream, name, encoding)
        format = format or sniff(text.sample.decode(text.encoding, errors="ignore"))
        yield Source(name, format, *_text_rows(text, format), lambda: (text.position, size))


def sniff(start: str) -> str:
    """The format of text beginning with `start`: a JSON array, ndjson, tsv or csv."""
    stripped = start.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        return "ndjson"
    first_line = stripped.split("\n", 1)[0]
    return "tsv" if first_line.count("\t") > first_line.count(",") else "csv"


def _text_rows(text: Text, format: str) -> tuple[list[str] | None, Iterator[tuple[str, Values]]]:
    if format in ("csv", "tsv"):
        return _delimited(text, "," if format == "csv" else "\t")
    if format == "ndjson":
        return None, _ndjson(text)
    return None, _json_array(text)


def _blank(cells: list[Any]) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in cells)


def _delimited(text: Text, delimiter: str) -> tuple[list[str], Iterator[tuple[str, Values]]]:
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
    for _, cells in rows:
        if not _blank(cells):
            headers = [cell.strip() for cell in cells]
            break
    data = ((f"line {line}", cells) for line, cells in rows if not _blank(cells))
    return headers, data


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
def _xlsx(stream: IO[bytes], name: str, sheet: str | None) -> Iterator[Source]:
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
            rows = enumerate(worksheet.iter_rows(values_only=True), start=1)
            done = 0
            headers: list[str] = []
            for _, cells in rows:
                if not _blank(list(cells)):
                    headers = [cell_text(cell).strip() for cell in cells]
                    break

            def data() -> Iterator[tuple[str, Values]]:
                nonlocal done
                for done, cells in rows:
                    if not _blank(list(cells)):
                        yield f"row {done}", [cell_text(cell) for cell in cells]

            total = worksheet.max_row
            yield Source(f"{name} ({worksheet.title})", "xlsx", headers, data(),
                         lambda: (done, total))
        finally:
            workbook.close()


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees: 13800138000, not 13800138000.0, and
    ESC, not the `_x001B_` the file holds it as."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return ooxml.unescape(value) if isinstance(value, str) else str(value)
