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
OwnerOption = Annotated[Optional[list[str]], typer.Option(
    "--owner", metavar="HANDLE", help="Only customers this user owns (repeat: any of them).")]
DeptOption = Annotated[Optional[list[str]], typer.Option(
    "--dept", metavar="DEPT",
    help="Only customers of this department, the customer's own (repeat: any of them).")]
SourceOption = Annotated[Optional[list[str]], typer.Option(
    "--source", metavar="SOURCE",
    help="Only customers from this source: exhibition, website... (repeat: any of them).")]


def options(since: Optional[str] = None, until: Optional[str] = None, *,
            owner: Optional[list[str]] = None, dept: Optional[list[str]] = None,
            source: Optional[list[str]] = None, by: Optional[str] = None):
    """The `reports.table.Options` a command's options ask for (the period and `--by`
    checked: exit 4 for a bad one)."""
    from crmcli.repo.reports.table import Options, Period, parse_by

    return Options(Period.parse(since, until), tuple(owner or ()), tuple(dept or ()),
                   tuple(source or ()), parse_by(by))
