"""The partition-log contract, run against FileLog and MemoryLog alike."""

from __future__ import annotations

import itertools
import sys
import threading

import pytest

from raybus.core import RaybusError
from raybus.storage import MAX_RECORD_BYTES, FileLog
from raybus.storage.format import SEGMENT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES

from .conftest import Logs, frame

SIZES = [0, 1, 7, 100, 1024, 5000]


def payloads(count: int, size: int = 100, tag: int = 0) -> list[bytes]:
    return [f"{tag}:{i}:".encode().ljust(size, b"x") for i in range(count)]


# -- offsets ------------------------------------------------------------------------------------


def test_offsets_are_positions_in_the_stream_of_frames_starting_at_zero(logs: Logs) -> None:
    log = logs.open()
    records = [b"x" * size for size in SIZES]
    offsets = log.append(records)
    expected = [sum(frame(r) for r in records[:i]) for i in range(len(records))]
    assert offsets == expected
    assert log.end_offset == sum(frame(r) for r in records)


def test_a_roll_never_changes_the_offset_the_next_record_gets(logs: Logs) -> None:
    log = logs.open()
    log.append([b"a" * 10])
    end = log.end_offset
    log.roll()
    assert log.end_offset == end
    assert log.append([b"b"]) == [end]
    assert log.segments()[-1].base_offset == end


def test_an_empty_append_returns_no_offsets_and_changes_nothing(logs: Logs) -> None:
    log = logs.open()
    assert log.append([]) == []
    assert log.end_offset == 0


# -- append, read, commit -----------------------------------------------------------------------


def test_appended_records_are_readable_before_and_after_commit(logs: Logs) -> None:
    log = logs.open()
    records = payloads(20, 300)
    offsets = log.append(records)
    assert [log.read(o) for o in offsets] == records
    log.commit()
    assert [log.read(o) for o in offsets] == records


def test_read_many_returns_what_read_returns_across_sizes_segments_and_the_buffer(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=600_000)
    sizes = [100, 5000, 300_000, 1, 4090, 4100, 0, 200_000, 50] * 2  # some cross the span
    records = [f"{i}:".encode().ljust(size, b"r") for i, size in enumerate(sizes)]
    committed = log.append(records[:12])
    log.commit()
    buffered = log.append(records[12:])
    offsets = committed + buffered
    assert len(log.segments()) > 1
    assert log.read_many(offsets) == records
    picks = [offsets[i] for i in (5, 1, 1, 2, 13, 0, 17, 11, 12, 3)]  # unsorted, repeated
    assert log.read_many(picks) == [log.read(o) for o in picks]
    assert log.read_many([]) == []


def test_read_many_raises_key_error_for_an_offset_where_no_record_starts(logs: Logs) -> None:
    log = logs.open()
    offsets = log.append(payloads(5, 100))
    log.commit()
    with pytest.raises(KeyError):
        log.read_many([offsets[0], offsets[1] + 3, offsets[2]])
    with pytest.raises(KeyError):
        log.read_many([offsets[0], log.end_offset])


def test_commit_makes_everything_appended_durable_and_returns_the_durable_offset(
    logs: Logs,
) -> None:
    log = logs.open()
    log.append(payloads(3))
    assert log.durable_offset == 0
    assert log.commit() == log.end_offset == log.durable_offset


def test_a_commit_with_nothing_buffered_returns_the_same_durable_offset(logs: Logs) -> None:
    log = logs.open()
    log.append(payloads(2))
    first = log.commit()
    assert log.commit() == first


@pytest.mark.parametrize("delta", [1, 3, 8, -1])
def test_reading_an_offset_where_no_record_starts_raises_key_error(logs: Logs, delta: int) -> None:
    log = logs.open()
    offsets = log.append(payloads(3, 100))
    log.commit()
    log.append(payloads(2, 100, tag=1))  # buffered records must not change the answer
    with pytest.raises(KeyError):
        log.read(offsets[1] + delta)


def test_reading_past_the_end_raises_key_error(logs: Logs) -> None:
    log = logs.open()
    log.append(payloads(1))
    with pytest.raises(KeyError):
        log.read(log.end_offset)
    with pytest.raises(KeyError):
        log.read(log.end_offset + 1000)


def test_a_record_over_the_maximum_size_is_refused_and_nothing_of_its_batch_is_appended(
    logs: Logs,
) -> None:
    log = logs.open()
    with pytest.raises(ValueError):
        log.append([b"ok", b"\0" * (MAX_RECORD_BYTES + 1)])
    assert log.end_offset == 0
    assert log.append([b"next"]) == [0]


