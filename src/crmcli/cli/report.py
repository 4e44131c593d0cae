"""`crm report ...`: what managers look at, from the shared record and its history.

Each report is a command in its own module (cli/report_NAME.py) over a repo/reports/
module; they share their options (report_options.py) and their rendering
(report_output.py): a Rich table and a terminal chart for people, json/ndjson/csv for
scripts, `-o FILE.xlsx` for a deck.
"""

import typer

app = typer.Typer(help="Reports: funnel, attribution, workload, data quality.",
                  no_args_is_help=True)

from crmcli.cli import report_attribution  # noqa: E402  (each report adds its line)

app.command("attribution")(report_attribution.attribution)

from crmcli.cli import report_quality  # noqa: E402

app.command("quality")(report_quality.quality)

from crmcli.cli import report_funnel  # noqa: E402 - each report registers after the group

app.command("funnel")(report_funnel.funnel)

from crmcli.cli import report_workload  # noqa: E402 - each report registers after the group

app.command("workload")(report_workload.workload)
