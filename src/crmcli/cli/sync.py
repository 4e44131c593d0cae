"""`crm sync`: exchange changes with the team's shared PostgreSQL database."""

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption
from crmcli.cli.output import Format, emit_one, say


def _summary(report: dict):
    from rich.text import Text

    waiting = report["open_conflicts"]
    open_note = f" ({waiting} open: crm conflicts list)" if waiting else ""
    return Text(
        f"pushed {report['pushed']}, pulled {report['pulled']}, "
        f"conflicts {report['conflicts']}{open_note}"
    )


@data_command
def sync(format: FormatOption = Format.table) -> None:
    """Push your changes to the shared database and pull everyone else's.

    Prints how many changes were pushed and pulled and how many conflicts the push made;
    conflicting values are kept in `crm conflicts`, never dropped. Work meant for a member
    deactivated meanwhile goes to whoever took over their work, and the sync says so.
    """
    context.long_running()
    from crmcli.sync.run import sync as run

    database = context.open_database()
    try:
        report = run(database, context.settings().user)
    finally:
        database.dispose()
    if report.joined == "recognised":
        say("recognised as ", report.member, " (", report.role, ") in the shared database")
    if report.handed_over:
        say(
            "handed ", str(report.handed_over), " (customers, tasks, roles) meant for deactivated "
            "members to the colleagues who took over their work; crm history shows each"
        )
    if report.withheld:
        say(
            "not sent, and no longer on this replica: ", "; ".join(report.withheld),
            ". A sensitive value never waits in a conflict entry: set it again if it should "
            "stand"
        )
    emit_one(report.as_dict(), format, lambda: _summary(report.as_dict()))