def test_large_records_round_trip(logs: Logs) -> None:
    log = logs.open()
    big = bytes(range(256)) * 4096  # 1 MiB, beyond every read-ahead and scan chunk
    offsets = log.append([b"small", big, b"after"])
    log.commit()
    assert log.read(offsets[1]) == big
    assert [p for _, p in log.scan()] == [b"small", big, b"after"]


# -- scan ---------------------------------------------------------------------------------------


def test_scan_yields_every_record_from_start_in_order(logs: Logs) -> None:
    log = logs.open(segment_bytes=4096)
    records = payloads(100, 150)
    offsets = log.append(records[:60])
    log.commit()
    offsets += log.append(records[60:])  # the tail is still buffered
    assert list(log.scan()) == list(zip(offsets, records, strict=True))
    assert list(log.scan(offsets[37])) == list(zip(offsets[37:], records[37:], strict=True))


def test_scan_from_inside_a_record_starts_at_the_next_record(logs: Logs) -> None:
    log = logs.open(segment_bytes=4096)
    offsets = log.append(payloads(50, 150))
    log.commit()
    assert next(iter(log.scan(offsets[20] + 1)))[0] == offsets[21]


def test_scan_from_the_end_yields_nothing(logs: Logs) -> None:
    log = logs.open()
    log.append(payloads(3))
    assert list(log.scan(log.end_offset)) == []


def test_scan_ignores_records_appended_after_it_started(logs: Logs) -> None:
    log = logs.open()
    offsets = log.append(payloads(3))
    seen = []
    for offset, _ in log.scan():
        seen.append(offset)
        log.append([b"later"])
    assert seen == offsets


# -- rolls --------------------------------------------------------------------------------------


def test_a_segment_rolls_before_a_record_that_would_push_it_past_segment_bytes(
    logs: Logs,
) -> None:
    record = b"r" * 92  # 100-byte frames
    log = logs.open(segment_bytes=SEGMENT_HEADER_BYTES + 300)
    offsets = log.append([record] * 7)
    log.commit()
    infos = log.segments()
    assert [s.records for s in infos] == [3, 3, 1]
    assert [s.base_offset for s in infos] == [0, 300, 600]
    assert all(s.size_bytes <= SEGMENT_HEADER_BYTES + 300 for s in infos)
    assert [s.sealed for s in infos] == [True, True, False]
    assert [log.read(o) for o in offsets] == [record] * 7


def test_a_batch_rolls_at_the_same_records_as_single_appends(logs: Logs) -> None:
    one_by_one = logs.open("one", segment_bytes=1000)
    for payload in payloads(30, 90):
        one_by_one.append([payload])
    batched = logs.open("batched", segment_bytes=1000)
    batched.append(payloads(30, 90))
    assert batched.segments() == one_by_one.segments()
    assert list(batched.scan()) == list(one_by_one.scan())


def test_a_record_larger_than_segment_bytes_gets_a_segment_of_its_own(logs: Logs) -> None:
    log = logs.open(segment_bytes=200)
    log.append([b"a" * 10, b"b" * 500, b"c" * 10])
    log.commit()
    assert [s.records for s in log.segments()] == [1, 1, 1]
    assert [p for _, p in log.scan()] == [b"a" * 10, b"b" * 500, b"c" * 10]


def test_a_segment_rolls_once_it_is_older_than_segment_age_ms(logs: Logs) -> None:
    log = logs.open(segment_age_ms=60_000)
    created = logs.clock.now_ms()
    log.append([b"first"])
    logs.clock.advance(59.999)
    log.append([b"still first segment"])
    assert len(log.segments()) == 1
    logs.clock.advance(0.001)
    log.append([b"second"])
    infos = log.segments()
    assert [s.records for s in infos] == [2, 1]
    assert infos[0].created_ms == created
    assert infos[1].created_ms == logs.clock.now_ms()
    log.commit()
    assert [p for _, p in log.scan()] == [b"first", b"still first segment", b"second"]


def test_an_empty_segment_never_rolls_by_age(logs: Logs) -> None:
    log = logs.open(segment_age_ms=1000)
    logs.clock.advance(3600)
    log.append([b"x"])
    assert len(log.segments()) == 1


def test_roll_seals_the_active_segment_only_if_it_holds_records(logs: Logs) -> None:
    log = logs.open()
    log.roll()
    assert len(log.segments()) == 1
    log.append([b"x"])
    log.roll()
    infos = log.segments()
    assert [(s.sealed, s.records) for s in infos] == [(True, 1), (False, 0)]
    assert log.durable_offset == log.end_offset  # roll commits first


# -- reopen -------------------------------------------------------------------------------------


