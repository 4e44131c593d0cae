"""Options every `crm report` command shares, defined once so they read the same."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from crmcli.cli.context import writable

SinceOption = Annotated[Optional[str], typer.Option(
    "--since", metavar="WHEN",
    help="Start of the period: a day (2026-03-01, today), a moment, or -30d back from now.")]
UntilOption = Annotated[Optional[str], typer.Option(
    "--until", metavar="WHEN", help="End of the period (a day counts in whole).")]
ByOption = Annotated[Optional[str], typer.Option(
    "--by", metavar="week|month", help="A trend: one row per week or month of the period.")]
OutputOption = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="FILE.xlsx", callback=lambda p: writable(p) if p else None,
    help="Write an Excel workbook: each table with a native chart, ready for a deck.")]
SectionOption = Annotated[Optional[str], typer.Option(
    "--section", metavar="NAME",
    help="Only this part of the report (csv writes one part: the first unless named).")]
