"""Bucket partition: S3's object metadata as a deterministic state machine over the log.

Contract
--------
- **Pure and synchronous** (principle 3): every change takes ``now_ms`` from the caller and
  appends the records describing it in one ``append``; the shell commits, then answers. Object
  bodies are not here: they are blobs (:mod:`raybus.storage.blobs`) written and made durable
  before the change that names them is applied, so a committed record never names a blob that
  is not on disk, and a blob no record names is garbage (swept).
- **Versions.** Each key holds its versions oldest first; the last is current. With versioning
  never enabled or suspended, a put replaces the ``null`` version (S3's rule); enabled, it adds
  one with a fresh id. A delete without a version id removes the null version (unversioned) or
  adds a delete marker (enabled: a new id; suspended: the null version becomes a marker); with
  a version id it removes that version for good. Blobs of a removed version are handed to the
  turn (``turn.transfers``) and deleted by the shell after the commit.
- **Multipart uploads** belong to the partition of their key: parts are blobs, and completing
  an upload makes a version whose blobs are its parts (no copy), with S3's multipart ETag.
- **Notifications are committed with the change that causes them** (S3's at-least-once): the
  change's record carries each notification's text and destination, which wait in the
  partition's *outbox* until the shell has delivered them (:meth:`due_notes`,
  :meth:`settle_notes`); a crash between the change and the delivery delivers them after
  recovery. Replication is an outbox entry too (destination ``replicate:<bucket>``).
- **Time**: restores of archived objects complete, restored copies expire and lifecycle rules
  expire objects when :meth:`tick` runs at or after their time (the shell runs it; the test
  clock drives it).
- **Cost**: a put, delete or head is O(log keys) plus O(versions of the key); a listing page
  is O(log keys + page); :meth:`tick` O(due restores) plus, with lifecycle rules, O(objects)
  when an expiration is due (the earliest due time is kept as changes are made: a change costs
  one rule evaluation of its key).

Records (msgpack arrays, :mod:`raybus.engines.records`; append-only layouts):

- ``[1 CHANGE, seq, now_ms, key, [change...], [note...]]`` — a change is ``[1 PUT, version]``
  (:meth:`ObjectVersion.to_wire`), ``[2 REMOVE, version_id]`` or ``[3 UPDATE, version_id,
  {field: value}]`` (tags, restore, storage class, replication status); a note is ``[id,
  destination, text]``.
- ``[2 UPLOAD, now_ms, upload_id, key, {headers, metadata, tags, storage_class, ...}]``
- ``[3 PART, now_ms, upload_id, number, [blob, size, etag, md5 hex, {checksums}]]``
- ``[4 UPLOAD_END, now_ms, upload_id]`` (completed or aborted)
- ``[5 SETTLE, now_ms, [note id...] done, [[note id, attempts, due_ms]...] retrying]``
"""

from __future__ import annotations

import base64
import heapq
import json
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from raybus.core.arns import bucket_arn
from raybus.core.bucket_events import (
    NotificationConfig,
    ObjectEvent,
    eventbridge_event,
    eventbridge_resources,
    s3_message,
    s3_record,
    sequencer,
)
from raybus.core.bucket_rules import (
    LifecycleConfig,
    ReplicationConfig,
    abort_multipart_ms,
    destination_bucket,
    expiration_ms,
    expired_delete_marker_applies,
    is_archived,
    noncurrent_expiration_ms,
    replicates_delete_markers,
    replication_rule_for,
    restore_delay_ms,
    restore_expiry_ms,
)
from raybus.core.buckets import (
    DEFAULT_BUS,
    MAX_PARTS,
    MIN_PART_BYTES,
    NULL_VERSION,
    OWNER_ID,
    BucketConfig,
    ObjectVersion,
    multipart_etag,
)
from raybus.core.errors import RaybusError
from raybus.engines.log import EngineLog
from raybus.engines.records import decode, encode

__all__ = [
    "NO_CONDITIONS",
    "NO_ORIGIN",
    "BucketCounters",
    "BucketPartition",
    "BucketRecordType",
    "Conditions",
    "Listing",
    "Note",
    "Origin",
    "Part",
    "Upload",
]

_SNAPSHOT_VERSION = 1
FIRST_RETRY_MS = 1_000
MAX_RETRY_MS = 300_000
NOTE_MAX_AGE_MS = 86_400_000  # a notification nobody could take for a day is dropped
_MAX_CHAR = "\U0010ffff"


class BucketRecordType(IntEnum):
    CHANGE = 1
    UPLOAD = 2
    PART = 3
    UPLOAD_END = 4
    SETTLE = 5


_CHANGE = BucketRecordType.CHANGE
_UPLOAD = BucketRecordType.UPLOAD
_PART = BucketRecordType.PART
_UPLOAD_END = BucketRecordType.UPLOAD_END
_SETTLE = BucketRecordType.SETTLE
_PUT, _REMOVE, _UPDATE = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Origin:
    """Who caused a change, for the event documents (S3's userIdentity, sourceIPAddress and
    request ids); ``requester`` None when S3 itself acted (lifecycle, restores, replication)."""

    requester: str | None = "anonymous"
    source_ip: str = "127.0.0.1"
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class Conditions:
    """S3's conditional requests on an object's current version (If-Match and
    If-None-Match take ETags or ``*``; times are epoch ms)."""

    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since_ms: int | None = None
    if_unmodified_since_ms: int | None = None

    @property
    def empty(self) -> bool:
        return (
            self.if_match is None
            and self.if_none_match is None
            and self.if_modified_since_ms is None
            and self.if_unmodified_since_ms is None
        )


