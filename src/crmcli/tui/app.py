"""Placeholder dashboard until the dashboard issue lands: shows where the data lives."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from crmcli.config import Settings


class CrmApp(App):
    TITLE = "crm"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        from rich.text import Text

        yield Header()
        if self.settings.db_path.exists():
            message = Text(f"Database: {self.settings.db_path}\nThe dashboard is coming.")
        else:
            message = Text(
                "Welcome to crm.\nNo database yet: run\n"
                "  crm init --user HANDLE --name NAME --dept DEPT"
            )
        yield Static(message)
        yield Footer()


def run(settings: Settings) -> None:
    CrmApp(settings).run()
