"""`crm tui`: the dashboard (Textual is imported only here)."""

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command


@data_command
def tui() -> None:
    """Open the interactive dashboard (on a machine with no database yet, it offers to create one)."""
    context.long_running()
    from crmcli.tui.app import make_app

    app = make_app(context.settings())
    app.run()
    if app.return_code:  # it stopped on an unexpected error (it said where the report is)
        raise typer.Exit(app.return_code)
