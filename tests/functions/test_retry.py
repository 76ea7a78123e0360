"""Retry schedules follow SNS's delivery policies and Lambda's async-invocation retries."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.core.errors import RaybusError
from raybus.core.retry import (
    AWS_MANAGED,
    HTTP_DEFAULT,
    DeliveryPolicy,
    lambda_async_delay_ms,
    lambda_throttle_delay_ms,
    policy_for,
)

DAY_MS = 86_400_000


def schedule(policy: DeliveryPolicy) -> list[int]:
    delays = []
    failed = 1
    while (delay := policy.delay_ms(failed)) is not None:
        delays.append(delay)
        failed += 1
    return delays


# -- AWS's managed policy (queue and function endpoints) ----------------------------------------


def test_the_managed_policy_has_the_documented_phases() -> None:
    first = [AWS_MANAGED.delay_ms(n) or 0 for n in range(1, 16)]
    assert first[:3] == [0, 0, 0]  # 3 immediate retries
    assert first[3:5] == [1000, 1000]  # 2 pre-backoff retries 1 s apart
    backoff = first[5:15]  # 10 backoff retries from 1 s to 20 s
    assert backoff[0] == 1000 and backoff[-1] == 20_000
    assert backoff == sorted(backoff)
    assert AWS_MANAGED.delay_ms(16) == AWS_MANAGED.delay_ms(100_015) == 20_000  # post-backoff


def test_the_managed_policy_makes_100015_retries_over_23_days() -> None:
    assert AWS_MANAGED.num_retries == 100_015
    assert AWS_MANAGED.total_attempts == 100_016  # the first delivery plus the retries
    assert AWS_MANAGED.delay_ms(100_015) is not None
    assert AWS_MANAGED.delay_ms(100_016) is None
    total = AWS_MANAGED.total_delay_ms()
    assert 23 * DAY_MS <= total < 24 * DAY_MS
    assert total == sum(AWS_MANAGED.delay_ms(n) or 0 for n in range(1, 100_016))


@pytest.mark.parametrize("protocol", ["queue", "function"])
def test_queue_and_function_endpoints_get_the_managed_policy_and_no_other(protocol: str) -> None:
    assert policy_for(protocol) is AWS_MANAGED
    with pytest.raises(RaybusError) as caught:
        policy_for(protocol, {"healthyRetryPolicy": {"numRetries": 1}})
    assert caught.value.code == "InvalidParameter"


# -- HTTP/S ------------------------------------------------------------------------------------


def test_http_endpoints_default_to_three_retries_twenty_seconds_apart() -> None:
    assert policy_for("https") is HTTP_DEFAULT
    assert policy_for("http", None) is HTTP_DEFAULT
    assert schedule(HTTP_DEFAULT) == [20_000, 20_000, 20_000]
    assert HTTP_DEFAULT.content_type == "text/plain; charset=UTF-8"


def test_a_custom_policy_runs_its_four_phases_in_order() -> None:
    policy = DeliveryPolicy.from_wire(
        {
            "healthyRetryPolicy": {
                "minDelayTarget": 2,
                "maxDelayTarget": 10,
                "numRetries": 10,
                "numNoDelayRetries": 2,
                "numMinDelayRetries": 1,
                "numMaxDelayRetries": 2,
                "backoffFunction": "linear",
            }
        }
    )
    assert schedule(policy) == [0, 0, 2000, 2000, 4000, 6000, 8000, 10_000, 10_000, 10_000]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("linear", [1000, 3000, 5000, 7000, 9000]),
        ("arithmetic", [1000, 1500, 3000, 5500, 9000]),
        ("geometric", [1000, 1732, 3000, 5196, 9000]),
        ("exponential", [1000, 2000, 4000, 8000, 9000]),
    ],
)
def test_each_backoff_function_goes_from_min_to_max(function: str, expected: list[int]) -> None:
    policy = DeliveryPolicy.from_wire(
        {
            "healthyRetryPolicy": {
                "minDelayTarget": 1,
                "maxDelayTarget": 9,
                "numRetries": 5,
                "backoffFunction": function,
            }
        }
    )
    assert schedule(policy) == expected


def test_a_single_backoff_retry_waits_the_minimum_delay() -> None:
    policy = DeliveryPolicy(min_delay_s=3, max_delay_s=9, num_retries=1)
    assert schedule(policy) == [3000]


def test_zero_retries_means_one_attempt() -> None:
    policy = DeliveryPolicy.from_wire({"healthyRetryPolicy": {"numRetries": 0}})
    assert policy.delay_ms(1) is None and policy.total_attempts == 1


def test_the_wire_form_round_trips() -> None:
    wire = {
        "healthyRetryPolicy": {
            "minDelayTarget": 5,
            "maxDelayTarget": 30,
            "numRetries": 8,
            "numNoDelayRetries": 1,
            "numMinDelayRetries": 1,
            "numMaxDelayRetries": 1,
            "backoffFunction": "geometric",
        },
        "throttlePolicy": {"maxReceivesPerSecond": 10},
        "requestPolicy": {"headerContentType": "application/json"},
    }
    policy = DeliveryPolicy.from_wire(wire)
    assert policy.to_wire() == wire
    assert DeliveryPolicy.from_wire(policy.to_wire()) == policy
    assert policy.content_type == "application/json"


def test_backoff_function_names_are_case_insensitive() -> None:
    policy = DeliveryPolicy.from_wire({"healthyRetryPolicy": {"backoffFunction": "EXPONENTIAL"}})
    assert policy.backoff_function == "exponential"


@pytest.mark.parametrize(
    "wire",
    [
        "not an object",
        {"unknownPolicy": {}},
        {"healthyRetryPolicy": []},
        {"healthyRetryPolicy": {"numRetrys": 3}},
        {"healthyRetryPolicy": {"numRetries": -1}},
        {"healthyRetryPolicy": {"numRetries": 101, "minDelayTarget": 1, "maxDelayTarget": 1}},
        {"healthyRetryPolicy": {"numRetries": "3"}},
        {"healthyRetryPolicy": {"numRetries": True}},
        {"healthyRetryPolicy": {"numRetries": 2.5}},
        {"healthyRetryPolicy": {"minDelayTarget": 0}},
        {"healthyRetryPolicy": {"maxDelayTarget": 3601}},
        {"healthyRetryPolicy": {"minDelayTarget": 30, "maxDelayTarget": 20}},
        {"healthyRetryPolicy": {"numRetries": 3, "numNoDelayRetries": 2, "numMaxDelayRetries": 2}},
        {"healthyRetryPolicy": {"numMinDelayRetries": -1}},
        {"healthyRetryPolicy": {"backoffFunction": "fibonacci"}},
        {"healthyRetryPolicy": {"backoffFunction": 1}},
        # 100 retries an hour apart: far beyond the 3,600 s an HTTP/S policy may take
        {"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 3600, "maxDelayTarget": 3600}},
        {"throttlePolicy": {"maxReceivesPerSecond": 0}},
        {"throttlePolicy": {"burst": 1}},
        {"requestPolicy": {"headerContentType": "image/png"}},
        {"requestPolicy": {"headerContentType": 5}},
    ],
)
def test_an_invalid_http_policy_is_rejected_with_invalid_parameter(wire: Any) -> None:
    with pytest.raises(RaybusError) as caught:
        DeliveryPolicy.from_wire(wire)
    assert caught.value.code == "InvalidParameter"
    assert caught.value.message.startswith("Invalid parameter: DeliveryPolicy")


def test_a_policy_at_the_limits_is_accepted() -> None:
    policy = DeliveryPolicy.from_wire(
        {"healthyRetryPolicy": {"numRetries": 100, "minDelayTarget": 36, "maxDelayTarget": 36}}
    )
    assert policy.total_delay_ms() == 3_600_000
    with pytest.raises(RaybusError):
        DeliveryPolicy.from_wire(
            {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 3600}}
        )


def test_delays_count_failures_from_one() -> None:
    with pytest.raises(ValueError):
        HTTP_DEFAULT.delay_ms(0)


def test_an_unknown_protocol_has_no_policy() -> None:
    with pytest.raises(ValueError):
        policy_for("email")


# -- Lambda ------------------------------------------------------------------------------------


def test_async_invocations_retry_after_one_then_two_minutes() -> None:
    assert [lambda_async_delay_ms(n) for n in (1, 2, 3)] == [60_000, 120_000, None]


@pytest.mark.parametrize(("max_retries", "retries"), [(0, 0), (1, 1), (2, 2)])
def test_max_retries_caps_async_retries(max_retries: int, retries: int) -> None:
    delays = [lambda_async_delay_ms(n, max_retries) for n in (1, 2, 3)]
    assert sum(d is not None for d in delays) == retries


def test_throttled_events_back_off_from_one_second_doubling_to_five_minutes() -> None:
    delays = [lambda_throttle_delay_ms(n) for n in range(1, 12)]
    assert delays[:5] == [1000, 2000, 4000, 8000, 16_000]
    assert max(delays) == 300_000 and delays[-1] == 300_000
    assert lambda_throttle_delay_ms(10_000) == 300_000


@pytest.mark.parametrize("call", [lambda_async_delay_ms, lambda_throttle_delay_ms])
def test_lambda_schedules_count_from_one(call: Any) -> None:
    with pytest.raises(ValueError):
        call(0)
