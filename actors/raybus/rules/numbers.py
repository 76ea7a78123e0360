"""AWS's number rules for numeric matching, as integer keys.

EventBridge (event-ruler) compares numbers as "comparable numbers": only values in
[-5.0e9, +5.0e9] take part in numeric matching, with six digits to the right of the decimal point.
Here a number's *key* is ``floor(value * 10**6)`` computed exactly from its decimal value, so
comparing keys is comparing the numbers at AWS's precision; values outside the range have no key
(they can still equal an out-of-range pattern number, see ``compiler``).

Complexity: :func:`number_key` is O(1) and allocation-free for ints and for floats not within
float rounding of a 6th-decimal boundary; those (and very large magnitudes) take an exact
``Decimal`` path.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

__all__ = [
    "KEY_MAX",
    "KEY_MIN",
    "MAX_NUMBER",
    "RANGE_MESSAGE",
    "is_number",
    "number_key",
    "text_key",
]

MAX_NUMBER = 5_000_000_000
SCALE = 1_000_000
KEY_MAX = MAX_NUMBER * SCALE
KEY_MIN = -KEY_MAX
# event-ruler's message (Java prints the bounds as doubles).
RANGE_MESSAGE = "Value must be between -5.0E9 and 5.0E9, inclusive"
_FAST_LIMIT = float(2**50)
_SIX = Decimal(SCALE)


def is_number(value: object) -> bool:
    """True for JSON numbers as Python holds them (int, float, Decimal), never for bool."""
    t = type(value)
    return t is int or t is float or (t is not bool and isinstance(value, (int, float, Decimal)))


def _decimal_key(d: Decimal) -> int | None:
    if not d.is_finite() or d < -MAX_NUMBER or d > MAX_NUMBER:
        return None
    return int((d * _SIX).to_integral_value(rounding=ROUND_FLOOR))


def text_key(text: str) -> int | None:
    """The key of a JSON number literal, or None when it is outside AWS's numeric range."""
    try:
        return _decimal_key(Decimal(text))
    except InvalidOperation:
        return None


def number_key(value: int | float | Decimal) -> int | None:
    """The key of a parsed JSON number (its shortest decimal form), or None out of range."""
    if type(value) is int:
        if -MAX_NUMBER <= value <= MAX_NUMBER:
            return value * SCALE
        return None
    if type(value) is float:
        if not -MAX_NUMBER <= value <= MAX_NUMBER:  # also rejects NaN
            return None
        scaled = value * 1e6
        low = math.floor(scaled)
        frac = scaled - low
        eps = abs(scaled) * 4.5e-16 + 1e-9
        if eps < frac < 1.0 - eps and abs(scaled) < _FAST_LIMIT:
            return int(low)
        return _decimal_key(Decimal(repr(value)))
    if isinstance(value, Decimal):
        return _decimal_key(value)
    if isinstance(value, int):
        return number_key(int(value))
    return number_key(float(value))
