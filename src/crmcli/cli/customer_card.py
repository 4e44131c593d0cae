"""The people's view of one customer (`crm customer show`) and its machine twin."""

from dataclasses import dataclass
from typing import Any

from crmcli import clock
from crmcli.cli.output import safe
from crmcli.display import SLA_STYLE, handover_text, sla_line, timeline_line
from crmcli.ids import short


@dataclass(frozen=True)
class CardData:
    """What a card shows: the customer's story (its history masked already,
    `sensitive.masked_detail`), attachments, and what the reader may see."""

    detail: Any
    attachments: dict
    clearance: Any
    reveal: bool = False
    labels: dict | None = None  # the custom fields' labels (`custom_fields.labels`)
    sla_clock: Any = None  # its SLA clock (`repo.sla.of_customer`), when it waits for a reply


def detail_dict(shown: CardData) -> dict[str, Any]:
    """The record with its notes, tasks, assignments and history, for json output."""
    from crmcli.repo import (
        assignments,
        audit,
        customers,
        handoffs,
        notes,
        sensitive,
        sla,
        tasks,
    )

    detail, attachments = shown.detail, shown.attachments
    record = sensitive.customer_view(
        shown.clearance, customers.as_dict(detail.customer), reveal=shown.reveal)
    record["notes"] = [notes.as_dict(n, attachments.get(n.id, [])) for n in detail.notes]
    record["tasks"] = [tasks.as_dict(t) for t in detail.tasks]
    record["assignments"] = [assignments.as_dict(a) for a in detail.assignments]
    record["history"] = [audit.as_dict(e) for e in detail.history]
    record["handovers"] = [handoffs.as_dict(h)
                           for h in handoffs.pending(detail.assignments, detail.history)]
    record["sla_clock"] = sla.as_dict(shown.sla_clock) if shown.sla_clock else None
    return record


def _section(title: str):
    from rich.text import Text

    return Text(f"\n{title}", style="bold")


def _fields_grid(shown: CardData):
    from rich.table import Table
    from rich.text import Text

    from crmcli.repo import sensitive

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    customer = shown.detail.customer
    for title, rows in sensitive.field_sections(shown.clearance, customer, reveal=shown.reveal,
                                                labels=shown.labels):
        grid.add_row(title, "")
        for name, value in rows:
            grid.add_row(Text.assemble("  ", safe(name)), safe(value))
    return grid


def _assignments_table(rows: list):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in ("Role", "User", "Since", "Until", "By", "Reason", "Acknowledged"):
        table.add_column(header)
    for row in sorted(rows, key=lambda r: (r.until is not None, r.since), reverse=False):
        table.add_row(
            row.role, safe(row.user), clock.show(row.since),
            clock.show(row.until) if row.until else "current",
            safe(row.assigned_by), safe(row.reason or ""),
            clock.show(row.acknowledged_at) if row.acknowledged_at else "waiting",
        )
    return table


def _tasks_table(rows: list):
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header in ("ID", "Title", "Assignee", "Due", "Priority", "Status"):
        table.add_column(header)
    for task in rows:
        table.add_row(short(task.id), safe(task.title), safe(task.assignee),
                      clock.show(task.due), task.priority, task.status)
    return table


def _timeline(detail: Any, attachments: dict, labels: dict | None):
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    for entry in detail.timeline():
        line = timeline_line(entry, attachments.get(entry.record.id, []), labels)
        body = safe(line.text)
        if line.quote:
            body.append("\n“", style="italic cyan")
            body.append_text(safe(line.quote, style="italic cyan"))
            body.append("”", style="italic cyan")
        for shown in line.files:
            body.append("\n📎 ")
            body.append_text(safe(shown))
        if line.aside:
            body.append_text(safe(f" ({line.aside})", style="dim"))
        grid.add_row(line.when, Text.assemble(f"{line.label} ", safe(line.who)), body)
    return grid


def _handovers(detail: Any) -> list:
    """The hand-overs waiting for acknowledgement, first thing on the card: what their
    receiver reads before anything else (the note, the customer's words)."""
    from crmcli.repo import handoffs

    return [handover_text(h) for h in handoffs.pending(detail.assignments, detail.history)]


def card(shown: CardData):
    from rich.console import Group
    from rich.text import Text

    detail, attachments = shown.detail, shown.attachments
    customer = detail.customer
    title = Text.assemble(safe(customer.name, style="bold"), "  ", (short(customer.id), "dim"))
    parts: list[Any] = [title, *_handovers(detail)]
    if shown.sla_clock:  # the reply it waits for, before the fields (as the dashboard shows it)
        parts.append(Text(sla_line(shown.sla_clock), SLA_STYLE.get(shown.sla_clock.state, "")))
    parts.append(_fields_grid(shown))
    if detail.assignments:
        parts += [_section("Responsibilities"), _assignments_table(detail.assignments)]
    if detail.tasks:
        parts += [_section("Tasks"), _tasks_table(detail.tasks)]
    parts += [_section("Timeline"), _timeline(detail, attachments, shown.labels)]
    return Group(*parts)
