"""The team settings: rules every replica of a team applies alike.

A setting is a synced record (`models.Setting`): a key and a JSON value. Admins change
them (`crm setting set`, and the commands built on them such as `crm rule add`); the
shared database refuses anyone else's push (`sync/judge_settings.py`), so a replica that
wrote one anyway keeps it only until the push refuses it. On a database of one's own, the
admin is whoever `crm init` made.

`KNOWN` lists the settings a person types (`crm setting set KEY VALUE`): each parses its
text into the value stored and shows it back. A family of keys (`handoff.require.` for
every role) is one entry whose key ends in a dot. Each topic registers its own next to
its code (`register`), and `TOPICS` names those modules, imported when a setting is first
looked up by name. Commands that store structured values (a routing rule) call `put` with
the value itself.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.errors import Invalid, NotFound
from crmcli.models import Setting
from crmcli.repo import audit, entities
from crmcli.repo.users import Actor, require_role


@dataclass(frozen=True)
class Known:
    """A setting people set by name: `key` (or a family's prefix, ending in "."), one line
    of `help`, `parse` (text → the value stored; raises `Invalid`), `show` (value →
    text) and, for a family, `member` (checks the NAME after the prefix: raises `Invalid`,
    so a misspelt member is refused rather than stored to be never read)."""

    key: str
    help: str
    parse: Callable[[str], Any]
    show: Callable[[Any], str] = str
    member: Callable[[str], Any] | None = None

    def matches(self, key: str) -> bool:
        if self.key.endswith("."):
            return key.startswith(self.key) and len(key) > len(self.key)
        return key == self.key


KNOWN: dict[str, Known] = {}
TOPICS: tuple[str, ...] = (  # the modules that register settings
    "crmcli.repo.approvals",
    "crmcli.repo.handoffs",
    "crmcli.repo.notice_sources",
    "crmcli.repo.reports.credit",
    "crmcli.repo.reports.quality_rules",
    "crmcli.repo.route_acks",
    "crmcli.repo.sla",
)


def register(known: Known) -> Known:
    """Add a setting people may type (each topic registers its own, next to its code)."""
    KNOWN[known.key] = known
    return known


@cache
def _import_topics() -> None:
    for module in TOPICS:
        importlib.import_module(module)


def entries() -> tuple[Known, ...]:
    """Every setting people may type, by key (the topics imported first)."""
    _import_topics()
    return tuple(sorted(KNOWN.values(), key=lambda entry: entry.key))


def _entry(key: str) -> Known | None:
    return next((entry for entry in entries() if entry.matches(key)), None)


def known(key: str) -> Known:
    """The entry that parses `key`; `Invalid` naming the settings there are if none."""
    entry = _entry(key)
    if entry is None:
        names = ", ".join(e.key + ("NAME" if e.key.endswith(".") else "") for e in entries())
        raise Invalid(f"{key!r} is not a team setting (those are {names or 'none yet'})", "key")
    return entry


def _row(s: Session, key: str) -> Setting | None:
    return s.exec(select(Setting).where(Setting.key == key)).first()


def get(s: Session, key: str, default: Any = None) -> Any:
    """The value of the live setting `key`, else `default`."""
    row = _row(s, key)
    return default if row is None or row.deleted_at is not None else row.value


def values(s: Session, prefix: str = "") -> dict[str, Any]:
    """The live settings whose key starts with `prefix`, by key."""
    query = (
        select(Setting)
        .where(col(Setting.key).startswith(prefix, autoescape=True),
               col(Setting.deleted_at).is_(None))
        .order_by(Setting.key)
    )
    return {row.key: row.value for row in s.exec(query)}


def put(s: Session, key: str, value: Any, *, by: Actor) -> bool:
    """Set `key` to `value` (admins only); returns whether anything changed. One audit
    event, `setting.create` or `setting.update` (setting a removed one again restores
    it), so the change travels and the history says who changed the rules."""
    require_role(by, entities.WRITERS["setting"], "change the team settings")
    row = _row(s, key)
    if row is None:
        row = Setting(key=key, value=value)
        s.add(row)
        action, changes = "setting.create", audit.snapshot(row)
    else:
        action = "setting.update"
        changes = audit.apply(row, {"value": value, "deleted_at": None}, by.handle)
        if not changes:
            return False
    audit.record(s, by=by.handle, action=action, entity="setting", entity_id=row.id,
                 changes=changes, detail={"key": key})
    return True


def remove(s: Session, key: str, *, by: Actor) -> None:
    """Remove the setting `key` (admins only): a tombstone, audited as `setting.delete`."""
    require_role(by, entities.WRITERS["setting"], "change the team settings")
    row = _row(s, key)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"no team setting {key!r}")
    changes = audit.apply(row, {"deleted_at": clock.now()}, by.handle)
    audit.record(s, by=by.handle, action="setting.delete", entity="setting", entity_id=row.id,
                 changes=changes, detail={"key": key})


def set_text(s: Session, key: str, text: str, *, by: Actor) -> tuple[str, Any]:
    """`crm setting set KEY VALUE`: parse the text as the setting says, store the value
    and return the key as stored and the value."""
    key = canonical(key)
    value = known(key).parse(text)
    put(s, key, value, by=by)
    return key, value


def canonical(key: str) -> str:
    """`key` as it is stored: a family member by its canonical name (handoff.require.客服
    is handoff.require.service); `Invalid` for a member the family has not."""
    entry = _entry(key)
    if entry is None or entry.member is None:
        return key
    return entry.key + entry.member(key.removeprefix(entry.key))


def shown(key: str, value: Any) -> str:
    """A stored value as people read it: as its setting shows it, else as JSON."""
    entry = _entry(key)
    return entry.show(value) if entry is not None else json.dumps(value, ensure_ascii=False)
