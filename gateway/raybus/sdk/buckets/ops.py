"""The bucket operations as pure :class:`~raybus.sdk._wire.Op` s (buckets, listings, deletes,
copies), the headers of an object upload and download, and the values they answer. Nothing
here does I/O: an object's body travels through :mod:`raybus.sdk.buckets._io`."""

from __future__ import annotations

import base64
import hashlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from raybus.sdk._wire import Call, Op, answer_list, answer_map, decode_answer, path
from raybus.sdk.errors import InternalError, InvalidParameterValue, RaybusError, error_class

__all__ = [
    "ERROR_CODE_HEADER",
    "META_PREFIX",
    "BucketDescription",
    "CommonPrefix",
    "CopyResult",
    "DeleteResult",
    "ObjectInfo",
    "ObjectPage",
    "ObjectSummary",
    "PutResult",
    "answer_error",
    "content_md5",
    "copy_object",
    "create_bucket",
    "delete_bucket",
    "delete_object",
    "entries",
    "get_bucket",
    "get_headers",
    "list_buckets",
    "list_objects",
    "object_info",
    "object_path",
    "put_headers",
    "put_result",
    "update_bucket",
]

META_PREFIX = "x-raybus-meta-"
ERROR_CODE_HEADER = "x-raybus-error-code"  # an error answer to HEAD has no body
DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class BucketDescription:
    """A bucket's settings (``config``: name, region, versioning and its S3 configuration
    documents) and its counts summed over its partitions (``stats``: ``objects``, ``bytes``,
    ``keys``, ``puts``, ``gets``, ...)."""

    config: dict[str, Any]
    stats: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PutResult:
    """An object stored: its ``etag`` (the body's MD5 in hex), ``size`` and ``version_id``
    (None in a bucket that never had versioning)."""

    key: str
    etag: str
    size: int
    version_id: str | None


@dataclass(frozen=True, slots=True)
class CopyResult:
    """A copy stored (the bytes are shared with the source, not copied)."""

    key: str
    etag: str
    size: int
    version_id: str | None
    source_version_id: str | None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object's headers, as a HEAD or a download answers them. ``size`` is the whole
    object's; ``metadata`` the user metadata (names lower-cased, as S3 keeps them)."""

    key: str
    size: int
    etag: str
    modified_ms: int
    content_type: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    version_id: str | None = None
    storage_class: str = "STANDARD"
    tag_count: int = 0


@dataclass(frozen=True, slots=True)
class ObjectSummary:
    """One key of a listing."""

    key: str
    size: int
    etag: str
    modified_ms: int
    storage_class: str = "STANDARD"


@dataclass(frozen=True, slots=True)
class CommonPrefix:
    """Keys rolled up by a listing's delimiter: every key that starts with ``prefix``."""

    prefix: str


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """One page of a listing, in key order; ``next_marker`` is where the next page starts
    (None on the last page)."""

    objects: tuple[ObjectSummary, ...]
    prefixes: tuple[str, ...]
    next_marker: str | None


@dataclass(frozen=True, slots=True)
class DeleteResult:
    """``delete_marker``: the delete made (or removed) a delete marker; ``version_id``: the
    version removed or the marker made (None in a bucket that never had versioning)."""

    delete_marker: bool
    version_id: str | None


# -- buckets --------------------------------------------------------------------------------------
def create_bucket(name: str, body: Mapping[str, Any]) -> Op[tuple[dict[str, Any], bool]]:
    call = Call("PUT", path("buckets", name), body)
    return Op(call, lambda a: (answer_map(a, "bucket"), bool(a.get("created"))))


def get_bucket(name: str) -> Op[BucketDescription]:
    return Op(
        Call("GET", path("buckets", name)),
        lambda a: BucketDescription(answer_map(a, "bucket"), answer_map(a, "stats")),
    )


def list_buckets(prefix: str | None) -> Op[list[dict[str, Any]]]:
    call = Call("GET", path("buckets"), params={"prefix": prefix} if prefix else None)
    return Op(call, lambda a: [dict(b) for b in answer_list(a, "buckets")])


def update_bucket(name: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("PATCH", path("buckets", name), changes), lambda a: answer_map(a, "bucket"))


def delete_bucket(name: str) -> Op[None]:
    return Op(Call("DELETE", path("buckets", name)), lambda _: None)


# -- objects --------------------------------------------------------------------------------------
def object_path(bucket: str, key: str) -> str:
    """The object's path; its key percent-encoded whole (a ``/`` in it too)."""
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue("An object key is a non-empty string.", parameter="key")
    return path("buckets", bucket, "objects", key)


def _version_query(version_id: str | None) -> dict[str, str] | None:
    return {"versionId": version_id} if version_id is not None else None


def _summary(item: Any) -> ObjectSummary:
    if not isinstance(item, Mapping):
        raise InternalError(f"The gateway answered a listing entry {item!r:.100}.")
    return ObjectSummary(
        key=str(item["key"]),
        size=int(item["size"]),
        etag=str(item["etag"]),
        modified_ms=int(item["modified_ms"]),
        storage_class=str(item.get("storage_class", "STANDARD")),
    )


def _page(answer: dict[str, Any]) -> ObjectPage:
    marker = answer.get("next_marker")
    return ObjectPage(
        objects=tuple(_summary(item) for item in answer_list(answer, "objects")),
        prefixes=tuple(str(p) for p in answer_list(answer, "prefixes")),
        next_marker=None if marker is None else str(marker),
    )


def entries(page: ObjectPage) -> deque[ObjectSummary | CommonPrefix]:
    """A page's keys and common prefixes together, in key order."""
    items: list[ObjectSummary | CommonPrefix] = [
        *page.objects,
        *(CommonPrefix(prefix) for prefix in page.prefixes),
    ]
    items.sort(key=lambda item: item.key if isinstance(item, ObjectSummary) else item.prefix)
    return deque(items)


