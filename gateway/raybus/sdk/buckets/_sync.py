# Generated from _aio.py by `python -m tests.sdk.generate_sync`: edit _aio.py, not this
# file (tests/sdk/test_generated_sync.py fails when the two differ).
"""Buckets on the client: :class:`BucketMethods` (the client's ``bucket`` and ``buckets``)
and :class:`Bucket`, a handle on one bucket and its objects.

Object bodies stream both ways: ``put`` sends a file or an iterator of chunks as it reads them,
``stream`` and ``download`` hand the bytes on as they arrive; only ``get`` returns a whole
body. A bucket's object requests are retried like every request (retriable errors and
connection failures), except an upload whose body cannot be sent again (an iterator, a file
that cannot seek), which is sent once.

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from raybus.core import arns
from raybus.sdk._handles import Handle, name_of
from raybus.sdk._retry import next_delay_s
from raybus.sdk._wire import decode_answer, retry_after_s
from raybus.sdk.base._sync import ClientBase
from raybus.sdk.buckets import ops
from raybus.sdk.buckets._io import (
    CHUNK_BYTES,
    Data,
    ObjectIO,
    ObjectStream,
    Upload,
)
from raybus.sdk.buckets.ops import (
    BucketDescription,
    CommonPrefix,
    CopyResult,
    DeleteResult,
    ObjectInfo,
    ObjectPage,
    ObjectSummary,
    PutResult,
)
from raybus.sdk.errors import GatewayConnectionError, RaybusError

__all__ = ["Bucket", "BucketMethods"]


class BucketMethods(ClientBase):
    """The client's bucket methods."""

    def bucket(self, name: str) -> Bucket:
        """A handle on the bucket ``name`` (no request: ``create`` makes it, ``describe``
        reads it)."""
        return Bucket(self, {"name": name})

    def buckets(self, prefix: str | None = None) -> list[Bucket]:
        """Every bucket (whose name starts with ``prefix``), by name, with its settings."""
        return [Bucket(self, config) for config in self._run(ops.list_buckets(prefix))]


