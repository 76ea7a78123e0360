"""The retry policy: only what is retriable, full-jitter backoff, Retry-After, bounded attempts."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from raybus.core import CATALOG
from raybus.sdk import AsyncClient, Backoff, Client, GatewayConnectionError, errors
from raybus.sdk._retry import next_delay_s
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer, error_answer

RETRIABLE = sorted(code for code, spec in CATALOG.items() if spec.retriable)
NOT_RETRIABLE = sorted(code for code, spec in CATALOG.items() if not spec.retriable)


async def list_queues(client: Any) -> Any:
    return await ait(client.list_queues())


@pytest.mark.parametrize("code", RETRIABLE)
def test_a_retriable_error_is_retried_with_backoff_until_it_succeeds(api: Api, code: str) -> None:
    api.gateway.script(error_answer(code), error_answer(code), answer({"queues": ["a"]}))

    assert api.run(list_queues) == ["a"]
    assert len(api.gateway.requests) == 3
    # random() = 0.5 against ceilings 0.1 * 2**n: half of 0.1, then half of 0.2
    assert api.sleeps == pytest.approx([0.05, 0.1])


@pytest.mark.parametrize("code", NOT_RETRIABLE)
def test_a_non_retriable_error_is_raised_at_once(api: Api, code: str) -> None:
    api.gateway.script(error_answer(code), answer({"queues": []}))

    with pytest.raises(errors.error_class(code)):
        api.run(list_queues)
    assert len(api.gateway.requests) == 1
    assert api.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
    ids=["connect", "read-timeout", "broken-connection"],
)
def test_connection_failures_are_retried(api: Api, failure: Exception) -> None:
    api.gateway.script(failure, answer({"queues": []}))

    assert api.run(list_queues) == []
    assert len(api.gateway.requests) == 2


def test_attempts_are_bounded_by_max_retries_and_the_last_error_is_raised(api: Api) -> None:
    api.gateway.script(
        *[error_answer("PartitionUnavailable", f"attempt {n}") for n in range(1, 5)],
        answer({"queues": []}),
    )

    with pytest.raises(errors.PartitionUnavailable, match="attempt 4"):
        api.run(list_queues, max_retries=3)
    assert len(api.gateway.requests) == 4
    assert len(api.sleeps) == 3


def test_max_retries_zero_makes_one_attempt(api: Api) -> None:
    api.gateway.script(httpx.ConnectError("refused"))

    with pytest.raises(GatewayConnectionError):
        api.run(list_queues, max_retries=0)
    assert len(api.gateway.requests) == 1


def test_backoff_grows_exponentially_up_to_the_cap(api: Api) -> None:
    api.gateway.script(*[error_answer("InternalError")] * 6)

    with pytest.raises(errors.InternalError):
        api.run(list_queues, backoff=Backoff(base_s=0.5, cap_s=3.0, random=lambda: 1.0))
    assert api.sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_throttling_waits_at_least_the_retry_after_header(api: Api) -> None:
    api.gateway.script(error_answer("Throttled", retry_after_s=7), answer({"queues": []}))

    api.run(list_queues)
    assert api.sleeps == [7.0]


def test_retry_after_in_the_error_details_is_honoured_without_the_header(api: Api) -> None:
    body = {"error": {"code": "Throttled", "message": "", "details": {"retry_after_s": 2}}}
    api.gateway.script(answer(body, 429), answer({"queues": []}))

    api.run(list_queues)
    assert api.sleeps == [2.0]


def test_a_retry_after_shorter_than_the_backoff_does_not_shorten_it(api: Api) -> None:
    api.gateway.script(error_answer("Throttled", retry_after_s=0), answer({"queues": []}))

    api.run(list_queues, backoff=Backoff(base_s=1.0, random=lambda: 1.0))
    assert api.sleeps == [1.0]


def test_an_unparsable_retry_after_falls_back_to_the_backoff(api: Api) -> None:
    throttled = error_answer("Throttled")
    throttled.headers["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    api.gateway.script(throttled, answer({"queues": []}))

    api.run(list_queues)
    assert api.sleeps == [0.05]


def test_a_retried_send_is_sent_again_unchanged(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        api.gateway.script(httpx.ReadTimeout("lost answer"))
        return await ait(queue.send("x", dedup_id="d", group_id="g"))

    api.run(scenario)
    first, second = api.gateway.calls("/messages")
    assert first.body == second.body == {"body": b"x", "group_id": "g", "dedup_id": "d"}


@pytest.mark.parametrize("retry", range(8))
def test_full_jitter_stays_within_zero_and_the_ceiling(retry: int) -> None:
    low = Backoff(base_s=0.1, cap_s=1.0, random=lambda: 0.0)
    high = Backoff(base_s=0.1, cap_s=1.0, random=lambda: 0.999999)
    ceiling = min(1.0, 0.1 * 2**retry)
    assert low.delay_s(retry) == 0.0
    assert high.delay_s(retry) == pytest.approx(ceiling, rel=1e-5)


def test_next_delay_is_none_once_the_retries_are_used_up_or_for_non_retriable_errors() -> None:
    backoff = Backoff(random=lambda: 1.0)
    assert next_delay_s(backoff, 2, 1, errors.Throttled()) == pytest.approx(0.1)
    assert next_delay_s(backoff, 2, 2, errors.Throttled()) is None
    assert next_delay_s(backoff, 2, 0, errors.QueueDoesNotExist()) is None
    assert next_delay_s(backoff, 2, 0, ValueError("not ours")) is None


def test_negative_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        Backoff(base_s=-1)
    with pytest.raises(ValueError):
        Client(max_retries=-1)
    with pytest.raises(ValueError):
        AsyncClient(max_retries=-1)
