"""RuleSet: many rules in one machine, added and removed one at a time."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import raybus.rules
from raybus.rules import CompiledPattern, PatternError, RuleSet, compile_pattern


def test_match_returns_the_ids_of_matching_rules() -> None:
    rules = RuleSet()
    rules.add("orders", {"source": ["order"]})
    rules.add(("tuple", 1), {"source": [{"prefix": "or"}]})
    rules.add(3, {"source": ["shipment"]})
    assert rules.match({"source": "order"}) == {"orders", ("tuple", 1)}
    assert rules.match('{"source": "shipment"}') == {3}
    assert len(rules) == 3 and "orders" in rules and set(rules) == {"orders", ("tuple", 1), 3}


def test_adding_an_existing_id_replaces_its_pattern() -> None:
    rules = RuleSet()
    rules.add("r", {"a": ["x"]})
    rules.add("r", {"a": ["y"]})
    assert rules.match({"a": "x"}) == set() and rules.match({"a": "y"}) == {"r"}
    assert len(rules) == 1


def test_an_invalid_pattern_changes_nothing() -> None:
    rules = RuleSet()
    rules.add("r", {"a": ["x"]})
    with pytest.raises(PatternError):
        rules.add("r", {"a": []})
    assert rules.match({"a": "x"}) == {"r"}


def test_removing_an_unknown_id_is_a_no_op() -> None:
    assert RuleSet().remove("nope") is False


def test_identical_rules_share_the_machine_and_leave_independently() -> None:
    rules = RuleSet()
    for i in range(3):
        rules.add(i, {"a": ["x"], "b": [{"numeric": [">", 1]}]})
    assert rules.match({"a": "x", "b": 2}) == {0, 1, 2}
    rules.remove(1)
    assert rules.match({"a": "x", "b": 2}) == {0, 2}


def test_a_rule_with_alternatives_matches_once() -> None:
    rules = RuleSet()
    rules.add("r", {"$or": [{"a": ["x"]}, {"b": ["y"]}]})
    assert rules.match({"a": "x", "b": "y"}) == {"r"}
    rules.remove("r")
    assert rules.match({"a": "x"}) == set()


def test_changes_after_matching_are_seen_by_the_next_match() -> None:
    rules = RuleSet()
    rules.add(1, {"a": [{"prefix": "x"}]})
    assert rules.match({"a": "xy"}) == {1}
    rules.add(2, {"a": [{"prefix": "xy"}], "b": ["z"]})  # rule 1's target gains a sibling
    rules.add(3, {"a": [{"prefix": "x"}], "c": ["q"]})  # rule 1's leaf gains a child
    assert rules.match({"a": "xy", "b": "z"}) == {1, 2}
    assert rules.match({"a": "xy", "c": "q"}) == {1, 3}
    rules.remove(1)
    assert rules.match({"a": "xy"}) == set()
    assert rules.match({"a": "xy", "c": "q"}) == {3}


def test_compiled_patterns_are_accepted_as_they_are() -> None:
    compiled = compile_pattern({"a": ["x"]})
    assert compile_pattern(compiled) is compiled
    rules = RuleSet()
    rules.add("r", compiled)
    assert rules.get("r") is compiled and isinstance(compiled, CompiledPattern)
    assert compiled.paths == frozenset({"a"})


def test_events_that_are_not_json_objects_are_rejected() -> None:
    rules = RuleSet()
    rules.add("r", {"a": ["x"]})
    for event in ("[1]", "nope", b"\x00"):
        with pytest.raises(PatternError) as caught:
            rules.match(event)
        assert caught.value.code == "ValidationException"


def test_the_public_surface_is_declared() -> None:
    assert raybus.rules.__all__ == sorted(raybus.rules.__all__, key=str)
    for name in raybus.rules.__all__:
        assert hasattr(raybus.rules, name)
    assert {"compile_pattern", "compile_filter_policy", "RuleSet", "PatternError"} <= set(
        raybus.rules.__all__
    )


def test_errors_survive_pickling() -> None:
    import pickle

    error = PatternError("InvalidParameter", "Invalid parameter: FilterPolicy: x", reason="x")
    again = pickle.loads(pickle.dumps(error))
    assert (again.code, again.message, again.reason) == (error.code, error.message, "x")


def test_the_package_imports_neither_ray_nor_anything_outside_the_stdlib() -> None:
    code = (
        "import sys, raybus.rules; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('ray', 'msgpack', 'moto')]; "
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_every_module_imports_cleanly() -> None:
    for name in (
        "compiler",
        "flatten",
        "index",
        "machine",
        "model",
        "numbers",
        "pattern",
        "reference",
        "sns",
        "tokens",
        "wildcard",
        "cidr",
        "errors",
    ):
        importlib.import_module(f"raybus.rules.{name}")


def test_an_event_nested_beyond_python_recursion_is_rejected_not_crashed() -> None:
    rules = RuleSet()
    rules.add("r", {"a": [1]})
    nested: list[object] = [1]
    for _ in range(5000):
        nested = [nested]
    with pytest.raises(PatternError) as caught:
        rules.match({"a": nested})
    assert caught.value.code == "ValidationException"


def test_remembered_lookups_follow_every_change() -> None:
    rules = RuleSet()
    rules.add("p", {"a": [{"prefix": "x"}]})
    for _ in range(3):
        assert rules.match({"a": "xy"}) == {"p"}
    rules.add("q", {"a": [{"prefix": "x"}]})  # same target node, one more rule id
    assert rules.match({"a": "xy"}) == {"p", "q"}
    rules.add("r", {"a": [{"prefix": "x"}], "b": ["z"]})  # the target gains a next step
    assert rules.match({"a": "xy", "b": "z"}) == {"p", "q", "r"}
    rules.remove("p")
    rules.remove("r")  # the target is a leaf again
    assert rules.match({"a": "xy", "b": "z"}) == {"q"}


def test_mostly_distinct_values_switch_remembering_off_without_changing_results() -> None:
    rules = RuleSet()
    rules.add("w", {"a": [{"wildcard": "id-*-7"}, {"suffix": "9"}]})
    index = rules._machine.root.fields["a"]
    for i in range(2000):
        assert rules.match({"a": f"id-{i}"}) == ({"w"} if i % 10 == 9 else set())
    assert index.memo is None
    assert rules.match({"a": "id-12-7"}) == {"w"}
