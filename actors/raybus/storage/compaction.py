"""Compaction planning: which sealed segments to drop, which to rewrite.

A pure function; the host runs the plan:

1. ``new = log.append([log.read(o) for o in plan.relocate])`` — the live records of the
   segments being rewritten land densely at the end of the log; the engine remaps
   ``plan.relocate[i] -> new[i]``;
2. ``log.write_snapshot(log.end_offset, engine_state)`` (this commits the re-appended records);
3. ``log.delete_segment(base)`` for every ``base`` in ``plan.drop`` (segments without live
   records and the rewritten ones).

Bound it keeps (with live bytes estimated per segment as ``live / records × size_bytes``)::

    disk ≤ live × (1 + slack_ratio) + one active segment + snapshot (+ segment headers)

Reasoning: after the plan, garbage remains only in the sealed segments it keeps and in the
active segment. Segments are taken in order of garbage density (fewest live bytes per byte
first) until the garbage left in kept sealed segments is at most ``slack_ratio`` × live bytes;
relocated records cost their live bytes again at the end of the log, so rewriting the
garbage-densest segments first frees the most disk per byte copied. Independently of the bound,
any segment whose live ratio is below ``min_segment_live_ratio`` is rewritten too: it is cheap.

Cost: O(S log L + R) for S segments, L live offsets and R relocated records.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

from raybus.storage.api import SegmentInfo

__all__ = ["CompactionPlan", "plan_compaction"]


@dataclass(frozen=True, slots=True)
class CompactionPlan:
    """What to do; every list ascending.

    - ``relocate``: offsets of the live records to re-append (those in ``rewritten`` segments).
    - ``drop``: base offsets of every segment to delete once the snapshot is written — the
      segments without live records and the ``rewritten`` ones.
    - ``rewritten``: base offsets of the segments whose live records are in ``relocate``.
    """

    relocate: list[int] = field(default_factory=list)
    drop: list[int] = field(default_factory=list)
    rewritten: list[int] = field(default_factory=list)
    live_bytes: int = 0  # estimated live bytes in sealed segments
    garbage_bytes_after: int = 0  # estimated garbage left in kept sealed segments

    @property
    def empty(self) -> bool:
        return not self.relocate and not self.drop


def plan_compaction(
    segments: Sequence[SegmentInfo],
    live_offsets: Sequence[int],
    *,
    slack_ratio: float = 0.5,
    min_segment_live_ratio: float = 0.2,
) -> CompactionPlan:
    """Plan a compaction of ``segments`` given the sorted offsets of every live record.

    Only sealed segments are considered; the active one is left alone (the host may ``roll``
    first). ``slack_ratio`` ≥ 0 is the garbage allowed per live byte; ``min_segment_live_ratio``
    in [0, 1) rewrites nearly empty segments regardless of the bound.
    """
    if slack_ratio < 0:
        raise ValueError("slack_ratio must be >= 0")
    if not 0 <= min_segment_live_ratio < 1:
        raise ValueError("min_segment_live_ratio must be in [0, 1)")
    empty: list[int] = []
    candidates: list[tuple[float, int, int, int]] = []  # (live ratio, base, live, garbage)
    ranges: dict[int, tuple[int, int]] = {}  # base -> index range in live_offsets
    live_total = 0
    garbage_total = 0
    for segment in segments:
        if not segment.sealed:
            continue
        first = bisect_left(live_offsets, segment.base_offset)
        stop = bisect_left(live_offsets, segment.end_offset, first)
        live = stop - first
        if live == 0:
            empty.append(segment.base_offset)
            continue
        ranges[segment.base_offset] = (first, stop)
        ratio = live / segment.records if segment.records else 1.0
        live_bytes = round(ratio * segment.size_bytes)
        garbage = segment.size_bytes - live_bytes
        live_total += live_bytes
        garbage_total += garbage
        candidates.append((ratio, segment.base_offset, live_bytes, garbage))
    candidates.sort()
    rewritten: list[int] = []
    allowed = slack_ratio * live_total
    for ratio, base, _live_bytes, garbage in candidates:
        if garbage_total <= allowed and ratio >= min_segment_live_ratio:
            break
        if garbage == 0:
            continue
        rewritten.append(base)
        garbage_total -= garbage
    rewritten.sort()
    relocate: list[int] = []
    for base in rewritten:
        first, stop = ranges[base]
        relocate.extend(live_offsets[first:stop])
    return CompactionPlan(
        relocate=relocate,
        drop=sorted(empty + rewritten),
        rewritten=rewritten,
        live_bytes=live_total,
        garbage_bytes_after=garbage_total,
    )
