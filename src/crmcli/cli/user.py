"""`crm user …`: team members, roles, and what happens when someone leaves."""

from typing import Annotated, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, emit_one, key_value_card, local_time, say
from crmcli.display import what_changed
from crmcli.errors import UsageError

app = typer.Typer(
    help="Team members: add, list, show, edit, deactivate, reactivate.", no_args_is_help=True)

Handle = Annotated[str, typer.Argument(metavar="HANDLE", help="The user's handle.")]
COLUMNS = [
    Column("handle", "Handle"),
    Column("name", "Name"),
    Column("department", "Department"),
    Column("role", "Role"),
    Column("active", "Active"),
]


@app.command("add")
@data_command
def add(
    handle: Handle,
    name: Annotated[str, typer.Option(help="Full name.")],
    dept: Annotated[Optional[str], typer.Option("--dept", help="Department.")] = None,
    role: Annotated[str, typer.Option(help=f"One of {', '.join(fields.USER_ROLES)}.")] = "member",
) -> None:
    """Add a team member (admins only)."""
    from crmcli.repo import users

    with context.session() as s:
        user = users.add(s, handle, name=name, department=dept, role=role, by=context.actor(s))
    say("added user ", user.handle, " (", user.role, ")")


@app.command("list")
@data_command
def list_(
    active: Annotated[bool, typer.Option("--active", help="Only active users.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """List team members."""
    from crmcli.repo import users

    with context.session(write=False) as s:
        rows = users.list_(s, include_inactive=not active)
    emit((users.as_dict(u) for u in rows), format, COLUMNS)


@app.command("show")
@data_command
def show(handle: Handle, format: FormatOption = Format.table) -> None:
    """Show a member and their current workload."""
    from crmcli.repo import users
    from crmcli.repo.reports import workload

    with context.session(write=False) as s:
        user = users.get(s, handle)
        record = {**users.as_dict(user), **workload.of_member(s, user.handle)}
    pairs = [(k, local_time(v) if k == "created_at" else v) for k, v in record.items()]
    emit_one(record, format, lambda: key_value_card(pairs))


@app.command("deactivate")
@data_command
def deactivate(
    handle: Handle,
    transfer_to: Annotated[str, typer.Option(
        "--transfer-to", metavar="HANDLE",
        help="The colleague who takes over their customers, open tasks and assignments.")],
) -> None:
    """Deactivate a leaving member at once and hand their work to a colleague (admins only)."""
    from crmcli.repo import offboarding

    with context.session() as s:
        moved = offboarding.deactivate(s, handle, transfer_to=transfer_to, by=context.actor(s))
    say(
        f"deactivated {handle}; moved to {transfer_to}: {moved['customers']} customers, "
        f"{moved['tasks']} open tasks, {moved['assignments']} other assignments"
    )


@app.command("edit")
@data_command
def edit(
    handle: Handle,
    name: Annotated[Optional[str], typer.Option(help="Full name.")] = None,
    dept: Annotated[Optional[str], typer.Option(
        "--dept", help="Department ('' for none).")] = None,
    role: Annotated[Optional[str], typer.Option(
        help=f"One of {', '.join(fields.USER_ROLES)}.")] = None,
) -> None:
    """Correct a member's name, department or role (admins only)."""
    from crmcli.repo import users

    if (name, dept, role) == (None, None, None):
        raise UsageError("say what changes: --name, --dept or --role")
    with context.session() as s:
        user, changed = users.edit(s, handle, by=context.actor(s), name=name, department=dept,
                                   role=role)
    say(what_changed(changed), ": ", user.handle, " (", user.name, ", ", user.department or "no department", ", ",
        user.role, ")")


@app.command("reactivate")
@data_command
def reactivate(handle: Handle) -> None:
    """Let a deactivated member act again (admins only); the work handed over at their
    deactivation stays where it went."""
    from crmcli.repo import users

    with context.session() as s:
        user = users.reactivate(s, handle, by=context.actor(s))
    say("reactivated ", user.handle)
