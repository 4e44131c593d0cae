"""`crm tui`: the dashboard (Textual is imported only here)."""

from crmcli.cli import context
from crmcli.cli.context import data_command


@data_command
def tui() -> None:
    """Open the interactive dashboard."""
    from crmcli.tui.app import run

    run(context.settings())
