"""EventBridge scheduled-rule expressions: AWS's validation, and the next fire time of each."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from raybus.rules.errors import PatternError
from raybus.rules.schedule import CronSchedule, RateSchedule, parse_schedule

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def ms(text: str) -> int:
    """Epoch ms of an ISO date-time read as UTC."""
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


def iso(value: int | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def next_iso(expression: str, after: str) -> str | None:
    return iso(parse_schedule(expression).next_after(ms(after)))


def fires(expression: str, after: str, count: int) -> list[str | None]:
    schedule = parse_schedule(expression)
    out: list[str | None] = []
    current = ms(after)
    for _ in range(count):
        fire = schedule.next_after(current)
        out.append(iso(fire))
        if fire is None:
            break
        current = fire
    return out


# -- AWS's documented examples (the cron reference's table; 2024-03-13 is a Wednesday) ------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # Run at 10:00 am (UTC+0) every day
        ("cron(0 10 * * ? *)", "2024-03-13T10:07:30", "2024-03-14T10:00:00"),
        ("cron(0 10 * * ? *)", "2024-03-13T09:59:59", "2024-03-13T10:00:00"),
        # Run at 12:15 pm (UTC+0) every day
        ("cron(15 12 * * ? *)", "2024-03-13T10:07:30", "2024-03-13T12:15:00"),
        ("cron(15 12 * * ? *)", "2024-12-31T12:15:00", "2025-01-01T12:15:00"),
        # Run at 6:00 pm (UTC+0) every Monday through Friday: Friday's run, then Monday's
        ("cron(0 18 ? * MON-FRI *)", "2024-03-13T10:07:30", "2024-03-13T18:00:00"),
        ("cron(0 18 ? * MON-FRI *)", "2024-03-15T18:00:00", "2024-03-18T18:00:00"),
        # Run at 8:00 am (UTC+0) every 1st day of the month
        ("cron(0 8 1 * ? *)", "2024-03-13T10:07:30", "2024-04-01T08:00:00"),
        ("cron(0 8 1 * ? *)", "2024-12-01T08:00:00", "2025-01-01T08:00:00"),
        # Run every 15 minutes
        ("cron(0/15 * * * ? *)", "2024-03-13T10:07:30", "2024-03-13T10:15:00"),
        ("cron(0/15 * * * ? *)", "2024-03-13T23:45:00", "2024-03-14T00:00:00"),
        # Run every 10 minutes Monday through Friday: Friday night skips to Monday midnight
        ("cron(0/10 * ? * MON-FRI *)", "2024-03-13T10:07:30", "2024-03-13T10:10:00"),
        ("cron(0/10 * ? * MON-FRI *)", "2024-03-15T23:55:00", "2024-03-18T00:00:00"),
        # Run every 5 minutes Monday through Friday between 8:00 am and 5:55 pm (UTC+0)
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-03-13T10:07:30", "2024-03-13T10:10:00"),
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-03-13T17:55:00", "2024-03-14T08:00:00"),
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-03-15T17:55:00", "2024-03-18T08:00:00"),
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-03-16T12:00:00", "2024-03-18T08:00:00"),
        # Run at 9:00 am (UTC+0) every first Monday of the month
        ("cron(0 9 ? * 2#1 *)", "2024-03-13T10:07:30", "2024-04-01T09:00:00"),
        ("cron(0 9 ? * 2#1 *)", "2024-04-01T09:00:00", "2024-05-06T09:00:00"),
    ],
)
def test_the_documented_examples(expression: str, after: str, expected: str) -> None:
    assert next_iso(expression, after) == expected


def test_the_rate_examples_of_the_docs() -> None:
    assert parse_schedule("rate(1 minute)", 0).next_after(0) == MINUTE
    assert parse_schedule("rate(5 minutes)", 0).next_after(0) == 5 * MINUTE
    assert parse_schedule("rate(1 hour)", 0).next_after(0) == HOUR
    assert parse_schedule("rate(1 day)", 0).next_after(0) == DAY


# -- next_after: strictness, minute granularity, sequences -------------------------------------


def test_next_after_is_strictly_after_and_on_whole_minutes() -> None:
    schedule = parse_schedule("cron(* * * * ? *)")
    start = ms("2024-03-13T10:07:00")
    assert schedule.next_after(start) == start + MINUTE
    assert schedule.next_after(start - 1) == start
    assert schedule.next_after(start + 59_999) == start + MINUTE
    assert schedule.next_after(start + 1) == start + MINUTE


def test_an_every_minute_sequence_crosses_hour_day_month_and_year() -> None:
    assert fires("cron(* * * * ? *)", "2023-12-31T23:58:00", 3) == [
        "2023-12-31T23:59:00",
        "2024-01-01T00:00:00",
        "2024-01-01T00:01:00",
    ]


def test_steps_start_at_the_given_value() -> None:
    # AWS: 1/10 in the minutes field is the 1st, 11th, 21st ... minute.
    assert fires("cron(1/10 * * * ? *)", "2024-03-13T10:00:00", 7) == [
        "2024-03-13T10:01:00",
        "2024-03-13T10:11:00",
        "2024-03-13T10:21:00",
        "2024-03-13T10:31:00",
        "2024-03-13T10:41:00",
        "2024-03-13T10:51:00",
        "2024-03-13T11:01:00",
    ]


def test_star_step_range_step_and_lists() -> None:
    assert fires("cron(*/20 * * * ? *)", "2024-03-13T10:00:00", 3) == [
        "2024-03-13T10:20:00",
        "2024-03-13T10:40:00",
        "2024-03-13T11:00:00",
    ]
    assert fires("cron(10-50/20 9 * * ? *)", "2024-03-13T00:00:00", 4) == [
        "2024-03-13T09:10:00",
        "2024-03-13T09:30:00",
        "2024-03-13T09:50:00",
        "2024-03-14T09:10:00",
    ]
    assert fires("cron(0 10,15 * * ? *)", "2024-03-13T11:00:00", 3) == [
        "2024-03-13T15:00:00",
        "2024-03-14T10:00:00",
        "2024-03-14T15:00:00",
    ]


def test_month_names_and_month_steps() -> None:
    assert next_iso("cron(0 0 1 JAN,JUL ? *)", "2024-03-13T00:00:00") == "2024-07-01T00:00:00"
    assert next_iso("cron(0 0 1 1/3 ? *)", "2024-03-13T00:00:00") == "2024-04-01T00:00:00"
    assert next_iso("cron(0 0 1 MAR-APR ? *)", "2024-04-02T00:00:00") == "2025-03-01T00:00:00"


def test_names_l_and_w_are_case_insensitive() -> None:
    assert next_iso("cron(0 18 ? * mon-fri *)", "2024-03-16T00:00:00") == "2024-03-18T18:00:00"
    assert next_iso("cron(0 0 1 jan ? *)", "2024-03-13T00:00:00") == "2025-01-01T00:00:00"
    assert next_iso("cron(0 0 lw * ? *)", "2024-03-01T00:00:00") == "2024-03-29T00:00:00"


def test_day_of_week_numbers_start_with_sunday() -> None:
    # 1 = Sunday, 7 = Saturday; 2024-03-13 is a Wednesday.
    assert next_iso("cron(0 0 ? * 1 *)", "2024-03-13T00:00:00") == "2024-03-17T00:00:00"
    assert next_iso("cron(0 0 ? * 7 *)", "2024-03-13T00:00:00") == "2024-03-16T00:00:00"
    assert next_iso("cron(0 0 ? * SUN *)", "2024-03-13T00:00:00") == "2024-03-17T00:00:00"


def test_wrapping_ranges() -> None:
    # FRI-MON is Friday, Saturday, Sunday, Monday; 22-1 is 22:00, 23:00, 00:00, 01:00.
    assert fires("cron(0 12 ? * FRI-MON *)", "2024-03-13T00:00:00", 5) == [
        "2024-03-15T12:00:00",
        "2024-03-16T12:00:00",
        "2024-03-17T12:00:00",
        "2024-03-18T12:00:00",
        "2024-03-22T12:00:00",
    ]
    assert fires("cron(0 22-1 * * ? *)", "2024-03-13T12:00:00", 5) == [
        "2024-03-13T22:00:00",
        "2024-03-13T23:00:00",
        "2024-03-14T00:00:00",
        "2024-03-14T01:00:00",
        "2024-03-14T22:00:00",
    ]


def test_a_day_of_month_the_month_lacks_is_skipped() -> None:
    assert fires("cron(0 0 31 * ? *)", "2024-03-31T00:00:00", 3) == [
        "2024-05-31T00:00:00",
        "2024-07-31T00:00:00",
        "2024-08-31T00:00:00",
    ]


# -- L, W and # ----------------------------------------------------------------------------------


def test_l_in_day_of_month_is_the_last_day_including_leap_februaries() -> None:
    assert fires("cron(0 0 L * ? *)", "2024-01-31T00:00:00", 4) == [
        "2024-02-29T00:00:00",
        "2024-03-31T00:00:00",
        "2024-04-30T00:00:00",
        "2024-05-31T00:00:00",
    ]
    assert next_iso("cron(0 0 L 2 ? *)", "2023-01-01T00:00:00") == "2023-02-28T00:00:00"
    assert next_iso("cron(0 0 L 2 ? *)", "2099-03-01T00:00:00") == "2100-02-28T00:00:00"
    assert next_iso("cron(0 0 L 2 ? *)", "1999-03-01T00:00:00") == "2000-02-29T00:00:00"


def test_february_29_skips_years_that_are_not_leap() -> None:
    assert next_iso("cron(0 0 29 2 ? *)", "2024-02-29T00:00:00") == "2028-02-29T00:00:00"
    # 2100 is not a leap year: eight years to wait.
    assert next_iso("cron(0 0 29 2 ? *)", "2097-03-01T00:00:00") == "2104-02-29T00:00:00"


def test_lw_is_the_last_weekday_of_the_month() -> None:
    # 2024-03-31 is a Sunday, 2024-08-31 a Saturday, 2024-05-31 a Friday.
    assert next_iso("cron(0 0 LW * ? *)", "2024-03-01T00:00:00") == "2024-03-29T00:00:00"
    assert next_iso("cron(0 0 LW * ? *)", "2024-08-01T00:00:00") == "2024-08-30T00:00:00"
    assert next_iso("cron(0 0 LW * ? *)", "2024-05-01T00:00:00") == "2024-05-31T00:00:00"


def test_w_is_the_nearest_weekday_within_the_month() -> None:
    # 2024-06-15 is a Saturday -> Friday 14th; 2024-09-15 a Sunday -> Monday 16th.
    assert next_iso("cron(0 0 15W * ? *)", "2024-06-01T00:00:00") == "2024-06-14T00:00:00"
    assert next_iso("cron(0 0 15W * ? *)", "2024-09-01T00:00:00") == "2024-09-16T00:00:00"
    # A weekday is itself: 2024-03-15 is a Friday.
    assert next_iso("cron(0 0 15W * ? *)", "2024-03-01T00:00:00") == "2024-03-15T00:00:00"
    # 2024-06-01 is a Saturday: not back into May, forward to Monday the 3rd.
    assert next_iso("cron(0 0 1W * ? *)", "2024-05-02T00:00:00") == "2024-06-03T00:00:00"
    # 2024-03-31 is a Sunday: not into April, back to Friday the 29th.
    assert next_iso("cron(0 0 31W * ? *)", "2024-03-01T00:00:00") == "2024-03-29T00:00:00"
    # AWS's own example, 3W: 2024-03-03 is a Sunday -> Monday the 4th.
    assert next_iso("cron(0 0 3W * ? *)", "2024-03-01T00:00:00") == "2024-03-04T00:00:00"


def test_nw_never_fires_in_a_month_shorter_than_n() -> None:
    # 31W: April (30 days) is skipped; 2024-05-31 is a Friday.
    assert next_iso("cron(0 0 31W * ? *)", "2024-04-01T00:00:00") == "2024-05-31T00:00:00"


def test_l_in_day_of_week() -> None:
    # Alone it is the last day of the week, Saturday.
    assert next_iso("cron(0 0 ? * L *)", "2024-03-13T00:00:00") == "2024-03-16T00:00:00"
    # 5L is the last Thursday, 6L / FRIL the last Friday of the month.
    assert next_iso("cron(0 0 ? * 5L *)", "2024-03-01T00:00:00") == "2024-03-28T00:00:00"
    assert fires("cron(0 0 ? * 6L *)", "2024-03-01T00:00:00", 3) == [
        "2024-03-29T00:00:00",
        "2024-04-26T00:00:00",
        "2024-05-31T00:00:00",
    ]
    assert next_iso("cron(0 0 ? * FRIL *)", "2024-03-30T00:00:00") == "2024-04-26T00:00:00"
    # Last Sunday of February 2024 (leap): the 25th.
    assert next_iso("cron(0 0 ? 2 1L *)", "2024-01-01T00:00:00") == "2024-02-25T00:00:00"


def test_hash_is_the_nth_weekday_and_a_missing_fifth_skips_the_month() -> None:
    # 3#2: the second Tuesday (AWS's example); March 2024's Tuesdays are 5, 12, 19, 26.
    assert next_iso("cron(0 0 ? * 3#2 *)", "2024-03-01T00:00:00") == "2024-03-12T00:00:00"
    assert next_iso("cron(0 0 ? * TUE#2 *)", "2024-03-12T00:00:00") == "2024-04-09T00:00:00"
    # Fifth Friday: March 2024 has one (29th), April none, May one (31st).
    assert fires("cron(0 0 ? * 6#5 *)", "2024-03-01T00:00:00", 2) == [
        "2024-03-29T00:00:00",
        "2024-05-31T00:00:00",
    ]
    # First Monday when the 1st is a Monday: 2024-04-01.
    assert next_iso("cron(0 0 ? * 2#1 *)", "2024-03-05T00:00:00") == "2024-04-01T00:00:00"


# -- years ---------------------------------------------------------------------------------------


def test_year_field_and_its_bounds() -> None:
    assert next_iso("cron(0 0 1 1 ? 2030)", "2024-03-13T00:00:00") == "2030-01-01T00:00:00"
    assert next_iso("cron(0 0 1 1 ? 2030)", "2030-01-01T00:00:00") is None
    assert next_iso("cron(0 0 1 1 ? 2199)", "2198-06-01T00:00:00") == "2199-01-01T00:00:00"
    assert next_iso("cron(59 23 31 12 ? 2199)", "2199-12-31T23:58:59") == "2199-12-31T23:59:00"
    assert next_iso("cron(59 23 31 12 ? 2199)", "2199-12-31T23:59:00") is None
    assert next_iso("cron(0 0 * * ? 1970-2000)", "2024-03-13T00:00:00") is None
    assert next_iso("cron(0 0 1 1 ? 2025/5)", "2026-01-01T00:00:00") == "2030-01-01T00:00:00"
    assert next_iso("cron(0 0 1 1 ? 2024,2026)", "2024-06-01T00:00:00") == "2026-01-01T00:00:00"


def test_the_search_gives_up_after_2199() -> None:
    every_minute = parse_schedule("cron(* * * * ? *)")
    assert iso(every_minute.next_after(ms("2199-12-31T23:58:00"))) == "2199-12-31T23:59:00"
    assert every_minute.next_after(ms("2199-12-31T23:59:00")) is None
    assert every_minute.next_after(ms("3000-01-01T00:00:00")) is None


def test_before_1970_the_first_fire_is_the_epoch() -> None:
    assert parse_schedule("cron(* * * * ? *)").next_after(-10 * DAY) == 0
    assert parse_schedule("cron(0 0 1 1 ? 1970)").next_after(-1) == 0
    assert parse_schedule("cron(0 0 1 1 ? 1970)").next_after(0) is None


def test_a_cron_that_can_never_fire_returns_none_quickly() -> None:
    never = parse_schedule("cron(0 0 30 2 ? *)")  # 30 February
    started = time.perf_counter()
    assert never.next_after(ms("2024-01-01T00:00:00")) is None
    assert parse_schedule("cron(0 0 31W 4 ? *)").next_after(0) is None
    assert time.perf_counter() - started < 1.0


def test_sparse_schedules_are_found_without_scanning_minutes() -> None:
    sparse = parse_schedule("cron(59 23 29 2 ? 2196)")
    started = time.perf_counter()
    for _ in range(200):
        assert sparse.next_after(0) == ms("2196-02-29T23:59:00")
    assert time.perf_counter() - started < 1.0


# -- agreement with a minute-by-minute reference ---------------------------------------------------


def _last_day(t: datetime) -> int:
    return calendar.monthrange(t.year, t.month)[1]


REFERENCE: list[tuple[str, Callable[[datetime], bool]]] = [
    ("cron(0/15 * * * ? *)", lambda t: t.minute % 15 == 0),
    (
        "cron(0/5 8-17 ? * MON-FRI *)",
        lambda t: t.minute % 5 == 0 and 8 <= t.hour <= 17 and t.weekday() < 5,
    ),
    ("cron(7 */6 1-10 * ? *)", lambda t: t.minute == 7 and t.hour % 6 == 0 and t.day <= 10),
    ("cron(30 2 L * ? *)", lambda t: (t.minute, t.hour) == (30, 2) and t.day == _last_day(t)),
    (
        "cron(0 12 ? * 6L *)",
        lambda t: (t.minute, t.hour) == (0, 12) and t.weekday() == 4 and t.day + 7 > _last_day(t),
    ),
    (
        "cron(45 6 ? * 4#3 *)",
        lambda t: (t.minute, t.hour) == (45, 6) and t.weekday() == 2 and 15 <= t.day <= 21,
    ),
    ("cron(0 0 ? * SAT,SUN *)", lambda t: (t.minute, t.hour) == (0, 0) and t.weekday() >= 5),
]


@pytest.mark.parametrize(("expression", "matches"), REFERENCE, ids=[e for e, _ in REFERENCE])
def test_agrees_with_a_minute_by_minute_reference(
    expression: str, matches: Callable[[datetime], bool]
) -> None:
    start = datetime(2024, 1, 27, tzinfo=timezone.utc)  # spans a leap February and month ends
    end = start + timedelta(days=70)
    expected: list[int] = []
    t = start + timedelta(minutes=1)
    while t < end:
        if matches(t):
            expected.append(int(t.timestamp() * 1000))
        t += timedelta(minutes=1)
    schedule = parse_schedule(expression)
    got: list[int] = []
    current = int(start.timestamp() * 1000)
    while True:
        fire = schedule.next_after(current)
        assert fire is not None
        if fire >= int(end.timestamp() * 1000):
            break
        got.append(fire)
        current = fire
    assert expected
    assert got == expected


# -- rate ----------------------------------------------------------------------------------------


def test_rate_fires_one_period_after_the_anchor_then_every_period() -> None:
    anchor = ms("2024-03-13T10:07:30")
    schedule = parse_schedule("rate(5 minutes)", anchor_ms=anchor)
    assert isinstance(schedule, RateSchedule)
    assert schedule.period_ms == 5 * MINUTE
    assert schedule.next_after(anchor) == anchor + 5 * MINUTE
    assert schedule.next_after(anchor - DAY) == anchor + 5 * MINUTE
    assert schedule.next_after(anchor + 5 * MINUTE - 1) == anchor + 5 * MINUTE
    assert schedule.next_after(anchor + 5 * MINUTE) == anchor + 10 * MINUTE
    assert schedule.next_after(anchor + 7 * MINUTE) == anchor + 10 * MINUTE


def test_rate_units_and_the_default_anchor() -> None:
    assert parse_schedule("rate(2 hours)").next_after(0) == 2 * HOUR
    assert parse_schedule("rate(3 days)").next_after(4 * DAY) == 6 * DAY
    assert parse_schedule("rate(1 day)", 123).next_after(123 + DAY) == 123 + 2 * DAY
    assert parse_schedule("rate(90 minutes)", anchor_ms=1).next_after(0) == 1 + 90 * MINUTE


def test_the_expression_is_kept() -> None:
    assert parse_schedule("rate(5 minutes)").expression == "rate(5 minutes)"
    cron = parse_schedule("cron(0 10 * * ? *)")
    assert isinstance(cron, CronSchedule)
    assert cron.expression == "cron(0 10 * * ? *)"


# -- invalid expressions ---------------------------------------------------------------------------

INVALID = [
    # rate: AWS's documented singular/plural rule, units, values
    "rate(1 minutes)",
    "rate(1 hours)",
    "rate(5 hour)",
    "rate(3 minute)",
    "rate(2 day)",
    "rate(0 minutes)",
    "rate(0 minute)",
    "rate(-5 minutes)",
    "rate(1.5 hours)",
    "rate(5 seconds)",
    "rate(1 second)",
    "rate(2 weeks)",
    "rate(5 Minutes)",
    "rate(5minutes)",
    "rate(minutes)",
    "rate(5)",
    "rate()",
    "rate(5 minutes",
    " rate(5 minutes)",
    "rate(5 minutes) ",
    "RATE(5 minutes)",
    # cron: day-of-month / day-of-week
    "cron(0 10 * * * *)",
    "cron(0 10 ? * ? *)",
    "cron(0 10 1 * MON *)",
    "cron(0 10 1 * 2 *)",
    # cron: field count
    "cron(0 10 * * ?)",
    "cron(* * * * *)",
    "cron(0 0 10 * * ? *)",
    "cron()",
    "cron( )",
    # cron: out of range
    "cron(60 * * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 0 * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 1 0 ? *)",
    "cron(0 0 1 13 ? *)",
    "cron(0 0 ? * 0 *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 1 * ? 1969)",
    "cron(0 0 1 * ? 2200)",
    "cron(0 0 1 * ? 1970-2200)",
    "cron(-1 * * * ? *)",
    # cron: steps
    "cron(*/60 * * * ? *)",
    "cron(0/0 * * * ? *)",
    "cron(0 */24 * * ? *)",
    "cron(0 0 1 */13 ? *)",
    "cron(0 0 ? * */8 *)",
    "cron(0/ * * * ? *)",
    "cron(/5 * * * ? *)",
    "cron(0 0 1 * ? 2030-2020)",
    # cron: wildcards where AWS does not allow them
    "cron(L * * * ? *)",
    "cron(0 L * * ? *)",
    "cron(0 0 1 L ? *)",
    "cron(0 0 1 * ? L)",
    "cron(? 0 1 * ? *)",
    "cron(0 0 3#2 * ? *)",
    "cron(0 0 ? * 3W *)",
    "cron(0 0 1 * ? 2024W)",
    # cron: L, W, #
    "cron(0 0 ? * 3#1,6#3 *)",
    "cron(0 0 ? * 3#0 *)",
    "cron(0 0 ? * 3#6 *)",
    "cron(0 0 ? * 8#1 *)",
    "cron(0 0 ? * 3# *)",
    "cron(0 0 ? * #1 *)",
    "cron(0 0 ? * 8L *)",
    "cron(0 0 ? * 1,6L *)",
    "cron(0 0 ? * L,1 *)",
    "cron(0 0 32W * ? *)",
    "cron(0 0 0W * ? *)",
    "cron(0 0 W * ? *)",
    "cron(0 0 1W,15 * ? *)",
    "cron(0 0 1-5W * ? *)",
    "cron(0 0 L,15 * ? *)",
    "cron(0 0 L-2 * ? *)",
    "cron(0 0 WL * ? *)",
    # cron: names and syntax
    "cron(0 0 1 JANUARY ? *)",
    "cron(0 0 ? * MONDAY *)",
    "cron(0 0 ? 1 MON-XYZ *)",
    "cron(0 0 1 MON ? *)",
    "cron(0 0 ? * JAN *)",
    "cron(0,,5 * * * ? *)",
    "cron(0, * * * ? *)",
    "cron(1-2-3 * * * ? *)",
    "cron(0 0 1 * ? *",
    "cron 0 0 1 * ? *",
    "CRON(0 0 1 * ? *)",
    "cron(0\t0 1 * ? *)",
    "cron(0/5, 9-18, ?, *, MON-FRI, *)",
    "cron(15 12 ? * -1 *)",
    # other forms
    "at(2024-03-13T10:00:00)",
    "",
    "garbage",
    "rate",
    "cron",
    "every 5 minutes",
    "rate(5 minutes)" + " " * 300,
    "cron(0 0 1 1 ? " + ",".join(["2030"] * 60) + ")",
]


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_expressions_get_aws_code_and_message(expression: str) -> None:
    with pytest.raises(PatternError) as caught:
        parse_schedule(expression)
    assert caught.value.code == "ValidationException"
    assert caught.value.message == "Parameter ScheduleExpression is not valid."


def test_a_non_string_is_invalid_too() -> None:
    with pytest.raises(PatternError):
        parse_schedule(None)  # type: ignore[arg-type]


VALID = [
    "rate(1 minute)",
    "rate(1 hour)",
    "rate(1 day)",
    "rate(2 minutes)",
    "rate(5 hours)",
    "rate(365 days)",
    "cron(0 10 * * ? *)",
    "cron(0 10 ? * * *)",
    "cron(0 0 ? * 1-7 *)",
    "cron(0 0 ? * SUN-SAT *)",
    "cron(0 0 1-31 1-12 ? 1970-2199)",
    "cron(59 23 31 DEC ? 2199)",
    "cron(*/59 */23 */31 */12 ? */229)",
    "cron(0 0 ? * 1/2 *)",
    "cron(0 0 ? * 7#5 *)",
    "cron(0 0 1W * ? *)",
    "cron(0 0 ? * SAT#1 *)",
    "cron(0  10  *  *  ?  *)",
    "cron(0 0 1 1 ? " + ",".join(["2030"] * 40) + ")",
]


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_parse_and_fire(expression: str) -> None:
    schedule = parse_schedule(expression)
    assert schedule.expression == expression
    fire = schedule.next_after(0)
    assert fire is not None and fire > 0
