"""Days and due times as people type them: `2026-01-05`, `2026/1/5`, `2026年1月5日`,
`today`, `明天`, `+3d`, `+2w`, `friday`, `周五`, `下周一`, `明天下午3点`, `3天后`,
`tomorrow 15:00`, `next monday` (the words and what they mean: below, before `parse_when`).

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


# --- due times as people type them ------------------------------------------------------
#
# A due time is a day, a time of day, or both: `明天下午3点`, `tomorrow 15:00`, `周五`,
# `下周一 9:30`, `3天后`, `+4h`. What the words mean, counted from the local date of `now`
# (weeks begin on Monday, as in China):
# - a weekday alone (`friday`, `周五`, `星期五`, `礼拜五`): the coming one, today if today is
#   that day;
# - `下周一`, `下星期一`, `next monday`: that day of next week (on a Sunday, 下周一 is
#   tomorrow); `这周五`, `本周五`, `this friday`: that day of this week, even when it is
#   past; `上周五`, `last friday`: that day of last week;
# - `today` `今天`, `tomorrow` `明天`, `后天` (in two days), `大后天` (three), `yesterday`
#   `昨天`, `前天`;
# - `3天后`, `三天后`, `2周后`, `+3d`, `+2w`, `in 3 days`: that many days or weeks on;
#   `2小时后`, `30分钟后`, `+4h`, `in 2 hours`: a moment that long from now;
# - a time: `15:00`, `3pm`, `3:30 pm`, `下午3点`, `下午3点半`, `上午10点`, `晚上8点15分`,
#   `15点` (上午/早上/凌晨 keep the hour, 中午/下午/傍晚/晚上 add twelve to 1-11); a time
#   with no day is today's.

_WEEKDAY_NAMES = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
_CHINESE_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEK_WORDS = {"this": 0, "next": 1, "last": -1, "本": 0, "这": 0, "这个": 0,
               "下": 1, "下个": 1, "上": -1, "上个": -1}
_DAY_WORDS = {
    "today": 0, "今天": 0, "今日": 0, "tomorrow": 1, "明天": 1, "明日": 1, "后天": 2,
    "大后天": 3, "yesterday": -1, "昨天": -1, "昨日": -1, "前天": -2,
}
_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}
_NUMBER = r"\d{1,6}|[零〇一二两三四五六七八九十]{1,3}"
_CHINESE_WEEKDAY = re.compile(r"(本|这个|这|下个|下|上个|上)?(?:周|星期|礼拜)([一二三四五六日天])")
_ENGLISH_WEEKDAY = re.compile(r"(?:(this|next|last) )?([a-z]+)")
_DAYS_ON = re.compile(rf"(?:\+(\d{{1,6}})([dw])|({_NUMBER}) ?个? ?(天|日|周|星期|礼拜)[以之]?后"
                      r"|in (\d{1,6}) (days?|weeks?))")
_TIME_ON = re.compile(rf"(?:\+(\d{{1,6}})([hm])|({_NUMBER}) ?个? ?(小时|钟头|分钟)[以之]?后"
                      r"|in (\d{1,6}) (hours?|minutes?|mins?))")
_PERIODS = {"上午": 0, "早上": 0, "早晨": 0, "凌晨": 0, "中午": 12, "下午": 12, "傍晚": 12,
            "晚上": 12, "夜里": 12}
_PERIOD = "|".join(_PERIODS)
_CLOCK = re.compile(
    rf"(?P<period>{_PERIOD})? ?(?:"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))? ?(?P<ampm>am|pm)?"
    r"|(?P<h12>\d{1,2}) ?(?P<ampm12>am|pm)"
    rf"|(?P<hz>{_NUMBER}) ?[点點时時](?: ?(?P<half>半|一刻|三刻)| ?(?P<mz>{_NUMBER}) ?分?)?)"
)
_MONTH_DAY = re.compile(r"(\d{1,2})[月/](\d{1,2})[日号]?")
END_OF_DAY = time(23, 59)
LONGEST = 40  # characters of a day and a time typed together


def _number(text: str) -> int | None:
    """12, or a small number in Chinese characters: 三, 两, 十, 十五, 二十三."""
    if text.isascii() and text.isdigit():
        return int(text)
    tens, ten, ones = text.partition("十")
    if not ten:
        return _DIGITS.get(text) if len(text) == 1 else None
    high = _DIGITS.get(tens) if tens else 1
    low = _DIGITS.get(ones) if ones else 0
    return None if high is None or low is None else high * 10 + low


def _clock(match: re.Match) -> time | None:
    """The time of day a `_CLOCK` match names, or None when it names no real time."""
    hour = _number(match["h"] or match["h12"] or match["hz"])
    minute = {"半": 30, "一刻": 15, "三刻": 45}.get(match["half"] or "")
    if minute is None:
        minute = _number(match["m"] or match["mz"] or "0")
    ampm = match["ampm"] or match["ampm12"]
    if hour is None or minute is None:
        return None
    if ampm:
        if not 1 <= hour <= 12 or match["period"]:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif match["period"] in ("晚上", "夜里") and hour == 12:
        return None  # midnight, but ending which day? refused: type the next day's 0点
    elif match["period"] == "中午":
        hour += 12 if hour < 6 else 0  # 中午1点 is 13:00, 中午12点 and 中午11点 as they are
    elif match["period"] and _PERIODS[match["period"]] and hour < 12:
        hour += 12
    try:
        return time(hour, minute, int(match["s"] or 0))
    except ValueError:
        return None


def _weekday(today: date, weekday: int, week: int | None) -> date:
    """`weekday` of the week `week` weeks from this one; with no week named, the coming
    one (today if today is that day)."""
    if week is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    return today + timedelta(days=weekday - today.weekday() + 7 * week)


def _day(compact: str, today: date) -> date | None:
    """A day named without a time: a calendar date, a day word, a weekday, or days on."""
    if compact in _DAY_WORDS:
        return today + timedelta(days=_DAY_WORDS[compact])
    if match := _CHINESE_WEEKDAY.fullmatch(compact):
        week = _WEEK_WORDS[match[1]] if match[1] else None
        return _weekday(today, _CHINESE_WEEKDAYS[match[2]], week)
    if (match := _ENGLISH_WEEKDAY.fullmatch(compact)) and match[2] in _WEEKDAY_NAMES:
        week = _WEEK_WORDS[match[1]] if match[1] else None
        return _weekday(today, _WEEKDAY_NAMES[match[2]], week)
    if match := _DAYS_ON.fullmatch(compact):
        count = _number(match[1] or match[3] or match[5])
        unit = match[2] or match[4] or match[6]
        if count is None:
            return None
        weeks = unit in ("w", "周", "星期", "礼拜") or unit.startswith("week")
        return today + timedelta(days=count * (7 if weeks else 1))
    if match := _MONTH_DAY.fullmatch(compact):  # 12月5日, 12/5: the next one, today included
        try:
            day = date(today.year, int(match[1]), int(match[2]))
            return day if day >= today else day.replace(year=today.year + 1)
        except ValueError:  # 2月30日, or 2月29日 of a year that has none
            return None
    found = _calendar(compact)
    return found[0] if found and found[1] is None else None


def _day_and_time(compact: str, today: date) -> tuple[date, time] | None:
    """A day (today if none is named) followed by a time of day: `明天下午3点`,
    `tomorrow at 15:00`, `下周三十点` (tried at every split, so 三 can end the day)."""
    for split in range(len(compact)):
        if not (clock := _CLOCK.fullmatch(compact[split:])):
            continue
        named = re.sub(r"[ ,]*(?:\bat)?[ ,]*$", "", compact[:split])
        day = _day(named, today) if named else today
        at = _clock(clock)
        if day is not None and at is not None:
            return day, at
    return None


def _read(text: str, now: datetime, field: str) -> datetime | tuple[date, time | None]:
    """What `text` names: a moment (an aware datetime), or a day and maybe a time of day."""
    compact = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).strip().lower())
    today = now.astimezone().date()
    try:
        if match := _TIME_ON.fullmatch(compact):
            count = _number(match[1] or match[3] or match[5])
            unit = match[2] or match[4] or match[6]
            if count is not None:
                minutes = count if unit in ("m", "分钟") or unit.startswith("min") else count * 60
                return now + timedelta(minutes=minutes)
        moment = _absolute(text)
        if moment is not None:
            return moment if isinstance(moment, datetime) else (moment, None)
        day = _day(compact, today)
        if day is not None:
            return day, None
        # a due time is a few words: a long text (an import's stray cell) is no date, and
        # is not tried at every split
        if len(compact) <= LONGEST and (timed := _day_and_time(compact, today)) is not None:
            return timed
    except OverflowError:
        raise Invalid(f"{text!r} is too far ahead", field) from None
    raise Invalid(
        f"{text!r} is not a date: try 2026-12-01, 2026-12-01 14:30, today, 明天, 周五, 下周一, "
        "next monday, 3天后, +2w, 明天下午3点, tomorrow 15:00",
        field,
    )


def _local(day: date, at: time, text: str, field: str) -> datetime:
    if day.year > 9998:
        raise Invalid(f"{text!r} is too far ahead", field)
    return datetime.combine(day, at).astimezone()


def parse_when(text: str, now: datetime, field: str = "due") -> datetime:
    """A due time (the forms above). A day without a time means the end of that day
    (23:59 local). `now` is aware; the result is in its zone."""
    found = _read(text, now, field)
    if isinstance(found, datetime):
        return found.astimezone(now.tzinfo)
    day, at = found
    return _local(day, at or END_OF_DAY, text, field).astimezone(now.tzinfo)


def parse_before(text: str, now: datetime, field: str = "before") -> datetime:
    """An upper bound, exclusive (`due < bound`): a moment as `parse_when` reads it, but a
    day without a time takes in that whole day, so `--due-before 周五` includes the tasks due
    on Friday, at 23:59 or any other time."""
    found = _read(text, now, field)
    if isinstance(found, datetime):
        return found.astimezone(now.tzinfo)
    day, at = found
    if at is None:
        day, at = day + timedelta(days=1), time()
    return _local(day, at, text, field).astimezone(now.tzinfo)


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
