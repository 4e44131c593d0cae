"""`crm notify …`: the channels notifications go to, the run that delivers them, what
waits, and the acting user's inbox. `crm remind` prints everyone's due work."""

from typing import Annotated, Optional

import typer

from crmcli.cli import context
from crmcli.cli.context import data_command
from crmcli.cli.options import FormatOption, LimitOption
from crmcli.cli.output import Column, Format, emit, local_time, say, say_cut, short_id

app = typer.Typer(
    help="Notifications: channels (企业微信, 飞书, 钉钉, webhook), delivery, status, inbox.",
    no_args_is_help=True)

KIND_HELP = "wecom (企业微信 group robot), feishu (飞书 custom bot), dingtalk (钉钉 robot) or webhook."


@app.command("add")
@data_command
def add(
    kind: Annotated[str, typer.Argument(metavar="KIND", help=KIND_HELP)],
    url: Annotated[str, typer.Option("--url", help="The robot's webhook address.")],
    secret: Annotated[Optional[str], typer.Option(
        help="The robot's signing secret (飞书 签名校验, 钉钉 加签 SEC…; a webhook: signs "
             "X-Crm-Signature).")] = None,
    dept: Annotated[Optional[str], typer.Option(
        "--dept", help="Only notifications for members of this department.")] = None,
    user: Annotated[Optional[str], typer.Option(
        "--user", metavar="HANDLE", help="Only notifications for this user.")] = None,
) -> None:
    """Add a channel notifications are delivered to (everyone's, a department's or a
    user's); prints its short id. Local to this database."""
    from crmcli.repo import deliveries

    with context.session() as s:
        channel = deliveries.add_channel(s, kind, url, secret=secret, department=dept, user=user)
    typer.echo(short_id(channel.id))
    say("added ", channel.kind, " channel for ", _audience(channel))


def _audience(channel) -> str:
    if channel.user:
        return f"user {channel.user}"
    if channel.department:
        return f"department {channel.department}"
    return "everyone"


def _masked(url: str) -> str:
    """A robot's address with its token cut: the address alone lets anyone post."""
    head, _, rest = url.partition("?")
    if not rest:
        return url if len(url) <= 40 else url[:37] + "…"
    return f"{head}?{rest[:12]}…"


CHANNEL_COLUMNS = [
    Column("id", "ID", short_id),
    Column("kind", "Kind"),
    Column("for", "For"),
    Column("url", "URL", _masked, max_width=60),
    Column("signed", "Signed"),
]


@app.command("list")
@data_command
def list_(format: FormatOption = Format.table) -> None:
    """List the channels (secrets are never shown)."""
    from crmcli import clock
    from crmcli.repo import deliveries

    with context.session(write=False) as s:
        rows = [{"id": c.id, "kind": c.kind, "for": _audience(c), "department": c.department,
                 "user": c.user, "url": c.url, "signed": bool(c.secret),
                 "created_at": clock.iso(c.created_at)} for c in deliveries.channels(s)]
    if not emit(rows, format, CHANNEL_COLUMNS) and format is Format.table:
        say("no channels; add one with `crm notify add wecom|feishu|dingtalk|webhook --url URL`")


@app.command("remove")
@data_command
def remove(channel_id: Annotated[str, typer.Argument(
        metavar="ID", help="Channel: a unique id prefix (`crm notify list`).")]) -> None:
    """Remove a channel; what it still had waiting is dropped with it."""
    from crmcli.repo import deliveries

    with context.session() as s:
        channel = deliveries.resolve_channel(s, channel_id)
        dropped = deliveries.remove_channel(s, channel)
    say(f"removed {channel.kind} channel {short_id(channel.id)}",
        f" ({dropped} waiting deliveries dropped)" if dropped else "")


@app.command("test")
@data_command
def check(channel_id: Annotated[str, typer.Argument(
        metavar="ID", help="Channel: a unique id prefix (`crm notify list`).")]) -> None:
    """Send a test message through a channel now (mentioning you), to check its URL and
    secret: exit 0 when the platform took it, 1 with its answer when not."""
    from crmcli.errors import Unavailable
    from crmcli.notify import run as runner
    from crmcli.repo import deliveries

    with context.session(write=False) as s:
        me = context.actor(s)
        channel = deliveries.resolve_channel(s, channel_id)
        mention = deliveries.platform_ids(s, [me.handle]).get(me.handle, {})
    refused = runner.try_channel(channel, me.handle, mention)
    if refused:
        raise Unavailable(f"the {channel.kind} channel {short_id(channel.id)} did not take "
                          f"the message: {refused}")
    say(f"the {channel.kind} channel {short_id(channel.id)} took the test message")


