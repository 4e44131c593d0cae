"""`crm report quality`: where the shared record falls short, as of now.

- **missing**: customers lacking a field their stage requires (team settings
  `quality.require.STAGE`, `quality_rules`), with the fields they lack;
- **stale**: customers nobody followed up for longer than their stage allows (team
  settings `quality.stale.STAGE`, 30 days for open stages by default): the newest note
  of any kind is the last contact; a customer never followed up counts from its creation;
- **invalid**: stored values today's rules refuse (`invalid_values`);
- **duplicates**: likely duplicate pairs (`duplicates`), best first;
- **stages**: the counts of each of these per stage, with a bar chart.

Each list is SQL over the customer table and the notes' (customer, at) index; the
duplicates come from the blocked scan. Sensitive fields count for their readers only: an
uncleared reader is told which fields were not checked (whether one is empty would tell
them something). The filters (`--owner`, `--dept`, `--source`) narrow every list to
their customers; a duplicate pair counts when either customer is one of them (a copy
another department keeps is the point). Lists are cut at `limit` rows, and say so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import String, and_, exists, false, func, or_, type_coerce
from sqlmodel import Session, col, select

from crmcli import clock, fields
from crmcli.display import show_duration
from crmcli.models import Customer, Note, SensitiveMask
from crmcli.repo import custom_fields, distinct_pairs, duplicates, sensitive
from crmcli.repo.reports import filters, invalid_values, quality_rules
from crmcli.repo.reports.table import Chart, Measure, Options, Report, Section
from crmcli.repo.users import Actor

LIMIT = 100
CHUNK = 500
TEXT = ("customer", "stage", "owner")


@dataclass
class Findings:
    """Everything the report lists, uncut."""

    missing: list[dict[str, Any]] = field(default_factory=list)
    stale: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[invalid_values.Bad] = field(default_factory=list)
    scan: duplicates.Scan = field(default_factory=duplicates.Scan)
    stages: dict[str, str] = field(default_factory=dict)  # a paired customer's stage
    names: dict[str, str] = field(default_factory=dict)  # a paired customer's name
    notes: list[str] = field(default_factory=list)


def _empty(name: str, custom: bool, seen: sensitive.Clearance) -> Any:
    """SQL: the customer's field `name` is empty (a sensitive one: no mask held either)."""
    value = invalid_values.column(name, custom)
    empty = or_(value.is_(None), type_coerce(value, String()) == "")  # money too
    if name == "tags":
        empty = or_(value.is_(None), func.json_array_length(value) == 0)
    if name in seen.sensitive:
        held = exists().where(SensitiveMask.customer_id == Customer.id,
                              SensitiveMask.field == name, SensitiveMask.mask != "")
        empty = and_(empty, ~held)
    return empty


def _missing(s: Session, seen: sensitive.Clearance, scope: list[Any], found: Findings) -> None:
    rules = quality_rules.required(s)
    custom = set(custom_fields.declared(s))
    hidden: set[str] = set()
    for stage in sorted(rules.fields, key=fields.STAGES.index):
        names = rules.fields[stage]
        hidden.update(name for name in names if not seen.may_read(name))
        names = [name for name in names if seen.may_read(name)]
        if not names:
            continue
        empties = [_empty(name, name in custom, seen) for name in names]
        query = (select(Customer.id, Customer.name, Customer.stage, Customer.owner,
                        *(empty.label(f"e{i}") for i, empty in enumerate(empties)))
                 .where(*scope, Customer.stage == stage, or_(*empties))
                 .order_by(Customer.sort_key, Customer.name, Customer.id))
        for id_, name, stage_, owner, *flags in s.exec(query):
            lacking = [n for n, flag in zip(names, flags, strict=True) if flag]
            found.missing.append({"id": id_, "customer": name, "stage": stage_,
                                  "owner": owner, "missing": lacking})
    if rules.fields:
        said = "; ".join(f"{stage}: {', '.join(rules.fields[stage])}"
                         for stage in sorted(rules.fields, key=fields.STAGES.index))
        found.notes.append(f"Required per stage ({quality_rules.REQUIRE}STAGE): {said}.")
    else:
        found.notes.append("No stage requires any field yet: `crm setting set "
                           f"{quality_rules.REQUIRE}proposal requirement,sla` (admins).")
    for stage, typed in rules.unknown:
        found.notes.append(f"{quality_rules.REQUIRE}{stage} names {typed!r}, which is no "
                           "field: not checked.")
    if hidden:
        found.notes.append(f"Not checked for you: {', '.join(sorted(hidden))} (only its "
                           "readers learn whether it is empty).")


