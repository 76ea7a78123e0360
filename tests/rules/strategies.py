"""Hypothesis strategies: random event patterns and events over a small shared vocabulary.

The vocabulary is deliberately tiny (three field names, a dozen values) so that random patterns
and random events actually meet: prefixes that are prefixes of the values, numbers on both sides
of range bounds, IPs inside and outside blocks, arrays of objects for array consistency, dotted
keys on both sides, ``exists: false`` next to values.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

KEYS = ["a", "b", "c"]
STRINGS = ["", "x", "xy", "yx", "X", "xY", "ab", "a*b", "10.0.0.1", "10.0.0.255", "2001:db8::1"]
NUMBERS = [0, 1, -1, 1.5, 2.5, 300, 300.0, 0.0000005, 1e10, 5e9, -122.429163, 37.7]
SCALARS = st.one_of(
    st.sampled_from(STRINGS),
    st.sampled_from(NUMBERS),
    st.sampled_from([True, False, None]),
)
AFFIXES = ["", "x", "X", "y", "ab", "10.", "Y"]
WILDCARDS = ["*", "x*", "*y", "x*y", "*x*", "a\\*b", "a*b", "1*.*1", ""]
BOUNDS = [-1, 0, 1, 1.5, 300, 5e9, -5e9, 0.000001]


def _numeric() -> st.SearchStrategy[dict[str, Any]]:
    single = st.tuples(st.sampled_from(["=", "<", "<=", ">", ">="]), st.sampled_from(BOUNDS))
    pair = st.tuples(
        st.sampled_from([">", ">="]),
        st.sampled_from(BOUNDS),
        st.sampled_from(["<", "<="]),
        st.sampled_from(BOUNDS),
    )
    return st.one_of(single, pair).map(lambda terms: {"numeric": list(terms)})


def _anything_but() -> st.SearchStrategy[dict[str, Any]]:
    strings = st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3)
    numbers = st.lists(st.sampled_from([0, 1, 300, 1.5]), min_size=1, max_size=3)
    nonempty = st.sampled_from([a for a in AFFIXES if a])
    return st.one_of(
        st.sampled_from(STRINGS),
        strings,
        st.sampled_from([0, 1, 300]),
        numbers,
        st.fixed_dictionaries({"prefix": st.one_of(nonempty, st.lists(nonempty, min_size=1))}),
        st.fixed_dictionaries({"suffix": st.one_of(nonempty, st.lists(nonempty, min_size=1))}),
        st.fixed_dictionaries({"equals-ignore-case": st.one_of(st.sampled_from(STRINGS), strings)}),
        st.fixed_dictionaries(
            {
                "wildcard": st.one_of(
                    st.sampled_from(WILDCARDS), st.lists(st.sampled_from(WILDCARDS))
                )
            }
        ),
    ).map(lambda operand: {"anything-but": operand})


def condition_item() -> st.SearchStrategy[Any]:
    return st.one_of(
        SCALARS,
        st.sampled_from(AFFIXES).map(lambda a: {"prefix": a}),
        st.sampled_from(AFFIXES).map(lambda a: {"suffix": a}),
        st.sampled_from(AFFIXES).map(lambda a: {"prefix": {"equals-ignore-case": a}}),
        st.sampled_from(AFFIXES).map(lambda a: {"suffix": {"equals-ignore-case": a}}),
        st.sampled_from(STRINGS).map(lambda a: {"equals-ignore-case": a}),
        st.sampled_from(WILDCARDS).map(lambda w: {"wildcard": w}),
        st.sampled_from(STRINGS).map(lambda s: {"exactly": s}),
        st.booleans().map(lambda b: {"exists": b}),
        st.sampled_from(["10.0.0.0/24", "10.0.0.5/30", "2001:db8::/32", "0.0.0.0/0"]).map(
            lambda c: {"cidr": c}
        ),
        _numeric(),
        _anything_but(),
    )


CONDITION = st.lists(condition_item(), min_size=1, max_size=3)


def _pattern_object(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from([*KEYS, "a.b"]) if depth == 0 else st.sampled_from(KEYS)
    leaf: st.SearchStrategy[Any] = CONDITION
    value = leaf if depth >= 2 else st.one_of(leaf, st.deferred(lambda: _pattern_object(depth + 1)))
    return st.dictionaries(key, value, min_size=1, max_size=2)


@st.composite
def patterns(draw: st.DrawFn) -> dict[str, Any]:
    pattern = draw(_pattern_object(0))
    if draw(st.integers(0, 4)) == 0:
        branches = draw(st.lists(_pattern_object(1), min_size=2, max_size=3))
        pattern["$or"] = branches
    return pattern


def _event_value(depth: int) -> st.SearchStrategy[Any]:
    if depth >= 3:
        return SCALARS
    inner = st.deferred(lambda: _event_value(depth + 1))
    return st.one_of(
        SCALARS,
        SCALARS,
        st.lists(SCALARS, max_size=3),
        st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=3),
        st.lists(st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=3), max_size=3),
    )


EVENTS = st.dictionaries(
    st.sampled_from([*KEYS, "a.b", "b.c"]), _event_value(1), min_size=1, max_size=5
)
