"""The object store's data plane over a :class:`Router`: what the gateway's S3 front and native
routes, and replication, do with buckets.

A body is written as a blob into the data directory of the partition that owns its key
(:mod:`raybus.storage.blobs`: durable before anything names it), by whichever process
received it — hosts share the data directory — and then the partition's owner commits the
version that names it (one typed operation, :mod:`raybus.engines.bucket.ops`). If the
partition refuses the commit the blob is deleted again; if the answer is lost (the owner died
mid-call, the caller went away) the commit may have happened, so the blob stays, and is swept
later if nothing names it.
Reads ask the owner for the version (its conditions and archive state checked there) and
stream its blobs straight from disk. A listing asks every partition for its first page and
merges them.
"""

from __future__ import annotations

import asyncio
import builtins
import heapq
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from raybus.actors.layout import partition_directory
from raybus.actors.router import Router
from raybus.core.buckets import MAX_PUT_BYTES, ObjectVersion
from raybus.core.errors import RaybusError
from raybus.core.hashing import partition_for
from raybus.core.routing import Route
from raybus.engines.bucket.engine import (
    NO_CONDITIONS,
    NO_ORIGIN,
    Conditions,
    Listing,
    Origin,
    Part,
    Upload,
)
from raybus.engines.bucket.ops import (
    AbortUpload,
    BucketStats,
    CompleteUpload,
    CreateUpload,
    DeleteObject,
    GetUpload,
    HeadObject,
    ListObjects,
    ListUploads,
    PutObject,
    RestoreObject,
    UpdateObject,
    UploadPart,
)
from raybus.storage.blobs import blob_directory, delete_blobs, link_blob, read_blobs, write_blob

__all__ = ["Body", "ObjectStore", "Page"]

KIND = "bucket"


@dataclass(frozen=True, slots=True)
class Body:
    """A body written to its partition's blob directory, not yet committed."""

    partition: int
    directory: str
    blob: str | None  # None for an empty body
    size: int


@dataclass(slots=True)
class Page:
    """A merged listing page: entries and common prefixes in key order (at most the limit
    together), and whether more follow."""

    entries: list[tuple[str, ObjectVersion]]
    prefixes: list[str]
    truncated: bool
    latest: dict[str, str] = field(default_factory=dict)  # versions: key → current version id

    def last(self) -> str:
        """The last key or prefix of the page (the next page's marker)."""
        keys = [self.entries[-1][0]] if self.entries else []
        if self.prefixes:
            keys.append(self.prefixes[-1])
        return max(keys) if keys else ""


def refused(error: RaybusError) -> bool:
    """Whether a failed commit certainly did not happen: the partition answered the error
    itself (a precondition, an unknown upload, a bad request — none retriable). A retriable
    error (the host died or moved mid-call) or a cancelled call may have committed the record
    before the answer was lost, so its blobs must stay: if nothing names them they are swept
    later (:func:`raybus.storage.blobs.sweep`), and deleting them could leave a committed
    version without its bytes."""
    return not error.retriable


