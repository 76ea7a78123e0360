"""The one transfer protocol (:func:`raybus.partitions.transfer`): the target first, the source
settles after; what the target did not take stays at the source."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from raybus.core import RaybusError
from raybus.partitions import transfer

ITEMS = ["a", "b", "c"]


class Recorder:
    """A target and a source that record the order of the calls they get."""

    def __init__(self, answers: Sequence[object] | BaseException | None = None) -> None:
        self.answers = answers
        self.calls: list[tuple[str, list[str], list[str]]] = []

    async def send(self, items: Sequence[str]) -> Sequence[object]:
        self.calls.append(("send", list(items), []))
        await asyncio.sleep(0)  # the target's commit: settle must wait for it
        if isinstance(self.answers, BaseException):
            raise self.answers
        return [f"ok-{i}" for i in items] if self.answers is None else self.answers

    async def settle(self, moved: list[str], failed: list[str]) -> None:
        self.calls.append(("settle", moved, failed))


def run(recorder: Recorder, items: Sequence[str] = ITEMS) -> tuple[list[str], list[str]]:
    return asyncio.run(transfer(items, recorder.send, recorder.settle, what="test"))


def test_the_target_takes_the_items_first_and_the_source_settles_them_after() -> None:
    recorder = Recorder()
    assert run(recorder) == (ITEMS, [])
    assert recorder.calls == [("send", ITEMS, []), ("settle", ITEMS, [])]


@pytest.mark.parametrize(
    "error",
    [RaybusError("QueueDoesNotExist", "gone"), OSError("connection refused"), ValueError("bug")],
    ids=["raybus-error", "os-error", "any-exception"],
)
def test_a_send_that_raises_fails_every_item(error: Exception) -> None:
    recorder = Recorder(error)
    assert run(recorder) == ([], ITEMS)
    assert recorder.calls == [("send", ITEMS, []), ("settle", [], ITEMS)]


@pytest.mark.parametrize(
    ("answers", "moved", "failed"),
    [
        (["ok", RaybusError("InvalidMessageContents", "no"), None], ["a", "c"], ["b"]),
        ([ValueError("x"), "ok", OSError("y")], ["b"], ["a", "c"]),
        ([RaybusError("StorageFailure", "z")] * 3, [], ITEMS),
        ([None, False, 0], ITEMS, []),  # anything but an exception is an acknowledgement
    ],
    ids=["middle-refused", "ends-refused", "all-refused", "falsy-answers-are-acks"],
)
def test_an_exception_in_an_items_slot_fails_that_item_only(
    answers: list[object], moved: list[str], failed: list[str]
) -> None:
    recorder = Recorder(answers)
    assert run(recorder) == (moved, failed)
    assert recorder.calls == [("send", ITEMS, []), ("settle", moved, failed)]


def test_nothing_to_transfer_calls_neither_side() -> None:
    recorder = Recorder()
    assert run(recorder, []) == ([], [])
    assert recorder.calls == []


def test_a_target_answering_the_wrong_number_of_results_is_an_error_not_a_silent_drop() -> None:
    recorder = Recorder(["ok"])
    with pytest.raises(ValueError):
        run(recorder)
    assert recorder.calls == [("send", ITEMS, [])]  # nothing settled: the source keeps them


def test_a_settle_that_fails_propagates() -> None:
    async def send(items: Sequence[str]) -> Sequence[object]:
        return list(items)

    async def settle(moved: list[str], failed: list[str]) -> None:
        raise RaybusError("StorageFailure", "the source could not commit")

    with pytest.raises(RaybusError) as info:
        asyncio.run(transfer(ITEMS, send, settle))
    assert info.value.code == "StorageFailure"
