"""How the CLI and the dashboard show things to people: one module, so they never drift.

Safe text: whatever a user typed is data, never markup: front ends wrap it in
`rich.text.Text` (or Textual `Content`) so `[bold]` stays literal. That is not enough on
its own: Rich leaves ESC and C1 control codes in place, so a name containing `\\x1b[31m`
would recolour the terminal, and bidi overrides can reorder what is shown. `clean`
replaces those characters with visible escapes (`\\x1b`, `\\u202e`); tab and newline stay.

People's forms: the audit trail stores machine values (UTC timestamps, the SLA in minutes,
a contract amount as a decimal string, custom fields inside one `extra` dict, a conflict
entry as its columns). History, `crm audit list`, the card's timeline and the dashboard
show them here as people read them: local times, `4h`, `¥1,234,567.50`, each custom
field by its name, a conflict as a sentence. Machine output (json, ndjson, csv) keeps the
stored forms and never comes through here. Masks of sensitive values (`≥100,000`,
`••••3445`, `restricted`) are shown as they are: they were put in before (`sensitive`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(text: str) -> str:
    """`text` with control characters and bidi overrides shown as escapes."""
    return _UNSAFE.sub(_escape, text)


# --- one value -----------------------------------------------------------------------------

# The columns that hold a UTC time (stored as ISO text with a Z in events); a test checks
# this against the models' UTCDateTime columns.
TIME_FIELDS = frozenset({
    "acknowledged_at", "at", "created_at", "decided_at", "deleted_at", "done_at", "due", "made_at",
    "resolved_at", "since", "until", "updated_at",
    "read_at", "next_attempt_at", "lease_until", "sent_at",  # the outbox's (local) times
})
MONEY_FIELDS = frozenset({"contract_amount", "amount"})
DURATION_FIELDS = frozenset({"sla"})  # minutes
EMPTY = "(empty)"
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def show_duration(minutes: int | None) -> str:
    """The shortest exact form: 1440 → `1d`, 90 → `1h30m`; `fields.parse_duration` reads
    it back."""
    if minutes is None:
        return ""
    out = []
    for unit, size in (("d", 1440), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out) or "0m"


def show_left(minutes: int) -> str:
    """Time left on an SLA clock: `2h30m left`, or `overdue 1d2h` (negative minutes)."""
    return f"{show_duration(minutes)} left" if minutes >= 0 else f"overdue {show_duration(-minutes)}"


SLA_STYLE = {"due soon": "yellow", "breached": "red", "escalated": "bold red"}  # by state


def sla_line(c: Any) -> str:
    """A customer's SLA clock (`repo.sla.Clock`) in one line that fits 80 columns: `SLA
    4h · waiting since 09:00 · reply due 2026-03-02 13:00 · 30m left · due soon` (the
    wait's day given when it is not the due day)."""
    from crmcli import clock

    since, due = clock.show(c.since), clock.show(c.due)
    if since[:10] == due[:10]:
        since = since[11:]
    return (f"SLA {show_duration(c.sla)} · waiting since {since} · reply due {due} · "
            f"{show_left(c.left_minutes)} · {c.state}")


def show_money(value: Any) -> str:
    """An amount as money: `¥1,234,567.50` (whole yuan: `¥500,000`). Anything that is not
    a number (a mask such as `≥100,000`, `restricted`) is shown as it is."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(value)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    if amount == amount.to_integral_value() and amount.as_tuple().exponent >= 0:
        return f"¥{amount:,.0f}"
    places = max(2, -amount.normalize().as_tuple().exponent)
    return f"¥{amount:,.{places}f}"


def show_time(value: Any) -> str:
    """A stored time (a datetime, or the machine form's ISO text) as local time, to the
    minute; text that is not a time is shown as it is."""
    from crmcli import clock

    if isinstance(value, datetime):
        return clock.show(value)
    try:
        return clock.show(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        return str(value)


def short_id(value: str) -> str:
    from crmcli.ids import short

    return short(value)


def show_value(name: str, value: Any) -> str:
    """Field `name`'s stored (or machine-form) value as people read it."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(show_value(name, item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} {show_value(key, item)}" for key, item in value.items())
    if name in TIME_FIELDS:
        return show_time(value)
    if name in MONEY_FIELDS:
        return show_money(value)
    if name in DURATION_FIELDS and isinstance(value, int):
        return show_duration(value)
    if isinstance(value, str) and _UUID.match(value):
        return short_id(value)
    return str(value)


def show_size(size: int) -> str:
    """A file size: `512 bytes`, `1.2 KB`, `3.4 MB`."""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    return ""  # not reached


# --- an audit event ------------------------------------------------------------------------


Labels = Mapping[str, str] | None  # custom field name -> its label (`custom_fields.labels`)


def _field_changes(
    changes: dict[str, list[Any]], labels: Labels = None
) -> list[tuple[str, str, Any, Any]]:
    """(field, shown as, before, after) for every field an event changed: the custom
    fields inside `extra` each on their own, by label or name. Links to other records
    (`customer_id`, `note_id`…) are left out: people see the record itself next to the
    line."""
    out = []
    for name, pair in (changes or {}).items():
        if name.endswith("_id") or not isinstance(pair, list) or len(pair) != 2:
            continue
        before, after = pair
        if name == "extra" and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            before, after = before or {}, after or {}
            out += [(key, (labels or {}).get(key, key), before.get(key), after.get(key))
                    for key in {**before, **after} if before.get(key) != after.get(key)]
        else:
            out.append((name, name, before, after))
    return out


def describe_changes(changes: dict[str, list[Any]], labels: Labels = None) -> str:
    """An audit event's `changes` as one line people read:
    `stage: lead → won; sla: 4h → 1d; region: 华北; city: 上海 → (empty)`.

    A value set where there was none shows alone; a custom field by its label if it has
    one. Both front ends use this."""
    parts = []
    for name, shown, before, after in _field_changes(changes, labels):
        if before in (None, "", [], {}):
            parts.append(f"{shown}: {show_value(name, after)}")
        else:
            parts.append(f"{shown}: {show_value(name, before)} → {show_value(name, after)}")
    return "; ".join(parts)


def describe_detail(detail: dict[str, Any]) -> str:
    """An audit event's `detail` (what a reveal showed, what an export held, an import's
    counts) as one line: `fields: contract_amount, id_number; via: crm customer show`."""
    return "; ".join(f"{name}: {show_value(name, value)}" for name, value in (detail or {}).items())


# A resolution as stored ("theirs", "mine", "value") and as `crm conflicts resolve` names it.
RESOLUTIONS = {"theirs": "keep current", "mine": "restore other", "value": "new value"}


def _made(changes: dict[str, list[Any]]) -> dict[str, Any]:
    """What a create event set: {field: value}."""
    return {name: pair[1] for name, pair in (changes or {}).items()
            if isinstance(pair, list) and len(pair) == 2}


def said_resolution(values: dict[str, Any]) -> str:
    """A resolution's choice as people read it: `keep current`, `new value 上海` (history
    lines, and a "resolution" entry's sides in `crm conflicts`)."""
    resolution = values.get("resolution")
    said = RESOLUTIONS.get(resolution, resolution or "closed")
    return f"{said} {values['value']}" if values.get("value") is not None else said


def _label(path: str, labels: Labels) -> str:
    name = path.removeprefix("extra.")
    return (labels or {}).get(name, name)


def describe_conflict(
    changes: dict[str, list[Any]], conflict_id: str | None = None, labels: Labels = None
) -> str:
    """A `conflict.create` event as a sentence: what the record kept, whose value was set
    aside, and where to settle it (`phone: +8613800138000 kept, bob's +8613900139000 set
    aside; see `crm conflicts show 1a2b3c4d``)."""
    made = _made(changes)
    actor, kind, entity = made.get("actor") or "someone", made.get("kind"), made.get("entity")
    record = "" if entity in (None, "customer") else f"{entity} "
    see = f"; see `crm conflicts show {short_id(conflict_id)}`" if conflict_id else ""
    if kind == "edit":
        name = str(made.get("field") or "").removeprefix("extra.")
        return (f"{record}{(labels or {}).get(name, name)}: "
                f"{show_value(name, made.get('theirs'))} kept, "
                f"{actor}'s {show_value(name, made.get('mine'))} set aside{see}")
    if kind == "resolution":  # two members resolved the same entry differently
        standing, other = made.get("theirs") or {}, made.get("mine") or {}
        return (f"resolved twice: {standing.get('by')}'s {said_resolution(standing)} stands, "
                f"{other.get('by')}'s {said_resolution(other)} set aside{see}")
    if kind == "merge":
        fate = (f"merged into {show_value('id', made['theirs'])}" if made.get("theirs")
                else "deleted")
        return (f"{actor}'s merge into {show_value('id', made.get('mine'))} not made: that "
                f"customer was {fate} elsewhere{see}")
    where = "deleted elsewhere" if kind == "deleted" else "no longer in the shared database"
    mine = made.get("mine")
    lost = (show_value("mine", {_label(path, labels): value for path, value in mine.items()})
            if isinstance(mine, dict) and mine else f"changes to {made.get('field')}")
    return f"{(record or 'the customer ').strip()} {where}: {actor}'s {lost} set aside{see}"


def describe_event(
    action: str, changes: dict[str, list[Any]], detail: dict[str, Any],
    record_id: str | None = None, labels: Labels = None,
) -> str:
    """A history or timeline line for an audit event (`record_id`: its `entity_id`): its
    changes as `describe_changes` says them; a reveal (which changes nothing) says what it
    revealed, a deletion or a restore just that, a merge whom it took in and what it kept,
    a conflict entry and its resolution are sentences, and so is an owner a routing rule
    chose. Both front ends use this."""
    if action.endswith(".reveal"):
        fields = (detail or {}).get("fields")
        return f"revealed {show_value('fields', fields) if fields else 'nothing'}"
    if action == "conflict.create":
        return describe_conflict(changes, record_id, labels)
    if action == "conflict.resolve":
        return f"resolved: {said_resolution(_made(changes))}"
    if action.endswith(".delete") and set(changes or {}) <= {"deleted_at"}:
        return "deleted"  # the record itself: an earlier line (e.g. its note.create)
    if action.endswith(".restore") and set(changes or {}) <= {"deleted_at"}:
        return "restored"
    if action == "customer.merge":
        return _merged(changes, detail or {}, labels)
    if action == HANDOFF:
        return describe_handoff(detail or {})
    if action in APPROVAL_STEPS:
        return said_approval(action, changes, detail or {})
    if action in NOT_SAME_STEPS:
        other = (detail or {}).get("other") or ""
        reason = _made(changes).get("reason") if action.endswith(".create") else None
        line = f"{NOT_SAME_STEPS[action]} not the same as {short_id(other)}"
        return f"{line}: {reason}" if reason else line
    if action == "assignment.create" and (detail or {}).get("rule"):
        made = _made(changes)
        return (f"routed to {made.get('user')} as {made.get('role')} by rule "
                f"{detail['rule']}")
    return describe_changes(changes, labels)


HANDOFF = "customer.handoff"  # `repo/handoffs.py`'s event


def _names(value: Any) -> str:
    return ", ".join(str(item) for item in value) if isinstance(value, list) else ""


def describe_handoff(detail: dict[str, Any], *, quote: bool = True) -> str:
    """A hand-over (`crm handoff`) as one line: to whom, from whom, what the checklist
    checked, when the first contact is due, the note, and (`quote`) the customer's words
    it carried: `handed over to carol as service (from bob); checked requirement, sla;
    contact due 2026-12-04 18:00; note: angry about the invoice; customer said: “…”`."""
    head = f"handed over to {detail.get('to')} as {detail.get('role')}"
    if previous := _names(detail.get("from")):
        head += f" (from {previous})"
    checked = _names(detail.get("checked"))
    parts = [head, f"checked {checked}" if checked else "no checklist"]
    if detail.get("due"):
        parts.append(f"contact due {show_time(detail['due'])}")
    if detail.get("note"):
        parts.append(f"note: {detail['note']}")
    if quote and detail.get("quote"):
        parts.append(f"customer said: “{detail['quote']}”")
    return "; ".join(parts)


APPROVAL_STEPS = {  # an approval's audit actions, as its history says them
    "approval.create": "asked", "approval.approve": "approved",
    "approval.reject": "rejected", "approval.withdraw": "withdrew",
}


NOT_SAME_STEPS = {  # `repo/distinct_pairs.py`'s events (on the pair's first customer)
    "distinct_pair.create": "marked", "distinct_pair.withdraw": "withdrew: marked",
}


def said_approval(action: str, changes: dict[str, list[Any]], detail: dict[str, Any]) -> str:
    """`asked role:manager for contract approval of ¥500,000: big deal`, `approved
    contract approval of ¥500,000: ok`."""
    made = _made(changes)
    what = f"{detail.get('kind') or made.get('kind') or ''} approval".strip()
    if detail.get("amount"):
        what += f" of {show_money(detail['amount'])}"
    if action == "approval.create":
        line, reason = f"asked {made.get('target') or ''} for {what}", made.get("reason")
    else:
        line, reason = f"{APPROVAL_STEPS[action]} {what}", made.get("decision_reason")
    return f"{line}: {reason}" if reason else line


def what_changed(changes: dict[str, list[Any]]) -> str:
    """What a correction (`crm task|note|user|field edit`, the dashboard's forms) did, in
    the words both front ends say it: `changed title, due` or `nothing changed`."""
    return f"changed {', '.join(changes)}" if changes else "nothing changed"


def _merged(changes: dict[str, list[Any]], detail: dict[str, Any], labels: Labels) -> str:
    """A merge: whom it took in, the fields it filled, the differing values it kept."""
    parts = [f"merged in {detail.get('merged_name') or detail.get('merged', '')}"]
    if changes:
        parts.append(f"filled {describe_changes(changes, labels)}")
    if isinstance(detail.get("kept"), dict) and detail["kept"]:
        kept = ", ".join(f"{(labels or {}).get(name, name)}: {show_value(name, value)}"
                         for name, value in detail["kept"].items())
        parts.append(f"kept {kept}")
    return "; ".join(parts)


def handover_text(handover: Any) -> Any:
    """A hand-over waiting for acknowledgement (`repo.handoffs.Handover`) as its receiver
    reads it first, a few lines of rich Text (user data literal, cleaned): who handed
    which role to whom and when, the note, the customer's own words, when contact is due.
    The card, `crm ack` and the dashboard's customer screen all show it so."""
    from rich.text import Text

    def said(value: Any, style: str = "") -> Text:
        return Text(clean(str(value)), style=style)

    text = Text.assemble(("Hand-over: ", "bold"), said(handover.by), " handed ",
                         said(handover.role), " to ", said(handover.to), " on ",
                         show_time(handover.at))
    if handover.note:
        text.append_text(Text.assemble("\n  note: ", said(handover.note)))
    if handover.quote:
        when = f" ({show_time(handover.quote_at)})" if handover.quote_at else ""
        text.append_text(Text.assemble(f"\n  customer said{when}: ",
                                       said(f"“{handover.quote}”", "italic cyan")))
    if handover.due:
        text.append(f"\n  contact due {show_time(handover.due)}")
    return text


# --- a customer's timeline -----------------------------------------------------------------


@dataclass(frozen=True)
class TimelineLine:
    """One entry of a customer's timeline as both front ends show it: `when` (local time),
    `label` (a note's kind, `task`, `assignment` or an event's action) and `who` did it,
    `text` (user data: front ends make it literal), the customer's own words (`quote`),
    attached `files`, and an `aside` said in a quieter style."""

    when: str
    label: str
    who: str
    text: str
    quote: str = ""
    files: list[str] = field(default_factory=list)
    aside: str = ""


def timeline_line(entry: Any, files: list[Any] = (), labels: Labels = None) -> TimelineLine:
    """`customer_story.TimelineEntry` as a `TimelineLine`; `files` are a note's
    attachments, `labels` the custom fields' (`custom_fields.labels`)."""
    record, when = entry.record, show_time(entry.at)
    if entry.kind == "note":
        shown = [f"{attachment.filename} ({show_size(attachment.size)})" for attachment in files]
        return TimelineLine(when, record.kind, record.author, record.body or "",
                            quote=record.quote or "", files=shown)
    if entry.kind == "task":
        due = f", due {show_time(record.due)}" if record.due else ""
        return TimelineLine(when, "task", record.created_by,
                            f"{record.title} → {record.assignee} [{record.status}{due}]")
    if entry.kind == "assignment":
        text = f"{record.user} as {record.role}"
        if record.reason:
            text += f" — {record.reason}"
        if record.until:
            aside = f"until {show_time(record.until)}"
        else:
            aside = "" if record.acknowledged_at else "waiting for acknowledgement"
        return TimelineLine(when, "assignment", record.assigned_by, text, aside=aside)
    if record.action == HANDOFF:  # the customer's words it carried, as a note's are shown
        detail = record.detail if isinstance(record.detail, dict) else {}
        quote = detail.get("quote")
        return TimelineLine(when, "hand-over", record.actor, describe_handoff(detail, quote=False),
                            quote=quote if isinstance(quote, str) else "")
    return TimelineLine(when, record.action, record.actor, describe_event(
        record.action, record.changes, record.detail, record.entity_id, labels))
