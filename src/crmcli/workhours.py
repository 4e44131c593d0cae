"""Working time: when the SLA clock runs if the team set `work_hours`.

A working day is Monday to Friday in the machine's local time zone, except Mainland
China's public holidays, plus the weekend days worked in their place (调休). Those come
from a data file shipped with crmcli (`data/holidays_cn.json`, the State Council's
notices); a file of the same form at `<config dir>/holidays_cn.json` (CRM_HOME moves the
config dir) adds the years it names or replaces them, so a team adds next year's notice
without an upgrade. Within a working day the clock runs between the two times of
`work_hours` ("09:00-18:00"); without `work_hours` it runs around the clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

from crmcli import config
from crmcli.errors import Invalid

HOLIDAYS_FILE = "holidays_cn.json"
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–~至]\s*(\d{1,2}):(\d{2})\s*$")
LONGEST_WAIT_DAYS = 3 * 366  # a due time further than this is not looked for day by day


@dataclass(frozen=True)
class WorkHours:
    """The working part of a working day, in minutes after local midnight."""

    start: int
    end: int

    @property
    def text(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def parse_work_hours(text: str) -> str:
    """`09:00-18:00` (also 9:00~18:00, 09:00至18:00) as stored: HH:MM-HH:MM."""
    found = _HOURS.match(text or "")
    if not found:
        raise Invalid(f"{text!r} is not working hours like 09:00-18:00", "work_hours")
    h1, m1, h2, m2 = map(int, found.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise Invalid(f"{text!r} holds a time of day that does not exist", "work_hours")
    hours = WorkHours(h1 * 60 + m1, h2 * 60 + m2)
    if hours.end <= hours.start:
        raise Invalid(f"{text!r} ends before it starts (one day's hours, like 09:00-18:00)",
                      "work_hours")
    return hours.text


def work_hours(value: object) -> WorkHours | None:
    """The stored setting as hours (None: unset, the clock runs around the clock). A value
    that is not hours (stored by hand, or by a client that checked less) counts as unset:
    every list and reminder must still work, and `crm setting list` shows what is there."""
    try:
        text = parse_work_hours(str(value)) if value else None
    except Invalid:
        return None
    if text is None:
        return None
    h1, m1, h2, m2 = map(int, _HOURS.match(text).groups())
    return WorkHours(h1 * 60 + m1, h2 * 60 + m2)


def user_holidays_path() -> Path:
    """Where a user's own holiday file goes (it adds or replaces years)."""
    return config.config_dir() / HOLIDAYS_FILE


def _days(entries: list[str], where: str) -> set[date]:
    found: set[date] = set()
    for entry in entries:
        try:
            first, _, last = str(entry).partition("..")
            day, end = date.fromisoformat(first), date.fromisoformat(last or first)
        except ValueError:
            raise Invalid(f"{entry!r} is not a date or a range like 2026-10-01..2026-10-07",
                          where) from None
        while day <= end:
            found.add(day)
            day += timedelta(days=1)
    return found


def _years(text: str, where: str) -> dict[str, dict]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise Invalid(f"is not JSON ({error})", where) from None
    if not isinstance(data, dict):
        raise Invalid('is not an object of years like {"2027": {"off": [...], "work": [...]}}',
                      where)
    return {year: days for year, days in data.items() if year.isdigit() and isinstance(days, dict)}


@lru_cache(maxsize=4)
def _calendar(user_file: Path, mtime: float) -> tuple[frozenset[date], frozenset[date]]:
    packaged = resources.files("crmcli").joinpath("data", HOLIDAYS_FILE).read_text("utf-8")
    years = _years(packaged, HOLIDAYS_FILE)
    if mtime:
        years.update(_years(user_file.read_text("utf-8"), str(user_file)))
    off: set[date] = set()
    work: set[date] = set()
    for year, days in years.items():
        off |= _days(days.get("off", []), f"{year}.off")
        work |= _days(days.get("work", []), f"{year}.work")
    return frozenset(off), frozenset(work)


def calendar() -> tuple[frozenset[date], frozenset[date]]:
    """The holidays and the make-up working days (the user's file read again when it
    changes)."""
    path = user_holidays_path()
    return _calendar(path, path.stat().st_mtime if path.is_file() else 0.0)


def is_working_day(day: date, off: frozenset[date], work: frozenset[date]) -> bool:
    return day in work or (day.weekday() < 5 and day not in off)


def add(start: datetime, minutes: float, hours: WorkHours | None) -> datetime:
    """The moment `minutes` of clock time after `start` (UTC): working minutes when
    `hours` is set, counted in the local time zone's working days."""
    if hours is None:
        return start + timedelta(minutes=minutes)
    off, work = calendar()
    local = start.astimezone()
    day = local.date()
    left = timedelta(minutes=minutes)
    for _ in range(LONGEST_WAIT_DAYS):
        if is_working_day(day, off, work):
            opens = _at(day, hours.start)
            closes = _at(day, hours.end)
            begin = max(opens, local)
            if begin < closes:
                if begin + left <= closes:
                    return (begin + left).astimezone(start.tzinfo)
                left -= closes - begin
        day += timedelta(days=1)
    return (local + left).astimezone(start.tzinfo)


def _at(day: date, minutes: int) -> datetime:
    """`minutes` after local midnight of `day`, as an aware local time."""
    return (datetime.combine(day, time()) + timedelta(minutes=minutes)).astimezone()
