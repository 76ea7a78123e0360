"""``FileLog``: the durable partition log on local files.

Format: :mod:`raybus.storage.format`. Recovery rules: :mod:`raybus.storage.recovery`.

Durability (see :class:`raybus.storage.FsyncPolicy`):

- ``always``: a commit is one ``pwrite`` of everything buffered and one fsync of that segment.
  A commit that crosses a segment roll writes and fsyncs each segment it touches, and a new
  segment file also costs a directory fsync.
- ``interval``: a commit writes; a background thread fsyncs at most every
  ``fsync_interval_ms`` once there is something unsynced. Before a new segment file is created
  the earlier ones are fsynced, so only the last segment can ever have a torn tail.
- ``never``: raybus never fsyncs segments or the directory (snapshots are always fsynced:
  segments are deleted on their strength).

Threading contract: ``append``, ``read``, ``scan``, ``segments``, ``disk_bytes`` and the
offsets may be called from any thread at any time, also while another thread runs ``commit``;
they take a short state lock (``read`` holds it for one ``pread``) and never wait for a write or
fsync. ``commit``, ``roll``, ``write_snapshot``, ``load_snapshot``, ``delete_segment`` and
``close`` are serialised by a separate I/O lock and may block for a write + fsync. ``commit``
holds the state lock only to swap the buffer out (O(1)) and to publish the result, so appends
made while a commit writes go into the next commit; records being written stay readable from
memory until they are on disk. Concurrent ``commit`` calls therefore group-commit on their own:
a caller that finds nothing buffered returns at once, without I/O.

Costs: ``append`` is O(total payload bytes) memory copies and CRCs, no system call. ``read`` is
one ``pread`` (two for records over ~4 KiB). ``scan`` reads 1 MiB per ``pread``. Opening scans
every byte once, in 8 MiB reads.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence

from raybus.core.clock import Clock, SystemClock
from raybus.core.errors import RaybusError
from raybus.storage.api import FsyncPolicy, RecoveryReport, SegmentInfo
from raybus.storage.format import (
    FRAME_HEADER_BYTES,
    MAX_RECORD_BYTES,
    SEGMENT_HEADER_BYTES,
    FormatError,
    decode_frame,
    encode_frames,
    frame_bytes_at,
    iter_frames,
)
from raybus.storage.interval import IntervalSyncer
from raybus.storage.recovery import recover_directory
from raybus.storage.segment import Segment, create_segment_file, should_roll
from raybus.storage.segments import SegmentList, check_snapshot_offset
from raybus.storage.snapshot import (
    read_snapshot_file,
    remove_snapshot_files_except,
    write_all,
    write_snapshot_file,
)

__all__ = ["FileLog"]

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024
DEFAULT_SEGMENT_AGE_MS = 3_600_000
DEFAULT_FSYNC_INTERVAL_MS = 100
_READ_AHEAD_BYTES = 4096
_READ_SPAN_BYTES = 256 * 1024  # read_many: records this close together share one pread
_MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_RECORD_BYTES
_SCAN_CHUNK_BYTES = 1024 * 1024
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


class _Run:
    """Buffered frames for one segment, starting at offset ``start``."""

    __slots__ = ("buf", "segment", "start")

    def __init__(self, segment: Segment, start: int) -> None:
        self.segment = segment
        self.start = start
        self.buf = bytearray()


class FileLog:
    """A :class:`raybus.storage.PartitionLog` stored in ``directory`` (created if missing).

    Opening validates the whole log (see :mod:`raybus.storage.recovery`); the outcome is in
    :attr:`recovery`. A directory is held by one ``FileLog`` at a time (``flock``); a second
    open raises ``RaybusError("StorageFailure")``.

    ``fsync_fn`` and ``pwrite_fn`` default to :func:`os.fsync` and :func:`os.pwrite`; tests
    inject wrappers to count syncs or fail writes. Every fsync (files and directory) goes
    through ``fsync_fn``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        fsync: FsyncPolicy | str = FsyncPolicy.ALWAYS,
        fsync_interval_ms: int = DEFAULT_FSYNC_INTERVAL_MS,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        segment_age_ms: int = DEFAULT_SEGMENT_AGE_MS,
        clock: Clock | None = None,
        fsync_fn: Callable[[int], None] = os.fsync,
        pwrite_fn: Callable[[int, bytes, int], int] = os.pwrite,
    ) -> None:
        if segment_bytes <= SEGMENT_HEADER_BYTES:
            raise ValueError(f"segment_bytes must exceed {SEGMENT_HEADER_BYTES}")
        if segment_age_ms <= 0 or fsync_interval_ms <= 0:
            raise ValueError("segment_age_ms and fsync_interval_ms must be positive")
        self._policy = FsyncPolicy(fsync)
        self._segment_bytes = segment_bytes
        self._segment_age_ms = segment_age_ms
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._fsync = fsync_fn
        self._pwrite = pwrite_fn
        self._dir = os.fspath(directory)
        os.makedirs(self._dir, exist_ok=True)
        self._dir_fd = os.open(self._dir, _DIR_FLAGS)
        try:
            fcntl.flock(self._dir_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._dir_fd)
            raise RaybusError(
                "StorageFailure", f"log {self._dir} is already open", directory=self._dir
            ) from exc

        self._lock = threading.Lock()  # state: segments, buffers, offsets
        self._io_lock = threading.RLock()  # file operations, one at a time
        self._runs: list[_Run] = []  # buffered, not yet handed to a commit
        self._flushing: list[_Run] = []  # being written by the current commit
        self._failure: BaseException | None = None
        self._closed = False
        self._dirty: list[Segment] = []  # interval policy: written, not yet fsynced
        self._syncer: IntervalSyncer | None = None
        try:
            found = recover_directory(
                self._dir, fsync_fn, sync_repairs=self._policy is not FsyncPolicy.NEVER
            )
        except BaseException:
            os.close(self._dir_fd)
            raise
        self._segments = SegmentList(found.segments)
        self._snapshot = found.snapshot
        self._recovery = found.report
        if not self._segments or self._segments[-1].end < found.next_base:
            try:
                self._start_segment(
                    max(found.next_base, self._segments[-1].end if self._segments else 0)
                )
            except BaseException:
                for segment in self._segments:
                    os.close(segment.fd)
                os.close(self._dir_fd)
                raise
        self._end = self._durable = self._segments[-1].end
        if self._policy is FsyncPolicy.INTERVAL:
            self._syncer = IntervalSyncer(
                self._timer_sync, fsync_interval_ms / 1000, name=f"raybus-fsync:{self._dir}"
            )

    # -- offsets and reports -------------------------------------------------------------------

    @property
    def directory(self) -> str:
        return self._dir

    @property
    def end_offset(self) -> int:
        return self._end

    @property
    def durable_offset(self) -> int:
        return self._durable

    @property
    def recovery(self) -> RecoveryReport:
        return self._recovery

    # -- append / commit -----------------------------------------------------------------------

    def append(self, payloads: Sequence[bytes]) -> list[int]:
        """Buffer ``payloads``; return their offsets. No I/O. Rolls to a new (not yet created)
        segment when the active one is full or older than ``segment_age_ms``. Raises
        ``StorageFailure`` after a write error, ValueError for a record over
        ``MAX_RECORD_BYTES`` (then nothing of the call is appended)."""
        if not payloads:
            self._check_writable()
            return []
        with self._lock:
            self._check_writable()
            segment = self._segments[-1]
            if segment.records and (
                self._clock.now_ms() - segment.created_ms >= self._segment_age_ms
            ):
                segment = self._roll_locked()
            run = self._run_for(segment)
            before = len(run.buf)
            try:
                offsets = encode_frames(payloads, run.buf, run.start)
            except BaseException:
                del run.buf[before:]
                if not run.buf:
                    self._runs.pop()
                raise
            added = len(run.buf) - before
            if SEGMENT_HEADER_BYTES + segment.size + added <= self._segment_bytes or (
                segment.records == 0 and len(offsets) == 1
            ):
                segment.size += added
                segment.note_records(offsets)
                self._end += added
                return offsets
            del run.buf[before:]  # the batch crosses a size roll: place it record by record
            if not run.buf:
                self._runs.pop()
            return [self._append_one(payload) for payload in payloads]

    def _append_one(self, payload: bytes) -> int:
        segment = self._segments[-1]
        if should_roll(
            header_and_data_bytes=SEGMENT_HEADER_BYTES + segment.size,
            records=segment.records,
            frame_bytes=FRAME_HEADER_BYTES + len(payload),
            segment_bytes=self._segment_bytes,
        ):
            segment = self._roll_locked()
        run = self._run_for(segment)
        before = len(run.buf)
        offsets = encode_frames([payload], run.buf, run.start)
        segment.size += len(run.buf) - before
        segment.note_records(offsets)
        self._end += len(run.buf) - before
        return offsets[0]

    def _run_for(self, segment: Segment) -> _Run:
        if self._runs and self._runs[-1].segment is segment:
            return self._runs[-1]
        run = _Run(segment, self._end)
        self._runs.append(run)
        return run

    def _roll_locked(self) -> Segment:
        """Seal the active segment and start a new one in memory; its file is created by the
        commit that first writes to it. Caller holds the state lock."""
        return self._segments.append(Segment(self._dir, self._end, self._clock.now_ms()))

    def commit(self) -> int:
        """Write everything buffered (one ``pwrite`` per segment touched) and sync per policy;
        return ``durable_offset``. Without buffered records: no I/O. Thread-safe; see the
        module docstring for what concurrent callers share."""
        with self._io_lock:
            self._check_writable()
            with self._lock:
                runs = self._runs
                if not runs:
                    return self._durable
                self._runs = []
                self._flushing = runs
                target = runs[-1].start + len(runs[-1].buf)
            try:
                self._write_runs(runs)
            except Exception as exc:
                raise self._fail(exc) from exc
            with self._lock:
                for run in runs:
                    run.segment.written = run.start + len(run.buf) - run.segment.base
                self._flushing = []
                self._durable = target
            return target

    def _write_runs(self, runs: list[_Run]) -> None:
        policy = self._policy
        for run in runs:
            segment = run.segment
            if segment.fd < 0:
                self._materialize(segment, run.buf)
                continue
            self._write(segment.fd, run.buf, SEGMENT_HEADER_BYTES + run.start - segment.base)
            if policy is FsyncPolicy.ALWAYS or (policy is FsyncPolicy.INTERVAL and segment.sealed):
                self._fsync(segment.fd)  # under interval: a sealed segment is synced at once
            elif policy is FsyncPolicy.INTERVAL:
                self._mark_dirty(segment)

    def _write(self, fd: int, data: bytes | bytearray, position: int) -> None:
        write_all(fd, data, position, self._pwrite)  # type: ignore[arg-type]

    def _materialize(self, segment: Segment, data: bytes | bytearray) -> None:
        """Create ``segment``'s file holding its header and ``data`` (one write). Unless the
        policy is ``never``: earlier segments are synced first, then the file and directory."""
        sync = self._policy is not FsyncPolicy.NEVER
        if sync:
            self._sync_dirty()
        header = create_segment_file(segment)
        self._write(segment.fd, header + data, 0)
        if sync:
            self._fsync(segment.fd)
            self._fsync(self._dir_fd)

    def _start_segment(self, base: int) -> None:
        """Seal the active segment (if any) and create an empty one at ``base`` on disk."""
        segment = Segment(self._dir, base, self._clock.now_ms())
        try:
            self._materialize(segment, b"")
        except BaseException:
            if segment.fd >= 0:
                os.close(segment.fd)
            raise
        with self._lock:
            self._segments.append(segment)

    def roll(self) -> None:
        """Seal the active segment if it holds records (buffered ones count), commit, and
        create the next segment's file. Appends racing with ``roll`` go to the new segment."""
        with self._io_lock:
            self._check_writable()
            with self._lock:
                segment = self._roll_locked() if self._segments[-1].records else None
            self.commit()
            if segment is not None and segment.fd < 0:
                try:
                    self._materialize(segment, b"")
                except Exception as exc:
                    raise self._fail(exc) from exc

    # -- interval fsync ------------------------------------------------------------------------

    def _mark_dirty(self, segment: Segment) -> None:
        if segment not in self._dirty:
            self._dirty.append(segment)
        if self._syncer is not None:
            self._syncer.poke()

    def _sync_dirty(self) -> None:
        while self._dirty:
            self._fsync(self._dirty[0].fd)
            del self._dirty[0]

    def _timer_sync(self) -> bool:
        """The interval timer's fsync; False stops the timer (closed or failed log)."""
        with self._io_lock:
            if self._closed or self._failure is not None:
                return False
            try:
                self._sync_dirty()
            except Exception as exc:
                self._fail(exc)
                return False
            return True

    # -- read side -----------------------------------------------------------------------------

    def _buffered(self, offset: int) -> _Run:
        for run in self._flushing + self._runs:
            if run.start <= offset < run.start + len(run.buf):
                return run
        raise AssertionError(f"offset {offset} is neither written nor buffered")

    def read(self, offset: int) -> bytes:
        """The payload at ``offset``, CRC-checked. KeyError if no record starts there (a frame
        that fails its check at an offset that is not a record start is that case too);
        ``StorageFailure`` if the record there is corrupt on disk."""
        with self._lock:
            self._check_open()
            segment = self._segments.find(offset)
            if segment is None:
                raise KeyError(offset)
            written_end = segment.base + segment.written
            if offset >= written_end:
                run = self._buffered(offset)
                try:
                    start, end = decode_frame(run.buf, offset - run.start, len(run.buf))
                except FormatError:
                    raise KeyError(offset) from None
                return bytes(run.buf[start:end])
            position = SEGMENT_HEADER_BYTES + offset - segment.base
            data = os.pread(segment.fd, min(_READ_AHEAD_BYTES, written_end - offset), position)
            whole = frame_bytes_at(data)
            if (
                len(data)
                < whole
                <= min(written_end - offset, FRAME_HEADER_BYTES + MAX_RECORD_BYTES)
            ):
                data = os.pread(segment.fd, whole, position)
        try:
            start, end = decode_frame(data, 0, len(data))
        except FormatError as exc:
            if self._is_record_start(segment, offset):
                raise self._corrupt(offset, exc) from exc
            raise KeyError(offset) from None
        return data[start:end]

    def read_many(self, offsets: Sequence[int]) -> list[bytes]:
        """``[self.read(offset) for offset in offsets]``, with one ``pread`` per run of
        increasing offsets that lie within ``_READ_SPAN_BYTES`` of each other in the written
        part of one segment — a receive reads messages that were sent together and lie side by
        side in the log. Same checks and errors as :meth:`read` (a record the shared read cuts
        or fails to verify is read again on its own, which raises what :meth:`read` raises)."""
        payloads: list[bytes] = []
        count = len(offsets)
        i = 0
        while i < count:
            first = offsets[i]
            with self._lock:
                self._check_open()
                segment = self._segments.find(first)
                written_end = segment.base + segment.written if segment is not None else 0
                limit = min(written_end, first + _READ_SPAN_BYTES)
                last, j = first, i + 1
                while j < count and last < offsets[j] < limit:
                    last, j = offsets[j], j + 1
                data = b""
                if segment is not None and j > i + 1:
                    data = os.pread(
                        segment.fd,
                        min(last - first + _READ_AHEAD_BYTES, written_end - first),
                        SEGMENT_HEADER_BYTES + first - segment.base,
                    )
            if not data:
                payloads.append(self.read(first))
                i += 1
                continue
            size = len(data)
            for offset in offsets[i:j]:
                try:
                    start, end = decode_frame(data, offset - first, size)
                except FormatError:
                    payloads.append(self.read(offset))
                    continue
                payloads.append(data[start:end])
            i = j
        return payloads

    def _is_record_start(self, segment: Segment, offset: int) -> bool:
        """Walk frame headers from the nearest indexed record start up to ``offset``."""
        with self._lock:
            position = segment.boundary_at_or_before(offset)
        while position < offset:
            with self._lock:
                loaded = self._load(position, FRAME_HEADER_BYTES)
            if loaded is None or loaded[0] != position or len(loaded[1]) < FRAME_HEADER_BYTES:
                return False
            position += frame_bytes_at(loaded[1])
        return position == offset

    def _corrupt(self, offset: int, exc: Exception) -> RaybusError:
        return RaybusError(
            "StorageFailure", f"log {self._dir}: record at offset {offset} is corrupt: {exc}"
        )

    def scan(self, start: int = 0) -> Iterator[tuple[int, bytes]]:
        """``(offset, payload)`` of every record with ``start`` <= offset < the end offset when
        the iteration starts, in order, CRC-checked (``StorageFailure`` on corruption). Reads
        1 MiB per system call; holds no lock between records. Deleted segments are skipped."""
        with self._lock:
            self._check_open()
            stop = self._end
            segment = self._segments.find(start)
            aligned_from = segment.boundary_at_or_before(start) if segment else start
        for offset, payload in self._frames(aligned_from, stop):
            if offset >= start:
                yield offset, payload

    def _frames(self, position: int, stop: int) -> Iterator[tuple[int, bytes]]:
        """Frames that start in ``[position, stop)``; ``position`` is a record start, or lies in
        a gap or before the first segment. Payloads are CRC-checked."""
        want = _SCAN_CHUNK_BYTES
        while position < stop:
            with self._lock:
                self._check_open()
                loaded = self._load(position, want)
            if loaded is None:
                return
            position, data = loaded
            consumed = 0
            try:
                for _, start, end in iter_frames(data, stop=stop - position):
                    yield position + start - FRAME_HEADER_BYTES, data[start:end]
                    consumed = end
            except FormatError as exc:
                raise self._corrupt(position + (exc.position or 0), exc) from exc
            want = _SCAN_CHUNK_BYTES if consumed else frame_bytes_at(data)
            if not consumed and want <= len(data):
                raise self._corrupt(position, FormatError("torn frame", "inside the log"))
            position += consumed

    def _load(self, position: int, want: int) -> tuple[int, bytes] | None:
        """Up to ``want`` bytes of frames at ``position`` (moved forward past a gap), from the
        file or the buffer. Caller holds the state lock."""
        for segment in self._segments.from_offset(position):
            position = max(position, segment.base)
            if position < segment.end:
                break
        else:
            return None
        written_end = segment.base + segment.written
        if position < written_end:
            count = min(want, written_end - position)
            at = SEGMENT_HEADER_BYTES + position - segment.base
            return position, os.pread(segment.fd, count, at)
        run = self._buffered(position)
        at = position - run.start
        return position, bytes(run.buf[at : at + want])

    # -- snapshots -----------------------------------------------------------------------------

    def write_snapshot(self, offset: int, state: bytes) -> None:
        """Durably store ``state`` covering every record before ``offset`` (commits first if
        ``offset`` is beyond ``durable_offset``), then delete older snapshots. Atomic: a crash
        leaves the old or the new snapshot. ValueError if ``offset`` is beyond the end or
        before the current snapshot."""
        with self._io_lock:
            self._check_writable()
            check_snapshot_offset(offset, self._snapshot[0] if self._snapshot else 0, self._end)
            if offset > self._durable:
                self.commit()
            try:
                path, size = write_snapshot_file(
                    self._dir, self._dir_fd, offset, state, self._fsync, self._pwrite
                )
            except Exception as exc:
                raise self._fail(exc) from exc
            with self._lock:
                self._snapshot = (offset, path, size)
            remove_snapshot_files_except(self._dir, path)

    def load_snapshot(self) -> tuple[int, bytes] | None:
        """The latest snapshot, re-read and verified (``StorageFailure`` if it went bad)."""
        with self._io_lock:
            self._check_open()
            if self._snapshot is None:
                return None
            try:
                return read_snapshot_file(self._snapshot[1])
            except (FormatError, OSError) as exc:
                raise RaybusError(
                    "StorageFailure", f"snapshot {self._snapshot[1]} is unreadable: {exc}"
                ) from exc

    # -- segments ------------------------------------------------------------------------------

    def segments(self) -> list[SegmentInfo]:
        with self._lock:
            return self._segments.infos()

    def delete_segment(self, base_offset: int) -> None:
        """Remove the sealed segment starting at ``base_offset``; it must end at or below the
        latest snapshot's offset (ValueError otherwise, and for an unknown base)."""
        with self._io_lock:
            with self._lock:
                self._check_open()
                covered = self._snapshot[0] if self._snapshot else None
                segment = self._segments.remove_below(base_offset, covered)
                if segment.fd >= 0:
                    os.close(segment.fd)
                    segment.fd = -1
            os.unlink(segment.path)

    def disk_bytes(self) -> int:
        """Bytes on disk: segment files as written plus the snapshot file."""
        with self._lock:
            total = sum(SEGMENT_HEADER_BYTES + s.written for s in self._segments if s.fd >= 0)
            return total + (self._snapshot[2] if self._snapshot else 0)

    # -- failure and shutdown ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"log {self._dir} is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self._failure is not None:
            raise RaybusError(
                "StorageFailure",
                f"log {self._dir} refuses writes after an earlier failure: {self._failure!r}",
                directory=self._dir,
            )

    def _fail(self, exc: BaseException) -> RaybusError:
        """Make ``exc`` sticky; return the StorageFailure to raise ``from`` it."""
        if self._failure is None:
            self._failure = exc
        return RaybusError(
            "StorageFailure", f"log {self._dir} failed to write: {exc!r}", directory=self._dir
        )

    def close(self) -> None:
        """Commit what is buffered (unless the log failed), fsync under ``interval``, release
        the directory. Idempotent. Raises the commit's error, if any, after releasing."""
        error: BaseException | None = None
        with self._io_lock:
            if self._closed:
                return
            if self._failure is None:
                try:
                    self.commit()
                    if self._policy is FsyncPolicy.INTERVAL:
                        self._sync_dirty()
                except Exception as exc:
                    error = exc if isinstance(exc, RaybusError) else self._fail(exc)
            with self._lock:
                self._closed = True
                for segment in self._segments:
                    if segment.fd >= 0:
                        os.close(segment.fd)
                        segment.fd = -1
            fcntl.flock(self._dir_fd, fcntl.LOCK_UN)
            os.close(self._dir_fd)
        if self._syncer is not None:
            self._syncer.close()
        if error is not None:
            raise error

    def __enter__(self) -> FileLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FileLog({self._dir!r}, fsync={self._policy.value}, end={self._end})"
