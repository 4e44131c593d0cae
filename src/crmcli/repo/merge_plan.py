"""What a merge does to each field, decided before it is made: the dashboard shows it side by
side before the user confirms, and `customer_merges.merge` carries it out, so both agree.

A merge must not lose what the customer merged away knew. An empty field of the keeper is
filled from it; tags are united; and every value of it that differs from a filled value of
the keeper (a second phone, another e-mail, a custom field) is *noted*: kept in the merge's
history event and in an internal note on the keeper. Sensitive values are never noted (a
note and a history entry are read by everyone): they stay on the record merged away, and
fill an empty field of the keeper as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmcli import fields
from crmcli.fields import MAX_TEXT
from crmcli.ids import short
from crmcli.models import Customer
from crmcli.repo import sensitive
from crmcli.repo.machine import jsonable

# The standard fields a merge compares; the owner is a role, handed over with the others.
COMPARED = tuple(spec.name for spec in fields.CUSTOMER_FIELDS if spec.name != "owner")
FILLED, NOTED, UNITED, SAME, KEPT = "filled", "noted", "united", "same", "kept"


@dataclass(frozen=True)
class FieldFate:
    """One field of the two records and what the merge does with it."""

    name: str
    keep: Any  # the stored values (None: empty)
    other: Any
    fate: str  # FILLED from other, NOTED (other's differs), UNITED (tags), SAME, KEPT (only keep's)
    sensitive: bool = False

    def shown(self, value: Any) -> str:
        return fields.show_value(self.name, value)


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def _fate(name: str, ours: Any, theirs: Any, sensitive: bool) -> str:
    if _empty(theirs) or ours == theirs:
        return SAME if ours == theirs else KEPT
    if _empty(ours):
        return FILLED
    if name == "tags":
        return UNITED if any(tag not in ours for tag in theirs) else KEPT
    return KEPT if sensitive else NOTED


def plan(keep: Customer, other: Customer, sensitive: set[str]) -> list[FieldFate]:
    """Every field either record has, standard ones first, and its fate. `sensitive` names
    the sensitive fields (standard and custom): never noted."""
    fates = [
        FieldFate(name, getattr(keep, name), getattr(other, name),
                  _fate(name, getattr(keep, name), getattr(other, name), name in sensitive),
                  name in sensitive)
        for name in COMPARED
    ]
    for name in sorted({*keep.extra, *other.extra}):
        ours, theirs = keep.extra.get(name), other.extra.get(name)
        fates.append(FieldFate(name, ours, theirs, _fate(name, ours, theirs, name in sensitive),
                               name in sensitive))
    return fates


def noted(fates: list[FieldFate]) -> dict[str, Any]:
    """The values of the record merged away that the keeper does not take: {field: value}
    in their machine form, for the merge's history event."""
    return {fate.name: jsonable(fate.other) for fate in fates if fate.fate == NOTED}


def note_bodies(other: Customer, fates: list[FieldFate]) -> list[str]:
    """The internal note(s) that keep the noted values on the keeper: one line per value,
    split into several notes only if a note would be longer than a note may be."""
    lines = [f"{fate.name}: {fate.shown(fate.other)}" for fate in fates if fate.fate == NOTED]
    if not lines:
        return []
    head = (f"Merged in {other.name} ({short(other.id)}); its values that differ from "
            "this record's:")
    text = "\n".join([head, *lines])
    return [text[start:start + MAX_TEXT] for start in range(0, len(text), MAX_TEXT)]


OUTCOMES = {  # said of this record's field; NOTED: the other's value is kept in a note
    SAME: "", KEPT: "stays", FILLED: "filled in", NOTED: "kept in a note", UNITED: "united",
}


def side_by_side(
    clearance: sensitive.Clearance, keep: Customer, other: Customer, fates: list[FieldFate]
) -> list[tuple[str, str, str, str]]:
    """The two records as the dashboard shows them before a merge: (field, keep's value,
    other's value, what the merge does) for every field either one holds, each value as
    this reader may see it (masked, or "restricted")."""

    def shown(customer: Customer, fate: FieldFate, value: Any) -> str:
        held = sensitive.with_mask(clearance, customer.id, fate.name, value)
        seen = sensitive.present(clearance, fate.name, held)
        return fate.shown(seen.value) if seen.state == sensitive.PLAIN else str(seen.value)

    rows = []
    for fate in fates:
        ours, theirs = shown(keep, fate, fate.keep), shown(other, fate, fate.other)
        if ours or theirs:
            rows.append((fate.name, ours, theirs, OUTCOMES[fate.fate]))
    return rows


def summary(keep: str, other: str, result: dict[str, Any]) -> str:
    """What a merge did, in one line (`keep` and `other` as `customers.describe` says them)."""
    filled = ", ".join(result["filled"]) or "none"
    kept = f"; kept in a note: {', '.join(result['kept'])}" if result["kept"] else ""
    return (
        f"merged {other} into {keep}: {result['notes']} notes, {result['tasks']} tasks, "
        f"{result['assignments']} assignments moved; fields filled: {filled}{kept}"
    )
