"""Opening a log directory: validate every segment and pick the snapshot.

Rules (the contract :class:`raybus.storage.FileLog` documents):

- Every frame of every segment is checked (length, CRC), in order, in large reads.
- Only the **last** segment may end badly: its invalid tail (torn frame, bad length, CRC
  mismatch) is physically truncated and reported; a last file whose header is invalid (a crash
  while creating it) is removed and reported. Anything invalid in an earlier, sealed segment
  raises ``RaybusError("StorageFailure")`` — recovery never drops data in the middle.
- Segments must be contiguous above the snapshot offset: a gap or overlap there means lost
  data and raises ``StorageFailure``. Gaps at or below the snapshot offset are deleted segments.
- The newest snapshot that verifies wins; a corrupt newer one is skipped (and noted) only in
  favour of an older valid one. If snapshot files exist and none verifies, opening fails.
- Leftover ``*.tmp`` files (interrupted snapshot writes) are removed.
"""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from raybus.core.errors import RaybusError
from raybus.storage.api import RecoveryReport
from raybus.storage.format import SEGMENT_HEADER_BYTES, FormatError
from raybus.storage.segment import Segment, scan_segment_file
from raybus.storage.snapshot import list_snapshot_files, read_snapshot_file

__all__ = ["Recovered", "recover_directory"]

_SEGMENT_NAME = re.compile(r"^(\d{20})\.log$")
_OPEN_FLAGS = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)


@dataclass(slots=True)
class Recovered:
    segments: list[Segment]  # validated, fds open; all sealed except possibly the last
    snapshot: tuple[int, str, int] | None  # (offset, path, size_bytes)
    next_base: int  # the active segment must start at or after this offset
    report: RecoveryReport


def _failure(directory: str, message: str) -> RaybusError:
    return RaybusError("StorageFailure", f"log {directory}: {message}", directory=directory)


def _pick_snapshot(directory: str, notes: list[str]) -> tuple[int, str, int] | None:
    candidates = list_snapshot_files(directory)
    problems = []
    for offset, path in candidates:
        try:
            found, _ = read_snapshot_file(path)
            if found != offset:
                raise FormatError("bad snapshot", f"holds offset {found}, name says {offset}")
        except (FormatError, OSError) as exc:
            problems.append(f"{os.path.basename(path)}: {exc}")
            continue
        notes.extend(f"skipped corrupt snapshot {problem}" for problem in problems)
        return offset, path, os.path.getsize(path)
    if problems:
        raise _failure(directory, "no snapshot verifies: " + "; ".join(problems))
    return None


def recover_directory(
    directory: str, fsync: Callable[[int], None], *, sync_repairs: bool
) -> Recovered:
    """Validate ``directory`` (see module docstring). ``sync_repairs``: fsync truncations."""
    started = time.perf_counter()
    notes: list[str] = []
    names = os.listdir(directory)
    for name in names:
        if name.endswith(".tmp"):
            os.unlink(os.path.join(directory, name))
            notes.append(f"removed unfinished {name}")
    snapshot = _pick_snapshot(directory, notes)
    snapshot_offset = snapshot[0] if snapshot else 0
    bases = sorted(int(m.group(1)) for m in map(_SEGMENT_NAME.match, names) if m)

    segments: list[Segment] = []
    records = scanned = truncated_bytes = 0
    truncated_at: int | None = None
    reason: str | None = None
    next_base = snapshot_offset
    try:
        for i, base in enumerate(bases):
            last = i == len(bases) - 1
            segment = Segment(directory, base, 0)
            segment.fd = os.open(segment.path, _OPEN_FLAGS)
            try:
                scan = scan_segment_file(segment.fd, base)
            except FormatError as exc:
                size = os.fstat(segment.fd).st_size
                os.close(segment.fd)
                if not last:
                    raise _failure(directory, f"sealed segment {base}: {exc}") from exc
                os.unlink(segment.path)
                truncated_bytes, truncated_at, reason = size, base, exc.reason
                scanned += size
                next_base = max(next_base, base)
                notes.append(f"removed segment {base} with an invalid header ({exc})")
                break
            segments.append(segment)
            scanned += scan.file_bytes
            if scan.error is not None:
                if not last:
                    raise _failure(
                        directory, f"sealed segment {base} is corrupt: {scan.error}"
                    ) from scan.error
                keep = SEGMENT_HEADER_BYTES + scan.valid_bytes
                os.ftruncate(segment.fd, keep)
                if sync_repairs:
                    fsync(segment.fd)
                truncated_bytes = scan.file_bytes - keep
                truncated_at = base + scan.valid_bytes
                reason = scan.error.reason
                notes.append(f"cut segment {base} at offset {truncated_at}: {scan.error}")
            segment.created_ms = scan.created_ms
            segment.size = segment.written = scan.valid_bytes
            segment.records = scan.records
            segment.index = scan.index
            segment.next_index = scan.next_index
            segment.sealed = not last
            records += scan.records
        if segments:
            segments[-1].sealed = False  # also when a newer, header-torn file was removed
        _check_contiguous(directory, segments, snapshot_offset)
        recovered_end = segments[-1].end if segments else next_base
        if recovered_end < snapshot_offset:
            notes.append(
                f"log ends at {recovered_end}, below the snapshot offset {snapshot_offset}; "
                f"continuing at {snapshot_offset}"
            )
    except BaseException:
        for segment in segments:
            if segment.fd >= 0:
                os.close(segment.fd)
        raise
    report = RecoveryReport(
        segments=len(segments),
        records=records,
        bytes_scanned=scanned,
        truncated_bytes=truncated_bytes,
        truncated_at=truncated_at,
        reason=reason,
        seconds=time.perf_counter() - started,
        snapshot_offset=snapshot[0] if snapshot else None,
        notes=tuple(notes),
    )
    return Recovered(segments=segments, snapshot=snapshot, next_base=next_base, report=report)


def _check_contiguous(directory: str, segments: list[Segment], snapshot_offset: int) -> None:
    if segments and segments[0].base > snapshot_offset:
        raise _failure(
            directory,
            f"records before offset {segments[0].base} are missing and no snapshot covers them "
            f"(snapshot offset {snapshot_offset})",
        )
    for before, after in itertools.pairwise(segments):
        if before.end > after.base:
            raise _failure(
                directory, f"segment {before.base} ends at {before.end}, past segment {after.base}"
            )
        if before.end < after.base and after.base > snapshot_offset:
            raise _failure(
                directory,
                f"records between offsets {before.end} and {after.base} are missing and no "
                f"snapshot covers them (snapshot offset {snapshot_offset})",
            )