class Bucket(Handle[ClientBase]):
    """A handle on one bucket: ``name``, ``arn``, ``config`` (its settings as last answered)
    and ``client``."""

    resource_kind: ClassVar[str] = "bucket"

    def __init__(self, client: ClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.name: str = str(self.config.get("name"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    @property
    def arn(self) -> str:
        return arns.bucket_arn(self.name)

    # -- the bucket -------------------------------------------------------------------------------
    def create(
        self,
        *,
        region: str | None = None,
        versioning: str | None = None,
        partitions: int | None = None,
    ) -> Bucket:
        """Create the bucket (S3's naming rules: ``InvalidBucketName``); creating one that
        exists answers it as it is, unless a ``region`` is named (then
        ``BucketAlreadyOwnedByYou``, as S3). ``versioning`` is "Enabled" or "Suspended";
        ``partitions`` defaults to one per partition host."""
        body = {
            key: value
            for key, value in (
                ("region", region),
                ("versioning", versioning),
                ("partitions", partitions),
            )
            if value is not None
        }
        config, _ = self._client._run(ops.create_bucket(self.name, body))
        self.config = config
        return self

    def describe(self) -> BucketDescription:
        """The bucket's settings (also kept in ``config``) and its counts: ``objects``,
        ``bytes``, ``keys``, ``uploads``, ``puts``, ``gets``, ``deletes``, ``lists``..."""
        description = self._client._run(ops.get_bucket(self.name))
        self.config = dict(description.config)
        return description

    def update(self, **changes: Any) -> dict[str, Any]:
        """Change any of ``versioning`` ("Enabled" or "Suspended"; never back to none),
        ``notification``, ``lifecycle`` and ``replication`` (S3's configuration documents:
        ``{"QueueConfigurations": [...]}``, ``{"Rules": [...]}``, ``{"Role": ..., "Rules":
        [...]}``) and ``tags`` (a map); None removes lifecycle or replication rules, ``{}``
        the notifications or tags. Returns (and keeps in ``config``) the new settings."""
        self.config = self._client._run(ops.update_bucket(self.name, changes))
        return self.config

    def delete(self) -> None:
        """Delete the bucket; ``BucketNotEmpty`` while it holds an object, a version or a
        delete marker."""
        self._client._run(ops.delete_bucket(self.name))

    # -- object requests ------------------------------------------------------------------------
    def _delay_s(self, retry: int, error: BaseException, after_s: float | None = None) -> float:
        """The pause before retrying after ``error``; raises it when it is final."""
        client = self._client
        delay = next_delay_s(client.backoff, client.max_retries, retry, error, after_s)
        if delay is None:
            raise error
        return delay

    def _send(
        self, method: str, path: str, headers: Mapping[str, str], upload: Upload
    ) -> dict[str, Any]:
        """One upload, retried while its body can be sent again; the answer's payload."""
        io = ObjectIO(self._client._transport)
        retry = 0
        while True:
            try:
                answer = io.send(method, path, headers, upload.content(), self._client._timeout_s)
            except GatewayConnectionError as error:
                if not upload.replayable:
                    raise
                delay = self._delay_s(retry, error)
            else:
                try:
                    return decode_answer(answer.status, answer.content_type, answer.content)
                except RaybusError as error:
                    if answer.is_success or not upload.replayable:
                        raise
                    delay = self._delay_s(retry, error, retry_after_s(answer.retry_after, error))
            self._client._sleep(delay)
            retry += 1

    def _open(
        self, method: str, key: str, version_id: str | None, headers: Mapping[str, str]
    ) -> ObjectStream:
        """An object's answer with its body still on the connection, retried until it is a
        success; raises the typed error of the last attempt."""
        io = ObjectIO(self._client._transport)
        path = ops.object_path(self.name, key)
        params = {"versionId": version_id} if version_id is not None else None
        retry = 0
        while True:
            try:
                stream = io.open(method, path, params, headers, self._client._timeout_s)
            except GatewayConnectionError as error:
                delay = self._delay_s(retry, error)
            else:
                if stream.ok:
                    return stream
                try:
                    content = stream.read()
                finally:
                    stream.close()
                failure = ops.answer_error(
                    stream.status, stream.content_type, content, stream.headers
                )
                after_s = retry_after_s(stream.headers.get("retry-after"), failure)
                delay = self._delay_s(retry, failure, after_s)
            self._client._sleep(delay)
            retry += 1

    # -- objects ----------------------------------------------------------------------------------
    def put(
        self,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> PutResult:
        """Store ``data`` as the object ``key``: bytes, text (UTF-8), a binary file (read in
        chunks as it is sent, from where it stands) or an iterable of byte chunks — never
        read whole. ``content_type`` defaults to ``application/octet-stream``; ``metadata``
        (2 KB, printable ASCII) comes back with the object; ``tags`` at most 10. Bytes are
        sent with their ``Content-MD5`` (``BadDigest`` if they arrive changed). At most
        5 GiB (``EntityTooLarge``)."""
        upload = Upload(data)
        md5 = ops.content_md5(upload.data) if upload.data is not None else None
        headers = ops.put_headers(content_type, metadata, tags, md5, upload.size)
        answer = self._send("PUT", ops.object_path(self.name, key), headers, upload)
        return ops.put_result(answer)

    def get(
        self, key: str, *, version_id: str | None = None, start: int = 0, end: int | None = None
    ) -> bytes:
        """The object's bytes ``[start, end)`` (all of them by default), read whole: see
        ``stream`` and ``download`` for large objects. ``NoSuchKey``, ``NoSuchVersion``, and
        ``InvalidRange`` when ``start`` is at or past the end."""
        stream = self._open("GET", key, version_id, ops.get_headers(start, end))
        try:
            return stream.read()
        finally:
            stream.close()

    def stream(
        self,
        key: str,
        *,
        version_id: str | None = None,
        start: int = 0,
        end: int | None = None,
        chunk_size: int = CHUNK_BYTES,
    ) -> Iterator[bytes]:
        """The object's bytes ``[start, end)`` in chunks of at most ``chunk_size`` bytes, as
        they arrive: the request is made here (its errors are raised here), and the
        connection is released once the iterator is exhausted or closed."""
        stream = self._open("GET", key, version_id, ops.get_headers(start, end))
        return stream.chunks(chunk_size, close=True)

    def download(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        version_id: str | None = None,
        chunk_size: int = CHUNK_BYTES,
    ) -> ObjectInfo:
        """Write the object to the file ``path``, streaming (through ``<path>.part``, renamed
        once the last byte is written: a failed download leaves no file); its headers."""
        stream = self._open("GET", key, version_id, {})
        try:
            stream.save(path, chunk_size)
        finally:
            stream.close()
        return ops.object_info(key, stream.headers)

    def head(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """The object's size, ETag, content type, metadata and version, without its bytes."""
        stream = self._open("HEAD", key, version_id, {})
        stream.close()
        return ops.object_info(key, stream.headers)

    def delete_object(self, key: str, *, version_id: str | None = None) -> DeleteResult:
        """Delete the object (in a versioned bucket: add a delete marker), or, with
        ``version_id``, that version for good. Deleting a key that does not exist succeeds."""
        return self._client._run(ops.delete_object(self.name, key, version_id))

    def copy(
        self,
        key: str,
        source_key: str,
        *,
        source_bucket: str | Bucket | None = None,
        source_version_id: str | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> CopyResult:
        """Copy ``source_key`` (of ``source_bucket``, this bucket by default) to ``key``; the
        bytes are shared, not copied. ``content_type`` or ``metadata`` replace the source's
        (the other is kept)."""
        source = {"key": source_key}
        if source_bucket is not None:
            source["bucket"] = name_of(source_bucket)
        if source_version_id is not None:
            source["version_id"] = source_version_id
        op = ops.copy_object(self.name, key, source, content_type, metadata)
        return self._client._run(op)

    def list_page(
        self,
        prefix: str = "",
        delimiter: str = "",
        *,
        marker: str = "",
        limit: int | None = None,
    ) -> ObjectPage:
        """One page of keys after ``marker``: at most ``limit`` (1,000 by default) keys and
        common prefixes together, and the ``next_marker`` of the next page."""
        return self._client._run(ops.list_objects(self.name, prefix, delimiter, marker, limit))

    def list(
        self,
        prefix: str = "",
        delimiter: str = "",
        *,
        page_size: int | None = None,
    ) -> Iterator[ObjectSummary | CommonPrefix]:
        """Every key starting with ``prefix``, in key order, page after page; with a
        ``delimiter``, the keys sharing what follows the prefix up to it are rolled up into
        one :class:`CommonPrefix` each (S3's folders)."""
        marker = ""
        while True:
            page = self.list_page(prefix, delimiter, marker=marker, limit=page_size)
            entries = ops.entries(page)
            while entries:
                yield entries.popleft()
            if page.next_marker is None:
                return
            marker = page.next_marker
