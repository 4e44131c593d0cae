"""Options several commands share, defined once so they are named the same everywhere."""

from typing import Annotated, Optional

import typer

from crmcli.cli.output import Format

FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", envvar="CRM_FORMAT", case_sensitive=False,
        help="Output: table for people; json, ndjson or csv for scripts (CRM_FORMAT).",
    ),
]
LimitOption = Annotated[
    Optional[int], typer.Option("--limit", "-n", min=1, help="Show at most this many.")
]
CustomerRef = Annotated[
    str, typer.Argument(metavar="REF", help="Customer: a unique id prefix or the exact name.")
]
TaskRef = Annotated[str, typer.Argument(metavar="ID", help="Task: a unique id prefix.")]
