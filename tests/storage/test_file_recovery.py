"""Opening a FileLog: what recovery keeps, cuts, refuses and reports."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raybus.core import ManualClock, RaybusError
from raybus.storage import FileLog, FsyncPolicy
from raybus.storage.format import SEGMENT_HEADER_BYTES, segment_file_name

RECORDS = [f"record-{i}".encode() * (i + 1) for i in range(12)]


def write_log(directory: Path, records: list[bytes], **options: object) -> list[int]:
    with FileLog(directory, clock=ManualClock(), **options) as log:  # type: ignore[arg-type]
        offsets = log.append(records)
        log.commit()
    return offsets


def segment_path(directory: Path, base: int) -> Path:
    return directory / segment_file_name(base)


def read_all(directory: Path) -> tuple[list[tuple[int, bytes]], FileLog]:
    log = FileLog(directory, clock=ManualClock())
    return list(log.scan()), log


def flip_bit(path: Path, byte: int, bit: int) -> None:
    data = bytearray(path.read_bytes())
    data[byte] ^= 1 << bit
    path.write_bytes(bytes(data))


def test_an_empty_directory_opens_as_an_empty_log_with_one_segment_file(tmp_path: Path) -> None:
    with FileLog(tmp_path / "new") as log:
        assert log.end_offset == 0
        assert log.recovery.records == 0 and log.recovery.truncated_bytes == 0
        assert os.listdir(tmp_path / "new") == [segment_file_name(0)]
        assert segment_path(tmp_path / "new", 0).stat().st_size == SEGMENT_HEADER_BYTES


def test_a_clean_log_reports_what_it_scanned_and_cut_nothing(tmp_path: Path) -> None:
    offsets = write_log(tmp_path, RECORDS, segment_bytes=400)
    scanned, log = read_all(tmp_path)
    report = log.recovery
    log.close()
    assert [o for o, _ in scanned] == offsets
    files = sorted(tmp_path.iterdir())
    assert report.segments == len(files) > 1
    assert report.records == len(RECORDS)
    assert report.bytes_scanned == sum(f.stat().st_size for f in files)
    assert (report.truncated_bytes, report.truncated_at, report.reason) == (0, None, None)


def test_a_torn_last_record_is_cut_and_every_earlier_record_survives(tmp_path: Path) -> None:
    """Cut the file at every byte inside the last record: recovery keeps exactly the records
    before it, physically truncates the file and says what it cut."""
    source = tmp_path / "source"
    offsets = write_log(source, RECORDS)
    path = segment_path(source, 0)
    whole = path.read_bytes()
    last = SEGMENT_HEADER_BYTES + offsets[-1]
    assert len(whole) == last + 8 + len(RECORDS[-1])
    target = tmp_path / "cut"
    for cut in range(last + 1, len(whole)):
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        segment_path(target, 0).write_bytes(whole[:cut])
        with FileLog(target, clock=ManualClock()) as log:
            report = log.recovery
            assert [p for _, p in log.scan()] == RECORDS[:-1], cut
            assert report.truncated_at == offsets[-1]
            assert report.truncated_bytes == cut - last
            assert report.reason == "torn frame"
            assert segment_path(target, 0).stat().st_size == last
            assert log.append([b"new"]) == [offsets[-1]]  # the cut offsets were never acked
        with FileLog(target, clock=ManualClock()) as log:
            assert log.recovery.truncated_bytes == 0
            assert [p for _, p in log.scan()] == [*RECORDS[:-1], b"new"]


def test_a_cut_exactly_between_records_loses_nothing_that_is_left(tmp_path: Path) -> None:
    offsets = write_log(tmp_path, RECORDS)
    os.truncate(segment_path(tmp_path, 0), SEGMENT_HEADER_BYTES + offsets[5])
    scanned, log = read_all(tmp_path)
    log.close()
    assert [p for _, p in scanned] == RECORDS[:5]
    assert log.recovery.truncated_bytes == 0


def test_a_newest_segment_file_with_a_torn_header_is_removed_and_reported(
    tmp_path: Path,
) -> None:
    """A crash while creating a segment leaves 0..31 header bytes; recovery removes the file
    and the previous segment becomes the active one again."""
    source = tmp_path / "source"
    offsets = write_log(source, RECORDS, segment_bytes=600)
    bases = sorted(int(p.name[:20]) for p in source.iterdir())
    newest = bases[-1]
    header = segment_path(source, newest).read_bytes()[:SEGMENT_HEADER_BYTES]
    expected = [r for r, o in zip(RECORDS, offsets, strict=True) if o < newest]
    target = tmp_path / "cut"
    for cut in range(SEGMENT_HEADER_BYTES):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        segment_path(target, newest).write_bytes(header[:cut])
        with FileLog(target, clock=ManualClock()) as log:
            assert [p for _, p in log.scan()] == expected
            assert (log.recovery.truncated_at, log.recovery.reason) == (newest, "bad header")
            assert log.recovery.truncated_bytes == cut
            assert not log.segments()[-1].sealed
            assert log.end_offset == newest
        assert not segment_path(target, newest).exists()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_flipped_bit_in_the_last_segment_cuts_the_log_at_the_damaged_record(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    directory = tmp_path_factory.mktemp("flip")
    offsets = write_log(directory, RECORDS)
    index = data.draw(st.integers(0, len(RECORDS) - 1), label="record")
    frame_bytes = 8 + len(RECORDS[index])
    byte = data.draw(st.integers(0, frame_bytes - 1), label="byte in frame")
    bit = data.draw(st.integers(0, 7), label="bit")
    flip_bit(segment_path(directory, 0), SEGMENT_HEADER_BYTES + offsets[index] + byte, bit)
    with FileLog(directory, clock=ManualClock()) as log:
        assert [p for _, p in log.scan()] == RECORDS[:index]
        assert log.recovery.truncated_at == offsets[index]
        assert log.recovery.reason in {"crc mismatch", "bad length", "torn frame"}
        assert log.recovery.truncated_bytes == sum(8 + len(r) for r in RECORDS[index:])


@pytest.mark.parametrize("where", ["record payload", "record length", "record crc", "header"])
def test_damage_in_a_sealed_segment_refuses_to_open_and_changes_no_file(
    tmp_path: Path, where: str
) -> None:
    offsets = write_log(tmp_path, RECORDS, segment_bytes=600)
    assert offsets[3] < 600  # record 3 lives in the first, sealed segment
    position = {
        "record payload": SEGMENT_HEADER_BYTES + offsets[3] + 9,
        "record length": SEGMENT_HEADER_BYTES + offsets[3] + 4,
        "record crc": SEGMENT_HEADER_BYTES + offsets[3],
        "header": 10,
    }[where]
    flip_bit(segment_path(tmp_path, 0), position, 1)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(RaybusError) as caught:
        FileLog(tmp_path)
    assert caught.value.code == "StorageFailure"
    assert "sealed segment 0" in caught.value.message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    FileLog(tmp_path.parent / "other").close()  # the failed open released its lock


def test_a_missing_middle_segment_is_reported_as_storage_failure(tmp_path: Path) -> None:
    write_log(tmp_path, RECORDS, segment_bytes=300)
    bases = sorted(int(p.name[:20]) for p in tmp_path.iterdir())
    assert len(bases) > 2
    segment_path(tmp_path, bases[1]).unlink()
    with pytest.raises(RaybusError, match="missing"):
        FileLog(tmp_path)


def test_a_missing_first_segment_without_a_snapshot_is_reported_as_storage_failure(
    tmp_path: Path,
) -> None:
    write_log(tmp_path, RECORDS, segment_bytes=600)
    segment_path(tmp_path, 0).unlink()
    with pytest.raises(RaybusError, match="missing"):
        FileLog(tmp_path)


def test_a_sealed_segment_cut_at_a_record_boundary_shows_up_as_a_gap(tmp_path: Path) -> None:
    offsets = write_log(tmp_path, RECORDS, segment_bytes=600)
    os.truncate(segment_path(tmp_path, 0), SEGMENT_HEADER_BYTES + offsets[2])
    with pytest.raises(RaybusError, match="missing"):
        FileLog(tmp_path)


def test_a_crash_loses_exactly_the_records_that_were_not_committed(tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:  # child: commit some, buffer more, die without closing
        try:
            log = FileLog(tmp_path, clock=ManualClock())
            log.append(RECORDS[:5])
            log.commit()
            log.append(RECORDS[5:])
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    scanned, log = read_all(tmp_path)
    log.close()
    assert [p for _, p in scanned] == RECORDS[:5]
    assert log.recovery.truncated_bytes == 0


def test_a_snapshot_ahead_of_the_recovered_log_moves_the_next_offset_past_it(
    tmp_path: Path,
) -> None:
    """With fsync=never a power loss can keep the (always fsynced) snapshot but lose the tail
    it covers; new records must not reuse offsets the snapshot already covers."""
    with FileLog(tmp_path, fsync=FsyncPolicy.NEVER) as log:
        offsets = log.append(RECORDS)
        log.write_snapshot(log.end_offset, b"state")
        end = log.end_offset
    os.truncate(segment_path(tmp_path, 0), SEGMENT_HEADER_BYTES + offsets[4])
    with FileLog(tmp_path) as log:
        assert log.load_snapshot() == (end, b"state")
        assert log.end_offset == end
        assert log.append([b"next"]) == [end]
        assert log.segments()[-1].base_offset == end
        assert any(f"continuing at {end}" in note for note in log.recovery.notes)


def test_a_second_open_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    with FileLog(tmp_path), pytest.raises(RaybusError, match="already open"):
        FileLog(tmp_path)
    FileLog(tmp_path).close()  # free again after close


def test_recovery_reads_records_larger_than_its_read_buffer(tmp_path: Path) -> None:
    big = os.urandom(9 * 1024 * 1024)  # over the 8 MiB recovery chunk
    offsets = write_log(tmp_path, [b"a", big, b"b"])
    scanned, log = read_all(tmp_path)
    log.close()
    assert scanned == list(zip(offsets, [b"a", big, b"b"], strict=True))


def test_a_record_damaged_on_disk_under_an_open_log_fails_read_many_as_it_fails_read(
    tmp_path: Path,
) -> None:
    with FileLog(tmp_path, clock=ManualClock()) as log:
        offsets = log.append(RECORDS)
        log.commit()
        flip_bit(segment_path(tmp_path, 0), SEGMENT_HEADER_BYTES + offsets[3] + 9, 2)
        for read in (log.read, lambda offset: log.read_many([offsets[2], offset, offsets[4]])):
            with pytest.raises(RaybusError) as caught:
                read(offsets[3])
            assert caught.value.code == "StorageFailure"
            assert f"record at offset {offsets[3]} is corrupt" in caught.value.message
        others = [o for i, o in enumerate(offsets) if i != 3]
        assert log.read_many(others) == [r for i, r in enumerate(RECORDS) if i != 3]
