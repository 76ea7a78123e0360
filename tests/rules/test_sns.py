"""SNS filter policies: SNS's validation, limits and messages, and matching by scope."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.core import Attribute
from raybus.rules import FilterPolicy, PatternError, compile_filter_policy
from raybus.rules.sns import attributes_event


def _error(policy: Any, scope: str = "MessageAttributes", operation: str = "Subscribe") -> str:
    with pytest.raises(PatternError) as caught:
        compile_filter_policy(policy, scope, operation=operation)
    assert caught.value.code == "InvalidParameter"
    return caught.value.message


def test_the_message_prefix_depends_on_the_api_call() -> None:
    policy = {"a": "x"}
    reason = 'FilterPolicy: "a" must be an object or an array'
    assert (
        _error(policy, operation="Subscribe") == f"Invalid parameter: Attributes Reason: {reason}"
    )
    assert _error(policy, operation="SetSubscriptionAttributes") == f"Invalid parameter: {reason}"


def test_an_unknown_scope_is_rejected_first() -> None:
    assert _error({"a": ["x"]}, scope="Body") == (
        "Invalid parameter: FilterPolicyScope: Invalid value [Body]. "
        "Please use either MessageBody or MessageAttributes"
    )


def test_an_unknown_operation_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        compile_filter_policy({"a": ["x"]}, operation="Publish")


@pytest.mark.parametrize(
    ("policy", "reason"),
    [
        ({"a": [{"wildcard": "x*"}]}, "Unrecognized match type wildcard"),
        ({"a": [{"exactly": "x"}]}, "Unrecognized match type exactly"),
        ({"a": [{"anything-but": {"suffix": "x"}}]}, "Unsupported anything-but pattern: suffix"),
        (
            {"a": [{"anything-but": {"equals-ignore-case": "x"}}]},
            "Unsupported anything-but pattern: equals-ignore-case",
        ),
        (
            {"a": [{"anything-but": {"wildcard": "x"}}]},
            "Unsupported anything-but pattern: wildcard",
        ),
        ({"a": [{"anything-but": {"prefix": ["x"]}}]}, "prefix match pattern must be a string"),
        ({"a": [{"prefix": {"equals-ignore-case": "x"}}]}, "prefix match pattern must be a string"),
        ({"a": [{"suffix": {"equals-ignore-case": "x"}}]}, "suffix match pattern must be a string"),
    ],
)
def test_sns_rejects_the_operators_it_does_not_support(policy: Any, reason: str) -> None:
    assert _error(policy).endswith(f"FilterPolicy: {reason}")


@pytest.mark.parametrize(
    "policy",
    [
        {"a": [{"anything-but": {"prefix": "x"}}]},
        {"a": [{"anything-but": ["x", "y"]}]},
        {"a": [{"anything-but": [1, 2]}]},
        {"a": [{"equals-ignore-case": "x"}]},
        {"a": [{"suffix": "x"}], "b": [{"cidr": "10.0.0.0/8"}], "c": [{"exists": False}]},
        {"a": [{"numeric": [">", 0, "<=", 1]}], "$or": [{"b": ["x"]}, {"c": [None]}]},
    ],
)
def test_sns_accepts_these_operators(policy: Any) -> None:
    compile_filter_policy(policy)


def test_five_top_level_keys_at_most() -> None:
    compile_filter_policy({k: ["x"] for k in "abcde"})
    assert _error({k: ["x"] for k in "abcdef"}).endswith("can not have more than 5 keys")


def test_combinations_are_products_of_values_times_depth_summed_over_or() -> None:
    compile_filter_policy({"a": {"b": [str(i) for i in range(75)]}}, "MessageBody")  # 75 x 2
    assert _error({"a": {"b": [str(i) for i in range(76)]}}, "MessageBody").endswith(
        "Filter policy is too complex"
    )
    or_policy = {"$or": [{"a": [str(i) for i in range(100)]}, {"b": [str(i) for i in range(51)]}]}
    assert _error(or_policy).endswith("Filter policy is too complex")


def test_nesting_needs_the_message_body_scope() -> None:
    policy = {"a": {"b": ["x"]}}
    compile_filter_policy(policy, "MessageBody")
    assert _error(policy, operation="SetSubscriptionAttributes") == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested "
        "filter policy"
    )


def test_json_errors_carry_jacksons_text() -> None:
    assert _error("{x}", operation="SetSubscriptionAttributes") == (
        "Invalid parameter: FilterPolicy: failed to parse JSON. Unexpected character ('x' "
        "(code 120)): was expecting double-quote to start field name"
    )


@pytest.mark.parametrize("policy", [None, "", b"", {}, "{}"])
def test_an_empty_policy_delivers_everything(policy: Any) -> None:
    assert compile_filter_policy(policy).matches("anything", {})
    assert compile_filter_policy(policy, "MessageBody").matches("not json", None)


def test_attributes_are_seen_as_a_flat_json_object() -> None:
    attributes = {
        "s": {"DataType": "String", "StringValue": "x"},
        "n": {"DataType": "Number", "StringValue": "3.015e2"},
        "i": {"DataType": "Number.int", "StringValue": "7"},
        "arr": {"DataType": "String.Array", "StringValue": '["a", 1, true, null]'},
        "nums": {"Type": "Number.Array", "Value": "[100, 50]"},
        "bad": {"DataType": "String.Array", "StringValue": "['x']"},
        "bin": {"DataType": "Binary", "BinaryValue": b"\x00"},
        "core": Attribute("String.custom", "y"),
    }
    assert attributes_event(attributes) == {
        "s": "x",
        "n": 301.5,
        "i": 7,
        "arr": ["a", 1, True, None],
        "nums": [100, 50],
        "bad": [],
        "core": "y",
    }


CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    (
        "a number attribute matches numerically",
        {"p": [{"numeric": ["=", 301.5]}]},
        {"p": {"DataType": "Number", "StringValue": "3.015e2"}},
        True,
    ),
    (
        "a string attribute is not a number",
        {"p": [{"numeric": [">", 0]}]},
        {"p": {"DataType": "String", "StringValue": "5"}},
        False,
    ),
    (
        "a number attribute is not a string",
        {"p": ["5"]},
        {"p": {"DataType": "Number", "StringValue": "5"}},
        False,
    ),
    (
        "anything-but a number accepts another element",
        {"p": [{"anything-but": [100, 500]}]},
        {"p": {"DataType": "Number.Array", "StringValue": "[100, 50]"}},
        True,
    ),
    (
        "binary attributes take no part",
        {"p": [{"exists": True}]},
        {"p": {"DataType": "Binary", "BinaryValue": b"x"}},
        False,
    ),
    ("a missing attribute does not match anything-but", {"p": [{"anything-but": "x"}]}, {}, False),
]


@pytest.mark.parametrize(
    ("policy", "attributes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_attribute_scope_matching(
    policy: dict[str, Any], attributes: dict[str, Any], expected: bool
) -> None:
    assert compile_filter_policy(policy).matches("body", attributes) is expected


def test_the_body_scope_matches_json_objects_only() -> None:
    policy = compile_filter_policy({"a": [{"exists": False}]}, "MessageBody")
    assert policy.matches('{"b": 1}') is True
    for body in ("not json", "[1]", '"a"', "null", None, b"\xff"):
        assert policy.matches(body) is False


def test_a_policy_exposes_the_event_it_matches() -> None:
    policy = compile_filter_policy({"a": ["x"]})
    assert isinstance(policy, FilterPolicy) and policy.scope == "MessageAttributes"
    assert policy.event_for(None, {"a": {"DataType": "String", "StringValue": "x"}}) == {"a": "x"}
