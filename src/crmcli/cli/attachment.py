"""`crm attachment get`: a note's file, out of the store and into a file of yours."""

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.output import say

app = typer.Typer(help="Notes' attached files: get them back out.", no_args_is_help=True)


@app.command("get")
@data_command
def get(
    ref: Annotated[str, typer.Argument(
        metavar="NOTE|SHA", help="A note id prefix (`crm note list REF`) or the file's sha256 "
        "(8 or more of its first hex digits).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", metavar="FILE", help="Where to write it: a file, a folder (the "
        "attachment's own name inside it) or - for standard output.")],
    name: Annotated[Optional[str], typer.Option(
        help="Which of the note's files, when it has several.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write an attachment's content to FILE, checked against its sha256."""
    from crmcli.repo import attachments

    with context.session(write=False) as s:
        found = attachments.resolve(s, ref, name)
        store = s.info["attachments_dir"]
        if str(output) == "-":
            attachments.copy_out(store, found, sys.stdout.buffer)
            sys.stdout.buffer.flush()
            return
        target = attachments.save(store, found, output, force=force)
    say("wrote ", found.filename, f" ({found.size} bytes) to ", str(target))