NO_ORIGIN = Origin()
NO_CONDITIONS = Conditions()


@dataclass(slots=True)
class Part:
    blob: str
    size: int
    etag: str  # quoted, as S3 answers it
    md5_hex: str
    checksums: dict[str, str]
    modified_ms: int


@dataclass(slots=True)
class Upload:
    upload_id: str
    key: str
    initiated_ms: int
    settings: dict[str, Any]  # headers, metadata, tags, storage_class, checksum_algorithm
    parts: dict[int, Part] = field(default_factory=dict)


@dataclass(slots=True)
class Note:
    """One notification (or replication) owed: where it goes, what it says, and its retries."""

    note_id: int
    destination: str  # "queue:<name>", "topic:<name>", "function:<name>", "bus:<name>",
    # "replicate:<bucket>"
    text: str
    born_ms: int
    attempts: int = 0
    due_ms: int = 0
    inflight: bool = False


@dataclass(slots=True)
class Listing:
    """One partition's page of a listing, in key order: ``entries`` are ``(key, version)``
    pairs (every version of a key, newest first, when listing versions) and ``prefixes`` the
    common prefixes met; ``truncated`` says the partition has more after the last of them."""

    entries: list[tuple[str, ObjectVersion]]
    prefixes: list[str]
    truncated: bool
    latest: dict[str, str] = field(default_factory=dict)  # listing versions: key → current id


@dataclass(slots=True)
class BucketCounters:
    puts: int = 0
    gets: int = 0
    deletes: int = 0
    lists: int = 0
    bytes_uploaded: int = 0
    bytes_downloaded: int = 0
    notes_made: int = 0
    notes_delivered: int = 0
    notes_failed: int = 0
    notes_dropped: int = 0
    replicated: int = 0


def _retry_delay_ms(attempts: int, note_id: int) -> int:
    ceiling = min(MAX_RETRY_MS, FIRST_RETRY_MS << min(attempts - 1, 20))
    half = ceiling // 2
    return half + (note_id * 0x9E3779B1 + attempts) % (half + 1)


