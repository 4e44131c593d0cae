"""The people's view of one customer (`crm customer show`) and its machine twin."""

from dataclasses import dataclass
from typing import Any

from crmcli import clock
from crmcli.cli.output import safe
from crmcli.display import describe_event
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


def detail_dict(shown: CardData) -> dict[str, Any]:
    """The record with its notes, tasks, assignments and history, for json output."""
    from crmcli.repo import assignments, audit, customers, notes, sensitive, tasks

    detail, attachments = shown.detail, shown.attachments
    record = sensitive.customer_view(
        shown.clearance, customers.as_dict(detail.customer), reveal=shown.reveal)
    record["notes"] = [notes.as_dict(n, attachments.get(n.id, [])) for n in detail.notes]
    record["tasks"] = [tasks.as_dict(t) for t in detail.tasks]
    record["assignments"] = [assignments.as_dict(a) for a in detail.assignments]
    record["history"] = [audit.as_dict(e) for e in detail.history]
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


def _conflict_summary(event: Any) -> str:
    """A conflict entry in the timeline: what was kept, what was not, whose it was."""
    made = {name: after for name, (_before, after) in event.changes.items()}
    return (
        f"{made.get('field')}: kept {made.get('theirs')}, not taken {made.get('mine')} "
        f"({made.get('actor')}); see `crm conflicts show {short(event.entity_id)}`"
    )


def _event_summary(event: Any) -> str:
    if event.action == "conflict.create":
        return _conflict_summary(event)
    return describe_event(event.action, event.changes, event.detail)


def _timeline(detail: Any, attachments: dict):
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column()
    for entry in detail.timeline():
        record = entry.record
        when = clock.show(entry.at)
        if entry.kind == "note":
            body = safe(record.body)
            if record.quote:
                body.append("\n“", style="italic cyan")
                body.append_text(safe(record.quote, style="italic cyan"))
                body.append("”", style="italic cyan")
            for attachment in attachments.get(record.id, []):
                body.append("\n📎 ")
                body.append_text(safe(f"{attachment.filename} ({attachment.size} bytes)"))
            who = Text.assemble(f"{record.kind} ", safe(record.author))
            grid.add_row(when, who, body)
        elif entry.kind == "task":
            grid.add_row(when, Text.assemble("task ", safe(record.created_by)),
                         Text.assemble(safe(record.title), " → ", safe(record.assignee),
                                       f" [{record.status}]"))
        elif entry.kind == "assignment":
            line = Text.assemble(safe(record.user), f" as {record.role}")
            if record.reason:
                line.append_text(Text.assemble(" — ", safe(record.reason)))
            grid.add_row(when, Text.assemble("assign ", safe(record.assigned_by)), line)
        else:
            grid.add_row(when, Text.assemble(f"{record.action} ", safe(record.actor)),
                         safe(_event_summary(record)))
    return grid


def card(shown: CardData):
    from rich.console import Group
    from rich.text import Text

    detail, attachments = shown.detail, shown.attachments
    customer = detail.customer
    title = Text.assemble(safe(customer.name, style="bold"), "  ", (short(customer.id), "dim"))
    parts: list[Any] = [title, _fields_grid(shown)]
    if detail.assignments:
        parts += [_section("Responsibilities"), _assignments_table(detail.assignments)]
    if detail.tasks:
        parts += [_section("Tasks"), _tasks_table(detail.tasks)]
    parts += [_section("Timeline"), _timeline(detail, attachments)]
    return Group(*parts)
