"""Object bodies on disk: immutable files beside a bucket partition's log.

A **blob** is one file in ``<partition directory>/blobs/``, written once and never changed:
the body of a single PUT, or one part of a multipart upload. Its name is random (128 bits,
hex); a version's metadata record names its blobs, so an object is visible only once that
record is committed — and the record is appended only after the blob is durable
(:func:`write_blob`: data written, ``fsync``'d, renamed from its ``.tmp`` name, the directory
``fsync``'d). A crash mid-upload leaves a ``.tmp`` file or an unreferenced blob, never a
half object; :func:`sweep` removes both once they are old enough that no upload can still be
on its way to committing them.

Whoever receives the upload writes the blob (a gateway in any host process: the data
directory is shared by the hosts, as for partition moves), then asks the partition's owner to
commit the metadata. Blobs are freed by the owner after the commit that stops referencing
them; a reader that opened a blob before it was freed keeps reading it (POSIX unlink).

Bodies stream: :func:`write_blob` takes an async iterator of chunks and holds at most one
write buffer (``WRITE_BUFFER`` bytes) in memory; :func:`read_blobs` yields ranges of a
version's blobs in ``READ_CHUNK`` pieces. File I/O runs on the default executor, never on the
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

__all__ = [
    "BLOB_DIRECTORY",
    "READ_CHUNK",
    "SWEEP_AGE_S",
    "WRITE_BUFFER",
    "blob_directory",
    "delete_blobs",
    "link_blob",
    "new_blob_name",
    "read_blobs",
    "sweep",
    "write_blob",
]

BLOB_DIRECTORY = "blobs"
WRITE_BUFFER = 4 << 20
READ_CHUNK = 1 << 20
# An unreferenced blob (or .tmp file) younger than this may belong to an upload still on its
# way to committing it; the gateway's body timeout and retries are far shorter.
SWEEP_AGE_S = 3600.0
_TMP = ".tmp"


def blob_directory(partition_directory: str) -> str:
    return os.path.join(partition_directory, BLOB_DIRECTORY)


def new_blob_name() -> str:
    return uuid.uuid4().hex


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def write_blob(
    directory: str,
    chunks: AsyncIterator[bytes],
    *,
    observe: Callable[[bytes], None] | None = None,
) -> tuple[str, int]:
    """Write the chunks to a new blob in ``directory`` (created if missing) and make it durable;
    its ``(name, size)``. ``observe`` sees every chunk as it arrives (hashing). If the iterator
    raises (a bad checksum found at the end, a client gone), the partial file is removed and
    the error propagates: nothing is left to see."""
    loop = asyncio.get_running_loop()
    name = new_blob_name()
    final = os.path.join(directory, name)
    temporary = final + _TMP

    def open_file() -> int:
        os.makedirs(directory, exist_ok=True)
        return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    fd = await loop.run_in_executor(None, open_file)
    size = 0
    writing: asyncio.Future[None] | None = None  # one buffer written while the next is read
    try:
        buffer: list[bytes] = []
        buffered = 0
        async for chunk in chunks:
            if not chunk:
                continue
            if observe is not None:
                observe(chunk)
            buffer.append(chunk)
            buffered += len(chunk)
            size += len(chunk)
            if buffered >= WRITE_BUFFER:
                if writing is not None:
                    await writing
                writing = loop.run_in_executor(None, _write_all, fd, buffer)
                buffer, buffered = [], 0
        if writing is not None:
            await writing
            writing = None
        if buffer:
            await loop.run_in_executor(None, _write_all, fd, buffer)

        def finish() -> None:
            os.fsync(fd)
            os.close(fd)
            os.rename(temporary, final)
            _fsync_directory(directory)

        await loop.run_in_executor(None, finish)
    except BaseException:
        if writing is not None:
            await asyncio.gather(writing, return_exceptions=True)

        def discard() -> None:
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)

        await asyncio.shield(loop.run_in_executor(None, discard))
        raise
    return name, size


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write every piece (``writev``: no joined copy), however the kernel splits it."""
    views = [memoryview(piece) for piece in pieces if piece]
    while views:
        written = os.writev(fd, views[:_IOV_MAX])
        while written and views:
            if written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][written:]
                written = 0


_IOV_MAX = 1024


async def link_blob(source: str, directory: str) -> str:
    """A new blob in ``directory`` with the bytes of the blob file ``source`` (a hard link
    when both are on one file system, else a durable copy); its name."""
    loop = asyncio.get_running_loop()
    name = new_blob_name()

    def link() -> None:
        os.makedirs(directory, exist_ok=True)
        target = os.path.join(directory, name)
        try:
            os.link(source, target)
        except OSError:
            temporary = target + _TMP
            shutil.copyfile(source, temporary)
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.rename(temporary, target)
        _fsync_directory(directory)

    await loop.run_in_executor(None, link)
    return name


async def delete_blobs(directory: str, names: Iterable[str]) -> None:
    """Remove blobs no committed record references any more (missing ones are ignored)."""
    paths = [os.path.join(directory, name) for name in names]
    if not paths:
        return

    def unlink() -> None:
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    await asyncio.get_running_loop().run_in_executor(None, unlink)


def sweep(directory: str, referenced: set[str], *, older_than_s: float = SWEEP_AGE_S) -> int:
    """Remove ``.tmp`` files and blobs nothing references, if older than ``older_than_s``
    (blocking: call it on an executor). The number removed."""
    removed = 0
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        name = entry.name
        base = name[: -len(_TMP)] if name.endswith(_TMP) else name
        if base in referenced and not name.endswith(_TMP):
            continue
        with contextlib.suppress(FileNotFoundError):
            if entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed


async def read_blobs(
    directory: str, blobs: Sequence[str], sizes: Sequence[int], start: int, end: int
) -> AsyncIterator[bytes]:
    """Bytes ``[start, end)`` of the concatenation of ``blobs`` (each of the given size), in
    chunks of at most ``READ_CHUNK``. The files are opened before this returns, so a version
    freed afterwards still reads whole and a missing blob is ``FileNotFoundError`` here, before
    any byte is sent."""
    loop = asyncio.get_running_loop()
    plan: list[tuple[str, int, int]] = []  # (path, offset, length)
    position = 0
    for name, size in zip(blobs, sizes, strict=True):
        lo, hi = max(start, position), min(end, position + size)
        if lo < hi:
            plan.append((os.path.join(directory, name), lo - position, hi - lo))
        position += size

    def open_all() -> list[int]:
        opened: list[int] = []
        try:
            for path, _, _ in plan:
                opened.append(os.open(path, os.O_RDONLY))
        except BaseException:
            for fd in opened:
                os.close(fd)
            raise
        return opened

    fds = await loop.run_in_executor(None, open_all)
    return _read_open(fds, plan)


async def _read_open(fds: list[int], plan: list[tuple[str, int, int]]) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    try:
        for fd, (_, offset, length) in zip(fds, plan, strict=True):
            while length > 0:
                want = min(READ_CHUNK, length)
                data = await loop.run_in_executor(None, os.pread, fd, want, offset)
                if not data:
                    raise OSError(f"blob shorter than its recorded size at {offset}")
                offset += len(data)
                length -= len(data)
                yield data
    finally:
        for fd in fds:
            os.close(fd)
