"""What crosses between the HTTP server and a codec: a request and a response, no aiohttp types.

The server hands a codec a :class:`WireRequest` (the raw path, the decoded query pairs, the
headers and the body bytes) and writes out the :class:`WireResponse` it gets back. Header names
are case-insensitive on the way in: a plain ``dict`` is wrapped in a ``CIMultiDictProxy``.

Streaming bodies (S3's objects) need not pass through memory: for an operation whose input
payload streams (``operation.has_streaming_input``) the server may hand the codec ``body=b""``
and stream the request body to the service itself; a response whose payload streams carries it
in :attr:`WireResponse.stream` rather than in ``body``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

__all__ = ["WireRequest", "WireResponse"]


@dataclass(frozen=True, slots=True)
class WireRequest:
    """An HTTP request as the server received it.

    ``path`` is the raw path (still percent-encoded, without the query string: a label such as
    a Lambda function name may hold an encoded ``/``); ``query`` holds the decoded query pairs
    in order, repeated keys kept; ``headers`` is case-insensitive.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CIMultiDict | CIMultiDictProxy):
            proxy = CIMultiDictProxy(CIMultiDict(self.headers))
            object.__setattr__(self, "headers", proxy)
        if not isinstance(self.query, tuple):
            object.__setattr__(self, "query", tuple((k, v) for k, v in self.query))

    @property
    def media_type(self) -> str:
        """The Content-Type without its parameters, lower-cased ("" when there is none)."""
        content_type = self.headers.get("Content-Type") or ""
        return content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True, slots=True)
class WireResponse:
    """An HTTP response for the server to write (it adds Date, and Content-Length when
    ``headers`` has none).

    ``stream``, when not None, is the body instead of ``body`` (which is then empty): the very
    object the service handed over as a streaming payload (S3's ``GetObject`` ``Body``, e.g. an
    async iterator of ``bytes``), for the server to write out. A ``Content-Length`` in
    ``headers`` is the service's (a HEAD answer's object size, a stream's length) and is sent
    as it is.
    """

    status: int
    headers: dict[str, str]
    body: bytes
    stream: Any = None
