"""`crm conflicts …`: concurrent changes that did not make it, kept until someone decides."""

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.customer import AllowDuplicate
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, emit_one, local_time, say, short_id

app = typer.Typer(
    help="Conflicts from sync: list, show, resolve (the resolution syncs).", no_args_is_help=True
)

ConflictRef = Annotated[str, typer.Argument(metavar="ID", help="Conflict: a unique id prefix.")]
COLUMNS = [
    Column("id", "ID", short_id),
    Column("record", "Record", max_width=30),
    Column("field", "Field"),
    Column("theirs", "Kept", max_width=24),
    Column("mine", "Not taken", max_width=24),
    Column("actor", "By"),
    Column("made_at", "Made", local_time),
    Column("kind", "Kind"),
    Column("resolution", "Resolved"),
]


class Take(str, Enum):
    mine = "mine"
    theirs = "theirs"


def _rows(s, entries: list) -> list[dict]:
    """Conflicts in machine form, with the record they are about named for people."""
    from crmcli.ids import short
    from crmcli.repo import conflicts, sensitive

    seen = context.clearance(s)
    rows = []
    for entry in entries:
        record = conflicts.record_of(s, entry)
        name = getattr(record, "name", None) or getattr(record, "title", None) or getattr(
            record, "handle", None)
        rows.append({
            **sensitive.conflict_view(seen, conflicts.as_dict(entry)),
            "record": f"{entry.entity} {name or short(entry.entity_id)}",
        })
    return rows


@app.command("list")
@data_command
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """List open conflicts: the value each record kept and the one that was not taken."""
    from crmcli.repo import conflicts

    with context.session(write=False) as s:
        rows = _rows(s, conflicts.list_(s, include_resolved=all_))
    shown = emit(rows, format, COLUMNS)
    if format is Format.table and not shown:
        say("no conflicts" if all_ else "no open conflicts")


@app.command("show")
@data_command
def show(ref: ConflictRef, format: FormatOption = Format.table) -> None:
    """Show one conflict: the record, what each side had, who made the change and when."""
    from crmcli.repo import conflicts

    with context.session(write=False) as s:
        row = _rows(s, [conflicts.resolve_ref(s, ref)])[0]
    emit_one(row, format, lambda: _card(row))


def _card(row: dict):
    from rich.table import Table

    from crmcli.cli.output import cell_text, safe

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    for key in ("record", "field", "kind", "base", "theirs", "mine", "actor", "made_at",
                "resolution", "resolved_by", "resolved_at"):
        value = row.get(key)
        shown = local_time(value) if key in ("made_at", "resolved_at") else cell_text(value)
        label = {"base": "had seen", "theirs": "kept", "mine": "not taken"}.get(key, key)
        grid.add_row(label, safe(shown))
    return grid


@app.command("resolve")
@data_command
def resolve(
    ref: ConflictRef,
    take: Annotated[Optional[Take], typer.Option(
        "--take",
        help="mine: write the value that was not taken; theirs: keep the record as it is.",
    )] = None,
    value: Annotated[Optional[str], typer.Option(
        "--value", metavar="V", help="Write this value instead (customer fields).")] = None,
    allow_duplicate: AllowDuplicate = False,
) -> None:
    """Resolve a conflict; the resolution is an ordinary change that `crm sync` shares.

    A value written into a customer is checked like `crm customer edit` checks it."""
    from crmcli.repo import conflicts

    with context.session() as s:
        entry = conflicts.resolve_ref(s, ref)
        chosen = take.value if take else None
        conflicts.resolve(
            s, entry, take=chosen, value=value, by=context.actor(s),
            allow_duplicate=allow_duplicate,
        )
        described = conflicts.describe(entry)
    say("resolved ", described, " (", entry.resolution, "); `crm sync` shares it")
