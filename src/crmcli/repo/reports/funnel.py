"""The funnel (`crm report funnel`): where customers are, and how they move, from history.

Stages in order lead, qualified, proposal, negotiation, won; lost and churned apart.
Every figure but "now" is counted from the stage history (`stage_history`: each audit
event that set a customer's stage, whatever made it: a creation, an edit, an import, a
conflict resolved, an event pulled from the team), for the period [since, until):
- now: the customers in the stage today;
- entered: the customers whose stage became the stage in the period, counted once each
  however often;
- went on (lead to negotiation): of those, the customers that entered a later funnel
  stage afterwards, in the period or since (lead to proposal skips a stage and counts);
  conversion = went on / entered;
- came back (lost, churned): of those, the customers that entered a funnel stage again;
- stays ended: the customer's times in the stage that ended in the period (by the next
  change of stage), and their median and 90th percentile in seconds, nearest rank (the
  ceil(n/2)-th and ceil(0.9 n)-th shortest).
Only live customers count (not deleted, not merged into another: a duplicate's history
is not counted twice), filtered by their owner, department and source as they are now
(`filters`). Times are to the second. `--by week|month` adds a trend: per week (Monday
to Sunday) or month of local time, the customers that entered each stage in it.

Nothing sensitive is read. On a team replica, the history and customers are what the
member may see, and so are the figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, column, func, select, true, values
from sqlmodel import Session

from crmcli import clock, fields
from crmcli.errors import Invalid
from crmcli.models import Customer
from crmcli.repo.reports import filters
from crmcli.repo.reports.stage_history import ENTRY, FUNNEL, NAMES, RANK, WHO, WON
from crmcli.repo.reports.table import Chart, Measure, Options, Period, Report, Section

CLOSED = ("lost", "churned")
STAGE = Measure("stage", "Stage", "text")
_TIMES = (Measure("stays", "Stays ended"), Measure("median", "Median time", "seconds"),
          Measure("p90", "90th percentile", "seconds"))
FUNNEL_MEASURES = (STAGE, Measure("now", "Now"), Measure("entered", "Entered"),
                   Measure("went_on", "Went on"), Measure("conversion", "Conversion", "ratio"),
                   *_TIMES)
CLOSED_MEASURES = (STAGE, Measure("now", "Now"), Measure("entered", "Entered"),
                   Measure("came_back", "Came back"), *_TIMES)
E = ENTRY.c


def build(s: Session, actor: Any, options: Options) -> Report:
    """The funnel report for `options` (period, owner, dept, source, by). Reads the stage
    history as it stands: a front end calls `stage_history.catch_up` in a write
    transaction first. `actor` reads nothing more here (no sensitive figure)."""
    span = _Span.of(options.period)
    where = _where(options)
    now = _now(s, options)
    moved = _entered(s, span, where)
    stays = _stays(s, span, where)

    def row(stage: str) -> dict[str, Any]:
        rank = RANK[stage]
        entered, went_on, came_back = moved.get(rank, (0, 0, 0))
        count, median, p90 = stays.get(rank, (0, None, None))
        figures = {"stage": stage, "now": now.get(stage, 0), "entered": entered}
        if stage in CLOSED:
            figures["came_back"] = came_back
        elif rank < WON:
            figures.update(went_on=went_on, conversion=went_on / entered if entered else None)
        return {**figures, "stays": count, "median": median, "p90": p90}

    sections = [
        Section("funnel", "Funnel", FUNNEL_MEASURES, [row(stage) for stage in FUNNEL],
                Chart("bar", "stage", ("entered",))),
        Section("closed", "Lost and churned", CLOSED_MEASURES, [row(stage) for stage in CLOSED],
                Chart("bar", "stage", ("entered",))),
    ]
    if options.by:
        sections.append(_trend(s, options.by, span, where))
    return Report("funnel", "Funnel", sections, _notes(options))


def customers_behind(s: Session, actor: Any, options: Options, section: str,
                     row: dict[str, Any]) -> list[str]:
    """The ids of the customers a row counts, oldest first: for a stage ("funnel",
    "closed") those that entered it in the period (the row's "entered"); for a week or
    month of the trend, those that entered any stage in it (within the period)."""
    span = _Span.of(options.period)
    query = select(E.customer_id).distinct().where(*_where(options))
    if section in ("funnel", "closed"):
        query = query.where(E.stage == RANK[fields.parse_stage(row["stage"])], *span.on(E.at))
    elif section == "trend":
        start, end = _bounds(options.by, row["period"])
        query = query.where(*span.narrowed(start, end).on(E.at))
    else:
        raise Invalid(f"funnel has no section {section!r} (it has funnel, closed, trend)",
                      "section")
    return list(s.connection().execute(query.order_by(E.customer_id)).scalars())


class _Span:
    """The period in whole seconds of unix time, [since, until); either end open."""

    def __init__(self, since: int | None, until: int | None):
        self.since, self.until = since, until

    @classmethod
    def of(cls, period: Period) -> _Span:
        return cls(*(math.ceil(end.timestamp()) if end else None
                     for end in (period.since, period.until)))

    def on(self, column: Any) -> list[ColumnElement[bool]]:
        """The terms that keep `column` (a time) within the period."""
        return [*([column >= self.since] if self.since is not None else []),
                *([column < self.until] if self.until is not None else [])]

    def narrowed(self, start: int, end: int) -> _Span:
        return _Span(max(start, self.since or start), min(end, self.until or end))


def _where(options: Options) -> list[ColumnElement[bool]]:
    """Live customers' entries, filtered as `options` says: the combinations of owner,
    department and source that pass, read once (`stage_who`), then the entries by them.
    Every stage named, so that the indexes, which begin with the stage, are searched
    stage by stage for the period."""
    where = [E.who.is_not(None), E.stage.in_(RANK.values())]
    if terms := filters.terms(options, WHO.c.owner, WHO.c.department, WHO.c.source):
        where.append(E.who.in_(select(WHO.c.id).where(*terms)))
    return where


def _now(s: Session, options: Options) -> dict[str, int]:
    """The customers per stage today; a stage stored by an alias counts as its stage."""
    query = select(Customer.stage, func.count()).where(*filters.conditions(options))
    found: dict[str, int] = {}
    for stored, count in s.connection().execute(query.group_by(Customer.stage)).all():
        stage = NAMES.get(stored.strip().lower(), stored)
        found[stage] = found.get(stage, 0) + count
    return found


def _entered(s: Session, span: _Span, where: list) -> dict[int, tuple[int, int, int]]:
    """Per stage: the customers that entered it in the period, how many of them went on
    to a later funnel stage, how many came back to the funnel. Each customer is counted
    by its first entry of the period: the one whose previous entry into the stage (if
    any) came before the period; its `reached` is the furthest of all that followed."""
    first = E.prev_same_at.is_(None)
    if span.since is not None:
        first = first | (E.prev_same_at < span.since)
    query = select(E.stage, func.count(), func.sum(E.reached > E.stage, type_=Integer),
                   func.sum(E.reached.is_not(None), type_=Integer)).where(
        *where, *span.on(E.at), first)
    rows = s.connection().execute(query.group_by(E.stage)).all()
    return {stage: (entered, went_on or 0, came_back or 0)
            for stage, entered, went_on, came_back in rows}


def _stays(s: Session, span: _Span, where: list) -> dict[int, tuple[int, int, int]]:
    """Per stage: how many stays ended in the period, their median and 90th percentile
    (nearest rank: the ceil(n/2)-th and ceil(0.9 n)-th shortest). Read from the index of
    stays by length: each percentile is the stay that many rows into it, no sort."""
    ended = [*where, E.stay.is_not(None), *span.on(E.left_at)]
    run = s.connection().execute
    counts = run(select(E.stage, func.count()).where(*ended).group_by(E.stage)).all()
    found = {}
    for stage, count in counts:
        def nth(rank: int, stage: int = stage) -> int:
            query = select(E.stay).where(*ended, E.stage == stage).order_by(E.stay)
            return run(query.offset(rank - 1).limit(1)).scalar_one()

        found[stage] = (count, nth((count + 1) // 2), nth((count * 9 + 9) // 10))
    return found


# --- the trend ---------------------------------------------------------------------------

def _trend(s: Session, by: str, span: _Span, where: list) -> Section:
    """Per week or month of the period: the customers that entered each stage in it,
    each counted by its first entry of that week or month (as `_entered` for the period).
    Each week is a range of the index searched by its bounds (local midnights)."""
    stages = (*FUNNEL, *CLOSED)
    measures = (Measure("period", by.capitalize(), "text"),
                *(Measure(stage, stage.capitalize()) for stage in stages))
    buckets = list(_buckets(s, by, span, where))
    rows = [{"period": label, **dict.fromkeys(stages, 0)} for label, _, _ in buckets]
    if buckets:
        b = values(column("i"), column("start"), column("end"), name="b").data(
            [(i, start, end) for i, (_, start, end) in enumerate(buckets)]).cte("b")
        stage = values(column("stage"), name="stages").data(
            [(RANK[name],) for name in stages]).cte("stages")
        count = select(func.count()).where(  # one range of the index each: no sort
            *where, E.stage == stage.c.stage, E.at >= b.c.start, E.at < b.c.end,
            E.prev_same_at.is_(None) | (E.prev_same_at < b.c.start)).scalar_subquery()
        every = select(b.c.i, stage.c.stage, count).select_from(b.join(stage, true()))
        for i, rank, n in s.connection().execute(every):
            rows[i][fields.STAGES[rank - 1]] = n
    return Section("trend", f"Entered per {by}", measures, rows, Chart("line", "period", FUNNEL))


def _buckets(s: Session, by: str, span: _Span, where: list) -> Iterator[tuple[str, int, int]]:
    """Each week or month of the period, from the first entry when it has no start: its
    label and its bounds in unix seconds, within the period."""
    since = span.since
    if since is None:  # the first entry: the first of each stage's, read from the index
        run = s.connection().execute
        firsts = [run(select(func.min(E.at)).where(*where, E.stage == rank)).scalar()
                  for rank in RANK.values()]
        since = min((first for first in firsts if first is not None), default=None)
        if since is None:
            return
    until = span.until if span.until is not None else math.ceil(clock.now().timestamp())
    for day in _starts(by, _local_day(since), _local_day(until - 1)):
        start, end = _bounds(by, _label(by, day))
        yield _label(by, day), max(start, since), min(end, until)


def _local_day(unix: int) -> date:
    return datetime.fromtimestamp(unix).date()


def _starts(by: str, first: date, last: date) -> Iterator[date]:
    """The first day of each week (Monday) or month from `first`'s to `last`'s."""
    if by == "week":
        day = first - timedelta(days=first.weekday())
        while day <= last:
            yield day
            day += timedelta(days=7)
        return
    day = first.replace(day=1)
    while day <= last:
        yield day
        day = (day + timedelta(days=32)).replace(day=1)


def _label(by: str, start: date) -> str:
    """`2026-W10` (ISO week) or `2026-03`."""
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m")


def _bounds(by: str | None, label: str) -> tuple[int, int]:
    """A trend row's week or month as [start, end) in unix seconds (local midnights)."""
    try:
        if by == "week":
            year, _, week = label.partition("-W")
            start = date.fromisocalendar(int(year), int(week), 1)
            end = start + timedelta(days=7)
        else:
            start = datetime.strptime(label, "%Y-%m").date()
            end = (start + timedelta(days=32)).replace(day=1)
    except ValueError:
        raise Invalid(f"{label!r} is not a {by or 'month'} of the trend", "period") from None
    return tuple(math.ceil(datetime(day.year, day.month, day.day).timestamp())
                 for day in (start, end))


def _notes(options: Options) -> list[str]:
    said = filters.described(options)
    return [
        f"Period: {options.period.text}" + (f" · {said}" if said else ""),
        "Entered: customers whose stage became the stage in the period (by creation, edit, "
        "import or sync). Went on: of those, the customers that later entered a further "
        "stage; conversion = went on / entered. Times: stays in the stage that ended in the "
        "period, median and 90th percentile.",
    ]