@app.command("id")
@data_command
def platform_id(
    handle: Annotated[str, typer.Argument(metavar="HANDLE", help="The user.")],
    wecom: Annotated[Optional[str], typer.Option(help="企业微信 userid ('' clears).")] = None,
    feishu: Annotated[Optional[str], typer.Option(help="飞书 open_id, ou_… ('' clears).")] = None,
    dingtalk: Annotated[Optional[str], typer.Option(
        help="钉钉 userId, or the mobile number the robot @-mentions ('' clears).")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Say who a user is on the chat platforms, so robots' messages @-mention them;
    without options, show it."""
    from crmcli.repo import deliveries

    given = {"wecom": wecom, "feishu": feishu, "dingtalk": dingtalk}
    with context.session(write=any(v is not None for v in given.values())) as s:
        if any(v is not None for v in given.values()):
            ids = deliveries.set_platform_ids(s, handle, given)
        else:
            from crmcli.repo import users

            user = users.get(s, handle)
            ids = deliveries.platform_ids(s, [user.handle]).get(user.handle, {})
    row = {"handle": handle.strip().lower(), **{p: ids.get(p) for p in deliveries.PLATFORMS}}
    emit([row], format, [Column(k, k.capitalize()) for k in row])


@app.command("run")
@data_command
def run(
    batch: Annotated[int, typer.Option(
        min=1, help="Deliveries claimed, sent and recorded at a time.")] = 500,
    format: FormatOption = Format.table,
) -> None:
    """Collect new notifications and deliver what waits to the channels (for cron or a
    systemd timer). Exits 0 when a platform refused or was unreachable: those wait for
    their next try (`crm notify status`); 1 when the database fails."""
    from crmcli.cli.output import emit_one
    from crmcli.notify import run as runner

    context.long_running()
    with context.session(write=False):
        pass  # the acting user is checked, as for every command
    database = context.open_database()
    try:
        report = runner.run(database, batch=batch)
    finally:
        database.dispose()
    if format is not Format.table:
        emit_one(report.as_dict(), format, lambda: None)
        return
    say(f"{report.collected} new notifications, {report.sent} delivered",
        f", {report.failed} failed (tried again later: crm notify status)" if report.failed else "",
        f", {report.left} left for the next run" if report.left else "")


STATUS_COLUMNS = [
    Column("delivery", "#", justify="right"),
    Column("state", "State"),
    Column("channel_kind", "Channel"),
    Column("recipient", "For"),
    Column("title", "Notification", max_width=40),
    Column("attempts", "Tries", justify="right"),
    Column("next_attempt_at", "Next try", local_time),
    Column("last_error", "Last error", max_width=40),
]


@app.command("status")
@data_command
def status(limit: LimitOption = None, format: FormatOption = Format.table) -> None:
    """What waits to be delivered: tries so far, the last error, the next try."""
    from crmcli import clock
    from crmcli.repo import deliveries

    with context.session(write=False) as s:
        rows = [{"delivery": row.id, "state": row.state, "channel": row.channel_id,
                 "channel_kind": row.kind, "key": row.key, "recipient": row.recipient,
                 "title": row.title, "attempts": row.attempts,
                 "next_attempt_at": clock.iso(row.next_attempt_at), "last_error": row.last_error}
                for row in deliveries.waiting(s, limit)]
        counts = deliveries.counts(s)
    say_cut(emit(rows, format, STATUS_COLUMNS), counts["waiting"] + counts["failed"])
    say(f"{counts['waiting']} waiting, {counts['failed']} failed (to be tried again), "
        f"{counts['sent']} sent" + (f", {counts['unrouted']} not routed yet"
                                    if counts["unrouted"] else ""))


INBOX_COLUMNS = [
    Column("id", "ID", short_id),
    Column("created_at", "When", local_time),
    Column("unread", "New"),
    Column("kind", "Kind"),
    Column("title", "Notification", max_width=60),
]


@app.command("inbox")
@data_command
def inbox(
    unread: Annotated[bool, typer.Option("--unread", help="Only those not read yet.")] = False,
    format: FormatOption = Format.table,
) -> None:
    """Your notifications, newest first (collects new ones first)."""
    from crmcli.repo import notifications

    with context.session() as s:
        me = context.actor(s)
        notifications.collect(s)
        rows = [{**notifications.as_dict(n), "unread": n.read_at is None}
                for n in notifications.inbox(s, me.handle, unread=unread)]
    if not emit(rows, format, INBOX_COLUMNS) and format is Format.table:
        say("no notifications")


@app.command("read")
@data_command
def read(
    ids: Annotated[Optional[list[str]], typer.Argument(
        metavar="[ID]...", help="Notifications: unique id prefixes.", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every notification of yours.")] = False,
) -> None:
    """Mark notifications of yours read."""
    from crmcli.errors import UsageError
    from crmcli.repo import notifications

    if not ids and not all_:
        raise UsageError("name notifications (ID…) or give --all")
    with context.session() as s:
        me = context.actor(s)
        chosen = None if all_ else [notifications.resolve(s, me.handle, i).id for i in ids or []]
        marked = notifications.mark_read(s, me.handle, chosen)
    say(f"{marked} marked read")


REMIND_COLUMNS = [
    Column("recipient", "For"),
    Column("kind", "Kind"),
    Column("due", "Due", local_time),
    Column("title", "What", max_width=60),
]


@data_command
def remind(
    for_: Annotated[Optional[str], typer.Option(
        "--for", metavar="HANDLE", help="Only this user's due work.")] = None,
    format: FormatOption = Format.table,
) -> None:
    """Print each person's due work now: overdue and soon-due tasks, hand-overs waiting
    for acknowledgement, and whatever else is waiting on them (for mail scripts:
    --format ndjson, one line each)."""
    from crmcli import clock
    from crmcli.repo import notifications, users

    with context.session(write=False) as s:
        handle = users.get(s, for_).handle if for_ else None
        work = notifications.due_work(s, clock.now(), handle)
    if not emit(map(notifications.notice_dict, work), format, REMIND_COLUMNS) and (
            format is Format.table):
        say("nothing due")
