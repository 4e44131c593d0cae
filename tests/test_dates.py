"""Due dates as Chinese users type them (`下周一`, `明天下午3点`, `3天后`, `tomorrow 15:00`),
with a frozen clock, on every day of a week, in Shanghai's time zone; and `--due-before`
taking in the whole of the day it names."""

import json
import os
import time as system_time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcli import dates
from crmcli.errors import Invalid
from helpers import add_customer

WEEK = [date(2026, 11, 23) + timedelta(days=n) for n in range(7)]  # Monday 23 … Sunday 29


@contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """The process's local time zone is `zone` inside the block."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    system_time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        system_time.tzset()


@pytest.fixture
def shanghai() -> Iterator[None]:
    with local_zone("Asia/Shanghai"):
        yield


def morning_of(day: date) -> datetime:
    """09:00 in the local zone of `day`, as the UTC instant the clock gives."""
    return datetime.combine(day, time(9)).astimezone().astimezone(UTC)


def due(text: str, day: date) -> str:
    return dates.parse_when(text, morning_of(day)).astimezone().strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("下周一", "2026-11-30 23:59"),
        ("next monday", "2026-11-30 23:59"),
        ("明天下午3点", "2026-11-25 15:00"),
        ("后天上午10点", "2026-11-26 10:00"),
        ("3天后", "2026-11-27 23:59"),
        ("三天后", "2026-11-27 23:59"),
        ("tomorrow 15:00", "2026-11-25 15:00"),
        ("tomorrow at 3:30 pm", "2026-11-25 15:30"),
        ("明天 下午3点半", "2026-11-25 15:30"),
        ("晚上8点15分", "2026-11-24 20:15"),
        ("中午1点", "2026-11-24 13:00"),
        ("15点", "2026-11-24 15:00"),
        ("周五下午3点", "2026-11-27 15:00"),
        ("下周三十点", "2026-12-02 10:00"),
        ("大后天", "2026-11-27 23:59"),
        ("2周后", "2026-12-08 23:59"),
        ("2小时后", "2026-11-24 11:00"),
        ("in 3 days", "2026-11-27 23:59"),
        ("12月5日", "2026-12-05 23:59"),
        ("11/20", "2027-11-20 23:59"),
        ("２０２６年１２月１日 ９：３０", "2026-12-01 09:30"),
    ],
)
def test_the_forms_people_type_on_a_tuesday_in_shanghai(text, expected, shanghai):
    assert due(text, date(2026, 11, 24)) == expected


# What the weekday words mean on each day of the week 23-29 November 2026 (Mon-Sun).
ACROSS_THE_WEEK = {
    "周五": ["11-27", "11-27", "11-27", "11-27", "11-27", "12-04", "12-04"],
    "friday": ["11-27", "11-27", "11-27", "11-27", "11-27", "12-04", "12-04"],
    "下周一": ["11-30", "11-30", "11-30", "11-30", "11-30", "11-30", "11-30"],
    "next monday": ["11-30", "11-30", "11-30", "11-30", "11-30", "11-30", "11-30"],
    "下周五": ["12-04", "12-04", "12-04", "12-04", "12-04", "12-04", "12-04"],
    "本周五": ["11-27", "11-27", "11-27", "11-27", "11-27", "11-27", "11-27"],
    "this friday": ["11-27", "11-27", "11-27", "11-27", "11-27", "11-27", "11-27"],
    "上周五": ["11-20", "11-20", "11-20", "11-20", "11-20", "11-20", "11-20"],
    "monday": ["11-23", "11-30", "11-30", "11-30", "11-30", "11-30", "11-30"],
    "周日": ["11-29", "11-29", "11-29", "11-29", "11-29", "11-29", "11-29"],
    "星期天": ["11-29", "11-29", "11-29", "11-29", "11-29", "11-29", "11-29"],
}


@pytest.mark.parametrize("text", sorted(ACROSS_THE_WEEK))
@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/Los_Angeles"])
def test_weekday_words_on_every_day_of_the_week(text, zone):
    with local_zone(zone):
        said = [due(text, day) for day in WEEK]
    assert said == [f"2026-{day} 23:59" for day in ACROSS_THE_WEEK[text]]


@pytest.mark.parametrize("text", ["晚上12点", "下午25点", "13pm", "下周八", "2月30日",
                                  "next blue moon", "3点钟后", "明天下午", "明天" * 5000 + "3点"])
def test_what_is_no_time_is_refused_naming_the_field(text, shanghai):
    with pytest.raises(Invalid) as refused:
        dates.parse_when(text, morning_of(WEEK[0]), "due")
    assert refused.value.field == "due"
    assert "下周一" in str(refused.value)  # the message shows the forms


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1),
                       timezones=st.just(UTC))
zones = st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Pacific/Kiritimati"])
WEEKDAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


@given(moments, zones, st.integers(0, 6))
def test_a_weekday_alone_is_the_coming_one_today_included(now, zone, weekday):
    with local_zone(zone):
        today = now.astimezone().date()
        day = dates.parse_when(WEEKDAYS[weekday], now).astimezone().date()
    assert day.weekday() == weekday
    assert 0 <= (day - today).days <= 6


@given(moments, zones, st.integers(0, 6))
def test_next_week_s_day_is_in_the_week_after_this_one(now, zone, weekday):
    with local_zone(zone):
        today = now.astimezone().date()
        chinese = dates.parse_when("下" + WEEKDAYS[weekday], now).astimezone().date()
        english = dates.parse_when("next " + ["monday", "tuesday", "wednesday", "thursday",
                                              "friday", "saturday", "sunday"][weekday], now)
        assert english == dates.parse_when("下" + WEEKDAYS[weekday], now)
    this_monday = today - timedelta(days=today.weekday())
    assert chinese == this_monday + timedelta(days=7 + weekday)


@given(moments, zones, st.integers(0, 400))
def test_days_on_read_the_same_in_every_spelling(now, zone, count):
    with local_zone(zone):
        read = {dates.parse_when(text, now) for text in
                (f"{count}天后", f"+{count}d", f"in {count} days", f"{count} 天以后")}
        today = now.astimezone().date()
        assert read == {datetime.combine(today + timedelta(days=count),
                                         time(23, 59)).astimezone().astimezone(UTC)}


@given(moments, st.integers(1, 11), st.sampled_from(["", "半", "10分", "十分"]))
def test_afternoon_hours_add_twelve_and_chinese_numerals_are_numbers(now, hour, minutes):
    numerals = "一二三四五六七八九十"
    chinese = numerals[hour - 1] if hour <= 10 else "十一"
    with local_zone("Asia/Shanghai"):
        typed = dates.parse_when(f"明天下午{hour}点{minutes}", now)
        spelled = dates.parse_when(f"明天下午{chinese}点{minutes}", now)
    local = typed.astimezone(ZoneInfo("Asia/Shanghai"))
    assert spelled == typed
    assert (local.hour, local.minute) == (hour + 12, {"": 0, "半": 30}.get(minutes, 10))


@given(moments, zones, st.sampled_from(["today", "周五", "下周一", "3天后", "2026-12-01",
                                        "12月5日"]),
       st.times())
def test_a_day_as_an_upper_bound_takes_in_the_whole_day(now, zone, text, at):
    with local_zone(zone):
        end = dates.parse_when(text, now)  # 23:59 of the day
        bound = dates.parse_before(text, now)
        day = end.astimezone().date()
        inside = datetime.combine(day, at).astimezone()
        after = datetime.combine(day + timedelta(days=1), time()).astimezone()
    assert inside < bound and end < bound
    assert bound == after


@given(moments, st.sampled_from(["明天下午3点", "tomorrow 15:00", "2026-12-01 10:30", "+4h"]))
def test_a_moment_as_an_upper_bound_is_that_moment(now, text):
    with local_zone("Asia/Shanghai"):
        assert dates.parse_before(text, now) == dates.parse_when(text, now)


def test_tasks_take_chinese_due_times_and_due_before_friday_includes_friday(
        crm, alice, shanghai):
    ref = add_customer(crm, "Acme")
    monday = {"CRM_NOW": "2026-11-23T09:00:00+08:00"}
    for title, typed in (("friday afternoon", "周五下午3点"), ("friday", "周五"),
                         ("tomorrow", "明天下午3点"), ("saturday", "周六 0:00"),
                         ("next monday", "下周一")):
        result = crm("task", "add", ref, title, "--due", typed, env=monday)
        assert result.exit_code == 0, result.output

    def titles(*options, env):
        result = crm("task", "list", *options, "--format", "json", env=env)
        assert result.exit_code == 0, result.output
        return {task["title"]: task["due"] for task in json.loads(result.stdout)}

    listed = titles(env=monday)
    assert listed == {"tomorrow": "2026-11-24T07:00:00Z",
                      "friday afternoon": "2026-11-27T07:00:00Z",
                      "friday": "2026-11-27T15:59:00Z", "saturday": "2026-11-27T16:00:00Z",
                      "next monday": "2026-11-30T15:59:00Z"}
    by_friday = ["tomorrow", "friday afternoon", "friday"]
    assert list(titles("--due-before", "周五", env=monday)) == by_friday
    friday = {"CRM_NOW": "2026-11-27T18:00:00+08:00"}  # on Friday itself: today
    assert list(titles("--due-before", "周五", env=friday)) == by_friday
    assert list(titles("--due-before", "friday 15:00", env=monday)) == ["tomorrow"]
    assert list(titles("--due-before", "下周一", env=monday)) == [*by_friday, "saturday",
                                                                  "next monday"]


def test_an_unreadable_due_before_is_exit_4_naming_the_option(crm, alice):
    result = crm("task", "list", "--due-before", "someday")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: due-before: 'someday' is not a date")
