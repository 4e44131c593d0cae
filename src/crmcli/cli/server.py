"""`crm server …`: prepare and inspect the team's shared PostgreSQL database."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Optional

import typer

from crmcli.cli import context
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, emit_one, say
from crmcli.cli.remote import URL_HELP
from crmcli.errors import UsageError

app = typer.Typer(
    help="The team's shared PostgreSQL: prepare it, see its state.", no_args_is_help=True
)

UrlOption = Annotated[Optional[str], typer.Option(
    "--url", help=f"{URL_HELP} Default: the database `crm remote set` linked.", show_default=False)]


def resolve_url(url: str | None) -> str:
    """The URL given, or the shared database this replica is linked to."""
    from crmcli.db import session_scope
    from crmcli.sync import connection, state

    if url:
        return connection.check_url(url)
    linked = None
    if context.settings().db_path.exists():
        database = context.open_database()
        try:
            with session_scope(database, write=False) as s:
                linked = state.team_url(s)
        finally:
            database.dispose()
    if not linked:
        raise UsageError(
            "name the shared database with --url URL, or run this on a replica linked to it "
            "(`crm remote set URL`)"
        )
    return linked


@app.command("init")
def init(url: UrlOption = None) -> None:
    """Prepare a PostgreSQL database for the team (safe to run again; upgrades it)."""
    from crmcli.sync import connection, members, schema

    url = resolve_url(url)
    with shared_connection(url) as conn:
        try:
            members.owner(conn, "upgrading a team's database")
        except UsageError:  # not prepared yet, or by an older crmcli: init is for that
            pass
        before, after = schema.init(conn)
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

    url = resolve_url(url)
    with shared_connection(url) as conn:
        found = schema.status(conn)
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
    for key, value in sorted(record["settings"].items()):
        grid.add_row(key, safe(value))
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


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(
        help="visibility (all | own: members see only the customers they own or hold a "
        "role on), max_text (characters), max_attachment_bytes.", show_default=False)],
    value: Annotated[str, typer.Argument(help="The new value.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Change a team setting in the shared database (with the owner's URL)."""
    from crmcli.sync import members, security

    with shared_connection(url) as conn:
        members.owner(conn, "changing team settings")
        stored = security.change_setting(conn, key, value)
    say(key, " = ", stored)


member_app = typer.Typer(
    help="The team's members as PostgreSQL logins (with the owner's URL).", no_args_is_help=True
)
app.add_typer(member_app, name="member")

HandleArg = Annotated[str, typer.Argument(help="The member's handle.", show_default=False)]
MEMBER_COLUMNS = [
    Column("handle", "Member"), Column("name", "Name"), Column("department", "Department"),
    Column("role", "Role"), Column("active", "Active"), Column("login", "Login"),
    Column("can_login", "Can log in"),
]


@contextmanager
def shared_connection(url: str | None) -> Iterator[Any]:
    """A connection to the shared database (`--url`, or the one this replica is linked
    to), closed when the command is done."""
    from crmcli.sync import connection

    conn = connection.connect(resolve_url(url))
    try:
        yield conn
    finally:
        conn.close()


@member_app.command("add")
def member_add(
    handle: HandleArg,
    login: Annotated[str, typer.Option(
        "--login", help="The member's PostgreSQL login (created if it does not exist).",
        show_default=False)],
    name: Annotated[Optional[str], typer.Option(
        "--name", help="Full name (required for a new member).", show_default=False)] = None,
    dept: Annotated[Optional[str], typer.Option(
        "--dept", help="Department.", show_default=False)] = None,
    role: Annotated[Optional[str], typer.Option(
        "--role", help="member, manager or admin (default member).", show_default=False)] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin",
        help="Read the login's password from stdin (never from the command line).")] = False,
    url: UrlOption = None,
) -> None:
    """Add a member (or map an existing one to their login)."""
    from crmcli.sync import members

    password = None
    if password_stdin:
        if sys.stdin.isatty():  # typed, not piped: not echoed
            import getpass

            password = getpass.getpass(f"password for {login}: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: stdin held no password (nothing was changed)")
    with shared_connection(url) as conn:
        member = members.add(conn, handle, name=name, department=dept, role=role, login=login,
                             password=password)
    say("member ", member["handle"], " (", member["role"], ") logs in as ", member["login"])


@member_app.command("list")
def member_list(url: UrlOption = None, format: FormatOption = Format.table) -> None:
    """List the members, their logins and whether each may connect."""
    from crmcli.sync import members

    with shared_connection(url) as conn:
        rows = members.list_(conn)
    emit(rows, format, MEMBER_COLUMNS)


@member_app.command("role")
def member_role(
    handle: HandleArg,
    role: Annotated[str, typer.Argument(help="member, manager or admin.", show_default=False)],
    url: UrlOption = None,
) -> None:
    """Change a member's role."""
    from crmcli.sync import members

    with shared_connection(url) as conn:
        handle, role = members.set_role(conn, handle, role)
    say(handle, " is now ", role)


@member_app.command("deactivate")
def member_deactivate(
    handle: HandleArg,
    transfer_to: Annotated[str, typer.Option(
        "--transfer-to", help="Who takes over their customers, open tasks and roles.",
        show_default=False)],
    url: UrlOption = None,
) -> None:
    """Deactivate a member: their login stops working at once, their work moves."""
    from crmcli.sync import members

    with shared_connection(url) as conn:
        members.deactivate(conn, handle, transfer_to)
    say(handle, " is deactivated: their login can no longer connect; work moved to ", transfer_to)


@member_app.command("reactivate")
def member_reactivate(handle: HandleArg, url: UrlOption = None) -> None:
    """Reactivate a member: their login works again."""
    from crmcli.sync import members

    with shared_connection(url) as conn:
        members.reactivate(conn, handle)
    say(handle, " is active again")
