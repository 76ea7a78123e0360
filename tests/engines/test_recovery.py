"""An engine rebuilt from its log holds everything acknowledged before the crash."""

from __future__ import annotations

import msgpack

from raybus.core import ManualClock, QueueConfig
from raybus.engines import QueuePartition, SendEntry, new_partition
from raybus.storage import MemoryLog

from .conftest import bodies, send


def rebuild(
    queue: QueuePartition, log: MemoryLog, snapshot: tuple[int, bytes] | None = None
) -> QueuePartition:
    """A fresh engine from the same log, optionally starting from ``(offset, snapshot)``."""
    fresh = new_partition(queue.config, log, tag=queue.tag)
    start = 0
    if snapshot is not None:
        start, blob = snapshot
        fresh.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
    for offset, payload in log.scan(start):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    return fresh


def test_sent_messages_survive_and_deleted_ones_stay_deleted(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q", visibility_timeout_s=0), log, tag=1)
    send(queue, clock.now_ms(), b"a", b"b", b"c")
    message = queue.receive(clock.now_ms(), 1).messages[0]
    queue.delete(clock.now_ms(), [message.receipt])
    again = rebuild(queue, log)
    assert bodies(again.receive(clock.now_ms(), 10).messages) == [b"b", b"c"]


def test_in_flight_messages_return_when_their_deadline_passes(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q", visibility_timeout_s=30), log, tag=1)
    send(queue, clock.now_ms(), b"a")
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    again = rebuild(queue, log)
    assert again.stats(clock.now_ms())["in_flight"] == 1
    clock.advance(30)
    message = again.receive(clock.now_ms(), 1).messages[0]
    assert message.receive_count == 2
    # the old receipt is stale now; the new one still works after recovery
    assert again.delete(clock.now_ms(), [receipt]) == [None]
    assert again.stats(clock.now_ms())["in_flight"] == 1
    third = rebuild(again, log)
    assert third.delete(clock.now_ms(), [message.receipt]) == [None]
    assert third.stats(clock.now_ms())["in_flight"] == 0


def test_visibility_changes_delays_and_purges_are_replayed(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q"), log, tag=1)
    send(queue, clock.now_ms(), b"a", SendEntry(b"later", delay_s=100))
    receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
    queue.change_visibility(clock.now_ms(), [(receipt, 500)])
    clock.advance(100)
    again = rebuild(queue, log)
    assert again.stats(clock.now_ms()) == queue.stats(clock.now_ms())
    queue.purge(clock.now_ms())
    assert rebuild(queue, log).stats(clock.now_ms())["visible"] == 0


def test_the_fifo_dedup_window_and_group_blocking_survive(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q.fifo"), log, tag=1)
    send(
        queue,
        clock.now_ms(),
        SendEntry(b"1", group_id="g", dedup_id="a"),
        SendEntry(b"2", group_id="g", dedup_id="b"),
    )
    queue.receive(clock.now_ms(), 1)
    again = rebuild(queue, log)
    assert again.receive(clock.now_ms(), 10).messages == []  # group still blocked
    (dup,) = again.send(clock.now_ms(), [SendEntry(b"x", group_id="g", dedup_id="a")])
    assert getattr(dup, "duplicate", False)


def test_a_snapshot_plus_the_tail_equals_a_full_replay(clock: ManualClock) -> None:
    for config in (QueueConfig.create("q"), QueueConfig.create("q.fifo", content_based_dedup=True)):
        log = MemoryLog()
        queue = new_partition(config, log, tag=1)
        send(
            queue,
            clock.now_ms(),
            *[SendEntry(f"m{i}".encode(), group_id=f"g{i % 3}") for i in range(30)],
        )
        queue.receive(clock.now_ms(), 4)
        snapshot = (log.end_offset, msgpack.packb(queue.snapshot(), use_bin_type=True))
        send(queue, clock.now_ms(), SendEntry(b"tail", group_id="g9"))
        queue.receive(clock.now_ms(), 2)
        from_snapshot, full = rebuild(queue, log, snapshot), rebuild(queue, log)
        assert from_snapshot.snapshot() == full.snapshot() == queue.snapshot()
        assert from_snapshot.stats(clock.now_ms()) == queue.stats(clock.now_ms())


def test_compaction_copies_replay_as_moves_not_as_new_messages(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q"), log, tag=1)
    send(queue, clock.now_ms(), b"a", b"b")
    live = queue.live_offsets()
    copies = log.append([log.read(offset) for offset in live])
    queue.relocate(dict(zip(live, copies, strict=True)))
    again = rebuild(queue, log)
    assert again.live_offsets() == copies
    assert bodies(again.receive(clock.now_ms(), 10).messages) == [b"a", b"b"]


def test_a_snapshot_after_an_old_dead_letter_was_deleted_still_loads(clock: ManualClock) -> None:
    # A transferred message keeps its older enqueue time and is indexed apart ("early");
    # once it is deleted the snapshot must not mention it.
    log = MemoryLog()
    dlq = new_partition(QueueConfig.create("dlq"), log, tag=1)
    send(dlq, clock.now_ms(), SendEntry(b"newer", message_id="m-2", sent_ms=clock.now_ms()))
    send(dlq, clock.now_ms(), SendEntry(b"older", message_id="m-1", sent_ms=clock.now_ms() - 9))
    older = [m for m in dlq.receive(clock.now_ms(), 10).messages if m.body == b"older"]
    dlq.delete(clock.now_ms(), [older[0].receipt])
    snapshot = (log.end_offset, msgpack.packb(dlq.snapshot(), use_bin_type=True))
    again = rebuild(dlq, log, snapshot)
    assert again.stats(clock.now_ms()) == dlq.stats(clock.now_ms())


def test_expired_messages_stay_gone_when_retention_is_raised_later(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q", retention_s=60), log, tag=1)
    send(queue, clock.now_ms(), b"old")
    clock.advance(61)
    assert queue.stats(clock.now_ms())["visible"] == 0  # expiry is logged here
    queue.config = queue.config.updated(retention_s=3600)
    assert rebuild(queue, log).stats(clock.now_ms())["visible"] == 0


def test_a_message_hidden_by_a_failed_transfer_stays_hidden_after_recovery(
    clock: ManualClock,
) -> None:
    log = MemoryLog()
    config = QueueConfig.create(
        "q",
        visibility_timeout_s=30,
        redrive_policy={"dead_letter_queue": "d", "max_receive_count": 1},
    )
    queue = new_partition(config, log, tag=1)
    send(queue, clock.now_ms(), b"poison")
    queue.receive(clock.now_ms(), 1, visibility_timeout_s=0)
    (letter,) = queue.receive(clock.now_ms(), 1).dead_letters
    queue.abort_transfer(clock.now_ms(), [letter.seq])
    again = rebuild(queue, log)
    assert again.stats(clock.now_ms()) == queue.stats(clock.now_ms())
    assert again.snapshot() == queue.snapshot()


def reopen_before(
    queue: QueuePartition, log: MemoryLog, end: int, *, epoch: int
) -> tuple[QueuePartition, MemoryLog]:
    """The partition as a new epoch reopens it after a crash that lost every record from
    offset ``end`` on (a receive answers before its RECEIVE record is durable)."""
    survived = MemoryLog()
    survived.append([payload for offset, payload in log.scan(0) if offset < end])
    fresh = new_partition(queue.config, survived, tag=queue.tag, epoch=epoch)
    for offset, payload in survived.scan(0):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    return fresh, survived


def test_a_delete_whose_receive_a_crash_undid_still_deletes(clock: ManualClock) -> None:
    for name in ("q", "q.fifo"):
        log = MemoryLog()
        config = QueueConfig.create(name, visibility_timeout_s=30)
        queue = new_partition(config, log, tag=1, epoch=1)
        fifo = {"group_id": "g", "dedup_id": "d"} if name.endswith(".fifo") else {}
        send(queue, clock.now_ms(), SendEntry(b"a", **fifo))
        end = log.end_offset
        receipt = queue.receive(clock.now_ms(), 1).messages[0].receipt
        again, survived = reopen_before(queue, log, end, epoch=2)
        assert again.stats(clock.now_ms())["visible"] == 1  # the receive was undone
        assert again.delete(clock.now_ms(), [receipt]) == [None]
        assert again.stats(clock.now_ms())["visible"] == 0, name
        assert again.receive(clock.now_ms(), 10).messages == []
        assert rebuild(again, survived).receive(clock.now_ms(), 10).messages == [], name


def test_a_receipt_overtaken_after_the_crash_stays_stale(clock: ManualClock) -> None:
    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q", visibility_timeout_s=0), log, tag=1, epoch=1)
    send(queue, clock.now_ms(), b"a")
    end = log.end_offset
    lost = queue.receive(clock.now_ms(), 1).messages[0].receipt  # receive count 1, undone
    again, _ = reopen_before(queue, log, end, epoch=2)
    again.receive(clock.now_ms(), 1)  # received twice since the crash: count 2
    again.receive(clock.now_ms(), 1)
    assert again.delete(clock.now_ms(), [lost]) == [None]
    assert again.stats(clock.now_ms())["visible"] == 1  # the stale receipt changed nothing


def test_a_receipt_ahead_of_its_message_in_the_same_epoch_deletes_nothing(
    clock: ManualClock,
) -> None:
    """Only an earlier epoch's receipt can be ahead of the log; in the live epoch a receipt
    with a higher count than the message has is not one this partition issued."""
    from raybus.core.tokens import Receipt, encode_receipt

    log = MemoryLog()
    queue = new_partition(QueueConfig.create("q"), log, tag=1, epoch=3)
    send(queue, clock.now_ms(), b"a")
    forged = encode_receipt(Receipt(0, 3, 1, 0, 5))
    assert queue.delete(clock.now_ms(), [forged]) == [None]
    assert queue.stats(clock.now_ms())["visible"] == 1
