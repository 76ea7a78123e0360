"""The segment list both logs share (:mod:`raybus.storage.segments`)."""

from __future__ import annotations

import pytest

from raybus.storage import SegmentInfo
from raybus.storage.format import SEGMENT_HEADER_BYTES
from raybus.storage.segments import SegmentList, check_snapshot_offset


class Seg:
    def __init__(self, base: int, size: int, records: int = 1) -> None:
        self.base = base
        self.size = size
        self.records = records
        self.created_ms = 7
        self.sealed = False

    @property
    def end(self) -> int:
        return self.base + self.size


def three() -> SegmentList[Seg]:
    segments: SegmentList[Seg] = SegmentList()
    for base, size in ((0, 100), (100, 50), (150, 0)):
        segments.append(Seg(base, size))
    return segments


def test_append_seals_the_active_segment() -> None:
    segments = three()
    assert [s.sealed for s in segments] == [True, True, False]
    assert len(segments) == 3 and segments[-1].base == 150


def test_find_and_from_offset_bisect_over_the_bases() -> None:
    segments = three()
    assert segments.find(0) is segments[0] and segments.find(149) is segments[1]
    assert segments.find(150) is None and segments.find(-1) is None
    assert [s.base for s in segments.from_offset(120)] == [100, 150]
    assert [s.base for s in segments.from_offset(-5)] == [0, 100, 150]


def test_only_a_sealed_segment_wholly_below_the_snapshot_is_removed() -> None:
    segments = three()
    with pytest.raises(ValueError, match="no segment starts at offset 50"):
        segments.remove_below(50, 150)
    with pytest.raises(ValueError, match="snapshot offset None"):
        segments.remove_below(0, None)
    with pytest.raises(ValueError, match=r"segment 100 \(end 150, sealed True\)"):
        segments.remove_below(100, 149)
    with pytest.raises(ValueError, match="sealed False"):
        segments.remove_below(150, 150)
    assert segments.remove_below(100, 150).base == 100
    assert segments.find(120) is None  # a gap now
    assert [s.base for s in segments.from_offset(120)] == [0, 150]


def test_infos_count_the_segment_header() -> None:
    assert three().infos()[1] == SegmentInfo(
        base_offset=100,
        end_offset=150,
        records=1,
        size_bytes=SEGMENT_HEADER_BYTES + 50,
        sealed=True,
        created_ms=7,
    )


def test_a_snapshot_offset_lies_between_the_current_one_and_the_end() -> None:
    check_snapshot_offset(5, 5, 5)
    with pytest.raises(ValueError, match=r"snapshot offset 4 outside \[5, 9\] \(current, end\)"):
        check_snapshot_offset(4, 5, 9)
    with pytest.raises(ValueError):
        check_snapshot_offset(10, 5, 9)
