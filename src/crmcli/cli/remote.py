"""`crm remote …`: link this local database to the team's shared one."""

from typing import Annotated

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format, emit_one, say

app = typer.Typer(help="Link this database to the team's shared PostgreSQL.", no_args_is_help=True)

URL_HELP = (
    "postgresql://USER@HOST:PORT/DATABASE (or libpq key=value, service=NAME). Never a "
    "password: libpq reads it from ~/.pgpass, PGPASSWORD or a service file."
)


@app.command("set")
@data_command
def set_(url: Annotated[str, typer.Argument(metavar="URL", help=URL_HELP)]) -> None:
    """Link this database to a shared one; `crm sync` then exchanges changes with it."""
    from crmcli.sync import connection, state

    url = connection.check_url(url)
    with context.session() as s:
        state.set_remote(s, url, context.actor(s).handle)
    say("linked to ", connection.describe(url), "; run `crm sync` to exchange changes")


@app.command("show")
@data_command
def show(format: FormatOption = Format.table) -> None:
    """Show the linked shared database, the last sync and how many changes wait to be pushed."""
    from crmcli.sync import local, state

    with context.session(write=False) as s:
        known = state.load(s)
        waiting = local.count_unsynced(s)
    record = {"url": known.remote, "last_sync": known.last_sync, "unpushed": waiting}
    emit_one(record, format, lambda: _card(record))


def _card(record: dict):
    from rich.table import Table

    from crmcli.cli.output import local_time, safe

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("url", safe(record["url"] or "(not linked: crm remote set URL)"))
    grid.add_row("last sync", safe(local_time(record["last_sync"]) or "never"))
    grid.add_row("unpushed", safe(record["unpushed"]))
    return grid
