"""`crm task …`: follow-ups with an assignee and a due date."""

from typing import Annotated, Optional

import typer

from crmcli import fields
from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import CustomerRef, FormatOption, LimitOption, TaskRef
from crmcli.cli.output import (
    Column,
    Format,
    emit,
    emit_one,
    key_value_card,
    local_time,
    say,
    say_cut,
    short_id,
)
from crmcli.display import what_changed
from crmcli.errors import UsageError

app = typer.Typer(
    help="Follow-up tasks: add, list, edit, complete, reassign.", no_args_is_help=True)

DATE_FORMS = (
    "YYYY-MM-DD [HH:MM], 12月5日, today/今天, tomorrow/明天, 后天, a weekday (周五, friday: the "
    "coming one, today included), 下周一/next monday (next week's), 本周五/this friday, "
    "3天后/+3d/in 3 days, 2周后/+2w, 2小时后/+2h, with a time: 明天下午3点, 后天上午10点, "
    "tomorrow 15:00, 周五 3pm."
)
DUE_HELP = "Due: " + DATE_FORMS + " A day without a time means its end (23:59)."
COLUMNS = [
    Column("id", "ID", short_id),
    Column("due", "Due", local_time),
    Column("priority", "Priority"),
    Column("status", "Status"),
    Column("assignee", "Assignee"),
    Column("customer_name", "Customer", max_width=24),
    Column("title", "Task", max_width=50),
]


def _row(task, customer) -> dict:
    from crmcli.repo import tasks

    return {**tasks.as_dict(task), "customer_name": customer.name}


@app.command("add")
@data_command
def add(
    ref: CustomerRef,
    title: Annotated[str, typer.Argument(help="What is to be done.")],
    assignee: Annotated[Optional[str], typer.Option(help="Who does it (default: you).")] = None,
    due: Annotated[Optional[str], typer.Option(help=DUE_HELP)] = None,
    priority: Annotated[str, typer.Option(
        help=f"One of {', '.join(fields.PRIORITIES)}.")] = "normal",
) -> None:
    """Add a follow-up task for a customer; prints its short id."""
    from crmcli.repo import customers, tasks

    with context.session() as s:
        customer = customers.resolve(s, ref)
        task = tasks.add(
            s, customer, title, by=context.actor(s), assignee=assignee, due=due, priority=priority
        )
    typer.echo(short_id(task.id))
    say("added task for ", task.assignee, " on ", customers.describe(customer))


@app.command("list")
@data_command
def list_(
    mine: Annotated[bool, typer.Option("--mine", help="Only tasks assigned to you.")] = False,
    assignee: Annotated[Optional[list[str]], typer.Option(
        metavar="HANDLE", help="Only tasks of this user (repeat: any of them).")] = None,
    customer: Annotated[Optional[list[str]], typer.Option(
        metavar="REF", help="Only tasks of this customer (repeat: any of them).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open tasks past due.")] = False,
    due_before: Annotated[Optional[str], typer.Option(
        help="Only tasks due before this; a day without a time takes in that whole day "
             "(--due-before 周五: due by the end of Friday). " + DATE_FORMS)] = None,
    status: Annotated[Optional[list[str]], typer.Option(
        metavar="STATUS", help="open (default), done, cancelled, or all (repeat: any of them).")] = None,
    limit: LimitOption = None,
    format: FormatOption = Format.table,
) -> None:
    """List tasks (open ones by default), soonest due first."""
    from crmcli import clock, dates
    from crmcli.repo import customers, tasks

    statuses = status or ["open"]
    with context.session(write=False) as s:
        query = tasks.TaskQuery(
            assignee=[*([context.actor(s).handle] if mine else []), *(assignee or [])],
            customer_id=[customers.resolve(s, ref).id for ref in customer or []],
            status=[] if "all" in statuses else statuses,
            overdue=overdue,
            due_before=dates.parse_before(due_before, clock.now(), "due-before")
            if due_before else None,
            limit=limit,
        )
        rows, total = tasks.list_and_total(s, query)
    shown = emit((_row(task, owner) for task, owner in rows), format, COLUMNS)
    if format is Format.table and not shown:
        say("no tasks match")
    say_cut(shown, total)


@app.command("show")
@data_command
def show(task_id: TaskRef, format: FormatOption = Format.table) -> None:
    """Show one task."""
    from crmcli.repo import customers, tasks

    with context.session(write=False) as s:
        task = tasks.resolve(s, task_id)
        customer = customers.by_id(s, task.customer_id)
    row = _row(task, customer)
    emit_one(row, format, lambda: _card(row))


def _card(row: dict):
    keys = ("title", "customer_name", "assignee", "due", "priority", "status", "created_by",
            "created_at", "done_at")
    times = ("due", "created_at", "done_at")
    pairs = [(k.replace("_name", ""), local_time(row[k]) if k in times else row[k]) for k in keys]
    return key_value_card([*pairs, ("id", row["id"])])


@app.command("edit")
@data_command
def edit(
    task_id: TaskRef,
    title: Annotated[Optional[str], typer.Option(help="What is to be done.")] = None,
    due: Annotated[Optional[str], typer.Option(
        help=DUE_HELP.removesuffix(".") + "; '' for no due date.")] = None,
    priority: Annotated[Optional[str], typer.Option(
        help=f"One of {', '.join(fields.PRIORITIES)}.")] = None,
    assignee: Annotated[Optional[str], typer.Option(help="Who does it.")] = None,
) -> None:
    """Correct a task's title, due time, priority or assignee (its assignee, its creator,
    or whoever may change its customer)."""
    from crmcli.repo import tasks

    if (title, due, priority, assignee) == (None, None, None, None):
        raise UsageError("say what changes: --title, --due, --priority or --assignee")
    with context.session() as s:
        task = tasks.resolve(s, task_id)
        changed = tasks.edit(s, task, by=context.actor(s), title=title, due=due,
                             priority=priority, assignee=assignee)
    say(what_changed(changed), ": ",
        tasks.describe(task))


def _transition(task_id: str, change: str, done_message: str, same_message: str, **kwargs) -> None:
    from crmcli.repo import tasks

    with context.session() as s:
        task = tasks.resolve(s, task_id)
        changed = getattr(tasks, change)(s, task, by=context.actor(s), **kwargs)
    say(done_message if changed else same_message, ": ", tasks.describe(task))


@app.command("done")
@data_command
def done(task_id: TaskRef) -> None:
    """Mark a task done."""
    _transition(task_id, "complete", "done", "already done")


@app.command("reopen")
@data_command
def reopen(task_id: TaskRef) -> None:
    """Open a done or cancelled task again."""
    _transition(task_id, "reopen", "reopened", "already open")


@app.command("cancel")
@data_command
def cancel(task_id: TaskRef) -> None:
    """Cancel a task that is no longer needed."""
    _transition(task_id, "cancel", "cancelled", "already cancelled")


@app.command("reassign")
@data_command
def reassign(
    task_id: TaskRef,
    to: Annotated[str, typer.Option("--to", metavar="HANDLE", help="The new assignee.")],
) -> None:
    """Give a task to someone else."""
    _transition(task_id, "reassign", "reassigned", "already assigned to them", to=to)
