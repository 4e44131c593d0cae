"""Making user data safe to show in a terminal, for the CLI and the TUI alike.

Whatever a user typed is data, never markup: front ends wrap it in `rich.text.Text` (or
Textual `Content`) so `[bold]` stays literal. That is not enough on its own: Rich leaves
ESC and C1 control codes in place, so a name containing `\\x1b[31m` would recolour the
terminal, and bidi overrides can reorder what is shown. `clean` replaces those characters
with visible escapes (`\\x1b`, `\\u202e`); tab and newline stay.
"""

import re
from typing import Any

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(text: str) -> str:
    """`text` with control characters and bidi overrides shown as escapes."""
    return _UNSAFE.sub(_escape, text)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_shown(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key}={_shown(item)}" for key, item in value.items())
    return str(value)


def describe_changes(changes: dict[str, list[Any]]) -> str:
    """An audit event's `changes` as one line people read: `stage: lead → won; city=上海`.

    New values show as `=`. Links to other records (`customer_id`, `note_id`…) are left
    out: people see the record itself next to the line. Both front ends use this."""
    parts = []
    for name, (before, after) in (changes or {}).items():
        if name.endswith("_id"):
            continue
        if before in (None, "", []):
            parts.append(f"{name}={_shown(after)}")
        else:
            parts.append(f"{name}: {_shown(before)} → {_shown(after)}")
    return "; ".join(parts)


def describe_detail(detail: dict[str, Any]) -> str:
    """An audit event's `detail` (what a reveal showed, what an export held, an import's
    counts) as one line: `fields=contract_amount,id_number; via=crm customer show`."""
    return "; ".join(f"{name}={_shown(value)}" for name, value in (detail or {}).items())


def describe_event(action: str, changes: dict[str, list[Any]], detail: dict[str, Any]) -> str:
    """A timeline's line for an audit event: its changes, or for a reveal (which changes
    nothing) what it revealed, for a deletion or a restore just that, for a merge whom it took in
    and what it kept. Both front ends use this."""
    if action.endswith(".reveal"):
        return f"revealed {_shown((detail or {}).get('fields')) or 'nothing'}"
    if action.endswith(".delete") and set(changes or {}) <= {"deleted_at"}:
        return "deleted"  # the record itself: an earlier line (e.g. its note.create)
    if action.endswith(".restore") and set(changes or {}) <= {"deleted_at"}:
        return "restored"
    if action == "customer.merge":
        return _merged(changes, detail or {})
    return describe_changes(changes)


def what_changed(changes: dict[str, list[Any]]) -> str:
    """What a correction (`crm task|note|user|field edit`, the dashboard's forms) did, in
    the words both front ends say it: `changed title, due` or `nothing changed`."""
    return f"changed {', '.join(changes)}" if changes else "nothing changed"


def _merged(changes: dict[str, list[Any]], detail: dict[str, Any]) -> str:
    """A merge: whom it took in, the fields it filled, the differing values it kept."""
    parts = [f"merged in {detail.get('merged_name') or detail.get('merged', '')}"]
    if changes:
        parts.append(f"filled {describe_changes(changes)}")
    if detail.get("kept"):
        parts.append(f"kept {describe_detail(detail['kept'])}")
    return "; ".join(parts)
