"""`crm customer …`: the shared customer record."""

from typing import Annotated, Any, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command, keyword, with_parameters
from crmcli.cli.options import CustomerRef, FormatOption, customer_filters, found_filters
from crmcli.cli.output import Column, Format, emit, emit_one, local_time, say, say_cut, short_id
from crmcli.errors import UsageError

app = typer.Typer(
    help="Add, find, show, edit, merge, delete and restore customers.", no_args_is_help=True)

PANEL = "Fields"


def _field_parameters() -> list:
    """One option per standard field (from the data dictionary), plus --tag and --set."""
    params = [
        keyword(spec.name, Annotated[Optional[str], typer.Option(
            f"--{spec.name}", help=spec.meaning, rich_help_panel=PANEL, show_default=False)])
        for spec in fields.CUSTOMER_FIELDS
        if spec.name not in ("name", "tags") and not spec.sensitive
    ]
    params.append(keyword("tag", Annotated[Optional[list[str]], typer.Option(
        "--tag", help="A label (repeat for several; replaces the list on edit).",
        rich_help_panel=PANEL, show_default=False)]))
    params.append(keyword("set_", Annotated[Optional[list[str]], typer.Option(
        "--set", metavar="FIELD=VALUE", rich_help_panel=PANEL, show_default=False,
        help="Any field by name: sensitive ones (contract_amount, id_number, bank_account) "
             "and custom fields declared with `crm field add`. An empty VALUE clears it.")]))
    return params


