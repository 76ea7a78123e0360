"""The compiled machine agrees with the reference matcher, whatever the rules and their order.

Random patterns and events (tests/rules/strategies.py) are compared rule by rule: the machine's
answer for a RuleSet must be exactly the set of rules the reference matcher accepts. The slow
tier runs the same properties with many more examples.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raybus.rules import CompiledPattern, PatternError, RuleSet, compile_pattern
from raybus.rules.reference import reference_matches
from tests.rules.strategies import EVENTS, patterns

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _compile_valid(raw: list[dict[str, Any]]) -> list[CompiledPattern]:
    compiled = []
    for pattern in raw:
        try:
            compiled.append(compile_pattern(pattern))
        except PatternError:
            continue  # random numeric ranges can be empty ("Bottom must be less than top")
    return compiled


def _expected(compiled: list[CompiledPattern], event: dict[str, Any]) -> set[int]:
    return {i for i, p in enumerate(compiled) if reference_matches(p.branches, event)}


def _ruleset(compiled: list[CompiledPattern], order: list[int]) -> RuleSet:
    rules = RuleSet()
    for i in order:
        rules.add(i, compiled[i])
    return rules


def _agrees_with_reference(raw: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    compiled = _compile_valid(raw)
    rules = _ruleset(compiled, list(range(len(compiled))))
    for event in events:
        expected = _expected(compiled, event)
        assert rules.match(event) == expected
        for i, pattern in enumerate(compiled):
            assert pattern.matches(event) is (i in expected)


PATTERN_SETS = st.lists(patterns(), min_size=1, max_size=6)
EVENT_LISTS = st.lists(EVENTS, min_size=1, max_size=6)


@FAST
@given(PATTERN_SETS, EVENT_LISTS)
def test_the_machine_matches_exactly_the_rules_the_reference_matches(
    raw: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    _agrees_with_reference(raw, events)


@FAST
@given(PATTERN_SETS, EVENT_LISTS, st.randoms(use_true_random=False))
def test_the_order_rules_are_added_in_does_not_change_any_result(
    raw: list[dict[str, Any]], events: list[dict[str, Any]], rng: Any
) -> None:
    compiled = _compile_valid(raw)
    order = list(range(len(compiled)))
    forward = _ruleset(compiled, order)
    rng.shuffle(order)
    shuffled = _ruleset(compiled, order)
    for event in events:
        assert forward.match(event) == shuffled.match(event)


@FAST
@given(PATTERN_SETS, EVENT_LISTS, st.data())
def test_removing_a_rule_removes_exactly_its_matches(
    raw: list[dict[str, Any]], events: list[dict[str, Any]], data: st.DataObject
) -> None:
    compiled = _compile_valid(raw)
    if not compiled:
        return
    rules = _ruleset(compiled, list(range(len(compiled))))
    before = [rules.match(event) for event in events]
    victim = data.draw(st.integers(0, len(compiled) - 1))
    assert rules.remove(victim) is True
    assert rules.remove(victim) is False
    for event, matched in zip(events, before, strict=True):
        assert rules.match(event) == matched - {victim}
    rules.add(victim, compiled[victim])
    for event, matched in zip(events, before, strict=True):
        assert rules.match(event) == matched


@FAST
@given(PATTERN_SETS, EVENT_LISTS)
def test_removing_every_rule_leaves_an_empty_machine(
    raw: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    compiled = _compile_valid(raw)
    rules = _ruleset(compiled, list(range(len(compiled))))
    for i in range(len(compiled)):
        rules.remove(i)
    machine = rules._machine
    assert machine.root.fields == {} and machine.root.children == {}
    assert machine.paths.root.children == {}
    for event in events:
        assert rules.match(event) == set()


@pytest.mark.slow
@SLOW
@given(PATTERN_SETS, EVENT_LISTS)
def test_the_machine_matches_the_reference_on_many_more_cases(
    raw: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    _agrees_with_reference(raw, events)
