"""`crm field …`: team-defined custom fields, declared with a type before use."""

from typing import Annotated, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, say

app = typer.Typer(help="Custom fields: declare and list.", no_args_is_help=True)

COLUMNS = [Column("name", "Name"), Column("type", "Type"), Column("choices", "Choices")]


@app.command("add")
@data_command
def add(
    name: Annotated[str, typer.Argument(help="Field name (letters, digits, _).")],
    type_: Annotated[str, typer.Option(
        "--type", help=f"One of {', '.join(fields.CUSTOM_TYPES)}.")],
    choices: Annotated[Optional[str], typer.Option(
        help="For a choice field: the allowed values, comma-separated.")] = None,
) -> None:
    """Declare a custom field (admins and managers); set it with `--set NAME=VALUE`."""
    from crmcli.repo import custom_fields

    with context.session() as s:
        row = custom_fields.add(
            s, name, type_, (choices or "").split(",") if choices else [], by=context.actor(s)
        )
    say("declared field ", row.name, " (", row.type, ")")


@app.command("list")
@data_command
def list_(format: FormatOption = Format.table) -> None:
    """List the custom fields."""
    from crmcli.repo import custom_fields

    with context.session(write=False) as s:
        rows = custom_fields.list_(s)
    shown = emit(
        ({"id": r.id, "name": r.name, "type": r.type, "choices": r.choices} for r in rows),
        format, COLUMNS,
    )
    if format is Format.table and not shown:
        say("no custom fields yet; declare one with `crm field add NAME --type text`")
