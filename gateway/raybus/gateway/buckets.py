"""The HTTP routes of buckets and their objects (docs/http-api.md "Buckets").

Bucket routes run typed control calls (:mod:`raybus.control.buckets`). Object routes use the
buckets' data plane, :class:`~raybus.actors.objects.ObjectStore` (``Context.objects``; the
standalone Gateway actor has none and answers ``UnsupportedOperation``), and are the only
native routes whose bodies are not JSON or msgpack maps:

- **Upload** (``PUT .../objects/{key}``, a ``raw_body`` route): the request body is the
  object, streamed into a blob as it arrives — never held whole — while its MD5 (the ETag) is
  computed. Each read must arrive within the body timeout (``RequestTimeout``, the connection
  closed); more than 5 GiB is ``EntityTooLarge``, a body cut short (fewer bytes than
  ``Content-Length`` announced, a connection lost) ``IncompleteBody``, and a ``Content-MD5``
  that is not 16 bytes of base64 ``InvalidDigest`` or does not match ``BadDigest``. A refused
  body leaves no blob and no version. Headers: ``Content-Type`` (default
  ``application/octet-stream``), ``Cache-Control``, ``Content-Disposition``,
  ``Content-Language``, ``x-raybus-meta-<name>`` (user metadata, S3's 2 KB),
  ``x-raybus-tagging`` (``k=v&k2=v2``, URL-encoded), ``If-Match`` / ``If-None-Match``
  (``PreconditionFailed``).
- **Download** (``GET``, a ``raw_answer`` route): the bytes stream from the blobs with the
  object's headers (``Content-Type``, ``ETag``, ``Last-Modified``, ``x-raybus-meta-*``, ...);
  ``Range: bytes=a-b`` / ``a-`` / ``-n`` answers 206 with ``Content-Range`` (a range starting
  past the end is ``InvalidRange``; one S3 ignores — several ranges, another unit — is
  ignored: the whole object). ``If-Match``, ``If-None-Match``, ``If-Modified-Since`` and
  ``If-Unmodified-Since`` are S3's (``PreconditionFailed``, ``NotModified``). ``HEAD``
  answers the same headers without the bytes (ranges are not applied).

The ETag is the body's MD5 in hex: quoted in the ``ETag`` header (as HTTP and S3 spell it),
bare in JSON answers; an object uploaded in parts through S3 keeps S3's ``<hex>-<parts>``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from raybus.actors.objects import ObjectStore
from raybus.control.buckets import (
    BucketStatsCall,
    CreateBucket,
    DeleteBucket,
    DescribeBucket,
    ListBuckets,
    UpdateBucket,
)
from raybus.core.buckets import (
    MAX_PUT_BYTES,
    NULL_VERSION,
    BucketConfig,
    ObjectVersion,
    byte_range,
    check_key,
    check_metadata,
    check_tags,
)
from raybus.core.errors import RaybusError
from raybus.engines.bucket.engine import Conditions, Origin
from raybus.gateway import schemas as S
from raybus.gateway.api import Context, body, ok
from raybus.gateway.boundary import Route
from raybus.gateway.schemas import COMPONENTS, closed, nullable, open_object, ref

__all__ = ["META_PREFIX", "BucketApi", "routes"]

log = logging.getLogger(__name__)

META_PREFIX = "x-raybus-meta-"
TAGGING = "x-raybus-tagging"
VERSION_ID = "x-raybus-version-id"
MAX_LIST = 1000
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# The representation headers an upload may set and a download answers (Content-Encoding and
# Expires, which S3's API may have stored, are answered too).
_SETTABLE = ("Content-Type", "Cache-Control", "Content-Disposition", "Content-Language")
_ANSWERED = (*_SETTABLE, "Content-Encoding", "Expires")

COMPONENTS["BucketConfig"] = S.settings_schema(BucketConfig)
_VERSIONING = {"enum": ["Enabled", "Suspended"]}
_TAGS = {"type": "object", "additionalProperties": S.STRING, "maxProperties": 50}
_DOCUMENT = {"type": "object", "description": "S3's configuration document, as its API takes it."}
BUCKET_CREATE = closed(
    {
        "region": S.STRING,
        "versioning": {"enum": ["", "Enabled", "Suspended"]},
        "partitions": {"type": "integer", "minimum": 1, "maximum": 1024},
    }
)
BUCKET_CHANGES = closed(
    {
        "versioning": _VERSIONING,
        "notification": nullable(_DOCUMENT),
        "lifecycle": nullable(_DOCUMENT),
        "replication": nullable(_DOCUMENT),
        "tags": nullable(_TAGS),
    }
)
_METADATA = {"type": "object", "additionalProperties": S.STRING}
COPY = closed(
    {
        "key": S.STRING,
        "source": closed({"bucket": S.STRING, "key": S.STRING, "version_id": S.STRING}, ["key"]),
        "content_type": S.STRING,
        "metadata": _METADATA,
    },
    ["key", "source"],
)
WRITTEN = open_object(
    {"key": S.STRING, "etag": S.STRING, "size": S.INTEGER, "version_id": nullable(S.STRING)},
    ["key", "etag", "size", "version_id"],
)
OBJECT_ENTRY = open_object(
    {
        "key": S.STRING,
        "size": S.INTEGER,
        "etag": S.STRING,
        "modified_ms": S.INTEGER,
        "storage_class": S.STRING,
    },
    ["key", "size", "etag", "modified_ms"],
)
LISTING = open_object(
    {
        "objects": {"type": "array", "items": OBJECT_ENTRY},
        "prefixes": S.NAMES,
        "next_marker": nullable(S.STRING),
    },
    ["objects", "prefixes", "next_marker"],
)


# -- wire helpers ---------------------------------------------------------------------------------
def _typed(data: Mapping[str, Any], name: str, kind: type, where: str = "") -> None:
    """``InvalidParameterValue`` unless ``data[name]`` (when present) is a ``kind``: the
    boundary checks fields, the settings types check what they hold, and what reaches no
    settings type is checked here."""
    if name in data and not isinstance(data[name], kind):
        what = "a string" if kind is str else "a map"
        raise RaybusError(
            "InvalidParameterValue", f"{where}{name} must be {what}.", parameter=where + name
        )


def _bare(etag: str) -> str:
    return etag.strip('"')


def _http_date(ms: int) -> str:
    return formatdate(ms / 1000, usegmt=True)


def _date_ms(text: str | None, header: str) -> int | None:
    if text is None:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp() * 1000)
    except (TypeError, ValueError, IndexError):
        raise RaybusError(
            "InvalidArgument", f"{header} is not an HTTP date.", argument=header
        ) from None


def _conditions(headers: Mapping[str, str], *, read: bool) -> Conditions:
    """S3's conditional headers; the dates only for a read (a write takes the ETags)."""
    since = unmodified = None
    if read:
        since = _date_ms(headers.get("If-Modified-Since"), "If-Modified-Since")
        unmodified = _date_ms(headers.get("If-Unmodified-Since"), "If-Unmodified-Since")
    return Conditions(headers.get("If-Match"), headers.get("If-None-Match"), since, unmodified)


