"""Retry schedules: SNS delivery policies and Lambda's asynchronous-invocation retries.

Pure and deterministic (stdlib only). Callers schedule retries on the injected clock; AWS adds
jitter to SNS retries, raybus does not, so tests can cross a schedule exactly — a caller that
wants jitter adds it.

SNS (docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html). A delivery policy
has four phases after the initial attempt, in this order:

1. immediate: ``numNoDelayRetries`` retries with no delay;
2. pre-backoff: ``numMinDelayRetries`` retries ``minDelayTarget`` seconds apart;
3. backoff: the remaining ``numRetries - (the other three)`` retries, whose delays go from
   ``minDelayTarget`` to ``maxDelayTarget`` along ``backoffFunction``;
4. post-backoff: ``numMaxDelayRetries`` retries ``maxDelayTarget`` seconds apart.

AWS documents the backoff curves only by name and end points (min → max), not by formula.
raybus uses, for backoff retry ``i`` of ``n`` (0-based, ``t = i / (n - 1)``):
``linear`` ``min + (max - min)·t``; ``arithmetic`` ``min + (max - min)·t²`` (the increments
grow arithmetically); ``geometric`` ``min·(max/min)^t`` (a constant ratio); ``exponential``
``min·2^i`` capped at ``max`` (doubling, the usual reading of "exponential backoff from 1 to
20 seconds"). Delays are whole milliseconds.

Queue (SQS) and function (Lambda) endpoints get AWS's managed policy, :data:`AWS_MANAGED`:
3 immediate retries, 2 one second apart, 10 with exponential backoff from 1 to 20 s, then
100,000 twenty seconds apart — AWS's table counts those 100,015 retries as "100,015 attempts,
over 23 days"; with the initial delivery that is 100,016 deliveries. HTTP/S endpoints default to
:data:`HTTP_DEFAULT` (3 retries, 20 s apart) and may set their own policy within AWS's limits.

Lambda (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html): a failed
asynchronous invocation is retried twice, one minute after the first attempt and two minutes
after the second; throttles (429) and system errors (5xx) are retried with a delay growing
exponentially from 1 second to at most 5 minutes, until the event's maximum age.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from raybus.core.errors import RaybusError

__all__ = [
    "AWS_MANAGED",
    "BACKOFF_FUNCTIONS",
    "HTTP_CONTENT_TYPES",
    "HTTP_DEFAULT",
    "LAMBDA_ASYNC_RETRIES",
    "LAMBDA_THROTTLE_MAX_DELAY_MS",
    "MAX_HTTP_RETRY_TIME_S",
    "DeliveryPolicy",
    "lambda_async_delay_ms",
    "lambda_throttle_delay_ms",
    "policy_for",
]

BackoffFunction = Literal["linear", "arithmetic", "geometric", "exponential"]
BACKOFF_FUNCTIONS: tuple[BackoffFunction, ...] = (
    "linear",
    "arithmetic",
    "geometric",
    "exponential",
)
MAX_HTTP_RETRIES = 100
MAX_DELAY_TARGET_S = 3_600
MAX_HTTP_RETRY_TIME_S = 3_600  # "The total policy retry time for an HTTP/S endpoint"
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"
# requestPolicy.headerContentType values SNS accepts (creating-delivery-policy).
HTTP_CONTENT_TYPES = frozenset(
    {
        "application/atom+xml",
        "application/json",
        "application/octet-stream",
        "application/soap+xml",
        "application/x-www-form-urlencoded",
        "application/xhtml+xml",
        "application/xml",
        "text/html",
        "text/plain",
        "text/xml",
    }
)
_POLICY_KEYS = frozenset(
    {"healthyRetryPolicy", "throttlePolicy", "requestPolicy", "sicklyRetryPolicy", "guaranteed"}
)
_RETRY_KEYS = {
    "minDelayTarget": "min_delay_s",
    "maxDelayTarget": "max_delay_s",
    "numRetries": "num_retries",
    "numNoDelayRetries": "num_no_delay_retries",
    "numMinDelayRetries": "num_min_delay_retries",
    "numMaxDelayRetries": "num_max_delay_retries",
    "backoffFunction": "backoff_function",
}

LAMBDA_ASYNC_RETRIES = 2
_LAMBDA_ASYNC_DELAYS_MS = (60_000, 120_000)
LAMBDA_THROTTLE_FIRST_DELAY_MS = 1_000
LAMBDA_THROTTLE_MAX_DELAY_MS = 300_000


def _invalid(message: str) -> RaybusError:
    return RaybusError(
        "InvalidParameter",
        f"Invalid parameter: DeliveryPolicy: {message}",
        parameter="delivery_policy",
    )


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """An SNS delivery policy. Build user policies with :meth:`from_wire` (AWS's validation);
    the constructor checks only consistency, so AWS's own managed policy (far beyond the HTTP/S
    limits) is expressible. Counts are retries, after the initial delivery attempt."""

    min_delay_s: int = 20
    max_delay_s: int = 20
    num_retries: int = 3
    num_no_delay_retries: int = 0
    num_min_delay_retries: int = 0
    num_max_delay_retries: int = 0
    backoff_function: BackoffFunction = "linear"
    max_receives_per_second: int | None = None
    header_content_type: str | None = None

    def __post_init__(self) -> None:
        phases = (self.num_no_delay_retries, self.num_min_delay_retries, self.num_max_delay_retries)
        if min(self.num_retries, *phases) < 0 or sum(phases) > self.num_retries:
            raise _invalid("the retry phases must add up to at most numRetries.")
        if not 0 < self.min_delay_s <= self.max_delay_s:
            raise _invalid("minDelayTarget must be at least 1 and at most maxDelayTarget.")
        if self.backoff_function not in BACKOFF_FUNCTIONS:
            raise _invalid(f"backoffFunction must be one of {', '.join(BACKOFF_FUNCTIONS)}.")

    # -- the schedule --------------------------------------------------------------------------

    @property
    def num_backoff_retries(self) -> int:
        return self.num_retries - (
            self.num_no_delay_retries + self.num_min_delay_retries + self.num_max_delay_retries
        )

    @property
    def total_attempts(self) -> int:
        """Deliveries attempted before the policy is exhausted: the first one plus the retries."""
        return self.num_retries + 1

    def delay_ms(self, failed_attempts: int) -> int | None:
        """The wait before the next delivery after ``failed_attempts`` (≥ 1) have failed, or
        ``None`` when the policy is exhausted (the message goes to the subscription's DLQ, or is
        discarded). O(1)."""
        if failed_attempts < 1:
            raise ValueError("failed_attempts counts failures and starts at 1")
        retry = failed_attempts  # the retry about to be scheduled, 1-based
        if retry > self.num_retries:
            return None
        edge = self.num_no_delay_retries
        if retry <= edge:
            return 0
        edge += self.num_min_delay_retries
        if retry <= edge:
            return self.min_delay_s * 1000
        backoff = self.num_backoff_retries
        if retry <= edge + backoff:
            return self._backoff_ms(retry - edge - 1, backoff)
        return self.max_delay_s * 1000

    def total_delay_ms(self) -> int:
        """The sum of every delay of the schedule (the time from the first failure to the last
        attempt, ignoring how long attempts take). O(backoff retries)."""
        backoff = self.num_backoff_retries
        return (
            self.num_min_delay_retries * self.min_delay_s * 1000
            + sum(self._backoff_ms(i, backoff) for i in range(backoff))
            + self.num_max_delay_retries * self.max_delay_s * 1000
        )

    def _backoff_ms(self, index: int, count: int) -> int:
        low, high = self.min_delay_s, self.max_delay_s
        if self.backoff_function == "exponential":
            return int(min(high, low * 2 ** min(index, 62))) * 1000
        t = index / (count - 1) if count > 1 else 0.0
        if self.backoff_function == "linear":
            seconds = low + (high - low) * t
        elif self.backoff_function == "arithmetic":
            seconds = low + (high - low) * t * t
        else:  # geometric
            seconds = low * math.pow(high / low, t)
        return round(seconds * 1000)

    # -- wire form -----------------------------------------------------------------------------

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any] | None) -> DeliveryPolicy:
        """Parse and validate SNS's subscription ``DeliveryPolicy`` JSON object with AWS's rules
        for HTTP/S endpoints: ``numRetries`` 0–100; delays 1–3,600 s with min ≤ max; the
        immediate, pre- and post-backoff counts ≥ 0 and together ≤ ``numRetries``;
        ``backoffFunction`` linear/arithmetic/geometric/exponential; the whole schedule at most
        3,600 s; ``maxReceivesPerSecond`` ≥ 1; a known ``headerContentType``. Missing fields take
        SNS's defaults (20 s, 20 s, 3 retries, linear). Raises ``InvalidParameter``."""
        if wire is None:
            return HTTP_DEFAULT
        if not isinstance(wire, Mapping):
            raise _invalid("the policy is a JSON object.")
        unknown = sorted(set(wire) - _POLICY_KEYS)
        if unknown:
            raise _invalid(f"unknown field {unknown[0]}.")
        settings: dict[str, Any] = {}
        retry = _section(wire, "healthyRetryPolicy")
        if retry is not None:
            unknown = sorted(set(retry) - set(_RETRY_KEYS))
            if unknown:
                raise _invalid(f"healthyRetryPolicy: unknown field {unknown[0]}.")
            for key, field in _RETRY_KEYS.items():
                value = retry.get(key)
                if value is None:
                    continue
                if key == "backoffFunction":
                    if not isinstance(value, str) or value.lower() not in BACKOFF_FUNCTIONS:
                        raise _invalid(
                            "healthyRetryPolicy: backoffFunction must be one of "
                            f"{', '.join(BACKOFF_FUNCTIONS)}."
                        )
                    settings[field] = value.lower()
                else:
                    settings[field] = _integer(f"healthyRetryPolicy: {key}", value)
        throttle = _section(wire, "throttlePolicy")
        if throttle is not None:
            unknown = sorted(set(throttle) - {"maxReceivesPerSecond"})
            if unknown:
                raise _invalid(f"throttlePolicy: unknown field {unknown[0]}.")
            rate = throttle.get("maxReceivesPerSecond")
            if rate is not None:
                rate = _integer("throttlePolicy: maxReceivesPerSecond", rate)
                if rate < 1:
                    raise _invalid("throttlePolicy: maxReceivesPerSecond must be at least 1.")
                settings["max_receives_per_second"] = rate
        request = _section(wire, "requestPolicy")
        if request is not None:
            unknown = sorted(set(request) - {"headerContentType"})
            if unknown:
                raise _invalid(f"requestPolicy: unknown field {unknown[0]}.")
            content_type = request.get("headerContentType")
            if content_type is not None:
                base = content_type.split(";")[0].strip() if isinstance(content_type, str) else ""
                if base not in HTTP_CONTENT_TYPES:
                    raise _invalid(
                        "requestPolicy: headerContentType must be one of "
                        f"{', '.join(sorted(HTTP_CONTENT_TYPES))}."
                    )
                settings["header_content_type"] = content_type
        _check_http_limits(settings)
        return cls(**settings)

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "healthyRetryPolicy": {key: getattr(self, field) for key, field in _RETRY_KEYS.items()}
        }
        if self.max_receives_per_second is not None:
            wire["throttlePolicy"] = {"maxReceivesPerSecond": self.max_receives_per_second}
        if self.header_content_type is not None:
            wire["requestPolicy"] = {"headerContentType": self.header_content_type}
        return wire

    @property
    def content_type(self) -> str:
        """The Content-Type of HTTP/S notifications (SNS's default: text/plain; charset=UTF-8)."""
        return self.header_content_type or DEFAULT_CONTENT_TYPE


