"""The queue service's short poll over partitions, with stand-in lanes (no hosts): a partition
that fails does not cost the messages the others gave."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from raybus.core.errors import RaybusError
from raybus.engines.queue.ops import Receive
from raybus.gateway.queue_service import QueueService


class _Lanes:
    """Each partition answers a receive with its messages, or with an error."""

    def __init__(self, answers: dict[int, list[str] | RaybusError]) -> None:
        self.answers = answers
        self.router = None
        self.asked: list[tuple[int, int]] = []

    async def submit(self, kind: str, key: str, partition: int, op: Receive) -> list[Any]:
        self.asked.append((partition, op.max_messages))
        answer = self.answers[partition]
        if isinstance(answer, RaybusError):
            raise answer
        return answer[: op.max_messages]


def _poll(lanes: _Lanes, order: list[int], wanted: int) -> list[Any]:
    service = QueueService(lanes)  # type: ignore[arg-type]
    return asyncio.run(service._short_poll("q", order, wanted, None))


def _down() -> RaybusError:
    return RaybusError("PartitionUnavailable", "Partition host h is unavailable.", host="h")


def test_messages_from_other_partitions_are_returned_when_one_fails() -> None:
    lanes = _Lanes({0: ["a", "b"], 1: _down(), 2: ["c"]})
    assert _poll(lanes, [0, 1, 2], 10) == ["a", "b", "c"]
    assert lanes.asked == [(0, 10), (1, 8), (2, 8)]


def test_a_failed_partition_before_one_with_messages_is_skipped() -> None:
    assert _poll(_Lanes({0: _down(), 1: ["a"]}), [0, 1], 10) == ["a"]


def test_the_error_answers_when_no_partition_gave_a_message() -> None:
    with pytest.raises(RaybusError) as failed:
        _poll(_Lanes({0: [], 1: _down()}), [0, 1], 10)
    assert failed.value.code == "PartitionUnavailable"


def test_a_full_answer_asks_no_further_partition() -> None:
    lanes = _Lanes({0: ["a", "b"], 1: _down()})
    assert _poll(lanes, [0, 1], 2) == ["a", "b"]
    assert lanes.asked == [(0, 2)]
