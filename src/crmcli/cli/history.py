"""`crm history`: the audit trail of a customer or of a user."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption, LimitOption
from crmcli.cli.output import (
    Column,
    Format,
    changes_column,
    emit,
    local_time,
    say,
    say_cut,
    short_id,
)
from crmcli.display import describe_detail
from crmcli.errors import UsageError


def columns(labels: dict[str, str], *, whole_trail: bool = False) -> list[Column]:
    """A history table's columns; `crm audit list`'s (the `whole_trail`) add the
    customer and the event's detail."""
    shown = [
        Column("at", "At", local_time),
        Column("actor", "Actor"),
        Column("action", "Action"),
        Column("entity_id", "Record", short_id),
    ]
    if not whole_trail:
        return [*shown, changes_column(labels, 80)]
    return [*shown, Column("customer_id", "Customer", short_id), changes_column(labels, 60),
            Column("detail", "Detail", describe_detail, max_width=60)]


@data_command
def history(
    ref: Annotated[Optional[str], typer.Argument(
        metavar="[REF]", help="Customer (deleted ones too): a unique id prefix or the exact name.")] = None,
    user: Annotated[Optional[str], typer.Option(
        "--user", metavar="HANDLE", help="What this user did (instead of a customer).")] = None,
    limit: LimitOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Show who changed what and when: for a customer, or (--user) for a user.

    Changes of sensitive fields are masked (or `restricted`), as everywhere they are shown."""
    from crmcli.repo import audit, custom_fields, customers, sensitive, users

    if bool(ref) == bool(user):
        raise UsageError("give either a customer REF or --user HANDLE")
    with context.session(write=False) as s:
        if ref:
            events = audit.for_customer(s, customers.resolve(s, ref, deleted=True))
        else:
            member = users.get(s, user)
            events = audit.for_user(s, member.handle, member.id)
        events = sensitive.masked_events(context.clearance(s), events)
        labels = custom_fields.labels(s)
    total = len(events)
    if limit:
        events = events[-limit:]
    shown = emit((audit.as_dict(e) for e in events), format, columns(labels))
    if format is Format.table and not shown:
        say("no history")
    say_cut(shown, total)
