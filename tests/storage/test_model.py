"""FileLog and MemoryLog agree with a plain reference model on random operation sequences."""

from __future__ import annotations

import shutil
import tempfile
from bisect import bisect_left

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from raybus.core import ManualClock
from raybus.storage import FileLog, FsyncPolicy, MemoryLog, PartitionLog

SEGMENT_BYTES = 700
SEGMENT_AGE_MS = 10_000

payload_lists = st.lists(st.binary(max_size=300), min_size=1, max_size=8)


def outcome(call: object) -> object:
    """The result of ``call()`` or the type of the exception it raised."""
    try:
        return call()  # type: ignore[operator]
    except (KeyError, ValueError) as exc:
        return type(exc)


class BothLogs(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.directory = tempfile.mkdtemp(prefix="raybus-model-")
        self.file: PartitionLog = self._open_file()
        self.memory: PartitionLog = MemoryLog(
            segment_bytes=SEGMENT_BYTES, segment_age_ms=SEGMENT_AGE_MS, clock=self.clock
        )
        self.records: dict[int, bytes] = {}  # the model: offset -> payload, never forgets
        self.deleted_below: set[int] = set()  # offsets whose segment was deleted

    def _open_file(self) -> FileLog:
        return FileLog(
            self.directory,
            fsync=FsyncPolicy.NEVER,
            segment_bytes=SEGMENT_BYTES,
            segment_age_ms=SEGMENT_AGE_MS,
            clock=self.clock,
        )

    def teardown(self) -> None:
        self.file.close()
        self.memory.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def live(self) -> list[int]:
        return sorted(o for o in self.records if o not in self.deleted_below)

    @rule(batch=payload_lists)
    def append(self, batch: list[bytes]) -> None:
        offsets = self.file.append(batch)
        assert self.memory.append(batch) == offsets
        self.records.update(zip(offsets, batch, strict=True))

    @rule()
    def commit(self) -> None:
        assert self.file.commit() == self.memory.commit()

    @rule()
    def roll(self) -> None:
        self.file.roll()
        self.memory.roll()

    @rule(seconds=st.sampled_from([1, 5, 10, 30]))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: self.records)
    @rule(data=st.data())
    def read(self, data: st.DataObject) -> None:
        offset = data.draw(st.sampled_from(sorted(self.records)))
        delta = data.draw(st.sampled_from([0, 0, 0, 1, 5]))
        expected = self.records[offset] if delta == 0 else KeyError
        if offset in self.deleted_below and delta == 0:
            expected = KeyError
        assert outcome(lambda: self.file.read(offset + delta)) == expected
        assert outcome(lambda: self.memory.read(offset + delta)) == expected

    @rule(start=st.integers(0, 20_000))
    def scan(self, start: int) -> None:
        live = self.live()
        expected = [(o, self.records[o]) for o in live[bisect_left(live, start) :]]
        assert list(self.file.scan(start)) == expected
        assert list(self.memory.scan(start)) == expected

    @precondition(lambda self: self.records)
    @rule(data=st.data())
    def snapshot(self, data: st.DataObject) -> None:
        current = (self.file.load_snapshot() or (0, b""))[0]
        choices = [o for o in sorted(self.records) if o >= current] + [self.file.end_offset]
        offset = data.draw(st.sampled_from(choices))
        state = data.draw(st.binary(max_size=50))
        self.file.write_snapshot(offset, state)
        self.memory.write_snapshot(offset, state)
        assert self.file.load_snapshot() == self.memory.load_snapshot() == (offset, state)

    @rule(data=st.data())
    def delete_segment(self, data: st.DataObject) -> None:
        segments = self.file.segments()
        base = data.draw(st.sampled_from([s.base_offset for s in segments]))
        result = outcome(lambda: self.file.delete_segment(base))
        assert outcome(lambda: self.memory.delete_segment(base)) == result
        if result is None:
            end = next(s.end_offset for s in segments if s.base_offset == base)
            self.deleted_below |= {o for o in self.records if base <= o < end}

    @rule()
    def reopen(self) -> None:
        self.file.close()
        self.file = self._open_file()
        assert isinstance(self.memory, MemoryLog)
        self.memory.close()
        self.memory = self.memory.reopen()
        assert self.file.recovery.truncated_bytes == 0

    @invariant()
    def both_logs_look_the_same(self) -> None:
        assert self.file.end_offset == self.memory.end_offset
        assert self.file.durable_offset == self.memory.durable_offset
        assert self.file.segments() == self.memory.segments()
        if self.file.durable_offset == self.file.end_offset:
            assert self.file.disk_bytes() == self.memory.disk_bytes()


BothLogs.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
test_file_and_memory_logs_agree_with_the_model = BothLogs.TestCase
