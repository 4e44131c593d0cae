"""The workload report's trend (`--by week|month`): how the members' work came and went.

One row per week (Monday to Sunday) or month of local time that the period touches; the
period is `--since`/`--until`, by default the last 12 weeks or months, the one under way
included (it ends now). For the members chosen (everyone's work when no `--owner` or
`--dept` is given), counting tasks as they are now (their assignee, status and due;
cancelled ones are left out, as a task keeps no time of its cancellation):

- `tasks_created`: their tasks on live customers created in the week or month;
- `tasks_done`: their tasks done in it (done now, `done_at` in it);
- `overdue_at_end`: their tasks overdue at its end (now, for the one under way): created
  and due before the end and not done before it;
- `new_customers`: owner roles given to them in it (a customer they created, one routed or
  handed over to them), on customers still live.

Each is one pass over the tasks or the owner roles in SQL: every time is put in its
period by a CASE over the periods' bounds, and counted per period; "overdue at the end"
is the tasks that became overdue before the end less those done before it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal, literal_column, or_
from sqlmodel import Session, col, select

from crmcli import clock
from crmcli.errors import Invalid
from crmcli.models import Assignment, Task, UTCDateTime
from crmcli.repo.customer_lists import of_live
from crmcli.repo.reports.table import Chart, Measure, Options, Section

DEFAULT_PERIODS = 12
MEASURES = (
    Measure("period", "Period", "text"),
    Measure("start", "From", "date"),
    Measure("tasks_created", "Tasks created"),
    Measure("tasks_done", "Tasks done"),
    Measure("overdue_at_end", "Overdue at end"),
    Measure("new_customers", "Customers given"),
)


@dataclass(frozen=True)
class Span:
    """One week or month of the trend: its label, [start, end) (end: now if under way)."""

    label: str
    start: datetime
    end: datetime


def spans(options: Options, now: datetime) -> list[Span]:
    """The weeks or months of the trend (see the module's docstring), oldest first."""
    by = options.by or "month"
    last = min(options.period.until or now, now)
    if options.period.since is not None:
        first = _start_of(by, clock.local(options.period.since).date())
    else:
        first = _start_of(by, clock.local(now).date())
        for _ in range(DEFAULT_PERIODS - 1):
            first = _start_of(by, first - timedelta(days=1))
    found = []
    day = first
    while _midnight(day) < last:
        following = _next(by, day)
        found.append(Span(_label(by, day), _midnight(day), min(_midnight(following), last)))
        day = following
    return found


def _start_of(by: str, day: date) -> date:
    return day - timedelta(days=day.weekday()) if by == "week" else day.replace(day=1)


def _next(by: str, day: date) -> date:
    return day + timedelta(days=7) if by == "week" else (day + timedelta(days=32)).replace(day=1)


def _midnight(day: date) -> datetime:
    """Local midnight of `day`, aware."""
    return datetime(day.year, day.month, day.day).astimezone()


def _label(by: str, day: date) -> str:
    """`2026-W10` (ISO week) or `2026-03`."""
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.strftime("%Y-%m")


def _bucket(column: Any, bounds: list[datetime], first: int = 0, last: int | None = None
            ) -> Any:
    """SQL: which of the periods between `bounds` `column` falls in: 0 before the first
    bound, i for [bounds[i-1], bounds[i]), len(bounds) after the last or NULL (never).
    Halving: a few comparisons per value, not one per bound."""
    last = len(bounds) if last is None else last
    if first == last:
        return literal(first)
    middle = (first + last) // 2
    return case((column < literal(bounds[middle], UTCDateTime),
                 _bucket(column, bounds, first, middle)),
                else_=_bucket(column, bounds, middle + 1, last))


def section(s: Session, options: Options, handles: tuple[str, ...]) -> Section:
    """The trend section for the members `handles` (empty: everyone's)."""
    found = spans(options, clock.now())
    rows = []
    if found:
        created, done, overdue = _tasks(s, found, handles)
        given = _given(s, found, handles)
        rows = [{"period": span.label, "start": clock.local(span.start).date().isoformat(),
                 "tasks_created": created[i], "tasks_done": done[i],
                 "overdue_at_end": overdue[i], "new_customers": given[i]}
                for i, span in enumerate(found)]
    return Section("trend", f"Per {options.by}", MEASURES, rows,
                   Chart("line", "period", ("tasks_created", "tasks_done", "overdue_at_end")))


def _tasks(s: Session, found: list[Span], handles: tuple[str, ...]
           ) -> tuple[list[int], list[int], list[int]]:
    """Per span: tasks created, done, and overdue at its end (see the module). A task is
    overdue from the later of its creation and due time until it is done (a task done
    before that never is): the count at an end is those become overdue before it less
    those done before it. The times are taken first, then put in their spans (each level
    fenced with OFFSET 0, so SQLite works each out once)."""
    bounds = [found[0].start, *(span.end for span in found)]
    start = func.max(Task.created_at, Task.due)  # NULL without a due time: never overdue
    ever = start.is_not(None) & or_(col(Task.done_at).is_(None), Task.done_at > start)
    times = (select(Task.created_at.label("made"), Task.done_at.label("closed"),
                    case((ever, start)).label("overdue_from"),
                    case((ever, Task.done_at)).label("overdue_until"))
             .where(col(Task.status).in_(("open", "done")), col(Task.deleted_at).is_(None),
                    Task.created_at < bounds[-1],
                    or_(col(Task.done_at).is_(None), Task.done_at >= bounds[0]),
                    of_live(Task.customer_id)))
    if handles:
        times = times.where(col(Task.assignee).in_(handles))
    times = times.offset(0).subquery()
    spans_of = select(*(_bucket(column, bounds).label(column.name) for column in times.c)
                      ).offset(0).subquery()
    # grouped by one number (the four spans as its digits): SQLite sorts the rows to group
    # them, and one integer sorts faster than four columns
    base = len(bounds) + 1
    key = sum((column * base ** place for place, column in enumerate(spans_of.c)),
              literal(0)).label("spans")
    tallies = {column.name: Counter() for column in times.c}
    for number, count in s.exec(select(key, func.count()).group_by(literal_column("spans"))):
        for name in tallies:
            number, span = divmod(number, base)
            tallies[name][span] += count
    became, ended = tallies["overdue_from"], tallies["overdue_until"]
    return ([tallies["made"][i + 1] for i in range(len(found))],
            [tallies["closed"][i + 1] for i in range(len(found))],
            [sum(became[b] - ended[b] for b in range(i + 2)) for i in range(len(found))])


def _owner_roles(found: list[Span], handles: tuple[str, ...], *columns: Any) -> Any:
    """SQL: `columns` of the owner roles given in the spans (to `handles`), of live
    customers."""
    query = select(*columns).where(
        Assignment.role == "owner", col(Assignment.deleted_at).is_(None),
        Assignment.since >= found[0].start, Assignment.since < found[-1].end,
        of_live(Assignment.customer_id))
    return query.where(col(Assignment.user).in_(handles)) if handles else query


def _given(s: Session, found: list[Span], handles: tuple[str, ...]) -> list[int]:
    bounds = [found[0].start, *(span.end for span in found)]
    bucket = _bucket(Assignment.since, bounds)
    given = dict(s.exec(_owner_roles(found, handles, bucket, func.count()).group_by(bucket)).all())
    return [given.get(i + 1, 0) for i in range(len(found))]


def customers_behind(s: Session, options: Options, handles: tuple[str, ...],
                     row: dict[str, Any]) -> list[str]:
    """The customers given to the members in a trend row's week or month."""
    chosen = [span for span in spans(options, clock.now()) if span.label == row.get("period")]
    if not chosen:
        raise Invalid(f"{row.get('period')!r} is no {options.by or 'month'} of the trend",
                      "period")
    query = _owner_roles(chosen, handles, Assignment.customer_id).distinct()
    return list(s.exec(query.order_by(Assignment.customer_id)).all())
