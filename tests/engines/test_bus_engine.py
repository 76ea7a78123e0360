"""The bus engine: PutEvents checks and envelopes, matching at put time, per-target delivery
with retries, event age and dead letters, and recovery (replay, snapshot, compaction)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import msgpack
import pytest

from raybus.core.buses import BusConfig, EventEntry, PutEventsResult
from raybus.core.errors import RaybusError
from raybus.engines.bus import BusPartition, TargetSpec
from raybus.engines.bus.engine import retry_delay_ms
from raybus.storage import MemoryLog, PartitionLog, plan_compaction

T0 = 1_700_000_000_000


def by_source(routes: dict[str, list[str]]) -> Any:
    """A matcher: the targets listed for the event's source (and every target for a replay
    limited to rules, filtered by rule prefix)."""

    def match(event: dict[str, Any], rules: tuple[str, ...] | None, _to: bool) -> Iterable[str]:
        keys = routes.get(event["source"], [])
        if rules is not None:
            keys = [k for k in keys if k.rsplit("/", 1)[0] in rules]
        return keys

    return match


def bus(log: PartitionLog, routes: dict[str, list[str]], *specs: TargetSpec) -> BusPartition:
    engine = BusPartition(BusConfig("b"), log, tag=5)
    engine.set_matcher(by_source(routes))
    engine.set_targets(T0, list(specs))
    return engine


def entry(source: str = "app", detail: Any = None, **fields: Any) -> EventEntry:
    text = json.dumps({"n": 1} if detail is None else detail)
    return EventEntry(source=source, detail_type="thing", detail=text, **fields)


def put(engine: BusPartition, now: int, *entries: EventEntry) -> list[str]:
    results = engine.put(now, list(entries))
    assert all(isinstance(r, PutEventsResult) for r in results), results
    return [r.event_id for r in results if isinstance(r, PutEventsResult)]


def recover(live: BusPartition, log: PartitionLog) -> BusPartition:
    fresh = BusPartition(live.config, log, tag=live.tag)
    snapshot = log.load_snapshot()
    start = 0
    if snapshot is not None:
        start, blob = snapshot
        fresh.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
    for offset, payload in log.scan(start):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    return fresh


def test_put_builds_the_envelope_aws_delivers() -> None:
    engine = bus(MemoryLog(), {"app": ["r/t"]}, TargetSpec("r/t"))
    (event_id,) = put(engine, T0, entry(resources=("arn:x",), time_ms=T0 - 61_000))
    (delivery,), expired = engine.take(T0, "r/t", 10)
    assert expired == []
    data = json.loads(delivery.event.text)
    assert data == {
        "version": "0",
        "id": event_id,
        "detail-type": "thing",
        "source": "app",
        "account": "000000000000",
        "time": "2023-11-14T22:12:19Z",
        "region": "us-east-1",
        "resources": ["arn:x"],
        "detail": {"n": 1},
    }
    assert delivery.event.data == data and delivery.attempt == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"source": None}, "InvalidArgument"),
        ({"detail_type": ""}, "InvalidArgument"),
        ({"detail": None}, "InvalidArgument"),
        ({"detail": "[1, 2]"}, "MalformedDetail"),
        ({"detail": "{not json"}, "MalformedDetail"),
        ({"source": "aws.s3"}, "NotAuthorizedForSourceException"),
    ],
)
def test_bad_entries_fail_alone(fields: dict[str, Any], code: str) -> None:
    log = MemoryLog()
    engine = bus(log, {"app": ["r/t"]}, TargetSpec("r/t"))
    good = entry()
    bad = EventEntry(**{"source": "app", "detail_type": "thing", "detail": "{}", **fields})
    results = engine.put(T0, [good, bad, good])
    assert isinstance(results[0], PutEventsResult) and isinstance(results[2], PutEventsResult)
    assert isinstance(results[1], RaybusError) and results[1].code == code
    deliveries, _ = engine.take(T0, "r/t", 10)
    assert [d.event.data["id"] for d in deliveries] == [results[0].event_id, results[2].event_id]


def test_matching_targets_get_events_independently() -> None:
    engine = bus(
        MemoryLog(), {"a": ["r1/t", "r2/t"], "b": ["r2/t"]}, TargetSpec("r1/t"), TargetSpec("r2/t")
    )
    put(engine, T0, entry("a"), entry("b"), entry("c"))
    assert sorted(engine.ready(T0)) == ["r1/t", "r2/t"]
    first, _ = engine.take(T0, "r1/t", 10)
    second, _ = engine.take(T0, "r2/t", 10)
    assert [d.event.data["source"] for d in first] == ["a"]
    assert [d.event.data["source"] for d in second] == ["a", "b"]
    assert engine.stats()["events"] == 3 and engine.stats()["matched"] == 2
    engine.settle(T0, "r2/t", [(d.seq, True) for d in second])
    assert engine.stats()["retained"] == 1  # "a" is still owed to r1/t
    engine.settle(T0, "r1/t", [(first[0].seq, True)])
    assert engine.stats()["retained"] == 0 and engine.ready(T0) == []


def test_failures_retry_with_backoff_then_go_to_the_dead_letter_queue() -> None:
    spec = TargetSpec("r/t", maximum_retry_attempts=2, has_dead_letter_queue=True)
    engine = bus(MemoryLog(), {"app": ["r/t"]}, spec)
    put(engine, T0, entry())
    now = T0
    for attempt in (1, 2, 3):
        (delivery,), _ = engine.take(now, "r/t", 10)
        assert delivery.attempt == attempt
        exhausted = engine.settle(now, "r/t", [(delivery.seq, ValueError("down"))])
        if attempt < 3:
            assert exhausted == []
            due = engine.next_due_ms()
            assert due == now + retry_delay_ms(attempt, delivery.seq)
            assert engine.take(due - 1, "r/t", 10) == ([], [])
            now = due
    assert [(e.attempts, str(e.error)) for e in exhausted] == [(3, "down")]
    assert engine.take(now + 10**9, "r/t", 10) == ([], [])  # held for the dead-letter queue
    engine.settle_exhausted(now, "r/t", [exhausted[0].seq], False)  # the DLQ refused it
    (again,) = engine.take(engine.next_due_ms() or 0, "r/t", 10)[1]
    engine.settle_exhausted(now, "r/t", [again.seq], True)
    stats = engine.stats()
    assert stats["retained"] == 0
    assert stats["targets"]["r/t"]["dead_lettered"] == 1
    assert stats["targets"]["r/t"]["failed"] == 3


def test_an_event_past_its_age_is_not_tried_again() -> None:
    spec = TargetSpec("r/t", maximum_event_age_ms=60_000)
    engine = bus(MemoryLog(), {"app": ["r/t"]}, spec)
    put(engine, T0, entry())
    (delivery,), _ = engine.take(T0, "r/t", 10)
    assert engine.settle(T0, "r/t", [(delivery.seq, OSError("x"))]) == []
    # one clock jump far past the age: the due retry is dropped (no dead-letter queue)
    assert engine.take(T0 + 86_400_000, "r/t", 10) == ([], [])
    stats = engine.stats()["targets"]["r/t"]
    assert stats["discarded"] == 1 and engine.stats()["retained"] == 0


def test_retry_delays_grow_with_jitter_and_stay_bounded() -> None:
    delays = [retry_delay_ms(n, 7) for n in range(1, 30)]
    assert all(500 <= d <= 300_000 for d in delays)
    assert delays[0] <= 1_000 and delays[5] >= 16_000
    assert len({retry_delay_ms(9, seq) for seq in range(50)}) > 10  # spread over events
    # 185 retries at the cap take well under EventBridge's 24 hours
    assert sum(retry_delay_ms(n, 3) for n in range(1, 186)) < 86_400_000


def test_removed_targets_release_their_events() -> None:
    engine = bus(MemoryLog(), {"app": ["r/t", "r/u"]}, TargetSpec("r/t"), TargetSpec("r/u"))
    put(engine, T0, entry(), entry())
    engine.set_targets(T0, [TargetSpec("r/u")])
    assert engine.take(T0, "r/t", 10) == ([], [])
    assert engine.stats()["retained"] == 2
    deliveries, _ = engine.take(T0, "r/u", 10)
    engine.settle(T0, "r/u", [(d.seq, True) for d in deliveries])
    assert engine.stats()["retained"] == 0


def test_a_replay_is_limited_to_its_rules_and_named() -> None:
    engine = bus(MemoryLog(), {"app": ["r1/t", "r2/t"]}, TargetSpec("r1/t"), TargetSpec("r2/t"))
    put(engine, T0, entry(replay_name="again", rules=("r2",)))
    assert engine.ready(T0) == ["r2/t"]
    (delivery,), _ = engine.take(T0, "r2/t", 1)
    assert delivery.event.data["replay-name"] == "again"


def _state(engine: BusPartition) -> dict[str, Any]:
    return engine.snapshot()


def _checkpoint(engine: BusPartition, log: PartitionLog) -> None:
    log.roll()
    plan = plan_compaction(log.segments(), engine.live_offsets(), slack_ratio=0.0)
    if plan.relocate:
        copies = log.append([log.read(offset) for offset in plan.relocate])
        log.commit()
        engine.relocate(dict(zip(plan.relocate, copies, strict=True)))
    log.write_snapshot(log.end_offset, msgpack.packb(engine.snapshot(), use_bin_type=True))
    for base in plan.drop:
        log.delete_segment(base)


@pytest.mark.parametrize("snapshot_midway", [False, True])
def test_recovery_rebuilds_pending_retries_and_retention(snapshot_midway: bool) -> None:
    log = MemoryLog(segment_bytes=512)
    spec = TargetSpec("r/t", has_dead_letter_queue=True)
    engine = bus(log, {"app": ["r/t", "r/u"]}, spec, TargetSpec("r/u"))
    put(engine, T0, *[entry(detail={"i": i}) for i in range(6)])
    first, _ = engine.take(T0, "r/t", 3)
    engine.settle(T0, "r/t", [(first[0].seq, True), (first[1].seq, RuntimeError("no"))])
    # first[2] stays in flight: after a crash it is delivered again
    if snapshot_midway:
        _checkpoint(engine, log)
    put(engine, T0 + 1, entry(detail={"i": 6}))
    u, _ = engine.take(T0, "r/u", 100)
    engine.settle(T0, "r/u", [(d.seq, True) for d in u])
    log.commit()
    fresh = recover(engine, log)
    assert fresh.snapshot() == engine.snapshot()
    assert fresh.take(T0, "r/t", 100) == ([], [])  # until the shell installs the targets
    end = log.end_offset
    fresh.set_targets(T0, [spec, TargetSpec("r/u")])
    fresh.set_matcher(by_source({"app": ["r/t", "r/u"]}))
    assert log.end_offset == end  # known targets: nothing logged
    again, _ = fresh.take(T0, "r/t", 100)
    assert sorted(d.event.data["detail"]["i"] for d in again) == [2, 3, 4, 5, 6]
    assert fresh.next_due_ms() is not None  # the failed one waits for its retry
    # the new engine continues the sequence and the ids
    (new_id,) = put(fresh, T0 + 2, entry())
    assert new_id not in {d.event.data["id"] for d in again}


def test_compaction_keeps_what_targets_still_owe() -> None:
    log = MemoryLog(segment_bytes=256)
    engine = bus(log, {"app": ["r/t"]}, TargetSpec("r/t"))
    put(engine, T0, *[entry(detail={"i": i}) for i in range(20)])
    delivered, _ = engine.take(T0, "r/t", 15)
    engine.settle(T0, "r/t", [(d.seq, True) for d in delivered])
    log.commit()
    _checkpoint(engine, log)
    fresh = recover(engine, log)
    fresh.set_targets(T0, [TargetSpec("r/t")])
    rest, _ = fresh.take(T0, "r/t", 100)
    assert [d.event.data["detail"]["i"] for d in rest] == list(range(15, 20))
    assert fresh.stats()["retained"] == 5


def test_an_archive_keeps_events_for_its_retention_and_is_never_delivered() -> None:
    log = MemoryLog()
    archive = TargetSpec("r/archive", archive=True, retention_ms=86_400_000)
    engine = bus(log, {"app": ["r/archive", "r/t"]}, archive, TargetSpec("r/t"))
    put(engine, T0, entry(detail={"i": 0}))
    put(engine, T0 + 3_600_000, entry(detail={"i": 1}), entry(detail={"i": 2}))
    assert engine.ready(T0 + 3_600_000) == ["r/t"]  # the archive has nothing to deliver
    assert engine.take(T0, "r/archive", 10) == ([], [])
    delivered, _ = engine.take(T0 + 3_600_000, "r/t", 10)
    engine.settle(T0 + 3_600_000, "r/t", [(d.seq, True) for d in delivered])
    assert engine.archive_size("r/archive")[0] == 3
    window = engine.archived("r/archive", T0 + 1, T0 + 3_600_000, 0, 10)
    assert [e.data["detail"]["i"] for e in window] == [1, 2]
    assert [e.data["detail"]["i"] for e in engine.archived("r/archive", 0, T0 * 2, 2, 10)] == [2]
    assert engine.next_expiry_ms() == T0 + 86_400_001
    assert engine.expire(T0 + 86_400_000) is False
    assert engine.expire(T0 + 86_400_001) is True
    count, size = engine.archive_size("r/archive")
    assert count == 2 and size > 100
    assert engine.stats()["retained"] == 2
    fresh = recover(engine, log)
    fresh.set_targets(T0, [archive, TargetSpec("r/t")])
    assert fresh.archive_size("r/archive") == (count, size)


def test_replay_progress_survives_recovery() -> None:
    log = MemoryLog()
    engine = bus(log, {}, TargetSpec("r/archive", archive=True))
    assert engine.replay_progress("again") == (0, 0, False)
    engine.record_replay(T0, "again", 41, False)
    engine.record_replay(T0 + 5, "again", 57, True)
    log.commit()
    fresh = recover(engine, log)
    assert fresh.replay_progress("again") == (57, T0 + 5, True)
    assert fresh.stats()["replays"] == {"again": {"last_seq": 57, "at_ms": T0 + 5, "done": True}}
    fresh.forget_replays(set())
    assert fresh.replay_progress("again") == (0, 0, False)
