"""The team's data-quality rules, as team settings (`crm report quality` applies them):

- `quality.require.STAGE`: the fields a customer at that stage must have filled, e.g.
  `quality.require.proposal requirement,sla` (parsed as a hand-over's checklist is:
  standard fields by any of their names, custom fields as declared); none by default;
- `quality.stale.STAGE`: how long a customer at that stage may go without contact before
  it counts as stale, a duration (`30d`, `2w`, `45天`) or `never`; by default 30d for the
  open stages (lead, qualified, proposal, negotiation), never for won, lost and churned.

STAGE is any stage's name or alias (`quality.require.方案` is `quality.require.proposal`).
A value stored malformed (by hand, or by a client that checked less) counts as unset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session

from crmcli import fields
from crmcli.display import show_duration
from crmcli.repo import custom_fields, handoffs, settings

REQUIRE = "quality.require."
STALE = "quality.stale."
OPEN_STAGES = ("lead", "qualified", "proposal", "negotiation")
DEFAULT_STALE = 30 * 1440  # minutes: 30 days
NEVER = 0
NEVER_WORDS = ("never", "off", "none", "不检查")


def parse_stale(text: str) -> int:
    """`30d`, `2w`, `45天` → minutes; `never` (or off, none) → 0, not checked."""
    if fields.fold(text) in NEVER_WORDS:
        return NEVER
    return fields.parse_duration(text, "value")


def show_stale(minutes: object) -> str:
    return show_duration(minutes) if isinstance(minutes, int) and minutes > 0 else "never"


settings.register(settings.Known(
    REQUIRE, "fields a customer at stage NAME must have (crm report quality), e.g. "
    "quality.require.proposal requirement,sla", handoffs.parse_checklist,
    handoffs.show_checklist, member=fields.parse_stage))
settings.register(settings.Known(
    STALE, "how long a customer at stage NAME may go without contact (crm report quality): "
    "a duration like 30d, or never; default 30d for open stages, never for won, lost, churned",
    parse_stale, show_stale, member=fields.parse_stage))


@dataclass
class Required:
    """The fields each stage requires (canonical names of standard and declared custom
    fields), and what the settings name that is no field, as (stage, name)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    unknown: list[tuple[str, str]] = field(default_factory=list)


def required(s: Session) -> Required:
    """The fields the team's settings require per stage (see the module doc)."""
    declared = {fields.fold(name): name for name in custom_fields.declared(s)}
    found = Required()
    for key, value in settings.values(s, REQUIRE).items():
        stage = key.removeprefix(REQUIRE)
        if stage not in fields.STAGES or not _names(value):
            continue
        for typed in value:
            name = fields.canonical_field(typed) or declared.get(fields.fold(typed))
            if name is None:
                found.unknown.append((stage, typed))
            elif name != "name" and name not in found.fields.setdefault(stage, []):
                found.fields[stage].append(name)
    return found


def _names(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(name, str) for name in value)


def stale_after(s: Session) -> dict[str, int]:
    """Minutes without contact after which a customer of each stage is stale (stages not
    checked are left out)."""
    limits = {stage: DEFAULT_STALE for stage in OPEN_STAGES}
    for key, value in settings.values(s, STALE).items():
        stage = key.removeprefix(STALE)
        if stage in fields.STAGES and isinstance(value, int) and not isinstance(value, bool) \
                and 0 <= value <= fields.MAX_DURATION_MINUTES:
            limits[stage] = value
    return {stage: limit for stage, limit in limits.items() if limit > 0}