def _section(wire: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = wire.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid(f"{name} is a JSON object.")
    return value


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise _invalid(f"{name} must be an integer.")
    return int(value)


def _check_http_limits(settings: Mapping[str, Any]) -> None:
    num_retries = settings.get("num_retries", 3)
    if not 0 <= num_retries <= MAX_HTTP_RETRIES:
        raise _invalid(f"healthyRetryPolicy: numRetries must be between 0 and {MAX_HTTP_RETRIES}.")
    low = settings.get("min_delay_s", 20)
    high = settings.get("max_delay_s", 20)
    if not 1 <= low <= MAX_DELAY_TARGET_S or not 1 <= high <= MAX_DELAY_TARGET_S:
        raise _invalid(
            f"healthyRetryPolicy: minDelayTarget and maxDelayTarget must be between 1 and "
            f"{MAX_DELAY_TARGET_S} seconds."
        )
    if low > high:
        raise _invalid("healthyRetryPolicy: minDelayTarget must not exceed maxDelayTarget.")
    for name in ("num_no_delay_retries", "num_min_delay_retries", "num_max_delay_retries"):
        if settings.get(name, 0) < 0:
            raise _invalid("healthyRetryPolicy: retry counts must be zero or greater.")
    phases = sum(
        settings.get(name, 0)
        for name in ("num_no_delay_retries", "num_min_delay_retries", "num_max_delay_retries")
    )
    if phases > num_retries:
        raise _invalid(
            "healthyRetryPolicy: numNoDelayRetries + numMinDelayRetries + numMaxDelayRetries "
            "must not exceed numRetries."
        )
    total_s = DeliveryPolicy(**settings).total_delay_ms() / 1000
    if total_s > MAX_HTTP_RETRY_TIME_S:
        raise _invalid(
            f"healthyRetryPolicy: the retries take {total_s:g} seconds; the total retry time of "
            f"an HTTP/S endpoint is at most {MAX_HTTP_RETRY_TIME_S} seconds."
        )


AWS_MANAGED = DeliveryPolicy(
    min_delay_s=1,
    max_delay_s=20,
    num_retries=100_015,
    num_no_delay_retries=3,
    num_min_delay_retries=2,
    num_max_delay_retries=100_000,
    backoff_function="exponential",
)
HTTP_DEFAULT = DeliveryPolicy()


def policy_for(protocol: str, wire: Mapping[str, Any] | None = None) -> DeliveryPolicy:
    """The policy SNS applies to a subscription: queue and function endpoints always get
    :data:`AWS_MANAGED` (their policy cannot be changed); HTTP/S endpoints get ``wire``
    validated, or :data:`HTTP_DEFAULT`."""
    if protocol in ("queue", "function"):
        if wire is not None:
            raise _invalid("only HTTP/S subscriptions accept a delivery policy.")
        return AWS_MANAGED
    if protocol in ("http", "https"):
        return DeliveryPolicy.from_wire(wire)
    raise ValueError(f"unknown protocol {protocol!r}")


def lambda_async_delay_ms(
    failed_attempts: int, max_retries: int = LAMBDA_ASYNC_RETRIES
) -> int | None:
    """The wait before retrying an asynchronous invocation whose handler failed
    ``failed_attempts`` (≥ 1) times: 1 minute, then 2 minutes; ``None`` once ``max_retries``
    (the function's setting, 0–2) retries are spent."""
    if failed_attempts < 1:
        raise ValueError("failed_attempts counts failures and starts at 1")
    if failed_attempts > min(max_retries, LAMBDA_ASYNC_RETRIES):
        return None
    return _LAMBDA_ASYNC_DELAYS_MS[failed_attempts - 1]


def lambda_throttle_delay_ms(throttled_attempts: int) -> int:
    """The wait before retrying an asynchronous event after ``throttled_attempts`` (≥ 1)
    throttles or system errors: 1 s, doubling, at most 5 minutes. These retries do not count
    against ``max_retries``; the event's maximum age bounds them (the caller's check)."""
    if throttled_attempts < 1:
        raise ValueError("throttled_attempts counts throttles and starts at 1")
    exponent = min(throttled_attempts - 1, 32)
    return int(min(LAMBDA_THROTTLE_MAX_DELAY_MS, LAMBDA_THROTTLE_FIRST_DELAY_MS * 2**exponent))
