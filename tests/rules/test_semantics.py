"""What matches what: EventBridge's matching rules, case by case (beyond the AWS vectors).

Each case is checked through the compiled matcher and the reference matcher, so both carry the
same specification.
"""

from __future__ import annotations

from typing import Any

import pytest

from raybus.rules import compile_pattern
from raybus.rules.reference import reference_matches

CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # -- arrays ----------------------------------------------------------------------------
    ("a value in an event array matches", {"a": ["x"]}, {"a": ["y", "x"]}, True),
    ("an empty event array has no value", {"a": [{"exists": True}]}, {"a": []}, False),
    ("an empty event array counts as absent", {"a": [{"exists": False}]}, {"a": []}, True),
    ("arrays of arrays are crushed", {"a": {"b": ["x"]}}, {"a": [[{"b": "x"}]]}, True),
    (
        "two fields from one array element match",
        {"e": {"first": ["Anna"], "last": ["Smith"]}},
        {"e": [{"first": "John", "last": "Doe"}, {"first": "Anna", "last": "Smith"}]},
        True,
    ),
    (
        "two fields from different elements of one array do not match",
        {"e": {"first": ["Anna"], "last": ["Jones"]}},
        {"e": [{"first": "Anna", "last": "Smith"}, {"first": "Peter", "last": "Jones"}]},
        False,
    ),
    (
        "elements of different arrays combine freely",
        {"a": {"x": [1]}, "b": {"y": [2]}},
        {"a": [{"x": 0}, {"x": 1}], "b": [{"y": 2}, {"y": 3}]},
        True,
    ),
    (
        "absence is judged among elements agreeing with fields tested before it",
        {"a": {"b": [3], "c": [{"exists": False}]}},
        {"a": [{"b": 1, "c": 2}, {"b": 3}]},
        True,
    ),
    (
        "absence tested first sees every element (event-ruler's field order)",
        {"a": {"c": [{"exists": False}], "d": [3]}},
        {"a": [{"c": 1}, {"d": 3}]},
        False,
    ),
    # -- structure ---------------------------------------------------------------------------
    ("a nested event key matches a dotted pattern key", {"a.b": ["x"]}, {"a": {"b": "x"}}, True),
    ("a dotted event key matches a nested pattern", {"a": {"b": ["x"]}}, {"a.b": "x"}, True),
    ("exists only sees leaves", {"a": [{"exists": True}]}, {"a": {"b": 1}}, False),
    ("exists false holds under a missing parent", {"a": {"b": [{"exists": False}]}}, {}, True),
    ("null is a value", {"a": [{"exists": True}]}, {"a": None}, True),
    ("null is not a missing field", {"a": [None]}, {}, False),
    ("the empty string is a value", {"a": [""]}, {"a": ""}, True),
    ("keys are case sensitive", {"A": ["x"]}, {"a": "x"}, False),
    ("a JSON string holding JSON is a string", {"a": {"b": ["x"]}}, {"a": '{"b": "x"}'}, False),
    # -- strings -----------------------------------------------------------------------------
    ("exact strings are case sensitive", {"a": ["x"]}, {"a": "X"}, False),
    ("a string never equals a number", {"a": ["300"]}, {"a": 300}, False),
    ("true is not the string true", {"a": [True]}, {"a": "true"}, False),
    ("an empty prefix matches any string", {"a": [{"prefix": ""}]}, {"a": "q"}, True),
    ("a prefix never matches a number", {"a": [{"prefix": "1"}]}, {"a": 12}, False),
    ("suffix", {"a": [{"suffix": ".png"}]}, {"a": "x.png"}, True),
    (
        "suffix ignoring case",
        {"a": [{"suffix": {"equals-ignore-case": ".PnG"}}]},
        {"a": "X.PNG"},
        True,
    ),
    ("prefix ignoring case", {"a": [{"prefix": {"equals-ignore-case": "eV"}}]}, {"a": "Evx"}, True),
    ("equals ignoring case", {"a": [{"equals-ignore-case": "aBc"}]}, {"a": "ABC"}, True),
    (
        "equals ignoring case is whole-value",
        {"a": [{"equals-ignore-case": "ab"}]},
        {"a": "abc"},
        False,
    ),
    ("exactly is an exact match", {"a": [{"exactly": "10.0.0.1"}]}, {"a": "10.0.0.1"}, True),
    # -- wildcards ---------------------------------------------------------------------------
    ("a star matches nothing too", {"a": [{"wildcard": "ab*"}]}, {"a": "ab"}, True),
    ("stars match across characters", {"a": [{"wildcard": "a*c*e"}]}, {"a": "abcde"}, True),
    ("a wildcard is anchored at both ends", {"a": [{"wildcard": "b*"}]}, {"a": "abc"}, False),
    ("an escaped star is literal", {"a": [{"wildcard": "a\\*b"}]}, {"a": "a*b"}, True),
    ("an escaped star is not a wildcard", {"a": [{"wildcard": "a\\*b"}]}, {"a": "axb"}, False),
    ("an escaped backslash is literal", {"a": [{"wildcard": "a\\\\*"}]}, {"a": "a\\x"}, True),
    ("an empty wildcard matches only empty", {"a": [{"wildcard": ""}]}, {"a": ""}, True),
    ("a star alone needs a string", {"a": [{"wildcard": "*"}]}, {"a": 1}, False),
    # -- numbers -----------------------------------------------------------------------------
    ("an exact number matches its other spellings", {"a": [300]}, {"a": 300.0}, True),
    ("numbers compare at six decimals", {"a": [{"numeric": ["=", 1.5]}]}, {"a": 1.5000001}, True),
    ("the sixth decimal counts", {"a": [{"numeric": ["=", 1.5]}]}, {"a": 1.500001}, False),
    ("open lower bound", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 0}, False),
    ("closed upper bound", {"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 5}, True),
    ("open upper bound", {"a": [{"numeric": ["<", 5]}]}, {"a": 5}, False),
    ("numeric never matches a string", {"a": [{"numeric": [">", 0]}]}, {"a": "7"}, False),
    ("numeric stops at five billion", {"a": [{"numeric": [">", 0]}]}, {"a": 5e9 + 1}, False),
    ("five billion itself is in range", {"a": [{"numeric": [">=", 5e9]}]}, {"a": 5e9}, True),
    ("a large exact number matches itself", {"a": [1e10]}, {"a": 1e10}, True),
    ("a large exact number is not numeric", {"a": [1e10]}, {"a": 1e10 + 1}, False),
    ("negative ranges", {"a": [{"numeric": [">", -122.5, "<", -122.4]}]}, {"a": -122.42}, True),
    # -- anything-but ------------------------------------------------------------------------
    ("anything-but needs a value", {"a": [{"anything-but": "x"}]}, {}, False),
    ("anything-but accepts null", {"a": [{"anything-but": "x"}]}, {"a": None}, True),
    ("anything-but a string accepts numbers", {"a": [{"anything-but": "1"}]}, {"a": 1}, True),
    ("anything-but a number rejects it", {"a": [{"anything-but": 1}]}, {"a": 1.0}, False),
    ("anything-but a number accepts strings", {"a": [{"anything-but": 1}]}, {"a": "1"}, True),
    ("anything-but a list", {"a": [{"anything-but": ["x", "y"]}]}, {"a": "y"}, False),
    ("anything-but prefix", {"a": [{"anything-but": {"prefix": "ab"}}]}, {"a": "abc"}, False),
    (
        "anything-but prefix accepts numbers",
        {"a": [{"anything-but": {"prefix": "1"}}]},
        {"a": 12},
        True,
    ),
    ("anything-but suffix", {"a": [{"anything-but": {"suffix": "z"}}]}, {"a": "xyz"}, False),
    (
        "anything-but ignoring case",
        {"a": [{"anything-but": {"equals-ignore-case": "X"}}]},
        {"a": "x"},
        False,
    ),
    (
        "anything-but wildcard",
        {"a": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"a": "a/lib/b"},
        False,
    ),
    ("one array element is enough", {"a": [{"anything-but": "x"}]}, {"a": ["x", "y"]}, True),
    # -- IP addresses ------------------------------------------------------------------------
    ("cidr", {"a": [{"cidr": "10.0.0.0/24"}]}, {"a": "10.0.0.255"}, True),
    ("cidr outside", {"a": [{"cidr": "10.0.0.0/24"}]}, {"a": "10.0.1.0"}, False),
    (
        "a cidr block starts at the address as written",
        {"a": [{"cidr": "10.0.0.5/24"}]},
        {"a": "10.0.0.4"},
        False,
    ),
    ("IPv6 cidr", {"a": [{"cidr": "2001:db8::/32"}]}, {"a": "2001:0db8:ffff::1"}, True),
    (
        "an IPv4 address is not in an IPv6 block",
        {"a": [{"cidr": "::/1"}]},
        {"a": "10.0.0.1"},
        False,
    ),
    (
        "an exact IP matches its other spellings",
        {"a": ["2001:db8::1"]},
        {"a": "2001:DB8:0:0:0:0:0:1"},
        True,
    ),
    (
        "an IPv4-mapped IPv6 address is IPv4",
        {"a": [{"cidr": "10.0.0.0/8"}]},
        {"a": "::ffff:a00:1"},
        True,
    ),
    (
        "a leading zero is not an address",
        {"a": [{"cidr": "10.0.0.0/8"}]},
        {"a": "10.0.0.01"},
        False,
    ),
    # -- combining ---------------------------------------------------------------------------
    ("fields are and-ed", {"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),
    ("values are or-ed", {"a": ["x", {"prefix": "q"}]}, {"a": "qq"}, True),
    ("$or alternatives", {"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "y"}, True),
    (
        "$or multiplies with the fields beside it",
        {"c": ["z"], "$or": [{"a": ["x"]}, {"b": ["y"]}]},
        {"b": "y"},
        False,
    ),
    (
        "$or nested in a field",
        {"d": {"$or": [{"a": [1]}, {"b": [{"numeric": [">", 5]}]}]}},
        {"d": {"b": 6}},
        True,
    ),
    ("exists true or absent", {"a": [{"exists": True}, {"exists": False}]}, {}, True),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_matching_follows_eventbridge(
    pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.matches(event) is expected
    assert reference_matches(compiled.branches, event) is expected


def test_a_duplicated_key_keeps_its_last_value() -> None:
    compiled = compile_pattern('{"a": ["x"], "a": ["y"]}')
    assert not compiled.matches({"a": "x"}) and compiled.matches({"a": "y"})


def test_duplicated_objects_merge_their_fields() -> None:
    compiled = compile_pattern('{"d": {"a": ["x"]}, "d": {"b": ["y"]}}')
    assert compiled.matches({"d": {"a": "x", "b": "y"}})
    assert not compiled.matches({"d": {"b": "y"}})


def test_events_may_be_json_text() -> None:
    compiled = compile_pattern({"a": [1]})
    assert compiled.matches('{"a": 1.0}') and not compiled.matches(b'{"a": 2}')


def test_mapping_subclasses_tuples_and_decimals_are_json_values() -> None:
    from collections import OrderedDict
    from decimal import Decimal

    compiled = compile_pattern({"a": {"b": [{"numeric": ["=", 1.25]}]}, "c": ["x"]})
    assert compiled.matches(OrderedDict(a=({"b": Decimal("1.25")},), c="x"))


def test_other_python_objects_are_not_values() -> None:
    assert not compile_pattern({"a": [{"exists": True}]}).matches({"a": object()})
