"""What every report returns: sections of rows with typed measures and a chart.

A report is data, not presentation: each front end (cli/report_output.py, io/xlsx_report.py,
the dashboard's Reports view) renders the same `Report` its own way, so a figure reads the
same everywhere. A row is a dict keyed by the measures' keys; values are machine values
(counts as int, ratios as a float 0..1, durations as whole seconds, money as a Decimal or
`RESTRICTED`, dates as ISO text), which is also what `--format json|ndjson|csv` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from crmcli import clock, dates
from crmcli.display import show_duration, show_money, show_time
from crmcli.errors import Invalid

Kind = Literal["text", "count", "ratio", "seconds", "money", "date"]
RESTRICTED = "restricted"  # a sensitive sum the reader is not cleared for
NO_DEPARTMENT = "(no department)"  # the department of a member who has none
BY = ("week", "month")


@dataclass(frozen=True)
class Measure:
    """A column: the row key it reads, its header for people, and what kind of value."""

    key: str
    header: str
    kind: Kind = "count"


@dataclass(frozen=True)
class Chart:
    """The picture of a section: bars of `values` per `label` row, or lines over time."""

    kind: Literal["bar", "line"]
    label: str
    values: tuple[str, ...]


def shown(value: Any, measure: Measure) -> str:
    """A value as people read it (a table cell, a bar's figure): a count with thousands
    separators, a ratio as a percentage, seconds as `1d2h`, money as `¥1,234.50`, a time
    in local time to the minute. Here, not in a front end, so the CLI's table and the
    dashboard's show the same figure."""
    if value is None:
        return ""
    if value == RESTRICTED:
        return RESTRICTED
    if measure.kind == "count":
        return f"{value:,}"
    if measure.kind == "ratio":
        return f"{value * 100:.1f}%"
    if measure.kind == "seconds":
        return show_duration(round(value / 60))
    if measure.kind == "money":
        return show_money(value)
    if measure.kind == "date" and (isinstance(value, datetime) or "T" in str(value)):
        return show_time(value)  # a moment; a bare day (2026-03-05) reads as it is
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


@dataclass
class Section:
    """One table of a report (a report may have several: per customer, per member...)."""

    name: str
    title: str
    measures: tuple[Measure, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    chart: Chart | None = None
    empty: str = "nothing in this period"  # what people read when it has no rows

    def measure(self, key: str) -> Measure:
        return next(m for m in self.measures if m.key == key)


@dataclass
class Report:
    """A report: its name (the command), a title, its sections, and notes for people
    (how the figures were counted, the filters in force)."""

    name: str
    title: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Period:
    """[since, until) as aware datetimes; either end open. `--since` as `crm audit list`
    reads it (a day, a moment, -30d); `--until` a day takes in that whole day."""

    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Period:
        start = dates.parse_since(since, "since") if since else None
        end = dates.parse_before(until, clock.now(), "until") if until else None
        if start and end and end <= start:
            raise Invalid(f"--until {until} is not after --since {since}", "until")
        return cls(start, end)

    @property
    def text(self) -> str:
        """The period as people read it, for a report's notes."""
        return f"{clock.show(self.since) or 'the start'} to {clock.show(self.until) or 'now'}"


@dataclass(frozen=True)
class Options:
    """What every report is asked with (each reads what applies to it and says in its
    help which): the period, the filters on customers (any of the values given), and
    `by` week or month for a trend. The CLI and the dashboard's Reports view build it."""

    period: Period = Period()
    owner: tuple[str, ...] = ()
    dept: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    by: str | None = None


def parse_by(text: str | None) -> str | None:
    """`--by week|month`: a trend per period instead of one figure for the whole period."""
    if text is None:
        return None
    if text not in BY:
        raise Invalid(f"--by {text!r} is not one of {', '.join(BY)}", "by")
    return text
