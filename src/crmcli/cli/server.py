"""`crm server …`: prepare and inspect the team's shared PostgreSQL database."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format, emit_one, say
from crmcli.cli.remote import URL_HELP

app = typer.Typer(
    help="The team's shared PostgreSQL: prepare it, see its state.", no_args_is_help=True
)

UrlOption = Annotated[Optional[str], typer.Option(
    "--url", help=f"{URL_HELP} Default: the database `crm remote set` linked.", show_default=False)]


def _url(url: str | None) -> str:
    from crmcli.sync import connection
    from crmcli.sync.run import remote

    if url:
        return connection.check_url(url)
    database = context.open_database()
    try:
        return remote(database)
    finally:
        database.dispose()


@app.command("init")
def init(url: UrlOption = None) -> None:
    """Prepare a PostgreSQL database for the team (safe to run again; upgrades it)."""
    from crmcli.sync import connection, schema

    url = _url(url)
    conn = connection.connect(url)
    try:
        before, after = schema.init(conn)
    finally:
        conn.close()
    where = connection.describe(url)
    if before == after:
        say(where, " is ready already (schema version ", after, "); nothing to do")
    elif before == 0:
        say("prepared ", where, " for the team (schema version ", after, ")")
    else:
        say("upgraded ", where, " from schema version ", before, " to ", after)


@app.command("status")
def status(url: UrlOption = None, format: FormatOption = Format.table) -> None:
    """Show the shared database's schema version, members and newest change."""
    from crmcli.repo.machine import jsonable
    from crmcli.sync import connection, schema

    url = _url(url)
    conn = connection.connect(url)
    try:
        found = schema.status(conn)
    finally:
        conn.close()
    record = {"url": connection.describe(url), **found}
    if record["newest_change"]:
        record["newest_change"] = {k: jsonable(v) for k, v in record["newest_change"].items()}
    emit_one(record, format, lambda: _card(record))


def _card(record: dict):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from crmcli.cli.output import Column, local_time, safe, short_id

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    grid.add_row("shared database", safe(record["url"]))
    grid.add_row("schema version", safe(record["schema_version"]))
    grid.add_row("customers", safe(record["customers"]))
    newest = record["newest_change"]
    if newest:
        grid.add_row("newest change", safe(
            f"{local_time(newest['at'])}  {newest['actor']}  {newest['action']} "
            f"{short_id(newest['entity_id'])}"
        ))
    members = Table(title=None, show_edge=False, pad_edge=False, box=None)
    columns = [
        Column("handle", "Member"), Column("name", "Name"), Column("department", "Department"),
        Column("role", "Role"), Column("active", "Active"),
    ]
    for column in columns:
        members.add_column(column.header, style="bold" if column.key == "handle" else "")
    for member in record["members"]:
        members.add_row(*(safe(column.text(member)) for column in columns))
    return Group(grid, Text(""), members)