class ObjectStore:
    def __init__(self, router: Router, data_dir: str) -> None:
        self.router = router
        self.data_dir = data_dir

    # -- placement ----------------------------------------------------------------------------
    async def route(self, bucket: str) -> Route[Any]:
        return await self.router.route(KIND, bucket)

    @staticmethod
    def partition(route: Route[Any], key: str) -> int:
        return partition_for(key, len(route.partitions))

    def directory(self, route: Route[Any], partition: int) -> str:
        return blob_directory(
            partition_directory(self.data_dir, KIND, route.key, route.incarnation, partition)
        )

    async def _apply(self, bucket: str, partition: int, op: Any) -> Any:
        return await self.router.apply(KIND, bucket, partition, op)

    # -- bodies -------------------------------------------------------------------------------
    async def write(
        self,
        bucket: str,
        key: str,
        chunks: AsyncIterator[bytes],
        *,
        observe: Callable[[bytes], None] | None = None,
    ) -> Body:
        """Write a body for ``key`` of ``bucket`` (which must exist) durably as a blob."""
        route = await self.route(bucket)
        partition = self.partition(route, key)
        directory = self.directory(route, partition)
        name, size = await write_blob(directory, chunks, observe=observe)
        if size == 0:
            await delete_blobs(directory, [name])
            return Body(partition, directory, None, 0)
        return Body(partition, directory, name, size)

    async def discard(self, body: Body) -> None:
        if body.blob is not None:
            await delete_blobs(body.directory, [body.blob])

    async def read(
        self, directory: str, version: ObjectVersion, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Bytes ``[start, end)`` of ``version`` (read from ``directory``, as :meth:`head`
        answered it), its files already open: a version deleted between the head and the read
        is ``NoSuchKey`` here, before any byte is answered."""
        sizes = version.part_sizes or ((version.size,) if version.blobs else ())
        stop = version.size if end is None else end
        try:
            return await read_blobs(directory, version.blobs, sizes, start, stop)
        except FileNotFoundError:
            raise RaybusError(
                "NoSuchKey", "The specified key does not exist.", version_id=version.version_id
            ) from None

    # -- objects ------------------------------------------------------------------------------
    async def put(
        self,
        bucket: str,
        key: str,
        body: Body,
        version: ObjectVersion,
        *,
        origin: Origin = NO_ORIGIN,
        conditions: Conditions = NO_CONDITIONS,
        event: str = "ObjectCreated:Put",
    ) -> ObjectVersion:
        """Commit ``version`` (its metadata) with the written ``body``; the blob is removed if
        the commit is refused."""
        if body.size > MAX_PUT_BYTES:
            await self.discard(body)
            raise RaybusError(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                size=body.size,
                max_size=MAX_PUT_BYTES,
            )
        version = replace(
            version, blobs=(body.blob,) if body.blob else (), size=body.size, part_sizes=()
        )
        try:
            result: ObjectVersion = await self._apply(
                bucket, body.partition, PutObject(key, version, origin, conditions, event)
            )
        except RaybusError as error:
            if refused(error):
                await asyncio.shield(self.discard(body))
            raise
        return result

    async def head(
        self,
        bucket: str,
        key: str,
        version_id: str | None = None,
        conditions: Conditions = NO_CONDITIONS,
        *,
        get: bool = False,
    ) -> tuple[ObjectVersion, str]:
        """The version (its conditions and, for a GET, its archive state checked) and the
        directory its blobs are in."""
        route = await self.route(bucket)
        partition = self.partition(route, key)
        version: ObjectVersion = await self._apply(
            bucket, partition, HeadObject(key, version_id, conditions, get)
        )
        return version, self.directory(route, partition)

    async def delete(
        self, bucket: str, key: str, version_id: str | None = None, origin: Origin = NO_ORIGIN
    ) -> tuple[bool, str | None]:
        route = await self.route(bucket)
        result: tuple[bool, str | None] = await self._apply(
            bucket, self.partition(route, key), DeleteObject(key, version_id, origin)
        )
        return result

    async def delete_many(
        self, bucket: str, items: Sequence[tuple[str, str | None]], origin: Origin = NO_ORIGIN
    ) -> list[tuple[bool, str | None] | RaybusError]:
        """Many deletes, one turn per partition: one result or error per item, in order."""
        route = await self.route(bucket)
        by_partition: dict[int, list[int]] = {}
        for index, (key, _) in enumerate(items):
            by_partition.setdefault(self.partition(route, key), []).append(index)
        results: list[Any] = [None] * len(items)

        async def one(partition: int, indexes: list[int]) -> None:
            ops = [DeleteObject(items[i][0], items[i][1], origin) for i in indexes]
            try:
                answers = await self.router.execute(KIND, bucket, partition, ops)
            except RaybusError as error:
                answers = [error] * len(indexes)
            for index, answer in zip(indexes, answers, strict=True):
                results[index] = answer

        await asyncio.gather(*(one(p, i) for p, i in by_partition.items()))
        return results

    async def update(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        fields: dict[str, Any],
        *,
        event: str | None,
        origin: Origin = NO_ORIGIN,
    ) -> ObjectVersion:
        route = await self.route(bucket)
        result: ObjectVersion = await self._apply(
            bucket,
            self.partition(route, key),
            UpdateObject(key, version_id, fields, event, origin),
        )
        return result

    async def restore(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        days: int,
        tier: str,
        origin: Origin = NO_ORIGIN,
    ) -> bool:
        route = await self.route(bucket)
        started: bool = await self._apply(
            bucket,
            self.partition(route, key),
            RestoreObject(key, version_id, days, tier, origin),
        )
        return started

    async def copy(
        self,
        source: tuple[str, str, str | None],
        bucket: str,
        key: str,
        version: ObjectVersion | None,
        *,
        conditions: Conditions = NO_CONDITIONS,
        destination_conditions: Conditions = NO_CONDITIONS,
        origin: Origin = NO_ORIGIN,
    ) -> tuple[ObjectVersion, ObjectVersion]:
        """Copy ``source`` (bucket, key, version id) to ``key`` of ``bucket``: the source's
        metadata (``version`` None: S3's COPY directive) or ``version``'s (REPLACE); the
        blobs are linked, not copied. ``(source version, new version)``."""
        source_bucket, source_key, source_version = source
        try:
            found, source_directory = await self.head(
                source_bucket, source_key, source_version, conditions, get=True
            )
        except RaybusError as error:
            if error.code == "InvalidObjectState":
                raise RaybusError(
                    "ObjectNotInActiveTierError",
                    "The source object of the COPY operation is not in the active tier and "
                    "is only stored in Amazon S3 Glacier.",
                ) from None
            raise
        route = await self.route(bucket)
        partition = self.partition(route, key)
        directory = self.directory(route, partition)
        blobs = [await link_blob(f"{source_directory}/{name}", directory) for name in found.blobs]
        template = found if version is None else version
        made = replace(
            template,
            version_id="",
            blobs=tuple(blobs),
            size=found.size,
            etag=found.etag,
            part_sizes=found.part_sizes,
            checksums=found.checksums,
            restore=None,
            delete_marker=False,
        )
        if version is None:
            made = replace(made, storage_class="STANDARD")
        try:
            result: ObjectVersion = await self._apply(
                bucket,
                partition,
                PutObject(key, made, origin, destination_conditions, "ObjectCreated:Copy"),
            )
        except RaybusError as error:
            if refused(error):
                await asyncio.shield(delete_blobs(directory, blobs))
            raise
        return found, result

    async def replicate(
        self, bucket: str, key: str, version: ObjectVersion, source_directory: str
    ) -> ObjectVersion:
        """Put a replica of ``version`` (same version id, metadata and bytes) into ``bucket``;
        ``InvalidRequest`` when the destination's versioning is not enabled."""
        route = await self.route(bucket)
        if not route.config.versioned:
            raise RaybusError(
                "InvalidRequest",
                f"Replication destination {bucket} does not have versioning enabled.",
                bucket=bucket,
            )
        partition = self.partition(route, key)
        directory = self.directory(route, partition)
        blobs = [await link_blob(f"{source_directory}/{name}", directory) for name in version.blobs]
        replica = replace(version, blobs=tuple(blobs), replication_status="REPLICA", restore=None)
        try:
            result: ObjectVersion = await self._apply(
                bucket,
                partition,
                PutObject(
                    key,
                    replica,
                    Origin(requester=None, source_ip=""),
                    NO_CONDITIONS,
                    "ObjectRemoved:DeleteMarkerCreated"
                    if version.delete_marker
                    else "ObjectCreated:Put",
                    True,
                ),
            )
        except RaybusError as error:
            if refused(error):
                await asyncio.shield(delete_blobs(directory, blobs))
            raise
        return result

    # -- listings -----------------------------------------------------------------------------
    async def list(
        self,
        bucket: str,
        *,
        prefix: str = "",
        marker: str = "",
        limit: int = 1000,
        delimiter: str = "",
        versions: bool = False,
        version_marker: str = "",
    ) -> Page:
        """The first ``limit`` keys (or versions) and common prefixes after the markers, over
        every partition."""
        route = await self.route(bucket)
        if limit <= 0:
            return Page([], [], False)
        marked = self.partition(route, marker) if marker and version_marker else -1

        async def one(partition: int) -> Listing:
            op = ListObjects(
                prefix,
                marker,
                limit,
                delimiter,
                versions,
                version_marker if partition == marked else "",
                partition == 0,
            )
            listing: Listing = await self._apply(bucket, partition, op)
            return listing

        listings = await asyncio.gather(*(one(p) for p in range(len(route.partitions))))
        items = heapq.merge(
            *(
                sorted(
                    [(key, 0, index, version) for index, (key, version) in enumerate(lst.entries)]
                    + [(prefix_, 1, 0, None) for prefix_ in lst.prefixes],
                    key=lambda item: (item[0], item[1], item[2]),
                )
                for lst in listings
            ),
            key=lambda item: (item[0], item[1], item[2]),
        )
        entries: list[tuple[str, ObjectVersion]] = []
        prefixes: list[str] = []
        count = 0
        truncated = any(lst.truncated for lst in listings)
        for key, is_prefix, _, version in items:
            if is_prefix:
                if prefixes and prefixes[-1] == key:
                    continue
                if count >= limit:
                    truncated = True
                    break
                prefixes.append(key)
            else:
                if count >= limit:
                    truncated = True
                    break
                assert version is not None
                entries.append((key, version))
            count += 1
        latest = {k: v for lst in listings for k, v in lst.latest.items()}
        return Page(entries, prefixes, truncated, latest)

    # -- multipart ----------------------------------------------------------------------------
    async def create_upload(self, bucket: str, key: str, settings: dict[str, Any]) -> str:
        route = await self.route(bucket)
        upload_id: str = await self._apply(
            bucket, self.partition(route, key), CreateUpload(key, settings)
        )
        return upload_id

    async def upload_part(
        self, bucket: str, key: str, upload_id: str, number: int, body: Body, part: Part
    ) -> Part:
        try:
            result: Part = await self._apply(
                bucket, body.partition, UploadPart(upload_id, key, number, part)
            )
        except RaybusError as error:
            if refused(error):
                await asyncio.shield(self.discard(body))
            raise
        return result

    async def complete_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        *,
        origin: Origin = NO_ORIGIN,
        conditions: Conditions = NO_CONDITIONS,
    ) -> ObjectVersion:
        route = await self.route(bucket)
        result: ObjectVersion = await self._apply(
            bucket,
            self.partition(route, key),
            CompleteUpload(upload_id, key, tuple(parts), origin, conditions),
        )
        return result

    async def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        route = await self.route(bucket)
        await self._apply(bucket, self.partition(route, key), AbortUpload(upload_id, key))

    async def get_upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        route = await self.route(bucket)
        upload: Upload = await self._apply(
            bucket, self.partition(route, key), GetUpload(upload_id, key)
        )
        return upload

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        key_marker: str = "",
        upload_marker: str = "",
        limit: int = 1000,
    ) -> tuple[builtins.list[Upload], bool]:
        route = await self.route(bucket)

        async def one(partition: int) -> tuple[builtins.list[Upload], bool]:
            found: tuple[builtins.list[Upload], bool] = await self._apply(
                bucket, partition, ListUploads(prefix, key_marker, upload_marker, limit)
            )
            return found

        answers = await asyncio.gather(*(one(p) for p in range(len(route.partitions))))
        uploads = sorted(
            (u for found, _ in answers for u in found),
            key=lambda u: (u.key, u.initiated_ms, u.upload_id),
        )
        truncated = len(uploads) > limit or any(more for _, more in answers)
        return uploads[:limit], truncated

    # -- stats --------------------------------------------------------------------------------
    async def stats(self, bucket: str) -> builtins.list[dict[str, Any]]:
        route = await self.route(bucket)
        return builtins.list(
            await asyncio.gather(
                *(self._apply(bucket, p, BucketStats()) for p in range(len(route.partitions)))
            )
        )
