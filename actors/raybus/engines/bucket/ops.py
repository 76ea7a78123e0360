"""The operations of a bucket partition (see :mod:`raybus.engines.ops`).

Callers (the gateway's S3 front and native routes, replication) send object operations; the
shell sends its own (:class:`TakeNotes`, :class:`SettleNotes`, :class:`Tick`). Blobs a change
frees are handed to the turn (``turn.transfers``, as lists of blob names) and deleted by the
shell once the change is committed. Reads answer copies, never the engine's own objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from raybus.core.buckets import ObjectVersion
from raybus.core.errors import RaybusError
from raybus.engines.bucket.engine import (
    NO_CONDITIONS,
    NO_ORIGIN,
    BucketPartition,
    Conditions,
    Listing,
    Note,
    Origin,
    Part,
    Upload,
)
from raybus.engines.ops import Op, Turn

__all__ = [
    "AbortUpload",
    "BucketStats",
    "CompleteUpload",
    "CreateUpload",
    "DeleteObject",
    "GetUpload",
    "HeadObject",
    "ListObjects",
    "ListUploads",
    "PutObject",
    "ReferencedBlobs",
    "ReleaseNotes",
    "RestoreObject",
    "SettleNotes",
    "TakeNotes",
    "Tick",
    "UpdateObject",
    "UploadPart",
]


def _copy(version: ObjectVersion) -> ObjectVersion:
    return ObjectVersion.from_wire(version.to_wire())


def _freed(turn: Turn, freed: list[str]) -> None:
    if freed:
        turn.transfers.append(freed)


@dataclass(frozen=True, slots=True)
class PutObject(Op[BucketPartition, ObjectVersion]):
    """Store a version whose blobs are durable; ``replica`` keeps the source's version id
    (replication)."""

    key: str
    version: ObjectVersion
    origin: Origin = NO_ORIGIN
    conditions: Conditions = NO_CONDITIONS
    event: str = "ObjectCreated:Put"
    replica: bool = False

    def apply(self, engine: BucketPartition, turn: Turn) -> ObjectVersion:
        freed: list[str] = []
        version = _copy(self.version)
        result = engine.put(
            turn.now_ms,
            self.key,
            version,
            origin=self.origin,
            conditions=self.conditions,
            event=self.event,
            replica=self.replica,
            freed=freed,
        )
        _freed(turn, freed)
        turn.wake = True
        return _copy(result)


@dataclass(frozen=True, slots=True)
class HeadObject(Op[BucketPartition, ObjectVersion]):
    """The version a HEAD (or, with ``get``, a GET: archived objects must be restored)
    reads, after the request's conditions."""

    answer_needs_commit = False

    key: str
    version_id: str | None = None
    conditions: Conditions = NO_CONDITIONS
    get: bool = False

    def apply(self, engine: BucketPartition, turn: Turn) -> ObjectVersion:
        version = engine.version(self.key, self.version_id, turn.now_ms)
        if version.delete_marker:
            raise RaybusError(
                "NoSuchKey" if self.version_id is None else "InvalidRequest",
                "The specified key does not exist."
                if self.version_id is None
                else "The specified version is a delete marker.",
                key=self.key,
                delete_marker=True,
                version_id=version.version_id,
            )
        engine.check_conditions(version, self.conditions, read=True)
        if self.get:
            engine.readable(version, turn.now_ms)
            engine.counters.gets += 1
            engine.counters.bytes_downloaded += version.size
        return _copy(version)


@dataclass(frozen=True, slots=True)
class DeleteObject(Op[BucketPartition, tuple[bool, str | None]]):
    """S3's DeleteObject: ``(delete_marker, version_id)``."""

    key: str
    version_id: str | None = None
    origin: Origin = NO_ORIGIN

    def apply(self, engine: BucketPartition, turn: Turn) -> tuple[bool, str | None]:
        freed: list[str] = []
        result = engine.delete(
            turn.now_ms, self.key, self.version_id, origin=self.origin, freed=freed
        )
        _freed(turn, freed)
        turn.wake = True
        return result


@dataclass(frozen=True, slots=True)
class UpdateObject(Op[BucketPartition, ObjectVersion]):
    """Change a version's tags (or another mutable field), with its event."""

    key: str
    version_id: str | None
    fields: Mapping[str, Any]
    event: str | None = None
    origin: Origin = NO_ORIGIN

    def apply(self, engine: BucketPartition, turn: Turn) -> ObjectVersion:
        version = engine.update(
            turn.now_ms,
            self.key,
            self.version_id,
            self.fields,
            event=self.event,
            origin=self.origin,
        )
        turn.wake = True
        return _copy(version)


@dataclass(frozen=True, slots=True)
class ListObjects(Op[BucketPartition, Listing]):
    answer_needs_commit = False

    prefix: str = ""
    marker: str = ""
    limit: int = 1000
    delimiter: str = ""
    versions: bool = False
    version_marker: str = ""
    count: bool = True  # count the request (a merged listing counts it in one partition)

    def apply(self, engine: BucketPartition, turn: Turn) -> Listing:
        listing = engine.list_objects(
            self.prefix,
            self.marker,
            self.limit,
            self.delimiter,
            versions=self.versions,
            version_marker=self.version_marker,
            count_request=self.count,
        )
        listing.entries = [(key, _copy(version)) for key, version in listing.entries]
        return listing


