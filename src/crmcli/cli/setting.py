"""`crm setting …`: the team settings, synced to every replica, changed by admins."""

from typing import Annotated

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, say

app = typer.Typer(
    help="Team settings (working hours, hand-over checklists, …): list, set, unset.",
    no_args_is_help=True)

Key = Annotated[str, typer.Argument(metavar="KEY", help="The setting's name.", show_default=False)]
COLUMNS = [Column("key", "Setting"), Column("shown", "Value")]


@app.command("list")
@data_command
def list_(format: FormatOption = Format.table) -> None:
    """List the team settings that are set (`crm setting keys`: those there are)."""
    from crmcli.repo import settings

    with context.session(write=False) as s:
        found = settings.values(s)
    emit(({"key": key, "value": value, "shown": settings.shown(key, value)}
          for key, value in found.items()), format, COLUMNS)


@app.command("set")
@data_command
def set_(
    key: Key,
    value: Annotated[str, typer.Argument(help="The new value.", show_default=False)],
) -> None:
    """Change a team setting (admins only); `crm setting keys` lists them."""
    from crmcli.repo import settings

    with context.session() as s:
        key, stored = settings.set_text(s, key, value, by=context.actor(s))
    say(key, " = ", settings.shown(key, stored))


@app.command("unset")
@data_command
def unset(key: Key) -> None:
    """Remove a team setting (admins only): its default applies again."""
    from crmcli.repo import settings

    with context.session() as s:
        key = settings.canonical(key)
        settings.remove(s, key, by=context.actor(s))
    say("removed ", key)


KEY_COLUMNS = [Column("key", "Setting"), Column("help", "Meaning")]


@app.command("keys")
@data_command
def keys(format: FormatOption = Format.table) -> None:
    """The settings `crm setting set` accepts, and what each means."""
    from crmcli.repo import settings

    emit(({"key": entry.key + ("NAME" if entry.key.endswith(".") else ""), "help": entry.help}
          for entry in settings.entries()), format, KEY_COLUMNS)
