"""Number keys and the value indexes agree with their definitions."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from raybus.rules.cidr import cidr_range, parse_ip
from raybus.rules.index import NumberIndex, WildcardIndex
from raybus.rules.model import wildcard_checker
from raybus.rules.numbers import KEY_MAX, KEY_MIN, number_key, text_key
from raybus.rules.wildcard import complexity

FINITE = st.floats(allow_nan=False, allow_infinity=False)
IN_RANGE = st.floats(min_value=-5e9, max_value=5e9)
NEAR_BOUNDARIES = st.integers(-(10**12), 10**12).flatmap(
    lambda k: st.sampled_from([k / 1e6, (k + 1e-7) / 1e6, (k - 1e-7) / 1e6, k / 1e6 + 1e-12])
)


def _exact(value: float) -> int | None:
    d = Decimal(repr(value))
    if not -5_000_000_000 <= d <= 5_000_000_000:
        return None
    return int((d * 1_000_000).to_integral_value(rounding=ROUND_FLOOR))


@settings(max_examples=400, deadline=None)
@given(st.one_of(FINITE, NEAR_BOUNDARIES, st.integers(-(10**11), 10**11)))
def test_a_number_key_is_its_shortest_decimal_floored_at_six_places(value: float) -> None:
    expected = (
        _exact(float(value))
        if isinstance(value, float)
        else (value * 1_000_000 if -5_000_000_000 <= value <= 5_000_000_000 else None)
    )
    assert number_key(value) == expected


def test_text_keys_follow_the_literal_not_the_float() -> None:
    assert text_key("0.3") == 300_000
    assert text_key("1e400") is None and text_key("-5e9") == KEY_MIN and text_key("5e9") == KEY_MAX
    assert text_key("1.0000009") == 1_000_000


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(KEY_MIN, KEY_MAX), st.integers(0, 10**9)), max_size=8),
    st.lists(st.one_of(IN_RANGE, NEAR_BOUNDARIES, st.integers(-(10**10), 10**10)), max_size=20),
)
def test_the_float_search_of_a_number_index_equals_the_key_definition(
    spans: list[tuple[int, int]], values: list[float]
) -> None:
    items = [(low, min(low + width, KEY_MAX), (i,)) for i, (low, width) in enumerate(spans)]
    index = NumberIndex(items)
    for value in values:
        key = number_key(value)
        expected = {i for low, high, (i,) in items if key is not None and low <= key <= high}
        assert set(index.query(value)) == expected


WILD = st.sampled_from(["*", "a*", "*b", "a*b", "*a*", "ab*ba", "a*b*a", "\\**", "", "b", "a\\\\*"])


@settings(max_examples=200, deadline=None)
@given(st.lists(WILD, max_size=6), st.lists(st.text("ab*\\", max_size=6), max_size=10))
def test_the_wildcard_index_returns_exactly_the_matching_patterns(
    patterns: list[str], values: list[str]
) -> None:
    index = WildcardIndex([(p, i) for i, p in enumerate(patterns)])
    for value in values:
        expected = {i for i, p in enumerate(patterns) if wildcard_checker(p)(value)}
        assert set(index.query(value)) == expected


def test_ip_parsing_follows_event_ruler() -> None:
    assert parse_ip("10.0.0.1") == (4, 0x0A000001)
    assert parse_ip("::ffff:a00:1") == (4, 0x0A000001)
    assert parse_ip("2001:db8::") == (16, 0x20010DB8 << 96)
    for text in ("10.0.0.256", "10.0.0", "010.0.0.1", "1.2.3.4.5", "x::1", "", "::1::"):
        assert parse_ip(text) is None
    assert cidr_range("10.0.0.9/24") == (4, 0x0A000009, 0x0A0000FF)


def test_complexity_counts_live_wildcard_positions() -> None:
    assert complexity(["abc"]) <= 1
    assert complexity(["*:*:*:*:*:event-bus/*"]) > 10
    assert complexity(["arn:aws:events:us-east-1:*:event-bus/*"]) <= 10
    assert complexity(["/Users/*/dir/dir/dir/dir/dir/doc.txt"]) <= 10
