"""`crm export customers|notes|tasks`: csv, tsv, ndjson, json or xlsx, to stdout or -o FILE.

The filters are `crm customer list`'s (notes and tasks: those of the customers selected).
Headers are the data dictionary's names, or its Chinese labels with `--headers zh`; both
import back. xlsx writes money, numbers and dates as typed cells (io.xlsx_cells), the
rest as text, never formulas. A CSV with Chinese headers is made for Excel, so it begins
with a UTF-8 byte order mark (without one, Excel on Windows reads it as the local code
page and shows garbage); --bom/--no-bom say otherwise. --escape-formulas protects CSV
cells for spreadsheets (a leading = @ or tab gets a quote; the + of phone numbers stays).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command, option, with_parameters, writable
from crmcli.cli.options import customer_filters
from crmcli.cli.output import cell_text, say
from crmcli.errors import UsageError

app = typer.Typer(
    help="Export customers, notes or tasks as csv, tsv, ndjson, json or xlsx.",
    no_args_is_help=True,
)


class ExportFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    ndjson = "ndjson"
    json = "json"
    xlsx = "xlsx"


class Headers(str, Enum):
    en = "en"
    zh = "zh"


def _options() -> list:
    return [
        option("format", Optional[ExportFormat], None, "--format", "-f", case_sensitive=False,
               help="Output format (default: from -o's extension, else csv)."),
        option("output", Optional[Path], None, "--output", "-o", dir_okay=False,
               help="Write to FILE instead of standard output."),
        option("headers", Headers, Headers.en, "--headers",
               help="Header row: en (field names) or zh (Chinese labels)."),
        option("escape_formulas", bool, False, "--escape-formulas",
               help="CSV/TSV: put a ' before cells starting with = @ or a tab."),
        option("bom", Optional[bool], None, "--bom/--no-bom",
               help="CSV/TSV: begin with a UTF-8 byte order mark, so Excel reads the text "
                    "right (default: with --headers zh)."),
    ]


export_options = with_parameters(_options(), lambda values: {"options": values}, ("options",))


@app.command("customers")
@data_command
@export_options
@customer_filters
def customers(options: dict, filters: dict) -> None:
    """Export customers: id, every data-dictionary field, the custom fields."""
    _run("customers", options, filters)


@app.command("notes")
@data_command
@export_options
@customer_filters
def notes(options: dict, filters: dict) -> None:
    """Export the notes of the selected customers: id, customer id, kind, body, quote,
    author, at."""
    _run("notes", options, filters)


@app.command("tasks")
@data_command
@export_options
@customer_filters
def tasks(options: dict, filters: dict) -> None:
    """Export the tasks of the selected customers: id, customer id, title, assignee, due,
    priority, status."""
    _run("tasks", options, filters)


def _run(kind: str, options: dict, filters: dict) -> None:
    context.long_running()
    import sys

    from crmcli.repo import exports
    from crmcli.repo.customer_lists import CustomerQuery

    output: Optional[Path] = options["output"]
    fmt = options["format"] or _format_of(output)
    if fmt is ExportFormat.xlsx and output is None and sys.stdout.isatty():
        raise UsageError("xlsx is a binary file: give -o FILE or redirect standard output")
    delimited = fmt in (ExportFormat.csv, ExportFormat.tsv)
    if options["bom"] and not delimited:
        raise UsageError(f"--bom is for csv and tsv; {fmt.value} has none")
    bom = delimited and (options["headers"] is Headers.zh if options["bom"] is None
                         else options["bom"])
    query = CustomerQuery(**filters)
    given = {**{k: v for k, v in filters.items() if v not in (None, [])},
             "format": fmt.value, "output": str(output) if output else "-"}
    with context.session(write=False) as s:
        seen = context.clearance(s)
        keys, headers = exports.columns(s, kind, seen, chinese=options["headers"] is Headers.zh)
        expected = exports.count(s, kind, query)  # this read transaction's snapshot
        # What is read is recorded first (who, what, how many, which fields in clear), in
        # a transaction of its own committed before the first row leaves.
        with context.session() as w:
            exports.record(w, kind, by=context.actor(w), rows=expected,
                           fields_in_clear=exports.in_clear(keys, seen), options=given)
        records = exports.rows(s, kind, query, seen)
        kinds = exports.cell_kinds(s, kind, keys) if fmt is ExportFormat.xlsx else None
        with _open(output, binary=fmt is ExportFormat.xlsx) as out:
            if bom:
                from crmcli.io.writers import BOM

                out.write(BOM)
            count = _write(fmt, out, kind, keys, headers, records, options, kinds)
    say(f"exported {count} {kind}", f" to {output}" if output else "")


def _format_of(output: Optional[Path]) -> ExportFormat:
    suffix = output.suffix.lower().lstrip(".") if output else ""
    return ExportFormat(suffix) if suffix in ExportFormat.__members__ else ExportFormat.csv


@contextmanager
def _open(output: Optional[Path], *, binary: bool) -> Iterator[Any]:
    """Standard output, or FILE written whole or not at all: into a temporary file beside it,
    renamed over FILE only once the export is complete."""
    import os
    import sys
    import tempfile

    if output is None:
        yield sys.stdout.buffer if binary else sys.stdout
        return
    folder = writable(output).parent
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{output.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") if binary else os.fdopen(
            handle, "w", newline="", encoding="utf-8"
        ) as out:
            yield out
        os.replace(temporary, output)
    except BaseException:
        os.unlink(temporary)
        raise


def _write(fmt, out, kind: str, keys: list[str], headers: list[str], records, options,
           kinds: Optional[list]) -> int:
    from crmcli.io import writers

    if fmt is ExportFormat.json:
        return writers.write_json(out, records)
    if fmt is ExportFormat.ndjson:
        return writers.write_ndjson(out, records)
    if fmt is ExportFormat.xlsx:  # typed columns get the machine value, the others text
        typed = list(zip(keys, kinds, strict=True))
        cells = ([record[key] if cell_kind else cell_text(record[key]) for key, cell_kind in typed]
                 for record in records)
        return writers.write_xlsx(out, kind, headers, cells, kinds)
    cells = ([cell_text(record[key]) for key in keys] for record in records)
    return writers.write_delimited(
        out, headers, cells, delimiter="," if fmt is ExportFormat.csv else "\t",
        escape_formulas=options["escape_formulas"],
    )
