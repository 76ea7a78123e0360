"""Every AWS-recorded case: match, no match, or AWS's error code and first line of its message.

The vectors (tests/data/conformance, from LocalStack's AWS-validated snapshot tests) are the
specification; any deliberate deviation would be listed in docs/rules.md and marked xfail
(strict) here. There are none.
"""

from __future__ import annotations

from typing import Any

import pytest

from raybus.rules import (
    PatternError,
    compile_filter_policy,
    compile_pattern,
    test_event_pattern,
)
from tests.rules.conformance import (
    EVENTBRIDGE_FILE,
    SNS_FILE,
    SNS_UNIT_FILE,
    case_id,
    event_of,
    first_line,
    load,
    message_of,
    pattern_of,
    put_events_envelope,
)

EVENTBRIDGE = load(EVENTBRIDGE_FILE)
SNS = load(SNS_FILE)
SNS_UNIT = load(SNS_UNIT_FILE)


def _eventbridge_verdict(case: dict[str, Any]) -> bool:
    if case["api"] == "events:TestEventPattern":
        return test_event_pattern(pattern_of(case), event_of(case))
    # PutRule + PutEvents: the rule's pattern against the event EventBridge builds.
    return compile_pattern(pattern_of(case)).matches(put_events_envelope(event_of(case)))


@pytest.mark.parametrize("case", EVENTBRIDGE, ids=case_id)
def test_eventbridge_gives_the_verdict_aws_gave(case: dict[str, Any]) -> None:
    expected = case["expected_match"]
    if expected == "error":
        with pytest.raises(PatternError) as caught:
            _eventbridge_verdict(case)
        assert caught.value.code == case["expected_error"]["code"]
        assert first_line(caught.value) == case["expected_error"]["message"]
        assert caught.value.http_status == case["expected_error"]["http_status"]
    else:
        assert _eventbridge_verdict(case) is expected


def _sns_operation(case: dict[str, Any]) -> str:
    return "Subscribe" if case["api"].startswith("sns:Subscribe") else "SetSubscriptionAttributes"


@pytest.mark.parametrize("case", SNS, ids=case_id)
def test_sns_gives_the_verdict_aws_gave(case: dict[str, Any]) -> None:
    expected = case["expected_match"]
    scope = case.get("filter_policy_scope") or "MessageAttributes"
    policy = pattern_of(case)
    if expected == "error":
        with pytest.raises(PatternError) as caught:
            compile_filter_policy(policy, scope, operation=_sns_operation(case))
        assert caught.value.code == case["expected_error"]["code"]
        assert first_line(caught.value) == case["expected_error"]["message"]
    elif expected == "accepted":
        compile_filter_policy(policy, scope, operation=_sns_operation(case))
    else:
        message, attributes = message_of(case)
        assert compile_filter_policy(policy, scope).matches(message, attributes) is expected


def _lenient_only(case: dict[str, Any]) -> bool:
    return "real AWS rejects this policy" in (case.get("note") or "")


@pytest.mark.parametrize("case", SNS_UNIT, ids=case_id)
def test_sns_unit_cases_match_where_aws_would_accept_the_policy(case: dict[str, Any]) -> None:
    """LocalStack's unit cases (not AWS-validated): bare-scalar policies are rejected instead."""
    scope = case.get("filter_policy_scope") or "MessageAttributes"
    if _lenient_only(case):
        with pytest.raises(PatternError, match="must be an object or an array"):
            compile_filter_policy(case["pattern_or_policy"], scope)
        return
    message, attributes = message_of(case)
    verdict = compile_filter_policy(case["pattern_or_policy"], scope).matches(message, attributes)
    assert verdict is case["expected_match"]
