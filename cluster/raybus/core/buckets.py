"""Buckets (S3's): the bucket's settings, an object version's metadata, and S3's limits; the
bucket kind (:mod:`raybus.core.kinds`).

A **bucket** is partitioned by object key (MD5, :func:`raybus.core.hashing.partition_for`):
each partition holds the metadata of the keys that hash to it — every version of each, the
multipart uploads in progress for them, and the notifications their changes owe — and the
object bodies live beside its log as immutable files (*blobs*). A listing merges the sorted
keys of every partition.

The bucket's configurations that S3 sets with their own calls — versioning, notifications,
lifecycle and replication rules, tags — are part of its settings, kept in the shapes S3's API
uses (``NotificationConfiguration``, ``LifecycleConfiguration``, ...; checked by
:mod:`raybus.core.bucket_events` and :mod:`raybus.core.bucket_rules` when they are set), so a
GetBucket...Configuration answers what was put.

Limits are S3's: bucket names 3–63 characters of lower-case letters, digits, ``.`` and ``-``
(S3's general-purpose bucket naming rules); keys 1–1,024 bytes of UTF-8; user metadata 2 KB
(keys and values, as S3 counts it); 10 tags per object (keys 128 characters, values 256);
5 GiB per single PUT; multipart parts 1–10,000, each 5 MiB–5 GiB (the last may be smaller);
5 TiB per object.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.settings import field_names, known

__all__ = [
    "BUCKET",
    "DEFAULT_BUS",
    "MAX_KEY_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_OBJECT_BYTES",
    "MAX_PARTS",
    "MAX_PART_BYTES",
    "MAX_PUT_BYTES",
    "MAX_TAGS_PER_OBJECT",
    "MIN_PART_BYTES",
    "NULL_VERSION",
    "OWNER_ID",
    "STORED_DOCUMENTS",
    "VERSIONING_STATES",
    "BucketConfig",
    "ObjectVersion",
    "byte_range",
    "check_key",
    "check_metadata",
    "check_tags",
    "multipart_etag",
    "validate_bucket_name",
]

MAX_KEY_BYTES = 1024
MAX_METADATA_BYTES = 2048
MAX_TAGS_PER_OBJECT = 10
MAX_TAGS_PER_BUCKET = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_PUT_BYTES = 5 << 30
MIN_PART_BYTES = 5 << 20
MAX_PART_BYTES = 5 << 30
MAX_PARTS = 10_000
MAX_OBJECT_BYTES = 5 << 40
NULL_VERSION = "null"
# The bucket owner's canonical user id (S3's 64 hex digits): raybus has one owner.
OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
# The bus S3 sends events to (EventBridge's default bus).
DEFAULT_BUS = "default"
VERSIONING_STATES = ("", "Enabled", "Suspended")  # "": never enabled
# The bucket configurations raybus keeps as S3 documents without acting on them.
STORED_DOCUMENTS = frozenset(
    {
        "policy",
        "cors",
        "encryption",
        "ownership_controls",
        "public_access_block",
        "website",
        "logging",
        "accelerate",
        "request_payment",
        "acl",
    }
)

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Tag keys and values: Unicode letters, digits, white space and + - = . _ : / @
_TAG_TEXT = re.compile(r"[\w\s+\-=.:/@]*")


def validate_bucket_name(name: object) -> str:
    """``name`` if S3 would accept it for a general-purpose bucket, else ``InvalidBucketName``."""
    text = name if isinstance(name, str) else ""
    problem = None
    if not _BUCKET_NAME.fullmatch(text):
        problem = (
            "must be 3-63 characters of lower-case letters, digits, '.' and '-', beginning and "
            "ending with a letter or digit"
        )
    elif ".." in text:
        problem = "must not contain two adjacent periods"
    elif _IP_ADDRESS.fullmatch(text):
        problem = "must not be formatted as an IP address"
    elif text.startswith(_RESERVED_PREFIXES) or text.endswith(_RESERVED_SUFFIXES):
        problem = "uses a prefix or suffix S3 reserves"
    if problem is not None:
        raise RaybusError(
            "InvalidBucketName",
            f"The specified bucket is not valid: the name {problem}.",
            bucket=str(name)[:255],
        )
    return text


def check_key(key: object) -> str:
    """An object key: 1–1,024 bytes of UTF-8 (``KeyTooLongError``; text UTF-8 cannot encode,
    such as a lone surrogate, is ``InvalidArgument``)."""
    if not isinstance(key, str) or not key:
        raise RaybusError("InvalidArgument", "An object key must be a non-empty string.")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise RaybusError(
            "InvalidArgument", "The object key is not valid UTF-8.", argument="key"
        ) from None
    if size > MAX_KEY_BYTES:
        raise RaybusError(
            "KeyTooLongError", "Your key is too long.", size=size, max_size=MAX_KEY_BYTES
        )
    return key


def check_metadata(metadata: Mapping[str, str]) -> dict[str, str]:
    """User metadata (``x-amz-meta-*``, keys lower-cased as S3 stores them): at most 2 KB of
    keys and values in UTF-8 (``MetadataTooLarge``)."""
    out: dict[str, str] = {}
    size = 0
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise RaybusError("InvalidArgument", "Metadata keys and values must be strings.")
        try:
            size += len(key.encode("utf-8")) + len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise RaybusError(
                "InvalidArgument", "Metadata must be valid UTF-8.", argument=key
            ) from None
        out[key.lower()] = value
    if size > MAX_METADATA_BYTES:
        raise RaybusError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
            size=size,
            max_size=MAX_METADATA_BYTES,
        )
    return out


def check_tags(tags: Mapping[str, str], *, limit: int = MAX_TAGS_PER_OBJECT) -> dict[str, str]:
    """A tag set: at most ``limit`` tags, keys 1–128 and values 0–256 characters of S3's tag
    alphabet (``InvalidTag``; too many is ``BadRequest`` on S3, ``InvalidTag`` here)."""
    if len(tags) > limit:
        raise RaybusError(
            "InvalidTag", f"Object tags cannot be greater than {limit}", count=len(tags)
        )
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_TAG_KEY:
            raise RaybusError("InvalidTag", "The TagKey you have provided is invalid", key=key)
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise RaybusError("InvalidTag", "The TagValue you have provided is invalid", key=key)
        if not _TAG_TEXT.fullmatch(key) or not _TAG_TEXT.fullmatch(value) or key.startswith("aws:"):
            raise RaybusError(
                "InvalidTag", "The TagKey or TagValue you have provided is invalid", key=key
            )
    return dict(tags)


def byte_range(text: str | None, size: int) -> tuple[int, int] | None:
    """S3's single byte range (``bytes=a-b``, ``a-``, ``-n``) of an object of ``size`` bytes
    as ``[start, end)``; None for no range or one S3 ignores (another unit, several ranges,
    ``b < a``); ``InvalidRange`` when it starts at or past the end."""
    if not text:
        return None
    unit, _, spec = text.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return None
            start, end = max(0, size - suffix), size
        else:
            start = int(first)
            if start < 0 or (last != "" and int(last) < start):
                return None
            end = size if last == "" else min(size, int(last) + 1)
    except ValueError:
        return None
    if start >= size:
        raise RaybusError(
            "InvalidRange", "The requested range is not satisfiable", range=text, size=size
        )
    return start, end


def multipart_etag(part_md5s: list[bytes]) -> str:
    """S3's ETag of a multipart object: the MD5 of the parts' binary MD5s, ``-<parts>``."""
    digest = hashlib.md5(b"".join(part_md5s), usedforsecurity=False).hexdigest()
    return f'"{digest}-{len(part_md5s)}"'


@dataclass(frozen=True, slots=True)
class BucketConfig:
    """A bucket. ``versioning`` is "" (never enabled), "Enabled" or "Suspended" (S3 never goes
    back to unversioned); ``notification``, ``lifecycle`` and ``replication`` are S3's
    configuration documents as its API takes them (checked when set); ``tags`` the bucket's
    tag set; ``documents`` the configurations stored but not enforced
    (``STORED_DOCUMENTS``); ``region`` its LocationConstraint as given (raybus serves every
    region from one place)."""

    name: str
    region: str = ""
    versioning: str = ""
    mfa_delete: str = ""
    notification: dict[str, Any] = field(default_factory=dict)
    lifecycle: dict[str, Any] | None = None
    replication: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # S3 documents raybus stores and answers but does not enforce (policy, CORS, encryption,
    # ownership controls, public access block, website, logging, ...), by name
    documents: dict[str, Any] = field(default_factory=dict)
    partitions: int | None = None
    created_ms: int = 0

    def __post_init__(self) -> None:
        validate_bucket_name(self.name)
        if self.versioning not in VERSIONING_STATES:
            raise RaybusError(
                "MalformedXML",
                "The versioning status must be Enabled or Suspended.",
                versioning=str(self.versioning),
            )
        if self.partitions is not None and not (
            isinstance(self.partitions, int) and 1 <= self.partitions <= 1024
        ):
            raise RaybusError(
                "InvalidParameterValue", "partitions must be 1-1024.", parameter="partitions"
            )
        check_tags(self.tags, limit=MAX_TAGS_PER_BUCKET)
        unknown = set(self.documents) - STORED_DOCUMENTS
        if unknown:
            raise RaybusError(
                "InvalidParameterValue",
                f"Unknown bucket document(s): {', '.join(sorted(unknown))}.",
                parameter="documents",
            )

    @property
    def fifo(self) -> bool:
        return False

    @property
    def versioned(self) -> bool:
        """Whether new versions get their own ids (else each put replaces the null version)."""
        return self.versioning == "Enabled"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BucketConfig:
        settings = known("bucket", data, field_names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "A bucket needs a name.", parameter="name")
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, **changes: Any) -> BucketConfig:
        return BucketConfig.from_dict({**self.to_dict(), **changes})


def _bucket_partitions(config: BucketConfig, hosts: int) -> int:
    return config.partitions or max(1, hosts)


def _no_bucket(name: str) -> RaybusError:
    return RaybusError(
        "NoSuchBucket", "The specified bucket does not exist", resource=name, bucket=name
    )


def _bucket_exists(name: str) -> RaybusError:
    return RaybusError(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        resource=name,
        bucket=name,
    )


BUCKET = Kind(
    name="bucket",
    plural="buckets",
    config=BucketConfig.from_dict,
    key=lambda config: str(config.name),
    partitions=_bucket_partitions,
    missing=_no_bucket,
    exists=_bucket_exists,
)


@dataclass(slots=True)
class ObjectVersion:
    """One version of an object (or a delete marker): its metadata and where its bytes are.

    ``blobs`` names the files holding the body, in order (one for a single PUT, one per part
    for a multipart upload; none for a delete marker or an empty object); ``part_sizes`` the
    size of each part of a multipart object (empty otherwise). ``headers`` holds the
    representation headers S3 stores and returns (Content-Type, Content-Encoding,
    Cache-Control, Content-Disposition, Content-Language, Expires, website redirect);
    ``restore`` is None, or ``(ongoing, ms, days)`` for an archived object being restored
    (``ms``: when the restore completes) or restored (``ms``: when the copy expires).
    Plain and slotted (not frozen): one is made per put."""

    version_id: str
    size: int = 0
    etag: str = ""
    modified_ms: int = 0
    blobs: tuple[str, ...] = ()
    part_sizes: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    checksums: dict[str, str] = field(default_factory=dict)
    delete_marker: bool = False
    restore: tuple[bool, int, int] | None = None
    replication_status: str = ""
    seq: int = 0  # the partition's change number that made it (S3's sequencer)

    def to_wire(self) -> list[Any]:
        return [
            self.version_id,
            self.size,
            self.etag,
            self.modified_ms,
            list(self.blobs),
            list(self.part_sizes),
            self.headers,
            self.metadata,
            self.tags,
            self.storage_class,
            self.checksums,
            self.delete_marker,
            None if self.restore is None else list(self.restore),
            self.replication_status,
            self.seq,
        ]

    @classmethod
    def from_wire(cls, data: list[Any]) -> ObjectVersion:
        restore = data[12]
        return cls(
            version_id=data[0],
            size=data[1],
            etag=data[2],
            modified_ms=data[3],
            blobs=tuple(data[4]),
            part_sizes=tuple(data[5]),
            headers=dict(data[6]),
            metadata=dict(data[7]),
            tags=dict(data[8]),
            storage_class=data[9],
            checksums=dict(data[10]),
            delete_marker=bool(data[11]),
            restore=None
            if restore is None
            else (bool(restore[0]), int(restore[1]), int(restore[2])),
            replication_status=data[13],
            seq=data[14],
        )