def list_objects(
    bucket: str, prefix: str, delimiter: str, marker: str, limit: int | None
) -> Op[ObjectPage]:
    params = {"prefix": prefix, "delimiter": delimiter, "marker": marker}
    query = {k: v for k, v in params.items() if v}
    if limit is not None:
        query["limit"] = str(limit)
    call = Call("GET", path("buckets", bucket, "objects"), params=query or None)
    return Op(call, _page)


def delete_object(bucket: str, key: str, version_id: str | None) -> Op[DeleteResult]:
    call = Call("DELETE", object_path(bucket, key), params=_version_query(version_id))

    def parse(answer: dict[str, Any]) -> DeleteResult:
        made = answer.get("version_id")
        return DeleteResult(bool(answer.get("delete_marker")), None if made is None else str(made))

    return Op(call, parse)


def copy_object(
    bucket: str,
    key: str,
    source: Mapping[str, str],
    content_type: str | None,
    metadata: Mapping[str, str] | None,
) -> Op[CopyResult]:
    body: dict[str, Any] = {"key": key, "source": dict(source)}
    if content_type is not None:
        body["content_type"] = content_type
    if metadata is not None:
        body["metadata"] = dict(metadata)

    def parse(answer: dict[str, Any]) -> CopyResult:
        written = put_result(answer)
        source_version = answer.get("source_version_id")
        return CopyResult(
            written.key,
            written.etag,
            written.size,
            written.version_id,
            None if source_version is None else str(source_version),
        )

    return Op(Call("POST", path("buckets", bucket, "copy"), body), parse)


def put_result(answer: Mapping[str, Any]) -> PutResult:
    try:
        version = answer.get("version_id")
        return PutResult(
            str(answer["key"]),
            str(answer["etag"]),
            int(answer["size"]),
            None if version is None else str(version),
        )
    except (KeyError, TypeError, ValueError):
        raise InternalError(f"The gateway answered an upload with {answer!r:.200}.") from None


def content_md5(data: bytes) -> str:
    """``Content-MD5``: the base64 of the body's MD5 (the gateway answers ``BadDigest`` when
    what arrived differs)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _header_text(value: object, parameter: str) -> str:
    """HTTP header values are printable ASCII."""
    if not isinstance(value, str) or not (value.isascii() and value.isprintable()):
        raise InvalidParameterValue(
            f"{parameter} must be printable ASCII text (it travels in an HTTP header).",
            parameter=parameter,
        )
    return value


def put_headers(
    content_type: str | None,
    metadata: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
    md5: str | None,
    size: int | None,
) -> dict[str, str]:
    """The headers of an upload: the object's content type (``application/octet-stream`` by
    default), metadata as ``x-raybus-meta-<name>``, tags as ``x-raybus-tagging`` (URL-encoded:
    any text), and the body's ``Content-MD5`` and ``Content-Length`` when known."""
    headers = {
        "Content-Type": _header_text(content_type or DEFAULT_CONTENT_TYPE, "content_type"),
    }
    for name, value in (metadata or {}).items():
        _header_text(name, "metadata")
        headers[META_PREFIX + name] = _header_text(value, f"metadata.{name}")
    if tags:
        headers["x-raybus-tagging"] = urlencode(dict(tags), quote_via=quote)
    if md5 is not None:
        headers["Content-MD5"] = md5
    if size is not None:
        headers["Content-Length"] = str(size)
    return headers


def get_headers(start: int, end: int | None) -> dict[str, str]:
    """The ``Range`` of bytes ``[start, end)`` (``end`` None: to the end of the object)."""
    if start < 0 or (end is not None and end <= start):
        raise InvalidParameterValue(
            "A byte range is 0 <= start < end (end None: to the end).", parameter="start"
        )
    if start == 0 and end is None:
        return {}
    return {"Range": f"bytes={start}-{'' if end is None else end - 1}"}


def object_info(key: str, headers: Mapping[str, str]) -> ObjectInfo:
    """What a download or HEAD answered about the object (its header names in any case)."""
    lower = {name.lower(): value for name, value in headers.items()}
    size = lower.get("content-length", "0")
    whole = lower.get("content-range", "").rpartition("/")[2]  # a range: the object's size
    try:
        return ObjectInfo(
            key=key,
            size=int(whole or size),
            etag=lower.get("etag", "").strip('"'),
            modified_ms=int(lower.get("x-raybus-modified-ms", "0")),
            content_type=lower.get("content-type", DEFAULT_CONTENT_TYPE),
            metadata={
                name[len(META_PREFIX) :]: value
                for name, value in lower.items()
                if name.startswith(META_PREFIX)
            },
            version_id=lower.get("x-raybus-version-id"),
            storage_class=lower.get("x-raybus-storage-class", "STANDARD"),
            tag_count=int(lower.get("x-raybus-tagging-count", "0")),
        )
    except ValueError:
        raise InternalError(
            f"The gateway answered unreadable object headers for {key!r}."
        ) from None


def answer_error(
    status: int, content_type: str, content: bytes, headers: Mapping[str, str]
) -> RaybusError:
    """The typed error of a failed object request: its error body, or, for a HEAD (no body),
    the code in ``x-raybus-error-code``."""
    code = next((v for k, v in headers.items() if k.lower() == ERROR_CODE_HEADER), None)
    if not content and code:
        return error_class(code)(f"HTTP {status}: {code}", http_status=status)
    try:
        decode_answer(status, content_type, content)
    except RaybusError as error:
        return error
    return InternalError(f"The gateway answered {status} without an error.", http_status=status)
