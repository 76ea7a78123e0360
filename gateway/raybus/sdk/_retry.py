"""The retry policy, as pure decisions; the clients only sleep and repeat.

Contract:
- Retried: errors whose catalog entry is ``retriable`` (``Throttled``, ``PartitionUnavailable``,
  ``StaleEpoch``, ``InternalError``) and failures to reach the gateway (connect errors,
  timeouts, broken connections). Never retried: every other error.
- At most ``max_retries`` retries, so at most ``max_retries + 1`` attempts per request.
- Delay before retry ``n`` (0-based): full jitter, ``uniform(0, min(cap_s, base_s * 2**n))``
  (AWS's "exponential backoff and jitter"); after a ``429`` with ``Retry-After`` the delay is
  at least that many seconds.
- A retried request is sent again unchanged. Sends are therefore at-least-once: if the first
  attempt was committed but its answer was lost (a timeout, a 500), the retry enqueues a second
  copy on a standard queue; a FIFO queue drops it by its deduplication id.
"""

from __future__ import annotations

import random as _random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeAlias

import httpx

from raybus.sdk.errors import GatewayConnectionError, RaybusError

__all__ = [
    "AsyncSleep",
    "Backoff",
    "Sleep",
    "connection_error",
    "is_retriable",
    "next_delay_s",
    "unreachable",
]

# How each client pauses between attempts (injectable, so that tests need no real time).
Sleep: TypeAlias = Callable[[float], object]
AsyncSleep: TypeAlias = Callable[[float], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Full-jitter exponential backoff. ``random`` returns a float in [0, 1) (injectable)."""

    base_s: float = 0.05
    cap_s: float = 5.0
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("backoff times are non-negative")

    def delay_s(self, retry: int) -> float:
        """The pause before retry number ``retry`` (0 for the first retry)."""
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(retry, 62))
        return self.random() * ceiling


# httpx transport errors that repeating cannot fix: a bad URL or a request httpx cannot send.
_PERMANENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


def is_retriable(error: BaseException) -> bool:
    if isinstance(error, RaybusError):
        return error.retriable
    return isinstance(error, GatewayConnectionError)


def unreachable(url: str, exc: BaseException, *, timeout: bool) -> GatewayConnectionError:
    """The SDK error for a gateway that could not be reached or did not answer in time."""
    what = "did not answer in time" if timeout else "could not be reached"
    return GatewayConnectionError(
        f"The gateway at {url} {what}: {type(exc).__name__}: {exc}", timeout=timeout
    )


def connection_error(exc: httpx.TransportError, url: str) -> GatewayConnectionError | None:
    """The SDK error for an httpx transport failure, or ``None`` when it must propagate."""
    if isinstance(exc, _PERMANENT):
        return None
    return unreachable(url, exc, timeout=isinstance(exc, httpx.TimeoutException))


def next_delay_s(
    backoff: Backoff,
    max_retries: int,
    retry: int,
    error: BaseException,
    retry_after_s: float | None = None,
) -> float | None:
    """The pause before retrying after ``error`` (``retry`` retries done so far), or ``None``
    when the error must be raised: it is not retriable or the attempts are used up."""
    if retry >= max_retries or not is_retriable(error):
        return None
    delay = backoff.delay_s(retry)
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    return delay
