"""Days and due times as people type them: `2026-01-05`, `2026/1/5`, `2026年1月5日`,
`today`, `明天`, `+3d`, `+2w`, `friday`, `周五`.

Part of the data dictionary (`fields.py` uses `parse_date` for custom date fields); kept
apart because the calendar words and their time-zone rules are a topic of their own.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from crmcli.errors import Invalid

_DAY = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
_DAY_AND_TIME = re.compile(_DAY + r"(?:[ T]+(\d{1,2})[:：](\d{2})(?::(\d{2}))?)?")


def _calendar(text: str) -> tuple[date, time | None] | None:
    """A day (and a time, if given) as people write them: 2026-01-05, 2026/1/5 (Excel in
    Chinese locales), 2026年1月5日, optionally followed by 10:30 or 10:30:00."""
    match = _DAY_AND_TIME.fullmatch(unicodedata.normalize("NFKC", text).strip())
    if not match:
        return None
    year, month, day_, hour, minute, second = match.groups()
    try:
        day = date(int(year), int(month), int(day_))
        moment = time(int(hour), int(minute), int(second or 0)) if hour else None
    except ValueError:
        return None
    return day, moment


def parse_date(text: str, field: str) -> str:
    """A calendar date, stored as ISO `YYYY-MM-DD` (also accepts 2026/1/5 and 2026年1月5日)."""
    found = _calendar(text)
    if found is None or found[1] is not None:
        raise Invalid(f"{text!r} is not a date (YYYY-MM-DD)", field)
    return found[0].isoformat()


_WEEKDAYS = {
    "mon": 0, "monday": 0, "周一": 0, "星期一": 0,
    "tue": 1, "tuesday": 1, "周二": 1, "星期二": 1,
    "wed": 2, "wednesday": 2, "周三": 2, "星期三": 2,
    "thu": 3, "thursday": 3, "周四": 3, "星期四": 3,
    "fri": 4, "friday": 4, "周五": 4, "星期五": 4,
    "sat": 5, "saturday": 5, "周六": 5, "星期六": 5,
    "sun": 6, "sunday": 6, "周日": 6, "星期日": 6, "星期天": 6,
}
END_OF_DAY = time(23, 59)


def parse_when(text: str, now: datetime, field: str = "due") -> datetime:
    """A due time: ISO date or datetime, `today`, `tomorrow`, `+3d`, `+2w`, a weekday name.

    A day without a time means the end of that day (23:59 local); the result is UTC.
    `now` is aware; relative forms count from its local date.
    """
    compact = unicodedata.normalize("NFKC", text).strip().lower()
    local_now = now.astimezone()
    today = local_now.date()
    day: date | None = None
    if compact in ("today", "今天"):
        day = today
    elif compact in ("tomorrow", "明天"):
        day = today + timedelta(days=1)
    elif compact in _WEEKDAYS:
        ahead = (_WEEKDAYS[compact] - today.weekday() - 1) % 7 + 1
        day = today + timedelta(days=ahead)
    elif match := re.fullmatch(r"\+(\d{1,6})([dwh])", compact):
        count, unit = int(match[1]), match[2]
        try:
            if unit == "h":
                return (now + timedelta(hours=count)).astimezone(now.tzinfo)
            day = today + timedelta(days=count * (7 if unit == "w" else 1))
        except OverflowError:
            raise Invalid(f"{text!r} is too far ahead", field) from None
    else:
        moment = _absolute(text)
        if moment is None:
            raise Invalid(
                f"{text!r} is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM, today, tomorrow, "
                "+3d, +2w or a weekday)",
                field,
            )
        if isinstance(moment, datetime):
            return moment.astimezone(now.tzinfo)
        day = moment
    if day.year > 9998:
        raise Invalid(f"{text!r} is too far ahead", field)
    return datetime.combine(day, END_OF_DAY).astimezone().astimezone(now.tzinfo)


def _absolute(text: str) -> datetime | date | None:
    """An absolute day (a `date`) or moment (an aware `datetime`), or None.

    ISO 8601 with a time zone (what exports write, `…Z`) first, then the calendar forms
    custom date fields accept, with an optional local time."""
    typed = unicodedata.normalize("NFKC", text).strip()
    if len(typed) > 10:
        try:
            moment = datetime.fromisoformat(typed)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.astimezone()
    found = _calendar(typed)
    if found is None:
        return None
    day, moment = found
    return day if moment is None else datetime.combine(day, moment).astimezone()


def parse_since(text: str, field: str = "since") -> datetime:
    """The start of a period: a day (its local midnight: `2026-01-05`, `2026/1/5`,
    `today`, `yesterday`, `今天`, `昨天`), a moment (`2026-01-05 10:30`, ISO 8601 with a zone), or `-7d` /
    `-2w` / `-3h` back from now."""
    from crmcli import clock

    compact = unicodedata.normalize("NFKC", text).strip().lower()
    now = clock.now()
    if compact in ("today", "今天", "yesterday", "昨天"):
        back = 0 if compact in ("today", "今天") else 1
        day = now.astimezone().date() - timedelta(days=back)
        return datetime.combine(day, time()).astimezone()
    if match := re.fullmatch(r"-(\d{1,5})([dwh])", compact):
        count, unit = int(match[1]), match[2]
        hours = count * {"h": 1, "d": 24, "w": 168}[unit]
        return now - timedelta(hours=hours)
    moment = _absolute(text)
    if moment is None:
        raise Invalid(f"{text!r} is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM, today, yesterday, -7d)", field)
    if isinstance(moment, datetime):
        return moment
    return datetime.combine(moment, time()).astimezone()