def test_reopen_after_close_gives_identical_records_offsets_and_segments(logs: Logs) -> None:
    log = logs.open(segment_bytes=2000)
    records = payloads(40, 170)
    offsets = log.append(records)
    log.commit()
    infos = log.segments()
    again = logs.reopen(log, segment_bytes=2000)
    assert list(again.scan()) == list(zip(offsets, records, strict=True))
    assert [again.read(o) for o in offsets] == records
    assert again.segments() == infos
    assert again.end_offset == again.durable_offset == offsets[-1] + frame(records[-1])
    assert again.append([b"next"]) == [again.end_offset - frame(b"next")]


def test_close_commits_what_was_buffered(logs: Logs) -> None:
    log = logs.open()
    offsets = log.append(payloads(3))
    again = logs.reopen(log)
    assert [o for o, _ in again.scan()] == offsets


def test_a_closed_log_refuses_use(logs: Logs) -> None:
    log = logs.open()
    log.close()
    with pytest.raises(ValueError):
        log.append([b"x"])
    with pytest.raises(ValueError):
        log.read(0)
    log.close()  # idempotent


# -- snapshots ----------------------------------------------------------------------------------


def test_a_snapshot_is_loaded_back_and_survives_reopen(logs: Logs) -> None:
    log = logs.open()
    assert log.load_snapshot() is None
    log.append(payloads(5))
    log.write_snapshot(log.end_offset, b"state-1")
    assert log.load_snapshot() == (log.end_offset, b"state-1")
    again = logs.reopen(log)
    assert again.load_snapshot() == (again.end_offset, b"state-1")
    assert again.recovery.snapshot_offset == again.end_offset


def test_writing_a_snapshot_commits_the_records_it_covers(logs: Logs) -> None:
    log = logs.open()
    log.append(payloads(5))
    log.write_snapshot(log.end_offset, b"s")
    assert log.durable_offset == log.end_offset


def test_a_snapshot_offset_may_not_go_backwards_or_beyond_the_end(logs: Logs) -> None:
    log = logs.open()
    offsets = log.append(payloads(5))
    log.write_snapshot(offsets[3], b"s")
    with pytest.raises(ValueError):
        log.write_snapshot(offsets[2], b"older")
    with pytest.raises(ValueError):
        log.write_snapshot(log.end_offset + 1, b"future")
    log.write_snapshot(offsets[3], b"same offset again")
    assert log.load_snapshot() == (offsets[3], b"same offset again")


def test_replaying_from_the_snapshot_offset_yields_exactly_the_later_records(logs: Logs) -> None:
    log = logs.open(segment_bytes=1000)
    first = log.append(payloads(20, tag=1))
    log.write_snapshot(log.end_offset, b"covers the first twenty")
    later = log.append(payloads(7, tag=2))
    again = logs.reopen(log, segment_bytes=1000)
    snapshot = again.load_snapshot()
    assert snapshot is not None and snapshot[0] == first[-1] + frame(payloads(20, tag=1)[-1])
    assert [o for o, _ in again.scan(snapshot[0])] == later


# -- deleting segments --------------------------------------------------------------------------


def test_a_sealed_segment_below_the_snapshot_can_be_deleted_and_its_records_are_gone(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=SEGMENT_HEADER_BYTES + 300)
    offsets = log.append([b"r" * 92] * 9)
    log.roll()
    infos = log.segments()
    log.write_snapshot(infos[1].end_offset, b"s")
    before = log.disk_bytes()
    log.delete_segment(infos[0].base_offset)
    assert log.disk_bytes() == before - infos[0].size_bytes
    assert [s.base_offset for s in log.segments()] == [s.base_offset for s in infos[1:]]
    with pytest.raises(KeyError):
        log.read(offsets[0])
    assert [o for o, _ in log.scan()] == offsets[3:]
    assert log.read(offsets[3]) == b"r" * 92


def test_segments_that_are_active_or_not_wholly_below_the_snapshot_cannot_be_deleted(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=SEGMENT_HEADER_BYTES + 300)
    offsets = log.append([b"r" * 92] * 9)
    log.roll()
    infos = log.segments()
    with pytest.raises(ValueError):
        log.delete_segment(infos[0].base_offset)  # no snapshot yet
    log.write_snapshot(offsets[4], b"s")  # inside the second segment
    with pytest.raises(ValueError):
        log.delete_segment(infos[1].base_offset)  # straddles the snapshot offset
    log.write_snapshot(log.end_offset, b"s")
    with pytest.raises(ValueError):
        log.delete_segment(infos[-1].base_offset)  # the active segment
    with pytest.raises(ValueError):
        log.delete_segment(offsets[1])  # not a segment base
    log.delete_segment(infos[1].base_offset)  # deleting out of order is fine
    log.delete_segment(infos[0].base_offset)
    assert list(log.scan()) == [(o, b"r" * 92) for o in offsets[6:]]