def _collect(values: dict[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in values.items() if k not in ("tag", "set_") and v is not None}
    if values.get("tag"):
        raw["tags"] = values["tag"]
    raw.update(_pairs(values.get("set_"), "--set"))
    return {"values": raw}


def _pairs(items: Optional[list[str]], option: str) -> dict[str, str]:
    """FIELD=VALUE items of a repeatable option as {field: value}."""
    pairs = {}
    for item in items or []:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise UsageError(f"{option} wants FIELD=VALUE, got {item!r}")
        pairs[name.strip()] = value
    return pairs


field_options = with_parameters(_field_parameters(), _collect, provides=("values",))
AllowDuplicate = Annotated[bool, typer.Option(
    "--allow-duplicate", help="Keep a customer whose phone, e-mail or name+company exists.")]

LIST_COLUMNS = [
    Column("id", "ID", short_id),
    Column("name", "Name", max_width=30),
    Column("company", "Company", max_width=30),
    Column("phone", "Phone"),
    Column("stage", "Stage"),
    Column("level", "Lvl"),
    Column("owner", "Owner"),
    Column("city", "City"),
    Column("tags", "Tags", max_width=24),
]
DELETED_COLUMNS = [
    *LIST_COLUMNS[:3],
    Column("deleted_at", "Deleted", local_time),
    Column("deleted_by", "By"),
    Column("merged_into", "Merged into", short_id),
]


@app.command("add")
@data_command
@field_options
def add(
    name: Annotated[str, typer.Argument(help="Customer name.")],
    values: dict,
    allow_duplicate: AllowDuplicate = False,
    format: FormatOption = Format.table,
) -> None:
    """Add a customer; prints its short id (or the record with --format)."""
    from crmcli.repo import customers, sensitive

    with context.session() as s, context.router(s) as router:
        customer = customers.create(
            s, {"name": name, **values}, by=context.actor(s), allow_duplicate=allow_duplicate,
            router=router,
        )
        seen = context.clearance(s)
    if format is Format.table:
        typer.echo(short_id(customer.id))
        say("added customer ", customers.describe(customer), *_routed(customer, router))
    else:
        emit_one(sensitive.customer_view(seen, customers.as_dict(customer)), format, lambda: None)


def _routed(customer: Any, router: Any) -> tuple[str, ...]:
    """What `customer add` says of a routed owner: who, by which rule, and that they ack."""
    routed = router.last
    if routed is None or routed.owner.handle != customer.owner:
        return ()
    waiting = ("" if customer.owner == customer.created_by
               else f", waiting for {customer.owner} to acknowledge (crm ack)")
    return (f"; routed to {customer.owner} by rule {routed.rule}{waiting}",)


def as_seen(s: Any, rows: list) -> list[dict]:
    """Customers' machine forms, every declared custom field a key, as the acting user may
    see them; made in the session, where the masks of a team replica are looked up."""
    from crmcli.repo import custom_fields, customers, sensitive

    custom = list(custom_fields.declared(s))
    seen = context.clearance(s)
    return [sensitive.customer_view(seen, customers.as_dict(c, custom)) for c in rows]


@app.command("list")
@data_command
@customer_filters
def list_(
    filters: dict,
    deleted: Annotated[bool, typer.Option(
        "--deleted", help="The deleted customers instead (when, by whom, merged into whom), "
        "to find one for `crm customer restore`.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """List customers, filtered and sorted."""
    none = "no deleted customers match" if deleted else "no customers match"
    _list({**filters, "deleted": deleted}, format, none)


@app.command("find")
@data_command
@found_filters
def find(
    text: Annotated[str, typer.Argument(help="Text to find (Chinese included).")],
    filters: dict,
    format: FormatOption = Format.table,
) -> None:
    """Find customers by any part of name, company, phone, e-mail, requirement or notes,
    best matches first; the filters of `list` narrow it."""
    if not text.strip():
        raise UsageError("give some text to find")
    _list({**filters, "search": text}, format, f"no customers match {text!r}")


def _list(filters: dict, format: Format, none_message: str) -> None:
    """The customers `filters` select, and on stderr what the limit left out."""
    from crmcli.repo import customer_lists

    with context.session(write=False) as s:
        found, total = customer_lists.list_and_total(s, customer_lists.CustomerQuery(**filters))
        rows = as_seen(s, found)
    shown = emit(rows, format, DELETED_COLUMNS if filters.get("deleted") else LIST_COLUMNS)
    if format is Format.table and not shown:
        say(none_message)
    say_cut(shown, total)


@app.command("show")
@data_command
def show(
    ref: CustomerRef,
    reveal: Annotated[bool, typer.Option(
        "--reveal", help="Show the sensitive values you may read in clear (recorded in the "
        "audit trail first).")] = False,
    format: FormatOption = Format.table,
) -> None:
    """Show a customer: every field, responsibilities, tasks and the timeline.

    Sensitive fields show `restricted` to those who may not read them and a mask
    (`••••3445`) to those who may; --reveal shows the real values to the latter."""
    from crmcli import clock
    from crmcli.cli.customer_card import CardData, card, detail_dict
    from crmcli.repo import custom_fields, customer_story, customers, notes, sensitive, sla
    from crmcli.sync import state

    with context.session(write=reveal) as s:
        customer = customers.resolve(s, ref)
        seen = context.clearance(s)
        seen.held(customer.id)  # its masks, looked up now: the card is drawn after the session
        team = state.team_url(s)
        if reveal and not team:  # recorded (committed with this scope) before anything is printed
            sensitive.reveal(s, customer, seen, by=context.actor(s), via="crm customer show")
        detail = customer_story.detail(s, customer)
        attachments = notes.attachments_of(s, [note.id for note in detail.notes])
        shown = CardData(sensitive.masked_detail(seen, detail), attachments, seen, reveal,
                         custom_fields.labels(s), sla.of_customer(s, customer.id, clock.now()))
    if reveal and team:  # the values live in the shared database, which records the reveal
        from crmcli.sync import secrets

        sensitive.put_revealed(detail.customer, secrets.reveal_for(team, customer.id, seen))
    emit_one(detail_dict(shown), format, lambda: card(shown))


@app.command("edit")
@data_command
@field_options
def edit(
    ref: CustomerRef,
    values: dict,
    name: Annotated[Optional[str], typer.Option(help="New name.", rich_help_panel=PANEL)] = None,
    allow_duplicate: AllowDuplicate = False,
    expect: Annotated[Optional[list[str]], typer.Option(
        "--expect", metavar="FIELD=VALUE", show_default=False,
        help="Change only if FIELD still holds VALUE (empty: no value); repeatable. "
             "Otherwise nothing is written and the exit code is 5, as when the dashboard "
             "finds the record changed since its form opened.")] = None,
) -> None:
    """Change fields of a customer; an empty value (--city "") clears a field."""
    from crmcli.repo import customers

    if name is not None:
        values["name"] = name
    if not values:
        raise UsageError("nothing to change: give at least one field option")
    typed_expected = _pairs(expect, "--expect")
    with context.session() as s:
        customer = customers.resolve(s, ref)
        expected = customers.expected_values(s, typed_expected) if expect else None
        changes = customers.update(s, customer, values, by=context.actor(s),
                                   allow_duplicate=allow_duplicate, expected=expected)
    if changes:
        say("updated ", customers.describe(customer), ": ", ", ".join(sorted(changes)))
    else:
        say("nothing changed: ", customers.describe(customer), " already had those values")


@app.command("delete")
@data_command
def delete(ref: CustomerRef) -> None:
    """Delete a customer (kept as a tombstone in the history)."""
    from crmcli.repo import customers

    with context.session() as s:
        customer = customers.resolve(s, ref)
        customers.delete(s, customer, by=context.actor(s))
    say("deleted ", customers.describe(customer))


@app.command("restore")
@data_command
def restore(
    ref: Annotated[str, typer.Argument(metavar="REF", help="A deleted customer: a unique id "
                                       "prefix or the exact name (`crm customer list --deleted`).")],
    allow_duplicate: AllowDuplicate = False,
) -> None:
    """Bring back a deleted customer with its notes, tasks and roles (recorded in history).

    Takes the right to delete it. A customer merged into another is not restored: its
    notes, tasks and roles are on that customer now."""
    from crmcli.repo import customer_merges, customers

    with context.session() as s:
        customer = customer_merges.resolve_deleted(s, ref)
        back = customer_merges.restore(s, customer, by=context.actor(s), allow_duplicate=allow_duplicate)
    say(
        f"restored {customers.describe(customer)} with {back['notes']} notes, "
        f"{back['tasks']} tasks and {back['assignments']} current roles"
    )
    if back["owner_inactive"]:
        say(f"its owner {customer.owner} is deactivated: hand it over with `crm assign "
            f"{short_id(customer.id)} --to HANDLE --role owner`", style="yellow")


@app.command("merge")
@data_command
def merge(
    keep: Annotated[str, typer.Argument(metavar="KEEP", help="The customer that stays.")],
    other: Annotated[str, typer.Argument(metavar="OTHER", help="The duplicate that goes.")],
) -> None:
    """Merge OTHER into KEEP: notes, tasks and assignments move, empty fields are filled.

    OTHER's values that differ from KEEP's (a second phone, another e-mail, custom fields)
    are kept in the merge's history event and an internal note on KEEP, and listed here."""
    from crmcli.repo import customer_merges, customers

    with context.session() as s:
        kept = customers.resolve(s, keep)
        gone = customers.resolve(s, other)
        result = customer_merges.merge(s, kept, gone, by=context.actor(s))
    say_merged(kept, gone, result)


def say_merged(kept: Any, gone: Any, result: dict[str, Any]) -> None:
    """What a merge did, on stderr (`crm customer merge`, a merge in `crm dedupe`)."""
    from crmcli.repo import customers, merge_plan

    say(merge_plan.summary(customers.describe(kept), customers.describe(gone), result))
    if result["kept"]:
        say("kept in a note on ", customers.describe(kept), " (they differ from its own):")
        for name, value in result["kept"].items():
            say(f"  {name}: ", fields.show_value(name, value))
