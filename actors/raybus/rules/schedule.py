"""EventBridge scheduled-rule expressions: ``rate(value unit)`` and ``cron(six fields)``, in UTC.

:func:`parse_schedule` validates a rule's ``ScheduleExpression`` as EventBridge's PutRule does
and returns a :class:`Schedule` whose ``next_after(after_ms)`` is the first fire time (epoch
milliseconds, UTC) strictly after ``after_ms``, or ``None`` when the schedule never fires again.
Every invalid expression raises ``PatternError("ValidationException", "Parameter
ScheduleExpression is not valid.")``, AWS's code and message for it.

Rate (``rate(5 minutes)``): a positive integer and a unit ``minute|hour|day``, singular when the
value is 1 and plural otherwise (``rate(1 hours)`` and ``rate(5 hour)`` are invalid, as AWS
documents). AWS starts a rate when the rule is created; here it fires at ``anchor_ms + k *
period`` for ``k >= 1``, where ``anchor_ms`` (``parse_schedule``'s argument, 0 by default) is the
rule's creation time, to the millisecond.

Cron (``cron(minutes hours day-of-month month day-of-week year)``), the Quartz-derived dialect AWS
documents, not Unix cron:

====================  ==================  ====================
field                 values              wildcards
====================  ==================  ====================
minutes               0-59                ``, - * /``
hours                 0-23                ``, - * /``
day-of-month          1-31                ``, - * ? / L W``
month                 1-12 or JAN-DEC     ``, - * /``
day-of-week           1-7 or SUN-SAT      ``, - * ? / L #``
year                  1970-2199           ``, - * /``
====================  ==================  ====================

- Exactly one of day-of-month and day-of-week is ``?`` (AWS: you can't specify both).
- ``a/n`` is ``a, a+n, ...`` up to the field's maximum, ``*/n`` starts at the minimum and
  ``a-b/n`` stays within ``a-b``; the step is 1 up to the field's maximum (``*/60`` is invalid).
  A range whose end is below its start wraps around (``FRI-MON``, ``22-2``), as in Quartz, except
  in the year field.
- Day-of-week 1 is Sunday. Names (``JAN``, ``MON``), ``L`` and ``W`` are case-insensitive.
- Day-of-month ``L`` is the month's last day, ``LW`` its last weekday (Monday-Friday) and ``nW``
  the weekday nearest day ``n`` within the month (``1W`` on a Saturday is Monday the 3rd); ``nW``
  never fires in a month shorter than ``n`` days. Each stands alone in its field.
- Day-of-week ``L`` alone is Saturday (the last day of the week), ``nL`` the month's last
  weekday ``n`` (``6L``/``FRIL``: last Friday) and ``n#k`` its ``k``-th (k 1-5) weekday ``n``
  (``2#1``: first Monday; no fire in a month without a fifth one). Each stands alone in its
  field: AWS documents ``3#1,6#3`` as invalid.
- A plain day-of-month that a month lacks (``31``, ``30`` in February) is skipped in that month;
  a cron that can never fire (``30 2``) parses, and ``next_after`` returns ``None``.
- Fire times are whole minutes. ``next_after`` walks year, month, day, hour and minute candidates
  (never minute by minute) and gives up after 2199.

``at(...)`` is EventBridge Scheduler's one-time schedule and is not valid for rules. Expressions
are limited to 256 characters (PutRule's constraint); keywords and units are lower case.
"""

from __future__ import annotations

import calendar
import re
import time
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from raybus.rules.errors import VALIDATION_CODE, PatternError

__all__ = [
    "INVALID_SCHEDULE_MESSAGE",
    "MAX_EXPRESSION_LENGTH",
    "CronSchedule",
    "RateSchedule",
    "Schedule",
    "parse_schedule",
]

INVALID_SCHEDULE_MESSAGE = "Parameter ScheduleExpression is not valid."
MAX_EXPRESSION_LENGTH = 256

_MINUTE_MS = 60_000
_UNIT_MS = {"minute": _MINUTE_MS, "hour": 60 * _MINUTE_MS, "day": 24 * 60 * _MINUTE_MS}
_FIRST_YEAR = 1970
_LAST_YEAR = 2199
_END_MINUTE = calendar.timegm((_LAST_YEAR + 1, 1, 1, 0, 0, 0)) // 60  # 2200-01-01T00:00Z

