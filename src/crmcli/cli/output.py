"""Rendering for people (table) and for machines (json, ndjson, csv).

Machine formats carry the data-dictionary names and full ids and are streamed row by row;
tables show short ids and local times, and every cell is a `rich.text.Text` run through
`display.clean`, so user data is never markup and never a terminal escape. stdout carries
data only; `say` and `fail` write messages to stderr.
"""

import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from itertools import chain
from typing import Any

from crmcli.display import clean, describe_event
from crmcli.io import writers


class Format(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


@dataclass(frozen=True)
class Column:
    """A table column: which key of the machine row it shows, and how."""

    key: str
    header: str
    show: Callable[[Any], str] | None = None
    justify: str = "left"
    max_width: int | None = None
    whole_row: bool = False  # `show` is given the whole row, not the key's value

    def text(self, row: dict[str, Any]) -> str:
        value = row if self.whole_row else row.get(self.key)
        if self.show:
            return self.show(value)
        return cell_text(value)


def cell_text(value: Any) -> str:
    """A machine value as one line of text (CSV cells, table cells)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(cell_text(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def local_time(value: str | None) -> str:
    """An ISO UTC timestamp from a machine row, as local time to the minute."""
    if not value:
        return ""
    from crmcli import clock

    return clock.show(datetime.fromisoformat(value.replace("Z", "+00:00")))


def changes_column(labels: dict[str, str], max_width: int) -> Column:
    """The column of an audit event's changes as people read them (`describe_event`;
    custom fields by their `labels`), for `crm history` and `crm audit list`."""
    return Column("changes", "Changes", lambda row: describe_event(
        row["action"], row["changes"], row["detail"], row["entity_id"], labels),
        max_width=max_width, whole_row=True)


def short_id(value: str | None) -> str:
    from crmcli.ids import short

    return short(value)


def stdout_console():
    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 200
    return Console(file=sys.stdout, highlight=False, soft_wrap=False, width=width)


def _stderr_console():
    from rich.console import Console

    return Console(file=sys.stderr, highlight=False, soft_wrap=True)


def safe(value: Any, style: str = "") -> Any:
    """User data as a Text: literal, with control characters made visible."""
    from rich.text import Text

    return Text(clean(cell_text(value)), style=style)


def emit(rows: Iterable[dict[str, Any]], fmt: Format, columns: Sequence[Column]) -> int:
    """Write rows in `fmt`; returns how many were written."""
    count = 0

    def counted() -> Iterable[dict[str, Any]]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    if fmt is Format.json:
        writers.write_json(sys.stdout, counted())
    elif fmt is Format.ndjson:
        writers.write_ndjson(sys.stdout, counted())
    elif fmt is Format.csv:
        _write_csv(counted())
    else:
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for column in columns:
            table.add_column(column.header, justify=column.justify, max_width=column.max_width)
        for row in counted():
            table.add_row(*(safe(column.text(row)) for column in columns))
        if count:
            stdout_console().print(table)
    return count


def _write_csv(rows: Iterable[dict[str, Any]]) -> None:
    """CSV with the first row's keys as the header (every row of a list has the same keys)."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    keys = list(first)
    cells = ([cell_text(row.get(key)) for key in keys] for row in chain([first], rows))
    writers.write_delimited(sys.stdout, keys, cells, delimiter=",")


def emit_one(record: dict[str, Any], fmt: Format, card: Callable[[], Any]) -> None:
    """Write one record: machine formats as data, a table as the `card` renderable."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    elif fmt is Format.ndjson:
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif fmt is Format.csv:
        _write_csv([{k: v for k, v in record.items() if not isinstance(v, list) or k == "tags"}])
    else:
        stdout_console().print(card())


def key_value_card(pairs: Iterable[tuple[str, Any]]):
    """A record shown as label/value lines (the table form of a `show`)."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    for label, value in pairs:
        grid.add_row(label, safe(value))
    return grid


def say(*parts: Any, style: str = "") -> None:
    """A message on stderr; `parts` are joined literally (never parsed as markup)."""
    from rich.text import Text

    _stderr_console().print(Text(clean("".join(str(p) for p in parts)), style=style))


def say_cut(shown: int, total: int) -> None:
    """Say on stderr, whatever the format, that a limit left rows out: a list never looks
    complete when it is not. Silent when nothing was cut."""
    if total > shown:
        say(f"showing {shown} of {total} (--limit)")


def fail(message: str, details: Sequence[str] = ()) -> None:
    say("error: ", message, style="red")
    for line in details:
        say("  ", line)
