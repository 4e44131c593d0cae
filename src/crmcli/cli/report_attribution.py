"""`crm report attribution`: whose deal was it (repo/reports/attribution.py)."""

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format
from crmcli.cli.report_options import (
    DeptOption,
    OutputOption,
    OwnerOption,
    SectionOption,
    SinceOption,
    SourceOption,
    UntilOption,
    options,
)


@data_command
def attribution(
    since: SinceOption = None,
    until: UntilOption = None,
    owner: OwnerOption = None,
    dept: DeptOption = None,
    source: SourceOption = None,
    format: FormatOption = Format.table,
    output: OutputOption = None,
    section: SectionOption = None,
) -> None:
    """Credit for the customers won in the period: per customer its source, creator,
    followers (notes, tasks done, roles held before the win), closer and amount; per
    member and per department the customers they created, followed and closed and their
    share of the amounts by the team's split (setting attribution.split, 30/40/30
    creator/followers/closer by default). Amounts only for readers of contract_amount
    ("restricted" for others; on a team replica they are read from the shared database,
    which records each read); sections: customers, members, departments."""
    from crmcli.cli.report_output import show
    from crmcli.sync import secrets

    asked = options(since, until, owner=owner, dept=dept, source=source)
    with context.session(write=False) as s:
        built = secrets.attribution(s, context.actor(s), asked)
    show(built, format, output=output, section=section)