def _stale(s: Session, scope: list[Any], found: Findings) -> None:
    limits = quality_rules.stale_after(s)
    now = clock.now()
    last = (select(func.max(Note.at)).where(Note.customer_id == Customer.id,
                                            col(Note.deleted_at).is_(None))
            .correlate(Customer).scalar_subquery())
    contact = func.coalesce(last, Customer.created_at)
    due = [and_(Customer.stage == stage, contact < now - timedelta(minutes=minutes))
           for stage, minutes in limits.items()]
    query = (select(Customer.id, Customer.name, Customer.stage, Customer.owner,
                    last.label("last"), Customer.created_at)
             .where(*scope, or_(*due) if due else false())
             .order_by(contact, Customer.sort_key, Customer.id))
    for id_, name, stage, owner, at, created in s.exec(query):
        found.stale.append({
            "id": id_, "customer": name, "stage": stage, "owner": owner,
            "last_contact": clock.iso(at), "days": (now - (at or created)).days,
            "limit": show_duration(limits[stage])})
    said = ", ".join(f"{stage} {show_duration(minutes)}" for stage, minutes in limits.items())
    found.notes.append(f"Stale: no note for longer than the stage allows "
                       f"({quality_rules.STALE}STAGE): {said or 'no stage is checked'}; "
                       "never followed up counts from the customer's creation.")


def _duplicates(s: Session, options: Options, scope: list[Any], found: Findings) -> None:
    ours = None
    if filters.described(options):
        ours = set(s.exec(select(Customer.id).where(*scope)))
    marked = distinct_pairs.excluder(s)  # said "not the same" (`crm dedupe`): not listed

    def excluded(first: str, second: str) -> bool:
        return marked(first, second) or (
            ours is not None and first not in ours and second not in ours)

    found.scan = duplicates.scan(s, exclude=excluded)
    ids = list({i for pair in found.scan.pairs for i in (pair.first, pair.second)})
    for start in range(0, len(ids), CHUNK):
        query = select(Customer.id, Customer.name, Customer.stage).where(
            col(Customer.id).in_(ids[start:start + CHUNK]))
        for id_, name, stage in s.exec(query):
            found.names[id_], found.stages[id_] = name, stage
    found.notes.append(
        f"Likely duplicates: pairs scoring {duplicates.DEFAULT_MIN:g} or more of 100, by "
        "name (as written, in either script, and in pinyin), company (without its legal "
        f"form), phone and e-mail; {found.scan.customers:,} customers, "
        f"{found.scan.compared:,} candidate pairs compared.")
    for what, members in found.scan.crowded:
        found.notes.append(f"Not paired by it: {members:,} customers share {what}.")


def findings(s: Session, actor: Actor, options: Options) -> Findings:
    """What the report lists for `actor` under `options`' filters, uncut."""
    seen = sensitive.clearance(s, actor)
    scope = filters.conditions(options)
    found = Findings()
    _missing(s, seen, scope, found)
    _stale(s, scope, found)
    found.invalid, unchecked = invalid_values.found(s, seen, scope)
    if unchecked:
        found.notes.append(f"Values not checked for you: {', '.join(unchecked)} (sensitive).")
    _duplicates(s, options, scope, found)
    if said := filters.described(options):
        found.notes.append(f"Only customers of {said} (a duplicate pair: either customer).")
    return found


# --- the report ---------------------------------------------------------------------------


