"""Every field of a customer, grouped as the data dictionary groups them, then the team's
custom fields and who is responsible for the customer now. Which fields and how they read
(sensitive ones masked or `restricted`) is `sensitive.field_sections`, which the command
line's card renders too."""

from __future__ import annotations

from rich.table import Table
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from crmcli.models import Assignment
from crmcli.tui.literal import literal


def _grid(rows: list[tuple[str, str]]) -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")  # long values wrap; a CJK run without spaces folds
    for name, value in rows:
        grid.add_row(literal(name), literal(value))
    return grid


class CustomerFields(VerticalScroll):
    DEFAULT_CSS = """
    CustomerFields .group-title {
        text-style: bold;
        color: $text-accent;
        margin-top: 1;
    }
    """

    async def show(
        self, fields: list[tuple[str, list[tuple[str, str]]]], current: list[Assignment]
    ) -> None:
        sections = list(fields)
        responsible = []
        for row in current:
            state = "acknowledged" if row.acknowledged_at else "waiting"
            responsible.append((row.role, f"{row.user} ({state})"))
        sections.append(("Responsible", responsible))
        widgets = []
        for title, rows in sections:
            if rows:
                widgets += [Label(title, classes="group-title"), Static(_grid(rows))]
        await self.remove_children()
        await self.mount_all(widgets)