_RATE = re.compile(r"rate\(([0-9]+) +([a-z]+)\)")
_CRON = re.compile(r"cron\(([^ ()]+(?: +[^ ()]+)*)\)")
_DIGITS = re.compile(r"[0-9]+")
_NTH = re.compile(r"([0-9A-Z]+)#([0-9]+)")

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_DAYS = {
    name: number
    for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)
}
_NO_NAMES: Mapping[str, int] = {}


class Schedule(Protocol):
    """A parsed schedule expression."""

    @property
    def expression(self) -> str:
        """The expression as given."""
        ...

    def next_after(self, after_ms: int) -> int | None:
        """First fire time (epoch ms, UTC) strictly after ``after_ms``; None if there is none."""
        ...


class _Invalid(ValueError):
    pass


def _invalid() -> PatternError:
    return PatternError(VALIDATION_CODE, INVALID_SCHEDULE_MESSAGE)


# -- rate ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateSchedule:
    """``rate(value unit)``: fires every ``period_ms`` after ``anchor_ms`` (the rule's creation)."""

    expression: str
    period_ms: int
    anchor_ms: int = 0

    def next_after(self, after_ms: int) -> int | None:
        # The fire times are anchor + k * period for k >= 1.
        k = max(1, (after_ms - self.anchor_ms) // self.period_ms + 1)
        return self.anchor_ms + k * self.period_ms


def _parse_rate(expression: str, anchor_ms: int) -> RateSchedule:
    match = _RATE.fullmatch(expression)
    if match is None:
        raise _Invalid
    value = int(match.group(1))
    unit = match.group(2)
    singular = unit[:-1] if unit.endswith("s") else unit
    if value < 1 or singular not in _UNIT_MS or (unit == singular) != (value == 1):
        raise _Invalid
    return RateSchedule(expression, value * _UNIT_MS[singular], anchor_ms)


# -- cron fields -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    low: int
    high: int
    names: Mapping[str, int]
    cyclic: bool = True


_MINUTE_FIELD = _Field(0, 59, _NO_NAMES)
_HOUR_FIELD = _Field(0, 23, _NO_NAMES)
_DOM_FIELD = _Field(1, 31, _NO_NAMES)
_MONTH_FIELD = _Field(1, 12, _MONTHS)
_DOW_FIELD = _Field(1, 7, _DAYS)
_YEAR_FIELD = _Field(_FIRST_YEAR, _LAST_YEAR, _NO_NAMES, cyclic=False)


def _number(text: str) -> int:
    if _DIGITS.fullmatch(text) is None:
        raise _Invalid
    return int(text)


def _value(text: str, field: _Field) -> int:
    value = field.names.get(text)
    if value is None:
        value = _number(text)
    if not field.low <= value <= field.high:
        raise _Invalid
    return value


def _item(text: str, field: _Field) -> set[int]:
    base, slash, step_text = text.partition("/")
    step = 1
    if slash:
        step = _number(step_text)
        if step < 1 or (field.cyclic and step > field.high):
            raise _Invalid
    if base == "*":
        start, end = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _value(first, field), _value(last, field)
    else:
        start = _value(base, field)
        end = field.high if slash else start
    if start <= end:
        return set(range(start, end + 1, step))
    if not field.cyclic:
        raise _Invalid
    size = field.high - field.low + 1
    span = (end - start) % size
    return {field.low + (start - field.low + offset) % size for offset in range(0, span + 1, step)}


def _values(text: str, field: _Field) -> tuple[int, ...]:
    """A field of ``,``-separated items (``*``, ``a``, ``a-b``, each with an optional ``/n``)."""
    values: set[int] = set()
    for item in text.split(","):
        values |= _item(item, field)
    return tuple(sorted(values))


_DayKind = Literal["values", "last", "last_weekday", "nearest_weekday", "last_of", "nth"]


@dataclass(frozen=True)
class _Days:
    """Which days of a month a day-of-month or day-of-week field selects."""

    kind: _DayKind
    values: tuple[int, ...] = ()  # "values": days of month, or days of week (1 = Sunday)
    day: int = 0  # "nearest_weekday": day of month; "last_of"/"nth": day of week
    nth: int = 0  # "nth": 1-5

    def in_month(self, year: int, month: int, dom: bool) -> list[int]:
        first_weekday, length = calendar.monthrange(year, month)  # Monday = 0

        def weekday(day: int) -> int:  # 1 = Sunday ... 7 = Saturday
            return (first_weekday + day) % 7 + 1

        if self.kind == "values":
            if dom:
                return [day for day in self.values if day <= length]
            return [day for day in range(1, length + 1) if weekday(day) in self.values]
        if self.kind == "last":
            return [length]
        if self.kind == "last_weekday":
            return [length - {7: 1, 1: 2}.get(weekday(length), 0)]
        if self.kind == "nearest_weekday":
            day = self.day
            if day > length:
                return []
            if weekday(day) == 7:  # Saturday: the Friday before, or Monday when that's the 1st
                return [day - 1 if day > 1 else day + 2]
            if weekday(day) == 1:  # Sunday: the Monday after, or Friday when that's past the end
                return [day + 1 if day < length else day - 2]
            return [day]
        if self.kind == "last_of":
            return [length - (weekday(length) - self.day) % 7]
        first = 1 + (self.day - weekday(1)) % 7  # "nth"
        day = first + 7 * (self.nth - 1)
        return [day] if day <= length else []


def _day_of_month(text: str) -> _Days:
    if text == "L":
        return _Days("last")
    if text == "LW":
        return _Days("last_weekday")
    if text.endswith("W"):
        return _Days("nearest_weekday", day=_value(text[:-1], _DOM_FIELD))
    return _Days("values", _values(text, _DOM_FIELD))


def _day_of_week(text: str) -> _Days:
    if text == "L":
        return _Days("values", (7,))
    nth = _NTH.fullmatch(text)
    if nth is not None:
        count = _number(nth.group(2))
        if not 1 <= count <= 5:
            raise _Invalid
        return _Days("nth", day=_value(nth.group(1), _DOW_FIELD), nth=count)
    if text.endswith("L"):
        return _Days("last_of", day=_value(text[:-1], _DOW_FIELD))
    return _Days("values", _values(text, _DOW_FIELD))


# -- cron ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CronSchedule:
    """``cron(minutes hours day-of-month month day-of-week year)`` in UTC."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...]
    days: _Days
    days_are_of_month: bool

    def next_after(self, after_ms: int) -> int | None:
        start = max(after_ms // _MINUTE_MS + 1, 0)  # the first whole minute after after_ms
        if start >= _END_MINUTE:
            return None
        year0, month0, day0, hour0, minute0 = _fields_of(start)
        for year in self.years[bisect_left(self.years, year0) :]:
            in_first_year = year == year0
            for month in self.months[bisect_left(self.months, month0 if in_first_year else 1) :]:
                in_first_month = in_first_year and month == month0
                for day in self.days.in_month(year, month, self.days_are_of_month):
                    if in_first_month and day < day0:
                        continue
                    on_first_day = in_first_month and day == day0
                    for hour in self.hours[bisect_left(self.hours, hour0 if on_first_day else 0) :]:
                        at_first_hour = on_first_day and hour == hour0
                        i = bisect_left(self.minutes, minute0 if at_first_hour else 0)
                        if i < len(self.minutes):
                            fire = (year, month, day, hour, self.minutes[i], 0)
                            return calendar.timegm(fire) * 1000
        return None


def _fields_of(minute: int) -> tuple[int, int, int, int, int]:
    t = time.gmtime(minute * 60)
    return t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min


def _parse_cron(expression: str) -> CronSchedule:
    match = _CRON.fullmatch(expression)
    if match is None:
        raise _Invalid
    fields = match.group(1).upper().split(" ")
    fields = [field for field in fields if field]
    if len(fields) != 6:
        raise _Invalid
    minutes, hours, dom, months, dow, years = fields
    if (dom == "?") == (dow == "?"):
        raise _Invalid
    days = _day_of_week(dow) if dom == "?" else _day_of_month(dom)
    return CronSchedule(
        expression,
        minutes=_values(minutes, _MINUTE_FIELD),
        hours=_values(hours, _HOUR_FIELD),
        months=_values(months, _MONTH_FIELD),
        years=_values(years, _YEAR_FIELD),
        days=days,
        days_are_of_month=dom != "?",
    )


# -- entry point -----------------------------------------------------------------------------


def parse_schedule(expression: str, anchor_ms: int = 0) -> Schedule:
    """Parse a rule's ScheduleExpression; ``anchor_ms`` is when a ``rate(...)`` starts counting.

    Raises ``PatternError("ValidationException", "Parameter ScheduleExpression is not valid.")``
    for anything EventBridge rules do not accept (including Scheduler's ``at(...)``).
    """
    if not isinstance(expression, str) or len(expression) > MAX_EXPRESSION_LENGTH:
        raise _invalid()
    try:
        if expression.startswith("rate("):
            return _parse_rate(expression, anchor_ms)
        if expression.startswith("cron("):
            return _parse_cron(expression)
    except _Invalid:
        pass
    raise _invalid()
