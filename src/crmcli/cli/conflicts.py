"""`crm conflicts …`: concurrent changes that did not make it, kept until someone decides."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.customer import AllowDuplicate
from crmcli.cli.options import FormatOption
from crmcli.cli.output import (
    Column,
    Format,
    cell_text,
    emit,
    emit_one,
    local_time,
    say,
    short_id,
)

app = typer.Typer(
    help="Conflicts from sync: list, show, resolve (the resolution syncs).", no_args_is_help=True
)


def _choice(resolution: str | None) -> str:
    """A stored resolution as people read it ("keep current", …)."""
    from crmcli.display import RESOLUTIONS

    return RESOLUTIONS.get(resolution, resolution or "")


def _side_text(value) -> str:
    """One side's value in a table cell; a "resolution" entry's side is a resolution."""
    if isinstance(value, dict) and "resolution" in value and "by" in value:
        from crmcli.display import said_resolution

        return said_resolution(value)
    return cell_text(value)


ConflictRef = Annotated[str, typer.Argument(metavar="ID", help="Conflict: a unique id prefix.")]
COLUMNS = [
    Column("id", "ID", short_id),
    Column("record", "Record", max_width=30),
    Column("field", "Field"),
    Column("theirs", "Current", _side_text, max_width=24),
    Column("mine", "Other", _side_text, max_width=24),
    Column("actor", "Other by"),
    Column("made_at", "Made", local_time),
    Column("kind", "Kind"),
    Column("resolution", "Resolved", _choice),
]


def _rows(s, entries: list) -> list[dict]:
    """Conflicts in machine form, with the record they are about named for people."""
    from crmcli.ids import short
    from crmcli.repo import conflicts, sensitive

    seen = context.clearance(s)

    def named(entry) -> str:
        record = conflicts.record_of(s, entry)
        if entry.kind == conflicts.RESOLUTION and record is not None:  # about another entry
            return f"{named(record)}: {record.field} (conflict {short(record.id)})"
        name = getattr(record, "name", None) or getattr(record, "title", None) or getattr(
            record, "handle", None)
        return f"{entry.entity} {name or short(entry.entity_id)}"

    return [
        {**sensitive.conflict_view(seen, conflicts.as_dict(entry)), "record": named(entry)}
        for entry in entries
    ]


@app.command("list")
@data_command
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """List open conflicts: the value each record holds now and the other one."""
    from crmcli.repo import conflicts

    with context.session(write=False) as s:
        rows = _rows(s, conflicts.list_(s, include_resolved=all_))
    shown = emit(rows, format, COLUMNS)
    if format is Format.table and not shown:
        say("no conflicts" if all_ else "no open conflicts")


@app.command("show")
@data_command
def show(ref: ConflictRef, format: FormatOption = Format.table) -> None:
    """Show one conflict: the record, the current value and the other one, who wrote each
    and when, and how it was resolved."""
    from crmcli.repo import conflict_sides, conflicts

    with context.session(write=False) as s:
        entry = conflicts.resolve_ref(s, ref)
        row = {**_rows(s, [entry])[0], **conflict_sides.authors(s, entry)}
    emit_one(row, format, lambda: _card(row))


def _card(row: dict):
    from rich.table import Table

    from crmcli.cli.output import safe

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_column(style="dim")
    between = row.get("kind") == "resolution"  # two resolutions of another entry
    for key, label in (("record", "record"), ("field", "field"), ("kind", "kind"),
                       ("base", "had seen"), ("theirs", "current"), ("mine", "other")):
        value = row.get(key)
        if between and key in ("theirs", "mine"):
            value = _side_text(value)
        side = {"theirs": "current", "mine": "other"}.get(key)
        author = ""
        if side:
            by, at = row.get(f"{side}_by"), row.get(f"{side}_at")
            author = f"by {by}, {local_time(at)}" if by else "author not known here"
        grid.add_row(label, safe(cell_text(value)), safe(author))
    if row.get("resolution"):
        grid.add_row("resolved", safe(_choice(row["resolution"])), safe(
            f"by {row.get('resolved_by')}, {local_time(row.get('resolved_at'))}"))
    return grid


@app.command("resolve")
@data_command
def resolve(
    ref: ConflictRef,
    keep_current: Annotated[bool, typer.Option(
        "--keep-current", help="Keep what the record holds now; close the entry.")] = False,
    restore_other: Annotated[bool, typer.Option(
        "--restore-other",
        help="Write the other value (the change that did not make it) into the record.",
    )] = False,
    value: Annotated[Optional[str], typer.Option(
        "--value", metavar="V", help="Write this value instead (customer fields).")] = None,
    allow_duplicate: AllowDuplicate = False,
) -> None:
    """Resolve a conflict; the resolution is an ordinary change that `crm sync` shares.

    Give one of --keep-current, --restore-other or --value. A value written into a
    customer is checked like `crm customer edit` checks it."""
    from crmcli.errors import UsageError
    from crmcli.repo import conflicts

    if keep_current + restore_other + (value is not None) != 1:
        raise UsageError("give one of --keep-current, --restore-other or --value VALUE")
    choice = conflicts.KEEP_CURRENT if keep_current else (
        conflicts.RESTORE_OTHER if restore_other else None)
    with context.session() as s:
        entry = conflicts.resolve_ref(s, ref)
        conflicts.resolve(
            s, entry, choice=choice, value=value, by=context.actor(s),
            allow_duplicate=allow_duplicate,
        )
        described = conflicts.describe(entry)
        how = _choice(entry.resolution)
    say("resolved ", described, " (", how, "); `crm sync` shares it")
