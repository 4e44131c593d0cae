"""`crm note …`: follow-up records, with the customer's own words kept apart."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import CustomerRef, FormatOption, LimitOption, NoteRef
from crmcli.cli.output import Column, Format, emit, local_time, say, say_cut, short_id
from crmcli.display import what_changed
from crmcli.errors import Invalid, UsageError

app = typer.Typer(help="Record, read, correct and delete follow-up notes.", no_args_is_help=True)

COLUMNS = [
    Column("id", "ID", short_id),
    Column("at", "At", local_time),
    Column("kind", "Kind"),
    Column("direction", "Dir"),
    Column("author", "Author"),
    Column("body", "Note", max_width=60),
    Column("quote", "Customer's words", max_width=40),
    Column("attachments", "Files", lambda files: ", ".join(f["filename"] for f in files or [])),
]


InFlag = Annotated[bool, typer.Option(
    "--in", help="The customer reached us (a call, visit, message, complaint): starts the "
    "SLA clock if nothing is waiting yet.")]
OutFlag = Annotated[bool, typer.Option(
    "--out", help="We answered: stops the SLA clock when written by someone responsible.")]


def direction_of(inbound: bool, outbound: bool) -> str | None:
    """The direction --in/--out name (None: neither); both at once is a usage error."""
    if inbound and outbound:
        raise UsageError("a note goes --in or --out, not both")
    return "in" if inbound else "out" if outbound else None


def read_text_argument(text: str) -> str:
    """TEXT, or standard input when TEXT is `-` (refused if stdin is a terminal)."""
    if text != "-":
        return text
    if sys.stdin.isatty():
        raise UsageError("TEXT is '-' but nothing is piped into standard input")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        reason = f"is not UTF-8 text (byte {error.start}: 0x{data[error.start]:02x})"
        raise Invalid(reason, "standard input") from None


@app.command("add")
@data_command
def add(
    ref: CustomerRef,
    text: Annotated[str, typer.Argument(
        metavar="TEXT", help="The summary in the team's words; - reads standard input.")],
    kind: Annotated[str, typer.Option(
        help=f"One of {', '.join(fields.NOTE_KINDS)} (or 电话, 拜访, 投诉 ...).")] = "internal",
    quote: Annotated[Optional[str], typer.Option(
        help="The customer's own words, verbatim.")] = None,
    attach: Annotated[Optional[list[Path]], typer.Option(
        help="A file to attach (repeatable); copied into the data dir.",
        exists=True, dir_okay=False, readable=True)] = None,
    inbound: InFlag = False,
    outbound: OutFlag = False,
) -> None:
    """Add a note to a customer; --in or --out says which way it went (the SLA clock)."""
    from crmcli.repo import customers, notes

    direction = direction_of(inbound, outbound)
    body = read_text_argument(text)
    with context.session() as s:
        customer = customers.resolve(s, ref)
        note = notes.add(
            s, customer, body, by=context.actor(s), kind=kind, quote=quote, attach=attach or [],
            direction=direction,
        )
    typer.echo(short_id(note.id))
    say("added ", note.kind, " note to ", customers.describe(customer))


@app.command("list")
@data_command
def list_(ref: CustomerRef, limit: LimitOption = None, format: FormatOption = Format.table) -> None:
    """List a customer's notes, newest first."""
    from crmcli.repo import customers, notes

    with context.session(write=False) as s:
        customer = customers.resolve(s, ref)
        every = notes.for_customer(s, customer.id)
        rows = every[:limit]
        files = notes.attachments_of(s, [n.id for n in rows])
    shown = emit((notes.as_dict(n, files.get(n.id, [])) for n in rows), format, COLUMNS)
    if format is Format.table and not shown:
        say("no notes for ", customers.describe(customer))
    say_cut(shown, len(every))


@app.command("edit")
@data_command
def edit(
    note_id: NoteRef,
    body: Annotated[Optional[str], typer.Option(
        "--body", metavar="TEXT", help="The new summary; - reads standard input.")] = None,
    quote: Annotated[Optional[str], typer.Option(
        help="The customer's own words, verbatim; '' removes them.")] = None,
    kind: Annotated[Optional[str], typer.Option(help=f"One of {', '.join(fields.NOTE_KINDS)}.")
                    ] = None,
    inbound: InFlag = False,
    outbound: OutFlag = False,
    no_direction: Annotated[bool, typer.Option(
        "--no-direction", help="Neither in nor out (as internal notes).")] = False,
) -> None:
    """Correct a note (its author, its customer's owner, a manager of the owner's department
    or an admin); the history keeps what it said before."""
    from crmcli.repo import notes

    direction = "" if no_direction else direction_of(inbound, outbound)
    if no_direction and (inbound or outbound):
        raise UsageError("--no-direction and --in/--out contradict each other")
    if (body, quote, kind, direction) == (None, None, None, None):
        raise UsageError("say what changes: --body, --quote, --kind, --in, --out or --no-direction")
    text = read_text_argument(body) if body is not None else None
    with context.session() as s:
        note = notes.resolve(s, note_id)
        changed = notes.edit(s, note, by=context.actor(s), body=text, quote=quote, kind=kind,
                             direction=direction)
    say(what_changed(changed), ": ",
        notes.describe(note))


@app.command("delete")
@data_command
def delete(note_id: NoteRef) -> None:
    """Delete a note (its author, its customer's owner, a manager of the owner's department
    or an admin); `crm history` keeps it."""
    from crmcli.repo import notes

    with context.session() as s:
        note = notes.resolve(s, note_id)
        notes.delete(s, note, by=context.actor(s))
    say("deleted note ", notes.describe(note))