class BucketPartition:
    """One partition of a bucket (see the module's contract)."""

    def __init__(
        self, config: BucketConfig, log: EngineLog, *, tag: int, partition: int = 0, epoch: int = 0
    ) -> None:
        self.tag = tag
        self.partition = partition
        self.epoch = epoch
        self._log = log
        self.keys: list[str] = []  # sorted
        self.objects: dict[str, list[ObjectVersion]] = {}
        self.uploads: dict[str, Upload] = {}
        self.outbox: dict[int, Note] = {}
        self._restores: list[tuple[int, str, str]] = []  # (due_ms, key, version id) heap
        self._seq = 0
        self._next_note = 1
        self._next_upload = 1
        self._lifecycle_next: int | None = None  # the earliest lifecycle action due
        self.counters = BucketCounters()
        self.bytes_stored = 0
        self.objects_stored = 0
        self.config = config

    # -- settings ---------------------------------------------------------------------------
    @property
    def config(self) -> BucketConfig:
        return self._config

    @config.setter
    def config(self, config: BucketConfig) -> None:
        """New settings (the shell sets them): their notification, lifecycle and replication
        documents are parsed once, here."""
        self._config = config
        self.arn = bucket_arn(config.name)
        self.notifications = NotificationConfig.from_s3(config.notification)
        self.lifecycle = (
            LifecycleConfig.from_dict(config.lifecycle) if config.lifecycle is not None else None
        )
        self.replication = (
            ReplicationConfig.from_dict(config.replication)
            if config.replication is not None
            else None
        )
        self._schedule_lifecycle()

    # -- reads ------------------------------------------------------------------------------
    def version(self, key: str, version_id: str | None, now_ms: int) -> ObjectVersion:
        """The version a GET or HEAD reads: the current one (``NoSuchKey`` if there is none or
        it is a delete marker) or the one named (``NoSuchVersion``)."""
        versions = self.objects.get(key)
        if version_id is None:
            if not versions or versions[-1].delete_marker:
                details: dict[str, Any] = {"key": key}
                if versions:
                    details.update(delete_marker=True, version_id=versions[-1].version_id)
                raise RaybusError("NoSuchKey", "The specified key does not exist.", **details)
            return versions[-1]
        for version in reversed(versions or ()):
            if version.version_id == version_id:
                return version
        raise RaybusError(
            "NoSuchVersion",
            "The specified version does not exist.",
            key=key,
            version_id=version_id,
        )

    @staticmethod
    def check_conditions(
        version: ObjectVersion | None, conditions: Conditions, *, read: bool
    ) -> None:
        """S3's precedence: If-Match, then If-Unmodified-Since (ignored when If-Match held),
        If-None-Match, then If-Modified-Since. A read answers 304 (``NotModified``) where a
        write answers 412 (``PreconditionFailed``)."""
        if conditions.empty:
            return
        etag = None if version is None or version.delete_marker else version.etag
        modified = None if etag is None or version is None else version.modified_ms
        if conditions.if_match is not None:
            if etag is None or not _etag_matches(conditions.if_match, etag):
                if etag is None and not read:
                    raise RaybusError("NoSuchKey", "The specified key does not exist.")
                raise RaybusError(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                    condition="If-Match",
                )
        elif (
            conditions.if_unmodified_since_ms is not None
            and modified is not None
            and modified // 1000 * 1000 > conditions.if_unmodified_since_ms
        ):
            raise RaybusError(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                condition="If-Unmodified-Since",
            )
        if conditions.if_none_match is not None:
            if etag is not None and _etag_matches(conditions.if_none_match, etag):
                if read:
                    raise RaybusError("NotModified", "Not Modified", etag=etag)
                raise RaybusError(
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                    condition="If-None-Match",
                )
        elif (
            read
            and conditions.if_modified_since_ms is not None
            and modified is not None
            and modified // 1000 * 1000 <= conditions.if_modified_since_ms
        ):
            raise RaybusError("NotModified", "Not Modified", etag=etag)

    def readable(self, version: ObjectVersion, now_ms: int) -> None:
        """``InvalidObjectState`` for an archived object that is not restored now."""
        if is_archived(version.storage_class):
            restore = version.restore
            if restore is None or restore[0] or restore[1] <= now_ms:
                raise RaybusError(
                    "InvalidObjectState",
                    "The operation is not valid for the object's storage class",
                    storage_class=version.storage_class,
                )

    def list_objects(
        self,
        prefix: str,
        marker: str,
        limit: int,
        delimiter: str = "",
        *,
        versions: bool = False,
        version_marker: str = "",
        count_request: bool = True,
    ) -> Listing:
        """Up to ``limit`` entries and common prefixes after ``marker`` (and, listing versions,
        after ``version_marker`` within the marker's key), in key order. Without ``versions``
        only keys whose current version is an object count."""
        if count_request:  # a listing asks every partition; one of them counts the request
            self.counters.lists += 1
        keys = self.keys
        entries: list[tuple[str, ObjectVersion]] = []
        prefixes: list[str] = []
        latest: dict[str, str] = {}
        count = 0
        start = bisect_right(keys, marker) if marker else bisect_left(keys, prefix)
        if versions and marker and version_marker and marker in self.objects:
            held = self.objects[marker]
            ids = [v.version_id for v in held]
            if version_marker in ids:
                latest[marker] = held[-1].version_id
                for version in reversed(held[: ids.index(version_marker)]):
                    if count >= limit:
                        return Listing(entries, prefixes, True, latest)
                    entries.append((marker, version))
                    count += 1
        skip = _rolled_up(marker, prefix, delimiter)
        if skip is not None:
            start = max(start, bisect_right(keys, skip + _MAX_CHAR))
        index = start
        n = len(keys)
        while index < n:
            key = keys[index]
            if not key.startswith(prefix):
                if key > prefix:
                    break
                index += 1
                continue
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[: cut + len(delimiter)]
                    if count >= limit:
                        return Listing(entries, prefixes, True, latest)
                    prefixes.append(common)
                    count += 1
                    index = bisect_right(keys, common + _MAX_CHAR, lo=index)
                    while index < n and keys[index].startswith(common):
                        index += 1
                    continue
            held = self.objects[key]
            if versions:
                latest[key] = held[-1].version_id
                for version in reversed(held):
                    if count >= limit:
                        return Listing(entries, prefixes, True, latest)
                    entries.append((key, version))
                    count += 1
            elif not held[-1].delete_marker:
                if count >= limit:
                    return Listing(entries, prefixes, True, latest)
                entries.append((key, held[-1]))
                count += 1
            index += 1
        return Listing(entries, prefixes, False, latest)

    # -- changes ----------------------------------------------------------------------------
    def _new_version_id(self, seq: int) -> str:
        raw = self.tag.to_bytes(8, "big") + seq.to_bytes(8, "big")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def put(
        self,
        now_ms: int,
        key: str,
        version: ObjectVersion,
        *,
        origin: Origin,
        conditions: Conditions = NO_CONDITIONS,
        event: str = "ObjectCreated:Put",
        replica: bool = False,
        freed: list[str],
    ) -> ObjectVersion:
        """Store ``version`` (its blobs durable already) as the key's current version; the
        version with its id and sequence. ``freed`` receives the blobs it replaced."""
        versions = self.objects.get(key)
        current = versions[-1] if versions else None
        self.check_conditions(current, conditions, read=False)
        seq = self._seq + 1
        version.seq = seq
        version.modified_ms = now_ms
        if not replica or not version.version_id:
            version.version_id = (
                self._new_version_id(seq) if self.config.versioned else NULL_VERSION
            )
        if not replica:
            version.replication_status = ""
        changes: list[list[Any]] = []
        if version.version_id == NULL_VERSION or replica:
            for old in versions or ():
                if old.version_id == version.version_id:
                    changes.append([_REMOVE, old.version_id])
        changes.append([_PUT, version.to_wire()])
        notes = self._notes(now_ms, key, version, event, origin, seq)
        if not replica:
            target = self._replication_target(key, version)
            if target is not None:
                version.replication_status = "PENDING"
                changes[-1] = [_PUT, version.to_wire()]
                notes.append(
                    self._note(
                        target, json.dumps({"key": key, "version_id": version.version_id}), now_ms
                    )
                )
        self._commit(seq, now_ms, key, changes, notes, freed)
        self.counters.puts += 1
        self.counters.bytes_uploaded += version.size
        return version

    def delete(
        self, now_ms: int, key: str, version_id: str | None, *, origin: Origin, freed: list[str]
    ) -> tuple[bool, str | None]:
        """S3's DeleteObject: ``(delete_marker, version_id)`` of what it removed or created."""
        versions = self.objects.get(key) or []
        seq = self._seq + 1
        changes: list[list[Any]] = []
        self.counters.deletes += 1
        if version_id is not None:
            found = next((v for v in versions if v.version_id == version_id), None)
            if found is None:
                if version_id != NULL_VERSION and not _plausible_version_id(version_id):
                    raise RaybusError(
                        "InvalidArgument", "Invalid version id specified", version_id=version_id
                    )
                return False, version_id
            changes.append([_REMOVE, version_id])
            notes = self._notes(now_ms, key, found, "ObjectRemoved:Delete", origin, seq)
            self._commit(seq, now_ms, key, changes, notes, freed)
            return found.delete_marker, version_id
        if self.config.versioning == "":
            found = next((v for v in versions if v.version_id == NULL_VERSION), None)
            if found is None:
                return False, None
            changes.append([_REMOVE, NULL_VERSION])
            notes = self._notes(now_ms, key, found, "ObjectRemoved:Delete", origin, seq)
            self._commit(seq, now_ms, key, changes, notes, freed)
            return False, None
        marker = self._add_marker(
            now_ms, key, "ObjectRemoved:DeleteMarkerCreated", origin, freed, replicate=True
        )
        return True, marker.version_id

    def update(
        self,
        now_ms: int,
        key: str,
        version_id: str | None,
        fields: Mapping[str, Any],
        *,
        event: str | None,
        origin: Origin,
    ) -> ObjectVersion:
        """Change a version's mutable fields (``tags``, ``storage_class``, ``restore``,
        ``replication_status``), emitting ``event`` if given."""
        version = self.version(key, version_id, now_ms)
        seq = self._seq + 1
        changes = [[_UPDATE, version.version_id, _wire_fields(fields)]]
        notes: list[Note] = []
        if event:
            after = ObjectVersion.from_wire(version.to_wire())
            for name, value in fields.items():
                setattr(after, name, value)
            notes = self._notes(now_ms, key, after, event, origin, seq)  # as it will be
        self._commit(seq, now_ms, key, changes, notes, [])
        return version

    def _commit(
        self,
        seq: int,
        now_ms: int,
        key: str,
        changes: list[list[Any]],
        notes: list[Note],
        freed: list[str],
    ) -> None:
        self._log.append(
            [
                encode(
                    [
                        _CHANGE,
                        seq,
                        now_ms,
                        key,
                        changes,
                        [[n.note_id, n.destination, n.text] for n in notes],
                    ]
                )
            ]
        )
        self._apply_change(seq, key, changes, freed)
        self.counters.notes_made += len(notes)
        for note in notes:
            self.outbox[note.note_id] = note

    def _apply_change(self, seq: int, key: str, changes: list[list[Any]], freed: list[str]) -> None:
        self._seq = max(self._seq, seq)
        versions = self.objects.get(key)
        for change in changes:
            op = change[0]
            if op == _PUT:
                version = ObjectVersion.from_wire(change[1])
                if versions is None:
                    versions = self.objects[key] = []
                    insort(self.keys, key)
                versions.append(version)
                if not version.delete_marker:
                    self.bytes_stored += version.size
                    self.objects_stored += 1
                if version.restore is not None and version.restore[0]:
                    heapq.heappush(self._restores, (version.restore[1], key, version.version_id))
            elif op == _REMOVE and versions:
                for index, version in enumerate(versions):
                    if version.version_id == change[1]:
                        del versions[index]
                        freed.extend(version.blobs)
                        if not version.delete_marker:
                            self.bytes_stored -= version.size
                            self.objects_stored -= 1
                        break
            elif op == _UPDATE and versions:
                for version in versions:
                    if version.version_id == change[1]:
                        for name, value in change[2].items():
                            if name == "restore":
                                value = (
                                    None
                                    if value is None
                                    else (bool(value[0]), int(value[1]), int(value[2]))
                                )
                                if value is not None and value[0]:
                                    heapq.heappush(
                                        self._restores, (value[1], key, version.version_id)
                                    )
                            setattr(version, name, value)
                        break
        if versions is not None and not versions:
            del self.objects[key]
            index = bisect_left(self.keys, key)
            if index < len(self.keys) and self.keys[index] == key:
                del self.keys[index]
        elif self.lifecycle is not None:
            self._lifecycle_key(key)

    # -- notifications ------------------------------------------------------------------------
    def _note(self, destination: str, text: str, now_ms: int) -> Note:
        note = Note(self._next_note, destination, text, now_ms)
        self._next_note += 1
        return note

    def _notes(
        self,
        now_ms: int,
        key: str,
        version: ObjectVersion,
        event: str | None,
        origin: Origin,
        seq: int,
    ) -> list[Note]:
        """The notifications ``event`` on ``version`` of ``key`` owes: S3's event message to
        each configured destination whose filter matches, and the EventBridge form to the
        default bus when the bucket sends there."""
        if event is None:
            return []
        targets = self.notifications.targets_for(event, key)
        eventbridge = self.notifications.eventbridge
        if not targets and not eventbridge:
            return []
        config = self.config
        marker = version.delete_marker
        restore = version.restore
        described = ObjectEvent(
            name=event,
            bucket=config.name,
            key=key,
            time_ms=now_ms,
            request_id=origin.request_id,
            owner_id=OWNER_ID,
            requester=origin.requester,
            source_ip=origin.source_ip if origin.requester is not None else None,
            size=None if marker else version.size,
            etag=None if marker else version.etag,
            version_id=None if version.version_id == NULL_VERSION else version.version_id,
            sequencer=sequencer(seq),
            storage_class=version.storage_class,
            restore_expiry_ms=restore[1] if restore is not None and not restore[0] else None,
        )
        notes = [
            self._note(
                f"{target.kind}:{_arn_name(target.arn)}",
                json.dumps(
                    s3_message([s3_record(described, target.id, aws_region=config.region or None)])
                ),
                now_ms,
            )
            for target in targets
        ]
        if eventbridge:
            shaped = eventbridge_event(described)
            if shaped is not None:
                detail_type, detail = shaped
                text = json.dumps(
                    {
                        "detail_type": detail_type,
                        "detail": detail,
                        "resources": eventbridge_resources(config.name),
                        "time_ms": now_ms,
                    }
                )
                notes.append(self._note(f"bus:{DEFAULT_BUS}", text, now_ms))
        return notes

    def _replication_target(
        self, key: str, version: ObjectVersion, *, delete_marker: bool = False
    ) -> str | None:
        if self.replication is None or not self.config.versioned:
            return None
        rule = replication_rule_for(self.replication, key, version.tags)
        if rule is None:
            return None
        if delete_marker and not replicates_delete_markers(rule):
            return None
        return f"replicate:{destination_bucket(rule)}"

    def due_notes(self, now_ms: int, limit: int = 256) -> list[Note]:
        """Notes not in flight whose time has come, oldest first; marks them in flight."""
        out: list[Note] = []
        for note in self.outbox.values():
            if note.inflight or note.due_ms > now_ms:
                continue
            note.inflight = True
            out.append(note)
            if len(out) >= limit:
                break
        return out

    def settle_notes(self, now_ms: int, done: Sequence[int], failed: Sequence[int]) -> None:
        """Delivered notes leave the outbox; failed ones are retried with backoff, and dropped
        once a day old. One SETTLE record."""
        removed: list[int] = []
        retrying: list[list[int]] = []
        for note_id in done:
            if self.outbox.pop(note_id, None) is not None:
                removed.append(note_id)
                self.counters.notes_delivered += 1
        for note_id in failed:
            note = self.outbox.get(note_id)
            if note is None:
                continue
            self.counters.notes_failed += 1
            note.inflight = False
            note.attempts += 1
            if now_ms - note.born_ms >= NOTE_MAX_AGE_MS:
                del self.outbox[note_id]
                removed.append(note_id)
                self.counters.notes_dropped += 1
                continue
            note.due_ms = now_ms + _retry_delay_ms(note.attempts, note_id)
            retrying.append([note_id, note.attempts, note.due_ms])
        if removed or retrying:
            self._log.append([encode([_SETTLE, now_ms, removed, retrying])])

    def release_notes(self, note_ids: Sequence[int]) -> None:
        """Notes whose delivery was cut short (not failed): offer them again."""
        for note_id in note_ids:
            note = self.outbox.get(note_id)
            if note is not None:
                note.inflight = False

    # -- multipart ----------------------------------------------------------------------------
    def create_upload(self, now_ms: int, key: str, settings: dict[str, Any]) -> str:
        upload_id = self._new_version_id(self._next_upload) + f".{now_ms:x}"
        self._next_upload += 1
        self._log.append([encode([_UPLOAD, now_ms, upload_id, key, settings])])
        upload = self.uploads[upload_id] = Upload(upload_id, key, now_ms, settings)
        self._lifecycle_upload(upload)
        return upload_id

    def upload(self, upload_id: str, key: str) -> Upload:
        upload = self.uploads.get(upload_id)
        if upload is None or upload.key != key:
            raise RaybusError(
                "NoSuchUpload",
                "The specified upload does not exist. The upload ID may be invalid, or the "
                "upload may have been aborted or completed.",
                upload_id=upload_id,
            )
        return upload

    def add_part(
        self, now_ms: int, upload_id: str, key: str, number: int, part: Part, freed: list[str]
    ) -> Part:
        upload = self.upload(upload_id, key)
        if not 1 <= number <= MAX_PARTS:
            raise RaybusError(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
                part_number=number,
            )
        part.modified_ms = now_ms
        self._log.append(
            [
                encode(
                    [
                        _PART,
                        now_ms,
                        upload_id,
                        number,
                        [part.blob, part.size, part.etag, part.md5_hex, part.checksums],
                    ]
                )
            ]
        )
        old = upload.parts.get(number)
        if old is not None:
            freed.append(old.blob)
        upload.parts[number] = part
        self.counters.bytes_uploaded += part.size
        return part

    def complete_upload(
        self,
        now_ms: int,
        upload_id: str,
        key: str,
        parts: Sequence[tuple[int, str]],
        *,
        origin: Origin,
        conditions: Conditions,
        freed: list[str],
    ) -> ObjectVersion:
        """S3's CompleteMultipartUpload: the listed parts, ascending, each uploaded with that
        ETag, all but the last at least 5 MiB."""
        upload = self.upload(upload_id, key)
        if not parts:
            raise RaybusError("MalformedXML", "You must specify at least one part.")
        chosen: list[Part] = []
        last = 0
        for number, etag in parts:
            if number <= last:
                raise RaybusError(
                    "InvalidPartOrder",
                    "The list of parts was not in ascending order. The parts list must be "
                    "specified in order by part number.",
                    part_number=number,
                )
            last = number
            part = upload.parts.get(number)
            if part is None or not _etag_matches(etag, part.etag):
                raise RaybusError(
                    "InvalidPart",
                    "One or more of the specified parts could not be found. The part may not "
                    "have been uploaded, or the specified entity tag may not match the part's "
                    "entity tag.",
                    part_number=number,
                )
            chosen.append(part)
        for index, part in enumerate(chosen[:-1]):
            if part.size < MIN_PART_BYTES:
                raise RaybusError(
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    part_number=parts[index][0],
                    size=part.size,
                    min_size=MIN_PART_BYTES,
                )
        settings = upload.settings
        version = ObjectVersion(
            version_id="",
            size=sum(p.size for p in chosen),
            etag=multipart_etag([bytes.fromhex(p.md5_hex) for p in chosen]),
            blobs=tuple(p.blob for p in chosen),
            part_sizes=tuple(p.size for p in chosen),
            headers=dict(settings.get("headers") or {}),
            metadata=dict(settings.get("metadata") or {}),
            tags=dict(settings.get("tags") or {}),
            storage_class=str(settings.get("storage_class") or "STANDARD"),
            checksums=_composite_checksums(chosen, settings.get("checksum_algorithm")),
        )
        result = self.put(
            now_ms,
            key,
            version,
            origin=origin,
            conditions=conditions,
            event="ObjectCreated:CompleteMultipartUpload",
            freed=freed,
        )
        used = set(version.blobs)
        freed.extend(p.blob for p in upload.parts.values() if p.blob not in used)
        self.counters.bytes_uploaded -= version.size  # counted per part already
        self._end_upload(now_ms, upload_id)
        return result

    def abort_upload(self, now_ms: int, upload_id: str, key: str, freed: list[str]) -> None:
        upload = self.upload(upload_id, key)
        freed.extend(p.blob for p in upload.parts.values())
        self._end_upload(now_ms, upload_id)

    def _end_upload(self, now_ms: int, upload_id: str) -> None:
        self._log.append([encode([_UPLOAD_END, now_ms, upload_id])])
        del self.uploads[upload_id]

    def list_uploads(
        self, prefix: str, key_marker: str, upload_marker: str, limit: int
    ) -> tuple[list[Upload], bool]:
        chosen = sorted(
            (
                u
                for u in self.uploads.values()
                if u.key.startswith(prefix) and (u.key, u.upload_id) > (key_marker, upload_marker)
            ),
            key=lambda u: (u.key, u.initiated_ms, u.upload_id),
        )
        return chosen[:limit], len(chosen) > limit

    # -- time ---------------------------------------------------------------------------------
    def restore_object(
        self,
        now_ms: int,
        key: str,
        version_id: str | None,
        days: int,
        tier: str,
        *,
        origin: Origin,
    ) -> bool:
        """Start restoring an archived version (``ObjectRestore:Post``); True if a restore
        started, False if the object was restored already (its expiry moves: S3's 200)."""
        version = self.version(key, version_id, now_ms)
        if not is_archived(version.storage_class):
            raise RaybusError(
                "InvalidObjectState",
                "Restore is not allowed for the object's current storage class",
                storage_class=version.storage_class,
            )
        restore = version.restore
        if restore is not None and restore[0]:
            raise RaybusError(
                "RestoreAlreadyInProgress", "Object restore is already in progress", key=key
            )
        if restore is not None and restore[1] > now_ms:
            self.update(
                now_ms,
                key,
                version.version_id,
                {"restore": (False, restore_expiry_ms(now_ms, days), days)},
                event=None,
                origin=origin,
            )
            return False
        due = now_ms + restore_delay_ms(version.storage_class, tier)
        self.update(
            now_ms,
            key,
            version.version_id,
            {"restore": (True, due, days)},
            event="ObjectRestore:Post",
            origin=origin,
        )
        return True

    def next_due_ms(self) -> int | None:
        """The earliest time something here becomes due: a note's retry, a restore completing
        or expiring, the next lifecycle pass."""
        times = [n.due_ms for n in self.outbox.values() if not n.inflight]
        if self._restores:
            times.append(self._restores[0][0])
        if self._lifecycle_next is not None:
            times.append(self._lifecycle_next)
        return min(times) if times else None

    def tick(self, now_ms: int, freed: list[str]) -> int:
        """Complete due restores, expire restored copies and, once per lifecycle period, apply
        the lifecycle rules. The number of changes made."""
        changed = 0
        origin = Origin(requester=None, source_ip="")
        while self._restores and self._restores[0][0] <= now_ms:
            due, key, version_id = heapq.heappop(self._restores)
            version = self._find(key, version_id)
            if version is None or version.restore is None or version.restore[1] != due:
                continue  # gone, or re-scheduled
            ongoing, _, days = version.restore
            if ongoing:
                expiry = restore_expiry_ms(now_ms, days)
                self.update(
                    now_ms,
                    key,
                    version_id,
                    {"restore": (False, expiry, days)},
                    event="ObjectRestore:Completed",
                    origin=origin,
                )
                heapq.heappush(self._restores, (expiry, key, version_id))
            else:
                self.update(
                    now_ms,
                    key,
                    version_id,
                    {"restore": None},
                    event="ObjectRestore:Delete",
                    origin=origin,
                )
            changed += 1
        if self._lifecycle_next is not None and self._lifecycle_next <= now_ms:
            changed += self._apply_lifecycle(now_ms, origin, freed)
            self._schedule_lifecycle()
        return changed

    def _schedule_lifecycle(self) -> None:
        """The earliest time a lifecycle rule acts on anything here (O(objects))."""
        self._lifecycle_next = None
        if getattr(self, "lifecycle", None) is None:
            return
        for key in self.objects:
            self._lifecycle_key(key)
        for upload in self.uploads.values():
            self._lifecycle_upload(upload)

    def _lifecycle_at(self, due: int | None) -> None:
        if due is not None and (self._lifecycle_next is None or due < self._lifecycle_next):
            self._lifecycle_next = due

    def _lifecycle_key(self, key: str) -> None:
        """Note when a lifecycle rule next acts on ``key``'s versions."""
        lifecycle = self.lifecycle
        versions = self.objects.get(key)
        if lifecycle is None or not versions:
            return
        current = versions[-1]
        if not current.delete_marker:
            due = expiration_ms(lifecycle, key, current.tags, current.size, current.modified_ms)
            self._lifecycle_at(None if due is None else due[0])
        elif len(versions) == 1 and expired_delete_marker_applies(lifecycle, key):
            self._lifecycle_at(current.modified_ms)
        newer = 0
        for index in range(len(versions) - 2, -1, -1):
            version = versions[index]
            if version.delete_marker:
                continue
            since = versions[index + 1].modified_ms
            self._lifecycle_at(
                noncurrent_expiration_ms(lifecycle, key, version.tags, version.size, since, newer)
            )
            newer += 1

    def _lifecycle_upload(self, upload: Upload) -> None:
        if self.lifecycle is not None:
            self._lifecycle_at(abort_multipart_ms(self.lifecycle, upload.key, upload.initiated_ms))

    def _find(self, key: str, version_id: str) -> ObjectVersion | None:
        for version in self.objects.get(key) or ():
            if version.version_id == version_id:
                return version
        return None

    def _apply_lifecycle(self, now_ms: int, origin: Origin, freed: list[str]) -> int:
        lifecycle = self.lifecycle
        assert lifecycle is not None
        changed = 0
        for key in list(self.keys):
            versions = self.objects.get(key)
            if not versions:
                continue
            current = versions[-1]
            if not current.delete_marker:
                due = expiration_ms(lifecycle, key, current.tags, current.size, current.modified_ms)
                if due is not None and due[0] <= now_ms:
                    changed += 1
                    if self.config.versioning == "":
                        seq = self._seq + 1
                        notes = self._notes(
                            now_ms, key, current, "LifecycleExpiration:Delete", origin, seq
                        )
                        self._commit(
                            seq, now_ms, key, [[_REMOVE, current.version_id]], notes, freed
                        )
                    else:
                        self._lifecycle_marker(now_ms, key, origin, freed)
                    continue
            elif len(versions) == 1 and expired_delete_marker_applies(lifecycle, key):
                seq = self._seq + 1
                notes = self._notes(now_ms, key, current, "LifecycleExpiration:Delete", origin, seq)
                self._commit(seq, now_ms, key, [[_REMOVE, current.version_id]], notes, freed)
                changed += 1
                continue
            # noncurrent versions: each became noncurrent when its successor was made
            newer = 0
            for index in range(len(versions) - 2, -1, -1):
                version = versions[index]
                if version.delete_marker:
                    continue
                since = versions[index + 1].modified_ms
                due_ms = noncurrent_expiration_ms(
                    lifecycle, key, version.tags, version.size, since, newer
                )
                newer += 1
                if due_ms is not None and due_ms <= now_ms:
                    seq = self._seq + 1
                    notes = self._notes(
                        now_ms, key, version, "LifecycleExpiration:Delete", origin, seq
                    )
                    self._commit(seq, now_ms, key, [[_REMOVE, version.version_id]], notes, freed)
                    changed += 1
        for upload in list(self.uploads.values()):
            due_ms = abort_multipart_ms(lifecycle, upload.key, upload.initiated_ms)
            if due_ms is not None and due_ms <= now_ms:
                freed.extend(p.blob for p in upload.parts.values())
                self._end_upload(now_ms, upload.upload_id)
                changed += 1
        return changed

    def _lifecycle_marker(self, now_ms: int, key: str, origin: Origin, freed: list[str]) -> None:
        # S3 never replicates a delete marker a lifecycle rule made
        self._add_marker(now_ms, key, "LifecycleExpiration:DeleteMarkerCreated", origin, freed)

    def _add_marker(
        self,
        now_ms: int,
        key: str,
        event: str,
        origin: Origin,
        freed: list[str],
        *,
        replicate: bool = False,
    ) -> ObjectVersion:
        """A delete marker becomes the key's current version: a new id with versioning enabled,
        else the ``null`` version (replacing the one there was)."""
        versions = self.objects.get(key) or []
        seq = self._seq + 1
        marker_id = self._new_version_id(seq) if self.config.versioned else NULL_VERSION
        changes: list[list[Any]] = []
        if marker_id == NULL_VERSION:
            changes.extend(
                [_REMOVE, v.version_id] for v in versions if v.version_id == NULL_VERSION
            )
        marker = ObjectVersion(
            version_id=marker_id, modified_ms=now_ms, delete_marker=True, seq=seq
        )
        changes.append([_PUT, marker.to_wire()])
        notes = self._notes(now_ms, key, marker, event, origin, seq)
        target = self._replication_target(key, marker, delete_marker=True) if replicate else None
        if target is not None:
            text = json.dumps({"key": key, "version_id": marker_id})
            notes.append(self._note(target, text, now_ms))
        self._commit(seq, now_ms, key, changes, notes, freed)
        return marker

    # -- stats --------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        counters = self.counters
        return {
            "objects": self.objects_stored,
            "bytes": self.bytes_stored,
            "keys": len(self.keys),
            "uploads": len(self.uploads),
            "outbox": len(self.outbox),
            "puts": counters.puts,
            "gets": counters.gets,
            "deletes": counters.deletes,
            "lists": counters.lists,
            "bytes_uploaded": counters.bytes_uploaded,
            "bytes_downloaded": counters.bytes_downloaded,
            "notifications": counters.notes_made,
            "notifications_delivered": counters.notes_delivered,
            "notifications_failed": counters.notes_failed,
            "notifications_dropped": counters.notes_dropped,
            "replicated": counters.replicated,
        }

    def referenced_blobs(self) -> set[str]:
        names = {b for versions in self.objects.values() for v in versions for b in v.blobs}
        names.update(p.blob for u in self.uploads.values() for p in u.parts.values())
        return names

    # -- recovery -----------------------------------------------------------------------------
    def replay(self, offset: int, payload: bytes) -> None:
        record = decode(payload)
        kind = record[0]
        if kind == _CHANGE:
            _, seq, now_ms, key, changes, notes = record
            if seq <= self._seq:
                return  # already in the snapshot
            self._apply_change(seq, key, changes, [])
            for note_id, destination, text in notes:
                self.outbox[note_id] = Note(note_id, destination, text, now_ms)
                self._next_note = max(self._next_note, note_id + 1)
        elif kind == _UPLOAD:
            _, now_ms, upload_id, key, settings = record
            self.uploads[upload_id] = Upload(upload_id, key, now_ms, settings)
            self._next_upload += 1
        elif kind == _PART:
            _, now_ms, upload_id, number, (blob, size, etag, md5_hex, checksums) = record
            upload = self.uploads.get(upload_id)
            if upload is not None:
                upload.parts[number] = Part(blob, size, etag, md5_hex, dict(checksums), now_ms)
        elif kind == _UPLOAD_END:
            self.uploads.pop(record[2], None)
        elif kind == _SETTLE:
            _, now_ms, removed, retrying = record
            for note_id in removed:
                self.outbox.pop(note_id, None)
            for note_id, attempts, due_ms in retrying:
                note = self.outbox.get(note_id)
                if note is not None:
                    note.attempts, note.due_ms = attempts, due_ms

    def finish_recovery(self) -> None:
        self.keys = sorted(self.objects)
        self._restores = [
            (v.restore[1], key, v.version_id)
            for key, versions in self.objects.items()
            for v in versions
            if v.restore is not None
        ]
        heapq.heapify(self._restores)
        for note in self.outbox.values():
            note.inflight = False
        self._schedule_lifecycle()

    def snapshot(self) -> dict[str, Any]:
        return {
            "v": _SNAPSHOT_VERSION,
            "seq": self._seq,
            "next_note": self._next_note,
            "next_upload": self._next_upload,
            "objects": [
                [key, [v.to_wire() for v in versions]] for key, versions in self.objects.items()
            ],
            "uploads": [
                [
                    u.upload_id,
                    u.key,
                    u.initiated_ms,
                    u.settings,
                    [
                        [n, [p.blob, p.size, p.etag, p.md5_hex, p.checksums, p.modified_ms]]
                        for n, p in u.parts.items()
                    ],
                ]
                for u in self.uploads.values()
            ],
            "outbox": [
                [n.note_id, n.destination, n.text, n.born_ms, n.attempts, n.due_ms]
                for n in self.outbox.values()
            ],
        }

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("v") != _SNAPSHOT_VERSION:
            raise RaybusError(
                "StorageFailure", f"Unknown bucket snapshot version {state.get('v')}."
            )
        self._seq = state["seq"]
        self._next_note = state["next_note"]
        self._next_upload = state["next_upload"]
        for key, versions in state["objects"]:
            held = self.objects[key] = [ObjectVersion.from_wire(v) for v in versions]
            for version in held:
                if not version.delete_marker:
                    self.bytes_stored += version.size
                    self.objects_stored += 1
        for upload_id, key, initiated, settings, parts in state["uploads"]:
            upload = self.uploads[upload_id] = Upload(upload_id, key, initiated, settings)
            for number, (blob, size, etag, md5_hex, checksums, modified) in parts:
                upload.parts[number] = Part(blob, size, etag, md5_hex, dict(checksums), modified)
        for note_id, destination, text, born, attempts, due in state["outbox"]:
            self.outbox[note_id] = Note(note_id, destination, text, born, attempts, due)

    def live_offsets(self) -> list[int]:
        """Nothing in the log is needed once a snapshot is taken: the snapshot holds it all."""
        return []

    def relocate(self, moved: dict[int, int]) -> None:
        """No state points into the log."""