@dataclass(frozen=True, slots=True)
class CreateUpload(Op[BucketPartition, str]):
    key: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, engine: BucketPartition, turn: Turn) -> str:
        return engine.create_upload(turn.now_ms, self.key, dict(self.settings))


@dataclass(frozen=True, slots=True)
class UploadPart(Op[BucketPartition, Part]):
    upload_id: str
    key: str
    number: int
    part: Part

    def apply(self, engine: BucketPartition, turn: Turn) -> Part:
        freed: list[str] = []
        part = Part(**{name: getattr(self.part, name) for name in Part.__slots__})
        engine.add_part(turn.now_ms, self.upload_id, self.key, self.number, part, freed)
        _freed(turn, freed)
        return part


@dataclass(frozen=True, slots=True)
class CompleteUpload(Op[BucketPartition, ObjectVersion]):
    upload_id: str
    key: str
    parts: Sequence[tuple[int, str]]
    origin: Origin = NO_ORIGIN
    conditions: Conditions = NO_CONDITIONS

    def apply(self, engine: BucketPartition, turn: Turn) -> ObjectVersion:
        freed: list[str] = []
        version = engine.complete_upload(
            turn.now_ms,
            self.upload_id,
            self.key,
            self.parts,
            origin=self.origin,
            conditions=self.conditions,
            freed=freed,
        )
        _freed(turn, freed)
        turn.wake = True
        return _copy(version)


@dataclass(frozen=True, slots=True)
class AbortUpload(Op[BucketPartition, None]):
    upload_id: str
    key: str

    def apply(self, engine: BucketPartition, turn: Turn) -> None:
        freed: list[str] = []
        engine.abort_upload(turn.now_ms, self.upload_id, self.key, freed)
        _freed(turn, freed)


@dataclass(frozen=True, slots=True)
class GetUpload(Op[BucketPartition, Upload]):
    """An upload in progress with its parts (ListParts)."""

    answer_needs_commit = False

    upload_id: str
    key: str

    def apply(self, engine: BucketPartition, turn: Turn) -> Upload:
        upload = engine.upload(self.upload_id, self.key)
        return Upload(
            upload.upload_id,
            upload.key,
            upload.initiated_ms,
            dict(upload.settings),
            dict(upload.parts),
        )


@dataclass(frozen=True, slots=True)
class ListUploads(Op[BucketPartition, tuple[list[Upload], bool]]):
    answer_needs_commit = False

    prefix: str = ""
    key_marker: str = ""
    upload_marker: str = ""
    limit: int = 1000

    def apply(self, engine: BucketPartition, turn: Turn) -> tuple[list[Upload], bool]:
        uploads, truncated = engine.list_uploads(
            self.prefix, self.key_marker, self.upload_marker, self.limit
        )
        return [Upload(u.upload_id, u.key, u.initiated_ms, dict(u.settings)) for u in uploads], (
            truncated
        )


@dataclass(frozen=True, slots=True)
class RestoreObject(Op[BucketPartition, bool]):
    """Start a restore (True), or extend a finished one (False)."""

    key: str
    version_id: str | None
    days: int
    tier: str = "Standard"
    origin: Origin = NO_ORIGIN

    def apply(self, engine: BucketPartition, turn: Turn) -> bool:
        started = engine.restore_object(
            turn.now_ms, self.key, self.version_id, self.days, self.tier, origin=self.origin
        )
        turn.wake = True
        return started


@dataclass(frozen=True, slots=True)
class Tick(Op[BucketPartition, int]):
    """Run what time made due (restores, lifecycle)."""

    def apply(self, engine: BucketPartition, turn: Turn) -> int:
        freed: list[str] = []
        changed = engine.tick(turn.now_ms, freed)
        _freed(turn, freed)
        if changed:
            turn.wake = True
        return changed


@dataclass(frozen=True, slots=True)
class TakeNotes(Op[BucketPartition, list[Note]]):
    """Due notifications, marked in flight (not durable: a crash offers them again)."""

    answer_needs_commit = False

    limit: int = 256

    def apply(self, engine: BucketPartition, turn: Turn) -> list[Note]:
        return [
            Note(n.note_id, n.destination, n.text, n.born_ms, n.attempts, n.due_ms)
            for n in engine.due_notes(turn.now_ms, self.limit)
        ]


@dataclass(frozen=True, slots=True)
class SettleNotes(Op[BucketPartition, None]):
    done: Sequence[int]
    failed: Sequence[int] = ()

    def apply(self, engine: BucketPartition, turn: Turn) -> None:
        engine.settle_notes(turn.now_ms, self.done, self.failed)


@dataclass(frozen=True, slots=True)
class ReleaseNotes(Op[BucketPartition, None]):
    answer_needs_commit = False

    note_ids: Sequence[int]

    def apply(self, engine: BucketPartition, turn: Turn) -> None:
        engine.release_notes(self.note_ids)


@dataclass(frozen=True, slots=True)
class ReferencedBlobs(Op[BucketPartition, set[str]]):
    answer_needs_commit = False

    def apply(self, engine: BucketPartition, turn: Turn) -> set[str]:
        return engine.referenced_blobs()


@dataclass(frozen=True, slots=True)
class BucketStats(Op[BucketPartition, dict[str, Any]]):
    answer_needs_commit = False

    def apply(self, engine: BucketPartition, turn: Turn) -> dict[str, Any]:
        stats = engine.stats()
        stats["epoch"] = turn.epoch
        return stats