def _content_md5(text: str | None) -> bytes | None:
    """The 16 bytes ``Content-MD5`` names, or None without one (``InvalidDigest``)."""
    if text is None:
        return None
    try:
        digest = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise RaybusError("InvalidDigest", "The Content-MD5 you specified was invalid.")
    return digest


def _tags(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise RaybusError(
            "InvalidArgument", f"{TAGGING} is URL-encoded query text: k1=v1&k2=v2."
        ) from None
    tags = dict(pairs)
    if len(tags) != len(pairs):
        raise RaybusError("InvalidTag", "Cannot provide multiple Tags with the same key")
    return check_tags(tags)


def _representation(headers: Mapping[str, str]) -> dict[str, str]:
    """The representation headers an upload stores (text UTF-8 can store, as all stored)."""
    found = {name: headers[name] for name in _SETTABLE if headers.get(name)}
    for name, value in found.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RaybusError(
                "InvalidArgument", f"{name} is not valid UTF-8.", argument=name
            ) from None
    return found


def _metadata(headers: Mapping[str, str]) -> dict[str, str]:
    found = {
        name[len(META_PREFIX) :].lower(): value
        for name, value in headers.items()
        if name.lower().startswith(META_PREFIX)
    }
    return check_metadata(found)


def _version_id(version: ObjectVersion, versioning: str) -> str | None:
    """The version id to answer: none while the bucket never had versioning."""
    return None if versioning == "" and version.version_id == NULL_VERSION else version.version_id


def _object_headers(version: ObjectVersion, versioning: str) -> dict[str, str]:
    headers = {name: version.headers[name] for name in _ANSWERED if name in version.headers}
    headers.setdefault("Content-Type", DEFAULT_CONTENT_TYPE)
    headers["ETag"] = version.etag
    headers["Last-Modified"] = _http_date(version.modified_ms)
    headers["Accept-Ranges"] = "bytes"
    headers["x-raybus-modified-ms"] = str(version.modified_ms)
    version_id = _version_id(version, versioning)
    if version_id is not None:
        headers[VERSION_ID] = version_id
    if version.storage_class != "STANDARD":
        headers["x-raybus-storage-class"] = version.storage_class
    if version.tags:
        headers["x-raybus-tagging-count"] = str(len(version.tags))
    for name, value in version.metadata.items():
        headers[META_PREFIX + name] = value
    return headers


def _written(key: str, version: ObjectVersion, versioning: str) -> dict[str, Any]:
    return {
        "key": key,
        "etag": _bare(version.etag),
        "size": version.size,
        "version_id": _version_id(version, versioning),
    }


class BucketApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control

    def _store(self) -> ObjectStore:
        store = self.context.objects
        if store is None:
            raise RaybusError(
                "UnsupportedOperation",
                "This gateway serves no objects (it runs outside the partition hosts, which "
                "hold the buckets' data): send object requests to a partition host's gateway.",
            )
        return store

    @staticmethod
    def _origin(request: web.Request) -> Origin:
        return Origin(source_ip=request.remote or "127.0.0.1", request_id=uuid.uuid4().hex)

    async def _versioning(self, store: ObjectStore, bucket: str) -> str:
        route = await store.route(bucket)
        return str(route.config.versioning)

    # -- buckets --------------------------------------------------------------------------------
    async def create_bucket(self, request: web.Request) -> web.Response:
        settings = {**body(request), "name": request.match_info["name"]}
        _typed(settings, "region", str)
        config, created = await self.control.run(CreateBucket(settings))
        await self.context.changed()
        return ok(request, {"bucket": config, "created": created})

    async def list_buckets(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        return ok(request, {"buckets": await self.control.run(ListBuckets(prefix))})

    async def get_bucket(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        config = await self.control.run(DescribeBucket(name))
        stats = await self.control.run(BucketStatsCall(name))
        return ok(request, {"bucket": config, "stats": stats})

    async def update_bucket(self, request: web.Request) -> web.Response:
        changes = dict(body(request))
        if changes.get("tags") is not None:
            _typed(changes, "tags", dict)
        config = await self.control.run(UpdateBucket(request.match_info["name"], changes))
        await self.context.changed()
        return ok(request, {"bucket": config})

    async def delete_bucket(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteBucket(request.match_info["name"]))
        await self.context.changed()
        return ok(request, {})

    # -- objects --------------------------------------------------------------------------------
    async def _body(self, request: web.Request, expected: int | None) -> AsyncIterator[bytes]:
        """The request body as it arrives, bounded; a body cut short, too large or too slow
        raises from the iterator, so the blob being written is removed and nothing commits."""
        timeout_s = self.context.limits.body_timeout_s
        size = 0
        while True:
            try:
                async with asyncio.timeout(timeout_s):
                    chunk = await request.content.readany()
            except TimeoutError:
                raise RaybusError(
                    "RequestTimeout", f"The request body did not arrive within {timeout_s:g} s."
                ) from None
            except (ConnectionError, HttpProcessingError):  # cut short, or broken framing
                raise RaybusError(
                    "IncompleteBody", "The request body terminated unexpectedly", size=size
                ) from None
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_PUT_BYTES:
                raise RaybusError(
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    size=size,
                    max_size=MAX_PUT_BYTES,
                )
            yield chunk
        if expected is not None and size != expected:
            raise RaybusError(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length "
                "HTTP header.",
                size=size,
                content_length=expected,
            )

    async def put_object(self, request: web.Request) -> web.Response:
        store = self._store()
        bucket, key = request.match_info["name"], check_key(request.match_info["key"])
        headers = request.headers
        expected = request.content_length
        if expected is not None and expected > MAX_PUT_BYTES:
            raise RaybusError(
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
                size=expected,
                max_size=MAX_PUT_BYTES,
            )
        md5 = _content_md5(headers.get("Content-MD5"))
        template = ObjectVersion(
            version_id="",
            headers=_representation(headers),
            metadata=_metadata(headers),
            tags=_tags(headers.get(TAGGING)),
        )
        template.headers.setdefault("Content-Type", DEFAULT_CONTENT_TYPE)
        conditions = _conditions(headers, read=False)
        digest = hashlib.md5(usedforsecurity=False)
        written = await store.write(
            bucket, key, self._body(request, expected), observe=digest.update
        )
        if md5 is not None and digest.digest() != md5:
            await store.discard(written)
            raise RaybusError(
                "BadDigest", "The Content-MD5 you specified did not match what we received."
            )
        template.etag = f'"{digest.hexdigest()}"'
        version = await store.put(
            bucket, key, written, template, origin=self._origin(request), conditions=conditions
        )
        versioning = await self._versioning(store, bucket)
        answer_headers = {"ETag": version.etag}
        version_id = _version_id(version, versioning)
        if version_id is not None:
            answer_headers[VERSION_ID] = version_id
        return ok(request, _written(key, version, versioning), headers=answer_headers)

    async def get_object(self, request: web.Request) -> web.StreamResponse:
        store = self._store()
        bucket, key = request.match_info["name"], check_key(request.match_info["key"])
        version, directory = await store.head(
            bucket,
            key,
            request.query.get("versionId"),
            _conditions(request.headers, read=True),
            get=True,
        )
        headers = _object_headers(version, await self._versioning(store, bucket))
        span = byte_range(request.headers.get("Range"), version.size)
        start, end = span if span is not None else (0, version.size)
        if span is not None:
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{version.size}"
        chunks = await store.read(directory, version, start, end)  # opened before answering
        response = web.StreamResponse(status=206 if span is not None else 200, headers=headers)
        response.content_length = end - start
        await response.prepare(request)
        try:
            async for chunk in chunks:
                await response.write(chunk)
            await response.write_eof()
        except ConnectionError:
            pass  # the client went away: nothing more to answer
        except Exception:
            # the head is sent: no error can be answered any more, so the connection is cut
            # and the client sees a body shorter than its Content-Length
            log.exception("reading %s/%s failed after its answer began", bucket, key)
            if request.transport is not None:
                request.transport.abort()
        return response

    async def head_object(self, request: web.Request) -> web.Response:
        store = self._store()
        bucket, key = request.match_info["name"], check_key(request.match_info["key"])
        version, _ = await store.head(
            bucket, key, request.query.get("versionId"), _conditions(request.headers, read=True)
        )
        headers = _object_headers(version, await self._versioning(store, bucket))
        headers["Content-Length"] = str(version.size)
        return web.Response(status=200, headers=headers)

    async def delete_object(self, request: web.Request) -> web.Response:
        store = self._store()
        bucket, key = request.match_info["name"], check_key(request.match_info["key"])
        marker, version_id = await store.delete(
            bucket, key, request.query.get("versionId"), self._origin(request)
        )
        return ok(request, {"delete_marker": marker, "version_id": version_id})

    async def list_objects(self, request: web.Request) -> web.Response:
        store = self._store()
        query = request.query
        limit = MAX_LIST
        if "limit" in query:
            try:
                limit = int(query["limit"])
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_LIST:
                raise RaybusError(
                    "InvalidParameterValue",
                    f"limit is an integer from 1 to {MAX_LIST}.",
                    parameter="limit",
                )
        page = await store.list(
            request.match_info["name"],
            prefix=query.get("prefix", ""),
            marker=query.get("marker", ""),
            limit=limit,
            delimiter=query.get("delimiter", ""),
        )
        objects = [
            {
                "key": key,
                "size": version.size,
                "etag": _bare(version.etag),
                "modified_ms": version.modified_ms,
                "storage_class": version.storage_class,
            }
            for key, version in page.entries
        ]
        answer = {
            "objects": objects,
            "prefixes": page.prefixes,
            "next_marker": page.last() if page.truncated else None,
        }
        return ok(request, answer)

    async def copy_object(self, request: web.Request) -> web.Response:
        store = self._store()
        data = body(request)
        for name in ("key", "source"):
            if name not in data:
                raise RaybusError("MissingParameter", f"A copy needs {name}.", parameter=name)
        _typed(data, "source", dict)
        _typed(data, "content_type", str)
        _typed(data, "metadata", dict)
        wire = data["source"]
        for name in ("bucket", "version_id"):
            _typed(wire, name, str, "source.")
        bucket, key = request.match_info["name"], check_key(data["key"])
        source = (wire.get("bucket") or bucket, check_key(wire.get("key")), wire.get("version_id"))
        replace = "metadata" in data or "content_type" in data
        if source[:2] == (bucket, key) and source[2] is None and not replace:
            raise RaybusError(
                "InvalidRequest",
                "This copy request is illegal because it is trying to copy an object to "
                "itself without changing the object's metadata.",
            )
        template: ObjectVersion | None = None
        if replace:  # S3's REPLACE directive: the source's tags, these headers and metadata
            found, _ = await store.head(*source, get=True)
            headers = dict(found.headers)
            if "content_type" in data:
                headers["Content-Type"] = data["content_type"]
            template = ObjectVersion(
                version_id="",
                headers=headers,
                metadata=check_metadata(data.get("metadata", found.metadata)),
                tags=dict(found.tags),
            )
        found, made = await store.copy(source, bucket, key, template, origin=self._origin(request))
        versioning = await self._versioning(store, bucket)
        source_versioning = (
            versioning if source[0] == bucket else await self._versioning(store, source[0])
        )
        answer = {
            **_written(key, made, versioning),
            "source_version_id": _version_id(found, source_versioning),
        }
        return ok(request, answer, headers={"ETag": made.etag})


def routes(context: Context) -> list[Route]:
    api = BucketApi(context)
    b = "/v1/buckets/{name}"
    o = b + "/objects/{key:.+}"
    version = {"versionId": S.STRING}
    bucket = open_object({"bucket": ref("BucketConfig"), "created": S.BOOLEAN}, ["bucket"])
    described = open_object({"bucket": ref("BucketConfig"), "stats": S.STATS}, ["bucket", "stats"])
    buckets = open_object({"buckets": {"type": "array", "items": ref("BucketConfig")}},
                          ["buckets"])  # fmt: skip
    deleted = open_object({"delete_marker": S.BOOLEAN, "version_id": nullable(S.STRING)},
                          ["delete_marker", "version_id"])  # fmt: skip
    listing = {"prefix": S.STRING, "delimiter": S.STRING, "marker": S.STRING,
               "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIST}}  # fmt: skip
    copied = open_object({**WRITTEN["properties"], "source_version_id": nullable(S.STRING)},
                         [*WRITTEN["required"], "source_version_id"])  # fmt: skip
    return [
        Route("PUT", b, "create_bucket", api.create_bucket,
              "Create a bucket (S3's names); an existing one in no region is answered as is.",
              "buckets", body=BUCKET_CREATE, answer=bucket),
        Route("GET", "/v1/buckets", "list_buckets", api.list_buckets,
              "Buckets and their settings, by name.", "buckets", query={"prefix": S.STRING},
              answer=buckets),
        Route("GET", b, "get_bucket", api.get_bucket,
              "A bucket's settings and its counts (objects, bytes, requests).", "buckets",
              answer=described),
        Route("PATCH", b, "update_bucket", api.update_bucket,
              "Set a bucket's versioning, notification, lifecycle, replication or tags (S3's "
              "documents; null removes one).", "buckets", body=BUCKET_CHANGES,
              answer=open_object({"bucket": ref("BucketConfig")}, ["bucket"])),
        Route("DELETE", b, "delete_bucket", api.delete_bucket,
              "Delete a bucket that holds no object, version or delete marker.", "buckets"),
        Route("GET", b + "/objects", "list_objects", api.list_objects,
              "A page of a bucket's keys after marker (and common prefixes with a delimiter).",
              "objects", query=listing, answer=LISTING),
        Route("PUT", o, "put_object", api.put_object,
              "Store an object: the body is its bytes, streamed (5 GiB at most).", "objects",
              raw_body=True, answer=WRITTEN,
              description="Headers: Content-Type, Content-MD5, Cache-Control, "
              "Content-Disposition, Content-Language, x-raybus-meta-<name>, "
              "x-raybus-tagging, If-Match, If-None-Match."),
        Route("GET", o, "get_object", api.get_object,
              "An object's bytes, streamed, with its headers (Range: 206).", "objects",
              query=version, raw_answer=True),
        Route("HEAD", o, "head_object", api.head_object,
              "An object's headers (size, ETag, type, metadata) without its bytes.", "objects",
              query=version, raw_answer=True),
        Route("DELETE", o, "delete_object", api.delete_object,
              "Delete an object (a delete marker in a versioned bucket) or one version.",
              "objects", query=version, answer=deleted),
        Route("POST", b + "/copy", "copy_object", api.copy_object,
              "Copy an object (the bytes are shared, not copied); metadata or content_type "
              "replace the source's.", "objects", body=COPY, answer=copied),
    ]  # fmt: skip