def _etag_matches(condition: str, etag: str) -> bool:
    wanted = [item.strip() for item in condition.split(",")]
    bare = etag.strip('"')
    return any(item == "*" or item.strip('"') == bare for item in wanted)


def _plausible_version_id(version_id: str) -> bool:
    return 0 < len(version_id) <= 1024


def _rolled_up(marker: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix a continuation marker stands for (every key under it was reported
    as that prefix), or None."""
    if not marker or not delimiter or not marker.startswith(prefix):
        return None
    cut = marker.find(delimiter, len(prefix))
    if cut < 0:
        return None
    common = marker[: cut + len(delimiter)]
    return common if common == marker else None


def _wire_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in ("tags", "storage_class", "restore", "replication_status"):
            raise ValueError(f"{name} is not an updatable field")
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


def _arn_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _composite_checksums(parts: Sequence[Part], algorithm: object) -> dict[str, str]:
    """S3's checksum of a multipart object is a checksum of the parts' checksums (``-<n>``);
    raybus keeps the parts' own (ListParts answers them) and gives the whole object none, so
    clients validate nothing against it (as for an upload made without checksums)."""
    return {}


def _iter_versions(objects: Mapping[str, list[ObjectVersion]]) -> Iterator[ObjectVersion]:
    for versions in objects.values():
        yield from versions
