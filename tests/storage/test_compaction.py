"""Compaction: the pure planner, and a host loop that keeps disk use bounded."""

from __future__ import annotations

import json
import random

import pytest

from raybus.storage import CompactionPlan, PartitionLog, SegmentInfo, plan_compaction
from raybus.storage.format import SEGMENT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES

from .conftest import Logs

# -- the planner --------------------------------------------------------------------------------


def segment(base: int, records: int, *, sealed: bool = True, frame: int = 100) -> SegmentInfo:
    return SegmentInfo(
        base_offset=base,
        end_offset=base + records * frame,
        records=records,
        size_bytes=SEGMENT_HEADER_BYTES + records * frame,
        sealed=sealed,
        created_ms=0,
    )


def ten_segments(records: int = 10) -> list[SegmentInfo]:
    return [segment(i * records * 100, records) for i in range(10)]


def live_in(info: SegmentInfo, count: int) -> list[int]:
    return [info.base_offset + i * 100 for i in range(count)]


def test_segments_without_live_records_are_dropped() -> None:
    segments = ten_segments()
    live = live_in(segments[1], 10) + live_in(segments[3], 10)
    plan = plan_compaction(segments, live, slack_ratio=0.5)
    assert plan.drop == [s.base_offset for i, s in enumerate(segments) if i not in (1, 3)]
    assert plan.relocate == [] and plan.rewritten == []


def test_the_active_segment_is_never_part_of_a_plan() -> None:
    segments = [*ten_segments()[:2], segment(2000, 10, sealed=False)]
    plan = plan_compaction(segments, [], slack_ratio=0.5)
    assert plan.drop == [0, 1000]


def test_a_fully_live_log_needs_no_work() -> None:
    segments = ten_segments()
    live = [o for s in segments for o in live_in(s, 10)]
    assert plan_compaction(segments, live, slack_ratio=0.0).empty


def test_the_sparsest_segments_are_rewritten_until_garbage_fits_the_slack() -> None:
    segments = ten_segments()
    counts = [9, 5, 9, 3, 9, 7, 9, 9, 9, 9]  # live records per segment
    live = [o for s, n in zip(segments, counts, strict=True) for o in live_in(s, n)]
    plan = plan_compaction(segments, live, slack_ratio=0.15, min_segment_live_ratio=0.0)
    assert plan.rewritten == [segments[1].base_offset, segments[3].base_offset]
    assert plan.relocate == live_in(segments[1], 5) + live_in(segments[3], 3)
    assert plan.drop == plan.rewritten
    assert plan.garbage_bytes_after <= 0.15 * plan.live_bytes


def test_a_nearly_empty_segment_is_rewritten_even_when_the_bound_holds() -> None:
    segments = ten_segments()
    counts = [10, 10, 10, 1, 10, 10, 10, 10, 10, 10]
    live = [o for s, n in zip(segments, counts, strict=True) for o in live_in(s, n)]
    assert plan_compaction(segments, live, slack_ratio=1.0, min_segment_live_ratio=0.0).empty
    plan = plan_compaction(segments, live, slack_ratio=1.0, min_segment_live_ratio=0.2)
    assert plan.rewritten == [segments[3].base_offset]
    assert plan.relocate == [segments[3].base_offset]


@pytest.mark.parametrize(
    ("slack", "ratio"), [(-0.1, 0.2), (0.5, -0.1), (0.5, 1.0)], ids=["slack", "low", "high"]
)
def test_nonsense_ratios_are_refused(slack: float, ratio: float) -> None:
    with pytest.raises(ValueError):
        plan_compaction([], [], slack_ratio=slack, min_segment_live_ratio=ratio)


# -- a host loop over a real log ----------------------------------------------------------------


class Engine:
    """The smallest engine: the set of live record offsets and their payloads."""

    def __init__(self) -> None:
        self.live: dict[int, bytes] = {}

    def snapshot(self) -> bytes:
        return json.dumps(sorted(self.live)).encode()


def compact(log: PartitionLog, engine: Engine, *, slack_ratio: float) -> CompactionPlan:
    """What a host does: seal, plan, relocate, snapshot, delete."""
    log.roll()
    plan = plan_compaction(log.segments(), sorted(engine.live), slack_ratio=slack_ratio)
    if plan.relocate:
        moved = log.append([log.read(offset) for offset in plan.relocate])
        for old, new in zip(plan.relocate, moved, strict=True):
            engine.live[new] = engine.live.pop(old)
    log.write_snapshot(log.end_offset, engine.snapshot())
    for base in plan.drop:
        log.delete_segment(base)
    return plan


def test_when_every_record_is_dead_the_log_shrinks_to_an_empty_segment_and_a_tiny_snapshot(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=8 * 1024)
    engine = Engine()
    for offset in log.append([b"m" * 500] * 200):  # ~100 KiB over 13 segments
        engine.live[offset] = b"m" * 500
    log.commit()
    assert log.disk_bytes() > 100_000
    engine.live.clear()  # every message deleted
    compact(log, engine, slack_ratio=0.5)
    snapshot = engine.snapshot()
    assert log.disk_bytes() == SEGMENT_HEADER_BYTES + SNAPSHOT_HEADER_BYTES + len(snapshot)
    assert [s.records for s in log.segments()] == [0]
    assert list(log.scan()) == []


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_under_random_appends_and_deletes_disk_use_stays_within_the_bound(
    logs: Logs, seed: int
) -> None:
    """Every record is a 100-byte frame, so the planner's estimate of live bytes is exact up to
    the segment headers the bound allows for."""
    slack = 0.5
    segment_bytes = 4096
    rng = random.Random(seed)
    log = logs.open(segment_bytes=segment_bytes)
    engine = Engine()
    for step in range(150):
        batch = [f"{step}:{i}".encode().ljust(92, b".") for i in range(rng.randint(1, 40))]
        for offset, payload in zip(log.append(batch), batch, strict=True):
            engine.live[offset] = payload
        for offset in rng.sample(
            sorted(engine.live), k=len(engine.live) * rng.randint(0, 60) // 100
        ):
            del engine.live[offset]
        log.commit()
        if step % 5 == 4:
            compact(log, engine, slack_ratio=slack)
            live_bytes = 100 * len(engine.live)
            segments = len(log.segments())
            snapshot_bytes = SNAPSHOT_HEADER_BYTES + len(engine.snapshot())
            bound = (
                live_bytes * (1 + slack)
                + segment_bytes
                + snapshot_bytes
                + (2 + slack) * SEGMENT_HEADER_BYTES * segments
            )
            assert log.disk_bytes() <= bound, (step, log.disk_bytes(), bound)
    assert {o: log.read(o) for o in engine.live} == engine.live
    again = logs.reopen(log, segment_bytes=segment_bytes)
    snapshot = again.load_snapshot()
    assert snapshot is not None
    live_after_snapshot = {o: p for o, p in engine.live.items() if o < snapshot[0]}
    assert {o: again.read(o) for o in live_after_snapshot} == live_after_snapshot
