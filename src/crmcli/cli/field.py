"""`crm field …`: team-defined custom fields, declared with a type before use."""

from typing import Annotated, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Column, Format, emit, say
from crmcli.display import what_changed
from crmcli.errors import UsageError

app = typer.Typer(
    help="Custom fields: declare, list and edit; who reads sensitive fields.",
    no_args_is_help=True)

COLUMNS = [Column("name", "Name"), Column("label", "Label"), Column("type", "Type"),
           Column("choices", "Choices"), Column("sensitive", "Sensitive")]
ACCESS_COLUMNS = [Column("field", "Field"),
                  Column("readers", "Readers", lambda readers: ", ".join(readers or []))]


@app.command("add")
@data_command
def add(
    name: Annotated[str, typer.Argument(help="Field name (letters, digits, _).")],
    type_: Annotated[str, typer.Option(
        "--type", help=f"One of {', '.join(fields.CUSTOM_TYPES)}.")],
    choices: Annotated[Optional[str], typer.Option(
        help="For a choice field: the allowed values, comma-separated.")] = None,
    secret: Annotated[bool, typer.Option(
        "--sensitive", help="Graded access: only its readers see it (admins only; "
        "default readers: admins and department finance).")] = False,
) -> None:
    """Declare a custom field (admins and managers); set it with `--set NAME=VALUE`."""
    from crmcli.repo import custom_fields

    with context.session() as s:
        row = custom_fields.add(
            s, name, type_, (choices or "").split(",") if choices else [], by=context.actor(s),
            secret=secret,
        )
    say("declared ", "sensitive " if secret else "", "field ", row.name, " (", row.type, ")")


@app.command("list")
@data_command
def list_(format: FormatOption = Format.table) -> None:
    """List the custom fields."""
    from crmcli.repo import custom_fields, sensitive

    with context.session(write=False) as s:
        rows = custom_fields.list_(s)
        secret = set(sensitive.custom_sensitive(s))
    shown = emit(
        ({"id": r.id, "name": r.name, "label": r.label, "type": r.type, "choices": r.choices,
          "sensitive": r.name in secret} for r in rows),
        format, COLUMNS,
    )
    if format is Format.table and not shown:
        say("no custom fields yet; declare one with `crm field add NAME --type text`")


@app.command("edit")
@data_command
def edit(
    name: Annotated[str, typer.Argument(help="The custom field.")],
    add_choice: Annotated[Optional[list[str]], typer.Option(
        "--add-choice", metavar="CHOICE", help="A new choice of a choice field (repeatable).")
    ] = None,
    label: Annotated[Optional[str], typer.Option(
        help="What people read in place of the name (e.g. 续约日期); '' for none.")] = None,
) -> None:
    """Add choices to a custom field or label it (admins and managers)."""
    from crmcli.repo import custom_fields

    if not add_choice and label is None:
        raise UsageError("say what changes: --add-choice or --label")
    with context.session() as s:
        row, changed = custom_fields.edit(s, name, by=context.actor(s), add_choices=add_choice,
                                          label=label)
    say(what_changed(changed), ": field ", row.name, " (", row.type, (": " + ", ".join(row.choices))
        if row.choices else "", ")", f", label {row.label}" if row.label else "")


@app.command("access")
@data_command
def access(
    name: Annotated[Optional[str], typer.Argument(
        metavar="[NAME]", help="A sensitive field; without it, every sensitive field.")] = None,
    grant: Annotated[Optional[list[str]], typer.Option(
        "--grant", metavar="READER", help="Let READER read it: role:ROLE, dept:DEPARTMENT or "
        "user:HANDLE (repeatable).")] = None,
    revoke: Annotated[Optional[list[str]], typer.Option(
        "--revoke", metavar="READER", help="Stop READER reading it (repeatable).")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Show or change who may read sensitive fields (changes: admins only)."""
    from crmcli.repo import sensitive

    changing = bool(grant or revoke)
    if changing and not name:
        raise UsageError("name the field whose readers change: crm field access NAME --grant R")
    with context.session(write=changing) as s:
        if changing:
            done = sensitive.change_readers(
                s, name, grant=grant or [], revoke=revoke or [], by=context.actor(s))
        rules = sensitive.readers(s)
        wanted = [sensitive.sensitive_name(s, name)] if name else list(rules)
    if changing:
        news = [f"granted {', '.join(done['granted'])}" if done["granted"] else "",
                f"revoked {', '.join(done['revoked'])}" if done["revoked"] else ""]
        said = "; ".join(n for n in news if n) or "nothing changed (already so)"
        say(wanted[0], ": ", said)
    emit(({"field": field, "readers": rules[field]} for field in wanted), format, ACCESS_COLUMNS)