def test_a_log_whose_old_segments_were_deleted_reopens_from_its_snapshot(logs: Logs) -> None:
    log = logs.open(segment_bytes=SEGMENT_HEADER_BYTES + 300)
    offsets = log.append([b"r" * 92] * 9)
    log.roll()
    log.write_snapshot(log.end_offset, b"s")
    for info in log.segments()[:-1]:
        log.delete_segment(info.base_offset)
    later = log.append([b"after"])
    again = logs.reopen(log, segment_bytes=SEGMENT_HEADER_BYTES + 300)
    assert again.load_snapshot() == (offsets[-1] + 100, b"s")
    assert list(again.scan()) == [(later[0], b"after")]


# -- disk use -----------------------------------------------------------------------------------


def test_disk_bytes_counts_segment_headers_committed_frames_and_the_snapshot(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=SEGMENT_HEADER_BYTES + 300)
    assert log.disk_bytes() == SEGMENT_HEADER_BYTES
    log.append([b"r" * 92] * 4)
    log.commit()
    assert log.disk_bytes() == 2 * SEGMENT_HEADER_BYTES + 400
    log.write_snapshot(200, b"12345")
    assert log.disk_bytes() == 2 * SEGMENT_HEADER_BYTES + 400 + SNAPSHOT_HEADER_BYTES + 5
    log.write_snapshot(300, b"1")  # only the latest snapshot is kept
    assert log.disk_bytes() == 2 * SEGMENT_HEADER_BYTES + 400 + SNAPSHOT_HEADER_BYTES + 1


# -- failures -----------------------------------------------------------------------------------


def test_after_a_failed_commit_every_append_and_commit_raises_storage_failure(
    logs: Logs,
) -> None:
    if logs.kind == "memory":
        log = logs.open()
        log.append([b"ok"])
        log.commit()
        log.inject_failure()  # type: ignore[attr-defined]
    else:
        failing = {"on": False}

        def fsync(fd: int) -> None:
            if failing["on"]:
                raise OSError(5, "Input/output error")

        log = logs.open(fsync_fn=fsync)
        log.append([b"ok"])
        log.commit()
        failing["on"] = True
    log.append([b"lost"])
    with pytest.raises(RaybusError) as caught:
        log.commit()
    assert caught.value.code == "StorageFailure"
    durable = log.durable_offset
    for attempt in (lambda: log.append([b"x"]), log.commit, lambda: log.write_snapshot(0, b"")):
        with pytest.raises(RaybusError) as again:
            attempt()
        assert again.value.code == "StorageFailure"
    assert log.durable_offset == durable == frame(b"ok")
    assert log.read(0) == b"ok"  # reads of what is committed keep working
    log.close()  # closing a failed log releases it without trying to write again


# -- threads ------------------------------------------------------------------------------------


def test_appends_and_reads_on_one_thread_while_another_commits_lose_nothing(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=64 * 1024)
    stop = threading.Event()
    errors: list[BaseException] = []

    def committer() -> None:
        try:
            while not stop.is_set():
                log.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=committer)
    thread.start()
    written: list[tuple[int, bytes]] = []
    try:
        for i in range(300):
            batch = payloads(1 + i % 7, 100 + i, tag=i)
            offsets = log.append(batch)
            written.extend(zip(offsets, batch, strict=True))
            probe = written[(i * 7919) % len(written)]
            assert log.read(probe[0]) == probe[1]
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive() and errors == []
    log.commit()
    assert list(log.scan()) == written
    if isinstance(log, FileLog):
        again = logs.reopen(log, segment_bytes=64 * 1024)
        assert list(again.scan()) == written


def test_rolls_racing_with_appends_on_another_thread_keep_segments_contiguous(
    logs: Logs,
) -> None:
    log = logs.open(segment_bytes=2048)
    done = threading.Event()

    def roller() -> None:
        while not done.is_set():
            log.roll()

    thread = threading.Thread(target=roller)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # interleave the threads finely
    thread.start()
    written: list[tuple[int, bytes]] = []
    try:
        for i in range(3000):
            batch = payloads(1 + i % 4, 50, tag=i)
            written.extend(zip(log.append(batch), batch, strict=True))
            if i % 100 == 0:
                log.commit()
    finally:
        done.set()
        thread.join(timeout=30)
        sys.setswitchinterval(switch_interval)
    assert not thread.is_alive()
    log.commit()
    infos = log.segments()
    assert len(infos) > 10
    assert all(a.end_offset == b.base_offset for a, b in itertools.pairwise(infos))
    assert list(log.scan()) == written
    again = logs.reopen(log, segment_bytes=2048)
    assert again.segments() == infos
    assert list(again.scan()) == written