def build(s: Session, actor: Actor, options: Options, *, limit: int | None = LIMIT) -> Report:
    """The data-quality report for `actor` (see the module's docstring); each list cut at
    `limit` rows (None: all)."""
    found = findings(s, actor, options)
    notes = list(found.notes)
    sections = [
        _stages(s, options, found),
        _list("missing", "Missing fields", (
            *_text(), Measure("missing", "Missing", "text"),
        ), found.missing, limit, notes),
        _list("stale", "Stale", (
            *_text(), Measure("last_contact", "Last contact", "date"),
            Measure("days", "Days"), Measure("limit", "Limit", "text"),
        ), found.stale, limit, notes),
        _list("invalid", "Invalid values", (
            Measure("customer", "Customer", "text"), Measure("stage", "Stage", "text"),
            Measure("field", "Field", "text"), Measure("value", "Value", "text"),
            Measure("why", "Why", "text"),
        ), [{"id": bad.id, "customer": bad.customer, "stage": bad.stage, "field": bad.field,
             "value": bad.value, "why": bad.why} for bad in found.invalid], limit, notes),
        _list("duplicates", "Likely duplicates", (
            Measure("customer", "Customer", "text"), Measure("other", "Same as", "text"),
            Measure("score", "Score"), Measure("reasons", "Why", "text"),
        ), [{"first": pair.first, "second": pair.second, "customer": found.names[pair.first],
             "other": found.names[pair.second], "score": pair.score,
             "reasons": list(pair.reasons)} for pair in found.scan.pairs], limit, notes),
    ]
    return Report("quality", f"Data quality as of {clock.show(clock.now())}", sections, notes)


def _text() -> tuple[Measure, ...]:
    return tuple(Measure(key, key.title(), "text") for key in TEXT)


def _list(name: str, title: str, measures: tuple[Measure, ...], rows: list[dict[str, Any]],
          limit: int | None, notes: list[str]) -> Section:
    """A list section, cut at `limit` rows (a note says how many there are)."""
    if limit is not None and len(rows) > limit:
        notes.append(f"{name}: the first {limit:,} of {len(rows):,} shown (--limit).")
        rows = rows[:limit]
    return Section(name, title, measures, rows, empty="none")


def _stages(s: Session, options: Options, found: Findings) -> Section:
    """Per stage: its customers, and how many of them each list holds."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    query = (select(Customer.stage, func.count()).where(*filters.conditions(options))
             .group_by(Customer.stage))
    for stage, customers in s.exec(query):
        counts[stage]["customers"] = customers
    for key, rows in (("missing", found.missing), ("stale", found.stale)):
        for row in rows:
            counts[row["stage"]][key] += 1
    for stage in {(bad.id, bad.stage) for bad in found.invalid}:
        counts[stage[1]]["invalid"] += 1
    for id_ in {i for pair in found.scan.pairs for i in (pair.first, pair.second)}:
        counts[found.stages[id_]]["duplicates"] += 1
    order = {stage: place for place, stage in enumerate(fields.STAGES)}
    keys = ("customers", "missing", "stale", "invalid", "duplicates")
    rows = [{"stage": stage, **{key: counts[stage][key] for key in keys}}
            for stage in sorted(counts, key=lambda stage: (order.get(stage, len(order)), stage))]
    return Section("stages", "Per stage", (
        Measure("stage", "Stage", "text"), Measure("customers", "Customers"),
        Measure("missing", "Missing fields"), Measure("stale", "Stale"),
        Measure("invalid", "Invalid values"), Measure("duplicates", "In duplicate pairs"),
    ), rows, Chart("bar", "stage", ("missing", "stale", "invalid", "duplicates")),
        empty="no customers")


def customers_behind(s: Session, actor: Actor, options: Options, section: str,
                     row: dict[str, Any]) -> list[str]:
    """The ids of the customers behind a row of the report (the dashboard opens them): a
    list's row, its customer (a pair: both); a stage's, every customer of that stage some
    list holds."""
    if section == "duplicates":
        return [row["first"], row["second"]]
    if section != "stages":
        return [row["id"]]
    found = findings(s, actor, options)
    listed = [*found.missing, *found.stale,
              *({"id": bad.id, "stage": bad.stage} for bad in found.invalid)]
    ids = [one["id"] for one in listed if one["stage"] == row.get("stage")]
    ids += [i for pair in found.scan.pairs for i in (pair.first, pair.second)
            if found.stages.get(i) == row.get("stage")]
    return list(dict.fromkeys(ids))
