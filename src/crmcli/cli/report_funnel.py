"""`crm report funnel`: customers per stage, how they enter and move on, and how long
they stay (repo/reports/funnel.py says how each figure is counted)."""

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format
from crmcli.cli.report_options import (
    ByOption,
    DeptOption,
    OutputOption,
    OwnerOption,
    SectionOption,
    SinceOption,
    SourceOption,
    UntilOption,
)

MANY = 200_000  # events past the mark: a few seconds of reading, said on stderr


@data_command
def funnel(
    since: SinceOption = None,
    until: UntilOption = None,
    owner: OwnerOption = None,
    dept: DeptOption = None,
    source: SourceOption = None,
    by: ByOption = None,
    format: FormatOption = Format.table,
    output: OutputOption = None,
    section: SectionOption = None,
) -> None:
    """The sales funnel from the history: per stage (lead, qualified, proposal,
    negotiation, won; lost and churned apart) the customers in it now, those that entered
    it in the period, the share of them that went on to a later stage, and the median and
    90th-percentile time in the stage of the stays that ended in the period. Filters are
    on the customers' owner, department and source as they are now. --by week|month adds
    a trend of the entries per week or month (sections: funnel, closed, trend)."""
    from crmcli.cli.output import say
    from crmcli.cli.report_options import options
    from crmcli.cli.report_output import show
    from crmcli.repo.reports import funnel as report
    from crmcli.repo.reports import stage_history

    chosen = options(since, until, owner=owner, dept=dept, source=source, by=by)
    with context.session() as s:  # the history's new entries, in a short write
        if stage_history.behind(s) > MANY:
            say("reading the history of stage changes (once: it is kept from now on)...")
        stage_history.catch_up(s)
    with context.session(write=False) as s:
        built = report.build(s, context.actor(s), chosen)
    show(built, format, output=output, section=section)
