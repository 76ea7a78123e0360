"""Typed operations (raybus.engines.ops, queue_ops, topic_ops): each calls its one engine method
with the turn's time, answers what the engine answered, and sets the turn's effects as
documented — ``wake`` after sends, visibility changes, transfer settlements and publishes;
``transfers`` for the dead letters a receive produced."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from raybus.core.queues import QueueConfig
from raybus.core.topics import PublishEntry
from raybus.engines import DeadLetter, PartitionCounters, ReceiveResult, SendEntry
from raybus.engines.ops import Op, Turn
from raybus.engines.queue.ops import (
    ChangeVisibility,
    Delete,
    Purge,
    QueueStats,
    Receive,
    Send,
    SettleTransfer,
    TakeForTransfer,
)
from raybus.engines.topic.ops import Publish, TopicStats

NOW = 1_700_000_000_000
EPOCH = 4
ENTRIES = [SendEntry(b"a"), SendEntry(b"b")]
LETTERS = [DeadLetter(7, "dlq", SendEntry(b"x")), DeadLetter(9, "dlq", SendEntry(b"y"))]


class FakeEngine:
    """Records every method call as ``(name, args, kwargs)`` and answers ``answers[name]``."""

    def __init__(self, fifo: bool = False, **answers: Any) -> None:
        self.answers = answers
        self.config = QueueConfig.create("q.fifo" if fifo else "q")
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.counters = PartitionCounters(
            sent=1, sent_bytes=2, received=3, deleted=4, dead_lettered=5, expired=6, purged=7
        )

    def __getattr__(self, name: str) -> Any:
        def method(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return self.answers.get(name)

        return method


def received(messages: list[Any], letters: list[DeadLetter]) -> ReceiveResult:
    return ReceiveResult(messages, letters)


def apply(op: Op[Any, Any], engine: Any) -> tuple[Any, Turn]:
    turn = Turn(NOW, EPOCH)
    return op.apply(engine, turn), turn


CASES: list[tuple[str, Op[Any, Any], dict[str, Any], list[Any], Any, bool]] = [
    # id, op, engine answers, expected calls, expected result, wake
    ("send", Send(ENTRIES), {"send": ["r1", "r2"]}, [("send", (NOW, ENTRIES), {})],
     ["r1", "r2"], True),
    ("receive", Receive(3, 20), {"receive": received(["m"], [])},
     [("receive", (NOW, 3, 20), {})], ["m"], False),
    ("receive-default-visibility", Receive(1), {"receive": received([], [])},
     [("receive", (NOW, 1, None), {})], [], False),
    ("delete", Delete(["h1", "h2"]), {"delete": [None, None]},
     [("delete", (NOW, ["h1", "h2"]), {})], [None, None], False),
    ("delete-fifo-frees-the-group", Delete(["h1"]), {"fifo": True, "delete": [None]},
     [("delete", (NOW, ["h1"]), {})], [None], True),
    ("change-visibility", ChangeVisibility([("h1", 5)]), {"change_visibility": [None]},
     [("change_visibility", (NOW, [("h1", 5)]), {})], [None], True),
    ("purge", Purge(), {"purge": 12}, [("purge", (NOW,), {})], 12, False),
    ("take-for-transfer", TakeForTransfer(10, "src"), {"take_for_transfer": LETTERS},
     [("take_for_transfer", (NOW, 10, "src"), {})], LETTERS, False),
    ("settle-moved-and-failed", SettleTransfer([1, 2], [3], True), {},
     [("finish_transfer", (NOW, [1, 2]), {"dead_lettered": True}),
      ("abort_transfer", (NOW, [3]), {})], None, True),
    ("settle-moved-only", SettleTransfer([1], []), {},
     [("finish_transfer", (NOW, [1]), {"dead_lettered": False})], None, True),
    ("settle-failed-only", SettleTransfer([], [4, 5]), {},
     [("abort_transfer", (NOW, [4, 5]), {})], None, True),
    ("publish", Publish([PublishEntry("p")]), {"publish": ["id"]},
     [("publish", (NOW, [PublishEntry("p")]), {})], ["id"], True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "answers", "calls", "result", "wake"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_op_calls_its_engine_method_with_the_turns_time(
    op: Op[Any, Any], answers: dict[str, Any], calls: list[Any], result: Any, wake: bool
) -> None:
    engine = FakeEngine(**answers)
    answer, turn = apply(op, engine)
    assert engine.calls == calls
    assert answer == result
    assert turn.wake is wake
    assert turn.transfers == []


def test_a_receive_hands_its_dead_letters_to_the_turn_not_to_the_caller() -> None:
    engine: Any = FakeEngine(receive=received(["m1"], list(LETTERS)))
    turn = Turn(NOW, EPOCH)
    turn.transfers.append("earlier")  # one turn may hold several receives' letters
    messages: list[Any] = Receive(5).apply(engine, turn)
    assert messages == ["m1"]
    assert turn.transfers == ["earlier", *LETTERS]
    assert turn.wake is False


def test_queue_stats_add_the_counters_and_the_turns_epoch_to_the_depths() -> None:
    depths = {"visible": 1, "in_flight": 2, "delayed": 3, "oldest_age_ms": 4}
    engine = FakeEngine(stats=depths)
    stats, turn = apply(QueueStats(), engine)
    assert engine.calls == [("stats", (NOW,), {})]
    assert stats == {
        **depths,
        "sent": 1,
        "sent_bytes": 2,
        "received": 3,
        "deleted": 4,
        "dead_lettered": 5,
        "expired": 6,
        "epoch": EPOCH,
    }
    assert depths == {"visible": 1, "in_flight": 2, "delayed": 3, "oldest_age_ms": 4}
    assert (turn.wake, turn.transfers) == (False, [])


def test_topic_stats_add_the_turns_epoch() -> None:
    engine = FakeEngine(stats={"published": 3, "retained": 1, "subscriptions": {}})
    stats, turn = apply(TopicStats(), engine)
    assert engine.calls == [("stats", (NOW,), {})]
    assert stats == {"published": 3, "retained": 1, "subscriptions": {}, "epoch": EPOCH}
    assert (turn.wake, turn.transfers) == (False, [])


def test_a_new_turn_has_no_effects() -> None:
    turn = Turn(NOW)
    assert (turn.now_ms, turn.epoch, turn.wake, turn.transfers) == (NOW, 0, False, [])


@pytest.mark.parametrize("op", [case[1] for case in CASES], ids=[case[0] for case in CASES])
def test_ops_are_frozen_values_that_survive_pickling(op: Op[Any, Any]) -> None:
    assert pickle.loads(pickle.dumps(op)) == op
    field = next(iter(getattr(op, "__dataclass_fields__", {})), None)
    if field is not None:
        with pytest.raises(FrozenInstanceError):
            setattr(op, field, None)
