"""`crm report workload`: who carries what now (repo/reports/workload.py)."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format
from crmcli.cli.report_options import (
    ByOption,
    OutputOption,
    SectionOption,
    SinceOption,
    UntilOption,
    options,
)

MemberOption = Annotated[Optional[list[str]], typer.Option(
    "--owner", metavar="HANDLE", help="Only this member (repeat: any of them).")]
MemberDeptOption = Annotated[Optional[list[str]], typer.Option(
    "--dept", metavar="DEPT",
    help="Only members of this department, the member's own (repeat: any of them).")]


@data_command
def workload(
    owner: MemberOption = None,
    dept: MemberDeptOption = None,
    by: ByOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    format: FormatOption = Format.table,
    output: OutputOption = None,
    section: SectionOption = None,
) -> None:
    """Per active member and per department, now: customers owned (open stages and
    all), open and overdue tasks, roles waiting for acknowledgement (and those routed by a
    rule), customers whose SLA is past due, approvals waiting for their decision. --by
    week|month adds the trend over --since/--until (default: the last 12): tasks created,
    done and overdue at each end, customers given. Sections: members, departments, trend."""
    from crmcli.cli.output import say
    from crmcli.cli.report_output import show
    from crmcli.repo import sla_waits
    from crmcli.repo.reports import workload as report

    asked = options(since, until, owner=owner, dept=dept, by=by)
    with context.session() as s:  # the kept SLA waits caught up, in a short write
        if sla_waits.never_built(s):
            say("working out when each customer began to wait (once: kept from now on)...")
        sla_waits.catch_up(s)
    with context.session(write=False) as s:
        built = report.build(s, context.actor(s), asked)
    show(built, format, output=output, section=section)
