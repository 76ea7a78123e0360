"""send_split: entries to a queue's or topic's partitions, one result per entry in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from raybus.actors import send_split
from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig
from raybus.core.routing import PartitionRoute, Route
from raybus.engines import SendEntry


def route(name: str, partitions: int) -> Route[QueueConfig]:
    placements = tuple(PartitionRoute("host-0", 1) for _ in range(partitions))
    return Route("queue", name, QueueConfig.create(name), 1, placements)


class Recorder:
    """A partition call that answers each entry's body tagged with its partition."""

    def __init__(self, short: bool = False) -> None:
        self.calls: list[tuple[int, list[str]]] = []
        self.short = short

    async def __call__(self, partition: int, chunk: list[Any]) -> list[Any]:
        self.calls.append((partition, [e.body for e in chunk]))
        answer = [f"{partition}:{e.body}" for e in chunk]
        return answer[:-1] if self.short else answer


def test_a_standard_batch_goes_whole_to_the_rotating_partition() -> None:
    calls = Recorder()
    entries = [SendEntry(body=str(i)) for i in range(3)]
    results = asyncio.run(send_split(route("q", 4), entries, 6, calls))
    assert calls.calls == [(2, ["0", "1", "2"])]
    assert results == ["2:0", "2:1", "2:2"]


def test_a_fifo_batch_splits_by_group_and_keeps_each_entry_in_its_slot() -> None:
    fifo = route("q.fifo", 4)
    groups = ["a", "b", "c", "d", "a", "b"]
    entries = [SendEntry(body=str(i), group_id=g, dedup_id=str(i)) for i, g in enumerate(groups)]
    calls = Recorder()
    results = asyncio.run(send_split(fifo, entries, 0, calls))
    owner = {g: fifo.partition_of_group(g) for g in groups}
    assert len({owner[g] for g in groups}) > 1  # the case really splits
    assert results == [f"{owner[g]}:{i}" for i, g in enumerate(groups)]
    for partition, bodies in calls.calls:  # each group's entries in their order, one call each
        assert bodies == [str(i) for i, g in enumerate(groups) if owner[g] == partition]
    assert sorted(p for p, _ in calls.calls) == sorted(set(owner.values()))


def test_a_partition_answering_the_wrong_number_of_results_is_an_internal_error() -> None:
    entries = [SendEntry(body="x"), SendEntry(body="y")]
    with pytest.raises(RaybusError) as raised:
        asyncio.run(send_split(route("q", 1), entries, 0, Recorder(short=True)))
    assert raised.value.code == "InternalError"
