"""Invalid patterns get EventBridge's code and message (event-ruler's reason), in its order."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.rules import PatternError, compile_pattern, test_event_pattern

PREFIX = "Event pattern is not valid. Reason: "

INVALID: list[tuple[str, Any, str]] = [
    # -- JSON (Jackson's first line) -----------------------------------------------------------
    ("empty text", "", "Filter is not an object"),
    ("a top-level array", "[1]", "Filter is not an object"),
    ("a top-level string", '"x"', "Filter is not an object"),
    (
        "a bare word",
        "hello",
        "Unrecognized token 'hello': was expecting (JSON String, Number, "
        "Array, Object or token 'null', 'true' or 'false')",
    ),
    (
        "a misspelt literal",
        '{"a": [nul]}',
        "Unrecognized token 'nul': was expecting (JSON "
        "String, Number, Array, Object or token 'null', 'true' or 'false')",
    ),
    (
        "single quotes",
        "{'a': 1}",
        "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
    ),
    (
        "a missing colon",
        '{"a" [1]}',
        "Unexpected character ('[' (code 91)): was expecting a "
        "colon to separate field name and value",
    ),
    (
        "a missing comma",
        '{"a": [1] "b": [2]}',
        "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries",
    ),
    (
        "a trailing comma in an array",
        '{"a": [1,]}',
        "Unexpected character (']' (code 93)): expected a value",
    ),
    ("a leading zero", '{"a": [01]}', "Invalid numeric value: Leading zeroes not allowed"),
    (
        "NaN",
        '{"a": [NaN]}',
        "Non-standard token 'NaN': enable `JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS` to allow",
    ),
    ("a bad escape", '{"a": ["\\q"]}', "Unrecognized character escape 'q' (code 113)"),
    (
        "a raw newline in a string",
        '{"a": ["x\ny"]}',
        "Illegal unquoted character ((CTRL-CHAR, "
        "code 10)): has to be escaped using backslash to be included in string value",
    ),
    (
        "a comment",
        '{"a": [1] /* */}',
        "Unexpected character ('/' (code 47)): maybe a "
        "(non-standard) comment? (not recognized as one since Feature 'ALLOW_COMMENTS' not enabled "
        "for parser)",
    ),
    (
        "an unterminated string",
        '{"a": ["x',
        "Unexpected end-of-input: was expecting closing quote for a string value",
    ),
    # -- structure ---------------------------------------------------------------------------
    ("an empty object", {}, "Empty objects are not allowed"),
    ("an empty nested object", {"a": {}}, "Empty objects are not allowed"),
    ("a bare value", {"a": "x"}, '"a" must be an object or an array'),
    ("an empty array", {"a": []}, "Empty arrays are not allowed"),
    ("a nested array", {"a": [["x"]]}, "Match value must be String, number, true, false, or null"),
    ("an empty match object", {"a": [{}]}, "Match expression name not found"),
    ("an unknown operator", {"a": [{"regex": "x"}]}, "Unrecognized match type regex"),
    ("operators are case sensitive", {"a": [{"Prefix": "x"}]}, "Unrecognized match type Prefix"),
    (
        "two operators in one object",
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "Only one key allowed in match expression",
    ),
    # -- $or -------------------------------------------------------------------------------
    ("$or not an array", {"$or": {"a": [1]}}, "It must be an Array followed with $or."),
    (
        "$or with one object",
        {"$or": [{"a": [1]}]},
        "There must have at least 2 Objects in $or relationship.",
    ),
    (
        "$or with a non-object",
        {"$or": [{"a": [1]}, 2]},
        "Only JSON object is allowed in array of $or relationship.",
    ),
    (
        "a reserved name inside $or",
        {"$or": [{"numeric": [1]}, {"a": [1]}]},
        "numeric is Ruler reserved fieldName which cannot be used inside $or.",
    ),
    (
        "a reserved name deep inside $or",
        {"$or": [{"a": {"prefix": [1]}}, {"b": [1]}]},
        "prefix is Ruler reserved fieldName which cannot be used inside $or.",
    ),
    # -- operands --------------------------------------------------------------------------
    ("prefix of a number", {"a": [{"prefix": 1}]}, "prefix match pattern must be a string"),
    (
        "prefix with another operator",
        {"a": [{"prefix": {"suffix": "x"}}]},
        "Unsupported prefix pattern: suffix",
    ),
    ("suffix with an empty object", {"a": [{"suffix": {}}]}, "Suffix expression name not found"),
    (
        "ignore-case prefix of a number",
        {"a": [{"prefix": {"equals-ignore-case": 1}}]},
        "equals-ignore-case match pattern must be a string",
    ),
    (
        "exists null",
        {"a": [{"exists": None}]},
        "exists match pattern must be either true or false.",
    ),
    ("exactly a number", {"a": [{"exactly": 1}]}, "exact match pattern must be a string"),
    (
        "anything-but true",
        {"a": [{"anything-but": True}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        "anything-but mixed list",
        {"a": [{"anything-but": ["x", 1]}]},
        "Inside anything but list, either all values are number or string, mixed type is not "
        "supported",
    ),
    (
        "anything-but empty list",
        {"a": [{"anything-but": []}]},
        "Inside anything but list, either all values are number or string, mixed type is not "
        "supported",
    ),
    (
        "anything-but exists",
        {"a": [{"anything-but": {"exists": True}}]},
        "Unsupported anything-but pattern: exists",
    ),
    (
        "anything-but with no operator",
        {"a": [{"anything-but": {}}]},
        "Anything-But expression name not found",
    ),
    (
        "anything-but with two keys",
        {"a": [{"anything-but": "x", "prefix": "y"}]},
        "Too many elements in numeric expression",
    ),
    (
        "anything-but empty suffix in a list",
        {"a": [{"anything-but": {"suffix": ["x", ""]}}]},
        "Null prefix/suffix not allowed",
    ),
    # -- numbers -----------------------------------------------------------------------------
    (
        "numeric equals out of range",
        {"a": [{"numeric": ["=", 5e9 + 1]}]},
        "Value must be between -5.0E9 and 5.0E9, inclusive",
    ),
    (
        "anything-but a number out of range",
        {"a": [{"anything-but": [1, 6e9]}]},
        "Value must be between -5.0E9 and 5.0E9, inclusive",
    ),
    (
        "a range collapsing at six decimals",
        {"a": [{"numeric": [">", 1.0000001, "<", 1.0000002]}]},
        "Bottom must be less than top",
    ),
    (
        "less-than with more terms",
        {"a": [{"numeric": ["<", 1, "<", 2]}]},
        "Too many elements in numeric expression",
    ),
    (
        "equals with more terms",
        {"a": [{"numeric": ["=", 1, 2]}]},
        "Too many elements in numeric expression",
    ),
    (
        "a numeric object with two keys",
        {"a": [{"numeric": ["=", 1], "x": 1}]},
        "Too many elements in numeric expression",
    ),
    (
        "an unknown numeric operator",
        {"a": [{"numeric": ["!=", 1]}]},
        "Unrecognized numeric range operator: !=",
    ),
    # -- cidr --------------------------------------------------------------------------------
    ("a /32 block", {"a": [{"cidr": "10.0.0.1/32"}]}, "IPv4 mask bits must be < 32"),
    ("a /128 block", {"a": [{"cidr": "::1/128"}]}, "IPv6 mask bits must be < 128"),
    (
        "a negative mask",
        {"a": [{"cidr": "10.0.0.0/-1"}]},
        "Malformed CIDR, mask bits must not be negative",
    ),
    (
        "an IP-shaped non-address",
        {"a": [{"cidr": "10.0.0.256/8"}]},
        "Invalid IP address: 10.0.0.256",
    ),
    ("two slashes", {"a": [{"cidr": "10.0.0.0/8/8"}]}, "Malformed CIDR, one '/' required"),
    # -- wildcards ---------------------------------------------------------------------------
    (
        "consecutive stars",
        {"a": [{"wildcard": "ab**"}]},
        "Consecutive wildcard characters at pos 3",
    ),
    (
        "positions count UTF-8 bytes",
        {"a": [{"wildcard": "é**"}]},
        "Consecutive wildcard characters at pos 3",
    ),
    ("a bad escape", {"a": [{"wildcard": "a\\b"}]}, "Invalid escape character at pos 2"),
    ("a trailing backslash", {"a": [{"wildcard": "a\\"}]}, "Invalid escape character at pos 2"),
    (
        "anything-but wildcard stars",
        {"a": [{"anything-but": {"wildcard": ["x", "**"]}}]},
        "Consecutive wildcard characters at pos 1",
    ),
    (
        "too complex",
        {"a": [{"wildcard": "*a*a*a*a*a*"}]},
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
        "sequences after a wildcard character",
    ),
    (
        "too complex across one field",
        {"a": [{"wildcard": "*:*:*:x"}, {"wildcard": "*:*:*:*:y"}]},
        "Rule is too complex - try using fewer wildcard characters or fewer repeating character "
        "sequences after a wildcard character",
    ),
]


@pytest.mark.parametrize(
    ("pattern", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_patterns_get_eventbridges_reason(pattern: Any, reason: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert caught.value.code == "InvalidEventPatternException"
    assert caught.value.message == PREFIX + reason
    assert caught.value.reason == reason
    assert caught.value.http_status == 400 and caught.value.retriable is False


VALID: list[tuple[str, Any]] = [
    ("text after the pattern is not read", '{"a": [1]} garbage'),
    ("$or as a field of an object", {"d": {"$or": [{"a": [1]}, {"b": [2]}]}}),
    ("a reserved name outside $or", {"numeric": [1]}),
    (
        "an anything-but ignore-case empty list",
        {"a": [{"anything-but": {"equals-ignore-case": []}}]},
    ),
    ("a wildcard at the complexity limit", {"a": [{"wildcard": "*:*:*:*:event-bus/*"}]}),
    ("numbers at the range edges", {"a": [{"numeric": [">=", -5e9, "<=", 5e9]}]}),
    ("a large exact number", {"a": [123456789012345678901234567890]}),
    ("an escaped surrogate pair", '{"a": ["\\ud83d\\ude80"]}'),
]


@pytest.mark.parametrize("pattern", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_these_patterns_are_valid(pattern: Any) -> None:
    compile_pattern(pattern)


def test_the_first_error_in_document_order_wins() -> None:
    with pytest.raises(PatternError, match='"a" must be an object'):
        compile_pattern('{"a": 1, "b": []')  # the syntax error comes later


def test_non_json_python_values_are_invalid_patterns() -> None:
    for bad in ({"a": [float("nan")]}, {"a": [object()]}, {1: ["x"]}):
        with pytest.raises(PatternError) as caught:
            compile_pattern(bad)  # type: ignore[arg-type]
        assert caught.value.code == "InvalidEventPatternException"


def test_an_escaped_pair_is_one_character() -> None:
    assert compile_pattern('{"a": ["\\ud83d\\ude80"]}').matches({"a": "\U0001f680"})


@pytest.mark.parametrize(
    "event",
    ["not json", "[]", '"x"', "{", '{"id": "1"}', b"\xff", {"source": "x"}, '{"a": NaN}'],
)
def test_test_event_pattern_rejects_events_as_aws_does(event: Any) -> None:
    with pytest.raises(PatternError) as caught:
        test_event_pattern({"source": ["x"]}, event)
    assert (caught.value.code, caught.value.message) == (
        "ValidationException",
        "Parameter Event is not valid.",
    )


def test_test_event_pattern_needs_only_the_envelope_fields() -> None:
    envelope = {"id": "1", "account": "1", "source": "x", "time": "t", "region": "r"}
    assert test_event_pattern({"source": ["x"]}, {**envelope, "detail-type": "d"}) is True


def test_nesting_deeper_than_jackson_allows_is_invalid() -> None:
    deep_text = '{"a":' * 1001 + "[1]" + "}" * 1001
    deep_dict: dict[str, Any] = {"a": [1]}
    for _ in range(3000):
        deep_dict = {"a": deep_dict}
    for pattern in (deep_text, deep_dict):
        with pytest.raises(PatternError, match="Document nesting depth"):
            compile_pattern(pattern)
    compile_pattern('{"a":' * 500 + "[1]" + "}" * 500)


def test_invalid_utf8_is_an_invalid_pattern() -> None:
    with pytest.raises(PatternError, match="Invalid UTF-8 start byte 0xff"):
        compile_pattern(b'{"a": ["\xff"]}')
