"""Snapshot files: atomic write (temp file, fsync, rename, fsync directory), verified read.

Layout in :mod:`raybus.storage.format`. Callers serialise these calls (the log's I/O lock).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable

from raybus.storage.format import decode_snapshot, encode_snapshot, snapshot_file_name

__all__ = [
    "list_snapshot_files",
    "read_snapshot_file",
    "remove_snapshot_files_except",
    "write_snapshot_file",
]

_SNAPSHOT_NAME = re.compile(r"^snapshot-(\d{20})\.snap$")
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)

Fsync = Callable[[int], None]
Pwrite = Callable[[int, bytes, int], int]


def list_snapshot_files(directory: str) -> list[tuple[int, str]]:
    """``(offset, path)`` of every snapshot file, newest (highest offset) first."""
    found = []
    for name in os.listdir(directory):
        match = _SNAPSHOT_NAME.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    found.sort(reverse=True)
    return found


def read_snapshot_file(path: str) -> tuple[int, bytes]:
    """Read and verify one snapshot file; raises FormatError if it is corrupt, OSError if
    unreadable."""
    with open(path, "rb") as file:
        return decode_snapshot(file.read())


def write_all(fd: int, data: bytes, position: int, pwrite: Pwrite) -> None:
    """Write every byte of ``data`` at ``position`` (retrying short writes)."""
    view = memoryview(data)
    done = 0
    while done < len(view):
        n = pwrite(fd, view[done:], position + done)  # type: ignore[arg-type]
        if n <= 0:
            raise OSError(f"write returned {n} with {len(view) - done} bytes left")
        done += n


def write_snapshot_file(
    directory: str, dir_fd: int, offset: int, state: bytes, fsync: Fsync, pwrite: Pwrite
) -> tuple[str, int]:
    """Durably install a snapshot; return ``(path, size_bytes)``.

    Order: write ``<name>.tmp``, fsync it, rename over ``<name>``, fsync the directory. A crash
    at any point leaves either the old set of snapshot files or the new file whole.
    """
    data = encode_snapshot(offset, state)
    path = os.path.join(directory, snapshot_file_name(offset))
    tmp = path + ".tmp"
    fd = os.open(tmp, _WRITE_FLAGS, 0o644)
    try:
        write_all(fd, data, 0, pwrite)
        fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync(dir_fd)
    return path, len(data)


def remove_snapshot_files_except(directory: str, keep: str) -> None:
    """Delete every snapshot file but ``keep`` (best effort: a leftover older snapshot is
    harmless, recovery prefers the newest valid one)."""
    for _, path in list_snapshot_files(directory):
        if path != keep:
            with contextlib.suppress(OSError):
                os.unlink(path)
