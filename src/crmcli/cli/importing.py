"""`crm import customers|notes|tasks FILE`: batch import from csv, tsv, ndjson, json or xlsx.

FILE may be `-` (standard input), so `curl … | jq … | crm import customers -` works. An
import is one transaction: all rows or none unless --partial; --dry-run reports what would
happen and writes nothing. The summary goes to stderr (and, with --format json, to stdout
as data); every invalid row is told on stderr, or written to --errors FILE as CSV.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command, option, with_parameters, writable
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format, emit_one, say
from crmcli.errors import ExitCode, UsageError

app = typer.Typer(
    help="Import customers, notes or tasks from csv, tsv, ndjson, json or xlsx (or stdin).",
    no_args_is_help=True,
)

class OnDuplicate(str, Enum):
    update = "update"
    skip = "skip"
    error = "error"


class OnNameMismatch(str, Enum):
    error = "error"
    create = "create"


FileArgument = Annotated[str, typer.Argument(
    metavar="FILE", help="The file to import; - reads standard input.")]
PROGRESS_EVERY = 1000


def _options() -> list:
    return [
        option("input_format", Optional[str], None, "--input-format", metavar="FORMAT",
               help="csv, tsv, ndjson, json or xlsx (default: from the file name, or sniffed)."),
        option("encoding", Optional[str], None, "--encoding",
               help="Text encoding (default: detected; UTF-8, UTF-8/16 with BOM, GBK/GB18030)."),
        option("sheet", Optional[str], None, "--sheet", help="xlsx: the sheet (default: the first)."),
        option("header_row", Optional[int], None, "--header-row", metavar="N", min=1,
               help="csv, tsv, xlsx: the header is row (line) N (default: the first that is "
                    "not blank; in xlsx, title rows of one cell above it are passed over)."),
        option("map_file", Optional[Path], None, "--map", metavar="FILE", exists=True,
               dir_okay=False, help='TOML: column = "field" or column = "ignore".'),
        option("ignore_unknown", bool, False, "--ignore-unknown",
               help="Skip columns that are no field instead of stopping."),
        option("on_duplicate", OnDuplicate, OnDuplicate.update, "--on-duplicate",
               help="A row matching a stored record: update it (non-empty values overwrite, "
                    "empty ones never erase), skip it, or count it invalid."),
        option("partial", bool, False, "--partial",
               help="Import the valid rows even if some are invalid (still exits 4)."),
        option("dry_run", bool, False, "--dry-run", help="Report what would happen; write nothing."),
        option("errors_file", Optional[Path], None, "--errors", metavar="FILE", dir_okay=False,
               help="Write the invalid rows' problems to FILE as CSV instead of stderr."),
        option("bom", bool, True, "--bom/--no-bom",
               help="--errors FILE begins with a UTF-8 byte order mark, so Excel reads it right."),
    ]


import_options = with_parameters(_options(), lambda values: {"options": values}, ("options",))


@app.command("customers")
@data_command
@import_options
def customers(
    file: FileArgument,
    options: dict,
    on_name_mismatch: Annotated[OnNameMismatch, typer.Option(
        "--on-name-mismatch",
        help="A row whose phone or e-mail a differently named customer (or earlier row) "
             "has: refuse it as a possible duplicate, naming both (error), or add it as a "
             "customer of its own (create). A shared number is never the same customer.",
    )] = OnNameMismatch.error,
    format: FormatOption = Format.table,
) -> None:
    """Import customers: headers are field names or their Chinese aliases (客户名称, 联系人,
    电话 …); a 备注 column becomes a note on the row's customer, and 负责人 may be a member's
    handle or name.

    A row is a stored customer when its `id` (an export's) matches, or its phone or e-mail
    does and the names agree (case, width, spaces, traditional script aside), or its name
    and company do; only an `id` changes a stored name."""
    _run("customers", file, options, format, on_name_mismatch=on_name_mismatch.value)


@app.command("notes")
@data_command
@import_options
def notes(file: FileArgument, options: dict, format: FormatOption = Format.table) -> None:
    """Import notes: id (an export's), customer (id, e-mail, phone or exact name), body,
    kind, quote, author, at."""
    _run("notes", file, options, format)


@app.command("tasks")
@data_command
@import_options
def tasks(file: FileArgument, options: dict, format: FormatOption = Format.table) -> None:
    """Import tasks: id (an export's), customer (id, e-mail, phone or exact name), title,
    assignee, due, priority, status."""
    _run("tasks", file, options, format)


def _run(kind: str, file: str, options: dict, format: Format, **kind_options: Any) -> None:
    context.long_running()
    from crmcli.io.columns import Columns, read_map
    from crmcli.io.encoding import check_encoding
    from crmcli.io.readers import FORMATS, open_source
    from crmcli.repo import imports

    if options["input_format"] and options["input_format"] not in FORMATS:
        raise typer.BadParameter(f"one of {', '.join(FORMATS)}", param_hint="--input-format")
    if str(options["errors_file"]) == "-" and format is not Format.table:
        raise UsageError("--errors - and --format both want standard output; give --errors FILE")
    encoding = check_encoding(options["encoding"]) if options["encoding"] else None
    with context.session() as s, _problem_writer(options["errors_file"], options["bom"]) as tell, \
            context.router(s, shared=not options["dry_run"]) as router:
        if kind == "customers":
            kind_options["router"] = router
        vocabulary = imports.vocabulary(s, kind)
        mapping = read_map(options["map_file"], vocabulary) if options["map_file"] else {}
        columns = Columns(vocabulary, mapping, options["ignore_unknown"])
        with open_source(file, format=options["input_format"], encoding=encoding,
                         sheet=options["sheet"], header_row=options["header_row"]) as source:
            if source.titles:
                say(source.name, ": the header is ", source.header_at, "; ",
                    ", ".join(source.titles), " above it taken as a title (--header-row N "
                    "names another)")
            if source.headers is not None:
                _use_headers(columns, source)
            importer = imports.importer(
                s, kind, by=context.actor(s), source=source.name,
                on_duplicate=options["on_duplicate"].value,
                on_invalid=lambda error: tell(error, columns.column_of), **kind_options,
            )
            with _progress(source.progress) as tick:
                report = importer.run(_rows(source.rows, columns, tick))
        written = not options["dry_run"] and (not report.invalid or options["partial"])
        if not written:
            s.rollback()
    if getattr(importer, "notes_added", 0):
        column = columns.column_of.get("note", "note")
        say(f"notes from the {column} column: {importer.notes_added}")
    _summarise(report, written, options, format)
    if report.invalid:
        raise typer.Exit(ExitCode.INVALID)


def _use_headers(columns: Any, source: Any) -> None:
    """Check the header; unknown columns are told with the row they were read from, since
    a title or a blank row above the real header is a common cause."""
    from crmcli.io.columns import ColumnError

    try:
        columns.use_headers(source.headers)
    except ColumnError as error:
        raise ColumnError(f"{error} (the header read is {source.name} {source.header_at}; "
                          "--header-row N names another)") from None


def _rows(rows: Iterator, columns: Any, tick: Callable[[], None]) -> Iterator:
    """Source rows as repository rows: {field: value}, or the problem that spoiled them."""
    from crmcli.errors import Invalid
    from crmcli.io.columns import ColumnError
    from crmcli.repo.bulk import Row

    for count, (where, values) in enumerate(rows, start=1):
        if count % PROGRESS_EVERY == 0:
            tick()
        if isinstance(values, Invalid):
            yield Row(where, problem=values)
            continue
        try:
            yield Row(where, columns.values(values))
        except ColumnError:
            raise
        except Invalid as problem:
            yield Row(where, problem=problem)


@contextmanager
def _problem_writer(path: Optional[Path], bom: bool) -> Iterator[Callable]:
    """Where invalid rows are told: stderr lines, or CSV rows (where, column, reason),
    after a byte order mark (`bom`) for Excel."""
    import contextlib
    import csv
    import sys

    from crmcli.io.writers import BOM

    def column(error, column_of: dict) -> str:
        return column_of.get(error.field, error.field) if error.field else ""

    if path is None:
        def tell(error, column_of: dict) -> None:
            name = column(error, column_of)
            say(error.where, ": ", f"{name}: " if name else "", error.reason)

        yield tell
        return
    if str(path) == "-":
        target = contextlib.nullcontext(sys.stdout)  # standard output stays open afterwards
    else:
        target = writable(path).open("w", newline="", encoding="utf-8")
    with target as out:
        if bom:
            out.write(BOM)
        writer = csv.writer(out)
        writer.writerow(["where", "column", "reason"])
        yield lambda error, column_of: writer.writerow(
            [error.where, column(error, column_of), error.reason])


@contextmanager
def _progress(position: Callable[[], tuple[int, Optional[int]]]) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr when it is a terminal; nothing at all otherwise."""
    import sys

    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("importing", total=position()[1])

        def tick() -> None:
            done, total = position()
            bar.update(task, completed=done, total=total)

        yield tick


def _summarise(report: Any, written: bool, options: dict, format: Format) -> None:
    counts = report.counts()
    say(report.kind, " from ", report.source, ": ",
        ", ".join(f"{name} {number}" for name, number in counts.items()))
    if options["dry_run"]:
        say("dry run: nothing was written")
    elif not written:
        rows = "row is" if report.invalid == 1 else "rows are"
        say(f"nothing imported: {report.invalid} {rows} invalid (all or nothing; --partial "
            "imports the valid rows)")
    if format is not Format.table:
        record = {"kind": report.kind, "file": report.source, **counts,
                  "dry_run": options["dry_run"], "written": written}
        emit_one(record, format, lambda: None)
