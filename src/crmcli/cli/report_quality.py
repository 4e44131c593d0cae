"""`crm report quality`: where the record falls short (repo/reports/quality.py)."""

from typing import Annotated

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format
from crmcli.cli.report_options import (
    DeptOption,
    OutputOption,
    OwnerOption,
    SectionOption,
    SourceOption,
    options,
)

LimitOption = Annotated[int, typer.Option(
    "--limit", "-n", min=0, metavar="N",
    help="Rows at most in each list (missing, stale, invalid, duplicates); 0 for all.")]


@data_command
def quality(
    owner: OwnerOption = None,
    dept: DeptOption = None,
    source: SourceOption = None,
    limit: LimitOption = 100,
    format: FormatOption = Format.table,
    output: OutputOption = None,
    section: SectionOption = None,
) -> None:
    """Data quality as of now: customers missing a field their stage requires (setting
    quality.require.STAGE), stale ones with no note for longer than their stage allows
    (quality.stale.STAGE, 30d for open stages by default), stored values today's rules
    refuse, and likely duplicates (names across scripts and pinyin, companies without
    their legal form, phones, e-mails), best first; per stage, the counts. Sections:
    stages, missing, stale, invalid, duplicates."""
    from crmcli.cli.report_output import show
    from crmcli.repo.reports import quality as report

    asked = options(owner=owner, dept=dept, source=source)
    with context.session(write=False) as s:
        built = report.build(s, context.actor(s), asked, limit=limit or None)
    show(built, format, output=output, section=section)
