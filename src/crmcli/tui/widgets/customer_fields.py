"""Every field of a customer, grouped as the data dictionary groups them, then the team's
custom fields and who is responsible for the customer now."""

from __future__ import annotations

from rich.table import Table
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from crmcli import fields
from crmcli.models import Assignment, Customer
from crmcli.tui.literal import literal

GROUP_TITLES = {"contact": "Contact", "sales": "Sales", "service": "Service",
                "sensitive": "Sensitive"}


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

    async def show(self, customer: Customer, current: list[Assignment]) -> None:
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        for group, title in GROUP_TITLES.items():
            rows = [(spec.name, spec.show(getattr(customer, spec.name)))
                    for spec in fields.CUSTOMER_FIELDS if spec.group == group]
            sections.append((title, [(name, value) for name, value in rows if value]))
        sections.append(("Custom", [(name, fields.show_value(name, value))
                                    for name, value in sorted(customer.extra.items())]))
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
