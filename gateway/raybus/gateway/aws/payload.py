"""S3's request bodies, read as a stream: payload signing modes, ``aws-chunked`` and integrity.

An upload (PutObject, UploadPart) may be up to 5 GiB, so its body is never held whole:
:class:`Payload` is an async iterator over the decoded body, built from the request's headers
and the raw body as it arrives (aiohttp's ``request.content.iter_any()``). While the caller
writes the chunks it yields to a temporary file, it decodes the framing, checks every chunk
signature, counts the bytes against the limit and computes the MD5 (the ETag) and the checksums
the request names; when the source ends it runs the final checks, so a mismatch is raised
before the caller commits the object. Every refusal is an :class:`AwsError` with S3's code,
message and status; the source's own exceptions (a client that went away, a timeout) pass
through unchanged.

``x-amz-content-sha256`` names the payload mode (:class:`PayloadMode`):

- a hex SHA-256: the body as sent, checked at the end (``XAmzContentSHA256Mismatch``);
- ``UNSIGNED-PAYLOAD``, or absent (an unsigned request, a presigned URL): the body as is;
- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: ``aws-chunked``, each chunk signed, the signatures
  chained from the request's (the *seed*: :class:`.sigv4.StreamSigner`);
- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: the same, then trailing headers (a checksum)
  with their own signature;
- ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``: ``aws-chunked``, unsigned, with a checksum trailer
  (what boto3, the aws CLI and the other SDKs send over HTTPS).

``aws-chunked`` is also recognised by ``Content-Encoding: aws-chunked`` whatever the mode (its
chunks are then unsigned); another encoding listed with it is the object's own
(:attr:`Payload.content_encoding`). The wire form, per AWS's "Signature Calculations for the
Authorization Header: Transferring Payload in Multiple Chunks" and "... Including Trailing
Headers"::

    <hex size>[;chunk-signature=<64 hex>]\\r\\n<data>\\r\\n   (repeated)
    0[;chunk-signature=<64 hex>]\\r\\n
    [x-amz-checksum-<alg>:<base64>\\r\\n]
    [x-amz-trailer-signature:<64 hex>\\r\\n]
    \\r\\n

Any framing fault — a size that is not hex, a missing CRLF or ``chunk-signature``, a line too
long, a body cut short or bytes after its end — is S3's ``IncompleteBody`` ("The request body
terminated unexpectedly"), as S3 answers every malformed ``aws-chunked`` body; a decoded size
other than ``x-amz-decoded-content-length`` is ``IncompleteBody`` with ``NumberBytesExpected``
and ``NumberBytesProvided`` (too many: as soon as a chunk's size says so), more than the limit
``EntityTooLarge`` (as soon as it is exceeded), a chunk or trailer signature that does not
match ``SignatureDoesNotMatch`` (403), a trailer that is missing, undeclared or not a header
``MalformedTrailerError``. Chunks are yielded as they arrive, so a chunk's bytes may be yielded
before its signature (which covers them, and is checked when they end) and a checksum is known
to match only at the end: the caller must not commit before the iteration has finished
without an error.

Integrity: ``Content-MD5`` (``InvalidDigest``, ``BadDigest``), one flexible checksum —
``x-amz-checksum-<alg>`` as a header, or named by ``x-amz-trailer`` and sent in the trailer —
for any algorithm of :data:`CHECKSUM_ALGORITHMS` (``BadDigest`` "The CRC32 you specified did
not match the calculated checksum."), and ``x-amz-sdk-checksum-algorithm``, which must name it.
CRC32C, CRC64NVME and the xxHash family come from ``awscrt`` (the AWS Common Runtime, which
botocore uses for them too).
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import importlib
import re
import zlib
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Callable,
    Iterable,
    Mapping,
)
from dataclasses import dataclass
from typing import Any, Protocol

from raybus.gateway.aws.protocols.errors import AwsError
from raybus.gateway.aws.sigv4 import (
    EMPTY_SHA256,
    S3,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    UNSIGNED_PAYLOAD,
    SigV4,
    StreamSigner,
)

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "MAX_PUT_SIZE",
    "Payload",
    "PayloadMode",
    "checksum_header",
]

MAX_PUT_SIZE = 5 * 1024**3
"""The largest body one PutObject or UploadPart may carry (5 GiB)."""

MAX_LINE = 4096
"""The longest chunk-size or trailer line accepted, its CRLF included (an SDK's is < 100)."""

_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_CHUNK_SIGNATURE = re.compile(rb"chunk-signature=([0-9a-fA-F]{64})")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_SIGNATURE_HEX = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS = re.compile(r"[0-9]{1,19}")

_CHECKSUM_PREFIX = "x-amz-checksum-"
# Headers under the checksum prefix that carry no checksum.
_NOT_CHECKSUMS = frozenset(
    {"x-amz-checksum-type", "x-amz-checksum-algorithm", "x-amz-checksum-mode"}
)
_ECDSA_PAYLOADS = frozenset(
    {
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
_BAD_PAYLOAD_HASH = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or "
    "a valid sha256 value."
)


# -- checksum algorithms ------------------------------------------------------------------------


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """A running CRC from a ``(data, previous) -> int`` function, digested big-endian (as S3
    encodes its CRC checksums)."""

    __slots__ = ("_function", "_size", "_value")

    def __init__(self, function: Callable[[bytes, int], int], size: int) -> None:
        self._function = function
        self._size = size
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


class _XXHash:
    __slots__ = ("_state",)

    def __init__(self, state: Any) -> None:
        self._state = state

    def update(self, data: bytes, /) -> None:
        self._state.update(data)

    def digest(self) -> bytes:
        digest: bytes = self._state.finalize()
        return digest


@dataclass(frozen=True, slots=True)
class _Algorithm:
    name: str  # as S3 names it: CRC32, CRC64NVME, SHA256
    size: int  # of the digest, in bytes
    new: Callable[[], _Digest]


def _algorithms() -> dict[str, _Algorithm]:
    found = {
        "CRC32": _Algorithm("CRC32", 4, lambda: _Crc(zlib.crc32, 4)),
        "MD5": _Algorithm("MD5", 16, lambda: hashlib.md5(usedforsecurity=False)),
        "SHA1": _Algorithm("SHA1", 20, lambda: hashlib.sha1(usedforsecurity=False)),
        "SHA256": _Algorithm("SHA256", 32, hashlib.sha256),
        "SHA512": _Algorithm("SHA512", 64, hashlib.sha512),
    }
    try:  # awscrt has no type information: read it as Any
        crt: Any = importlib.import_module("awscrt.checksums")
    except ImportError:  # pragma: no cover - a declared dependency
        return found
    found["CRC32C"] = _Algorithm("CRC32C", 4, lambda: _Crc(crt.crc32c, 4))
    if hasattr(crt, "crc64nvme"):
        found["CRC64NVME"] = _Algorithm("CRC64NVME", 8, lambda: _Crc(crt.crc64nvme, 8))
    xxhash = getattr(crt, "XXHash", None)
    if xxhash is not None:
        found["XXHASH64"] = _Algorithm("XXHASH64", 8, lambda: _XXHash(xxhash.new_xxhash64()))
        found["XXHASH3"] = _Algorithm("XXHASH3", 8, lambda: _XXHash(xxhash.new_xxhash3_64()))
        found["XXHASH128"] = _Algorithm("XXHASH128", 16, lambda: _XXHash(xxhash.new_xxhash3_128()))
    return found


_ALGORITHMS = _algorithms()
# Every algorithm S3's model names (ChecksumAlgorithm), available here or not.
_S3_ALGORITHMS = frozenset(
    {"CRC32", "CRC32C", "CRC64NVME", "MD5", "SHA1", "SHA256", "SHA512"}
    | {"XXHASH64", "XXHASH3", "XXHASH128"}
)
CHECKSUM_ALGORITHMS: tuple[str, ...] = tuple(sorted(_ALGORITHMS))
"""The flexible checksums this server computes (S3's names), sorted."""


def checksum_header(algorithm: str) -> str:
    """The header (and trailer) that carries ``algorithm``'s checksum: ``x-amz-checksum-crc32``."""
    return _CHECKSUM_PREFIX + algorithm.lower()


# -- S3's refusals ------------------------------------------------------------------------------


def _incomplete() -> AwsError:
    return AwsError("IncompleteBody", "The request body terminated unexpectedly")


def _length_mismatch(expected: int, provided: int) -> AwsError:
    return AwsError(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        fields={"NumberBytesExpected": str(expected), "NumberBytesProvided": str(provided)},
    )


def _too_large(proposed: int, limit: int) -> AwsError:
    return AwsError(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed object size.",
        fields={"ProposedSize": str(proposed), "MaxSizeAllowed": str(limit)},
    )


def _signature_mismatch() -> AwsError:
    return AwsError("SignatureDoesNotMatch", S3.mismatch.message, status=S3.mismatch.status)


def _malformed_trailer() -> AwsError:
    return AwsError(
        "MalformedTrailerError",
        "The request contained trailing data that was not well-formed or did not conform to our "
        "published schema.",
    )


def _invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequest", message)


def _unsupported_algorithm() -> AwsError:
    return _invalid_request(
        "Checksum algorithm provided is unsupported. Please try again with any of the valid "
        f"types: [{', '.join(CHECKSUM_ALGORITHMS)}]"
    )


def _checksum_mismatch(algorithm: str) -> AwsError:
    return AwsError(
        "BadDigest", f"The {algorithm} you specified did not match the calculated checksum."
    )


def _decode_checksum(value: str, algorithm: _Algorithm) -> bytes | None:
    """The digest a base64 checksum value carries; ``None`` if it is not one of the right size."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == algorithm.size else None


# -- the modes ----------------------------------------------------------------------------------


class PayloadMode(enum.Enum):
    """What ``x-amz-content-sha256`` says of the body (``ABSENT``: no such header)."""

    ABSENT = "absent"
    SHA256 = "sha256"
    UNSIGNED = UNSIGNED_PAYLOAD
    STREAMING_SIGNED = STREAMING_PAYLOAD
    STREAMING_SIGNED_TRAILER = STREAMING_PAYLOAD_TRAILER
    STREAMING_UNSIGNED_TRAILER = STREAMING_UNSIGNED_PAYLOAD_TRAILER

    @property
    def streaming(self) -> bool:
        """The body is ``aws-chunked`` whatever its Content-Encoding says."""
        return self in _STREAMING

    @property
    def signed_chunks(self) -> bool:
        return self in (PayloadMode.STREAMING_SIGNED, PayloadMode.STREAMING_SIGNED_TRAILER)


_STREAMING = frozenset(
    {
        PayloadMode.STREAMING_SIGNED,
        PayloadMode.STREAMING_SIGNED_TRAILER,
        PayloadMode.STREAMING_UNSIGNED_TRAILER,
    }
)
_LITERALS = {
    mode.value: mode for mode in PayloadMode if mode not in (PayloadMode.ABSENT, PayloadMode.SHA256)
}


def _mode(value: str | None) -> PayloadMode:
    if value is None:
        return PayloadMode.ABSENT
    mode = _LITERALS.get(value)
    if mode is not None:
        return mode
    if _SHA256_HEX.fullmatch(value):
        return PayloadMode.SHA256
    if value in _ECDSA_PAYLOADS:
        raise AwsError(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            status=501,
            fields={"Header": "x-amz-content-sha256"},
        )
    raise AwsError(
        "InvalidArgument",
        _BAD_PAYLOAD_HASH,
        fields={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value[:256]},
    )


def _flat(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined by ``,`` (one list, as HTTP reads
    it), so a repeated single-valued header is malformed rather than silently one of them."""
    flat: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        flat[key] = f"{flat[key]},{value}" if key in flat else value
    return flat


# -- aws-chunked --------------------------------------------------------------------------------

_SIZE_LINE, _DATA, _DATA_CR, _DATA_LF, _TRAILER, _DONE = range(6)


class _ChunkDecoder:
    """The ``aws-chunked`` state machine: raw pieces in, decoded slices out.

    It holds at most one unfinished line (:data:`MAX_LINE`) besides the piece being read; a
    chunk's data is sliced out of the pieces as they come. ``signed``: each chunk carries a
    ``chunk-signature``, checked when ``signer`` is given; ``trailer_signed``: the trailer ends
    with ``x-amz-trailer-signature``; ``trailer`` is the trailing header ``x-amz-trailer``
    declared (``None``: none may come); ``admit(n)`` is told of each chunk's size before its
    data is read and raises to refuse it.
    """

    def __init__(
        self,
        *,
        signed: bool,
        signer: StreamSigner | None,
        trailer: str | None,
        trailer_signed: bool,
        admit: Callable[[int], None],
    ) -> None:
        self.signed = signed
        self.signer = signer
        self.trailer = trailer
        self.trailer_signed = trailer_signed
        self.admit = admit
        self.state = _SIZE_LINE
        self.line = bytearray()
        self.remaining = 0
        self.chunk_hash: Any = None
        self.chunk_signature = ""
        self.previous = signer.seed if signer is not None else ""
        self.trailers: dict[str, str] = {}
        self.trailer_signature: str | None = None
        self.trailer_lines = 0
        self.skipped_blank = False

    def feed(self, data: bytes) -> list[memoryview]:
        """The decoded slices of ``data`` (views into it), in order."""
        view = memoryview(data)
        out: list[memoryview] = []
        i, n = 0, len(data)
        while i < n:
            state = self.state
            if state == _DATA:
                take = min(self.remaining, n - i)
                part = view[i : i + take]
                out.append(part)
                if self.chunk_hash is not None:
                    self.chunk_hash.update(part)
                self.remaining -= take
                i += take
                if self.remaining == 0:
                    if self.signed:
                        digest = self.chunk_hash.hexdigest() if self.chunk_hash is not None else ""
                        self._check_chunk(digest, self.chunk_signature)
                    self.state = _DATA_CR
            elif state == _DATA_CR:
                if data[i] != 0x0D:
                    raise _incomplete()
                i += 1
                self.state = _DATA_LF
            elif state == _DATA_LF:
                if data[i] != 0x0A:
                    raise _incomplete()
                i += 1
                self.state = _SIZE_LINE
            elif state == _DONE:
                raise _incomplete()  # bytes after the end of the body
            else:
                newline = data.find(b"\n", i)
                end = n if newline < 0 else newline
                if len(self.line) + end - i >= MAX_LINE:
                    raise _incomplete()
                self.line += view[i:end]
                if newline < 0:
                    break
                i = newline + 1
                if not self.line.endswith(b"\r"):
                    raise _incomplete()
                line = bytes(self.line[:-1])
                self.line.clear()
                if state == _SIZE_LINE:
                    self._size_line(line)
                else:
                    self._trailer_line(line)
        return out

    def finish(self) -> None:
        """The source has ended: the body must be complete (the blank line that ends the
        trailer may be missing)."""
        if self.state == _DONE:
            return
        if self.state == _TRAILER and not self.line:
            self._end_trailer()
            return
        raise _incomplete()

    def _size_line(self, line: bytes) -> None:
        size_text, separator, extension = line.partition(b";")
        if not _HEX_SIZE.fullmatch(size_text):
            raise _incomplete()
        size = int(size_text, 16)
        signature = ""
        if self.signed:
            match = _CHUNK_SIGNATURE.fullmatch(extension) if separator else None
            if match is None:
                raise _incomplete()
            signature = match.group(1).decode("ascii").lower()
        if size == 0:
            if self.signed:
                self._check_chunk(EMPTY_SHA256, signature)
            self.state = _TRAILER
            return
        self.admit(size)
        self.remaining = size
        self.chunk_signature = signature
        self.chunk_hash = hashlib.sha256() if self.signed and self.signer is not None else None
        self.state = _DATA

    def _check_chunk(self, chunk_sha256: str, signature: str) -> None:
        if self.signer is not None:
            expected = self.signer.chunk(self.previous, chunk_sha256)
            if not hmac.compare_digest(expected, signature):
                raise _signature_mismatch()
        self.previous = signature

    def _expecting(self) -> bool:
        return (self.trailer is not None and self.trailer not in self.trailers) or (
            self.trailer_signed and self.trailer_signature is None
        )

    def _trailer_line(self, line: bytes) -> None:
        if not line:
            # The blank line ends the trailer. One before any trailing header, when one is
            # expected, is taken as the final chunk's own CRLF (some clients send it).
            if self.trailer_lines == 0 and self._expecting() and not self.skipped_blank:
                self.skipped_blank = True
                return
            self._end_trailer()
            return
        self.trailer_lines += 1
        name_bytes, colon, value_bytes = line.partition(b":")
        if not colon or self.trailer_signature is not None:
            raise _malformed_trailer()  # not a header, or a header after the signature
        name = name_bytes.decode("latin-1").strip().lower()
        value = value_bytes.decode("latin-1").strip()
        if name == "x-amz-trailer-signature":
            if not _SIGNATURE_HEX.fullmatch(value):
                raise _malformed_trailer()
            self.trailer_signature = value.lower()
            return
        if name != self.trailer or name in self.trailers:
            raise _malformed_trailer()
        self.trailers[name] = value

    def _end_trailer(self) -> None:
        if self.trailer_signed:
            if self.trailer_signature is None:
                raise _malformed_trailer()
            if self.signer is not None:
                canonical = "".join(f"{name}:{value}\n" for name, value in self.trailers.items())
                digest = hashlib.sha256(canonical.encode("latin-1")).hexdigest()
                expected = self.signer.trailer(self.previous, digest)
                if not hmac.compare_digest(expected, self.trailer_signature):
                    raise _signature_mismatch()
        if self.trailer is not None and self.trailer not in self.trailers:
            raise _malformed_trailer()
        self.state = _DONE


# -- the payload --------------------------------------------------------------------------------


class Payload:
    """A request body as an async iterator of its decoded bytes, checked as it is read.

    Build it with :meth:`open` (which refuses bad headers before any byte is read), iterate
    it once, writing each chunk out; the iteration raises :class:`AwsError` as soon as a fault
    is found — a framing error, a chunk signature that does not match, more bytes than allowed
    — and, after the last chunk, if a final check fails (the declared length, the payload
    hash, Content-MD5, the checksum). Only then are :attr:`md5_hex` and :attr:`checksums` set
    and :attr:`complete` true.

    Known from the headers: :attr:`mode`, :attr:`aws_chunked`, :attr:`content_encoding` (what
    remains once ``aws-chunked`` is taken out: the object's Content-Encoding, ``None`` if
    nothing does), :attr:`declared_size` (``x-amz-decoded-content-length`` for an
    ``aws-chunked`` body, else ``Content-Length``; ``None`` if absent) and
    :attr:`checksum_algorithm` (the flexible checksum the client sent, ``None`` if none).
    :attr:`size` counts the decoded bytes yielded so far. The constructor is :meth:`open`'s.
    """

    def __init__(
        self,
        source: AsyncIterable[bytes],
        *,
        mode: PayloadMode,
        aws_chunked: bool,
        content_encoding: str | None,
        declared_size: int | None,
        max_size: int,
        payload_sha256: str | None,
        content_md5: tuple[str, bytes] | None,
        checksum_algorithm: str | None,
        checksum_value: str | None,
        computed: Iterable[str],
        trailer: str | None,
        signer: StreamSigner | None,
    ) -> None:
        self.mode = mode
        self.aws_chunked = aws_chunked
        self.content_encoding = content_encoding
        self.declared_size = declared_size
        self.max_size = max_size
        self.checksum_algorithm = checksum_algorithm
        self.size = 0
        self.complete = False
        self._source = source
        self._payload_sha256 = payload_sha256
        self._raw_hash = hashlib.sha256() if payload_sha256 is not None else None
        self._content_md5 = content_md5
        self._checksum_value = checksum_value
        self._trailer = trailer
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._digests = {name: _ALGORITHMS[name].new() for name in computed}
        self._admitted = 0
        self._md5_hex: str | None = None
        self._checksums: dict[str, str] | None = None
        self._decoder = (
            _ChunkDecoder(
                signed=mode.signed_chunks,
                signer=signer,
                trailer=trailer,
                trailer_signed=mode is PayloadMode.STREAMING_SIGNED_TRAILER,
                admit=self._admit,
            )
            if aws_chunked
            else None
        )
        self._chunks = self._run()

    @classmethod
    def open(
        cls,
        headers: Mapping[str, str],
        source: AsyncIterable[bytes],
        *,
        signature: SigV4 | None,
        secret: str | None,
        max_size: int,
        extra_checksums: Iterable[str] = (),
    ) -> Payload:
        """The body of the request with ``headers``, read from ``source``.

        ``signature`` is the request's verified signature (``None`` if unsigned) and ``secret``
        the secret key it was verified with (``None`` when signatures are not verified): chunk
        and trailer signatures are checked only with both, else parsed and not checked.
        ``max_size`` bounds the decoded body (``EntityTooLarge``); ``extra_checksums`` are
        algorithms to compute besides the one the request names (S3 computes CRC64NVME for an
        object uploaded without one). Raises :class:`AwsError` for headers S3 would refuse.
        """
        flat = _flat(headers)
        mode = _mode(flat.get("x-amz-content-sha256"))
        encodings = [part.strip() for part in flat.get("content-encoding", "").split(",")]
        encodings = [part for part in encodings if part]
        aws_chunked = mode.streaming or any(part.lower() == "aws-chunked" for part in encodings)
        remaining = [part for part in encodings if part.lower() != "aws-chunked"]
        content_encoding = ", ".join(remaining) if remaining else None

        declared_size = _declared_size(flat, aws_chunked)
        if declared_size is not None and declared_size > max_size:
            raise _too_large(declared_size, max_size)

        trailer = _trailer(flat, mode, aws_chunked)
        algorithm, value = _flexible_checksum(flat, trailer)
        computed = dict.fromkeys([algorithm] if algorithm is not None else [])
        for name in extra_checksums:
            if name.upper() not in _ALGORITHMS:
                raise ValueError(f"unknown checksum algorithm {name!r}")
            computed[name.upper()] = None

        content_md5 = None
        md5_header = flat.get("content-md5")
        if md5_header is not None:
            md5 = _decode_checksum(md5_header, _ALGORITHMS["MD5"])
            if md5 is None:
                raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.")
            content_md5 = (md5_header, md5)

        payload_sha256 = None
        if mode is PayloadMode.SHA256:
            payload_sha256 = flat["x-amz-content-sha256"]
        signer = None
        if mode.signed_chunks and signature is not None and secret is not None:
            signer = StreamSigner.of(signature, secret)
        return cls(
            source,
            mode=mode,
            aws_chunked=aws_chunked,
            content_encoding=content_encoding,
            declared_size=declared_size,
            max_size=max_size,
            payload_sha256=payload_sha256,
            content_md5=content_md5,
            checksum_algorithm=algorithm,
            checksum_value=value,
            computed=computed,
            trailer=trailer,
            signer=signer,
        )

    # -- results -----------------------------------------------------------------------------

    @property
    def md5_hex(self) -> str:
        """The decoded body's MD5 in hex (an object's ETag), once :attr:`complete`."""
        if self._md5_hex is None:
            raise RuntimeError("the payload has not been read to its end")
        return self._md5_hex

    @property
    def checksums(self) -> Mapping[str, str]:
        """Algorithm (``CRC32``) → base64 value of the decoded body, for the checksum the
        request named and the extra ones asked for, once :attr:`complete`."""
        if self._checksums is None:
            raise RuntimeError("the payload has not been read to its end")
        return dict(self._checksums)

    # -- reading -----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Stop reading (the source is not drained)."""
        await self._chunks.aclose()

    async def read_all(self) -> bytes:
        """The whole decoded body, checked (for the small bodies of the other operations; it
        holds up to ``max_size`` bytes)."""
        return b"".join([chunk async for chunk in self])

    async def _run(self) -> AsyncGenerator[bytes, None]:
        decoder = self._decoder
        async for piece in self._source:
            if not piece:
                continue
            if not isinstance(piece, bytes):
                piece = bytes(piece)
            if self._raw_hash is not None:
                self._raw_hash.update(piece)
            if decoder is None:
                self._admit(len(piece))
                chunk = piece
            else:
                parts = decoder.feed(piece)
                if not parts:
                    continue
                if len(parts) == 1 and len(parts[0]) == len(piece):
                    chunk = piece
                else:
                    chunk = b"".join(parts)
            self.size += len(chunk)
            self._md5.update(chunk)
            for digest in self._digests.values():
                digest.update(chunk)
            yield chunk
        if decoder is not None:
            decoder.finish()
        self._finish(decoder)

    def _admit(self, size: int) -> None:
        """Take ``size`` more bytes, or refuse them: over the limit, or past the declared size."""
        total = self._admitted + size
        if total > self.max_size:
            raise _too_large(total, self.max_size)
        if self.declared_size is not None and total > self.declared_size:
            raise _length_mismatch(self.declared_size, total)
        self._admitted = total

    def _finish(self, decoder: _ChunkDecoder | None) -> None:
        if self.declared_size is not None and self.size != self.declared_size:
            raise _length_mismatch(self.declared_size, self.size)
        if self._raw_hash is not None and self._payload_sha256 is not None:
            computed = self._raw_hash.hexdigest()
            if computed != self._payload_sha256.lower():
                raise AwsError(
                    S3.payload_mismatch.code,
                    S3.payload_mismatch.message,
                    status=S3.payload_mismatch.status,
                    fields={
                        "ClientComputedContentSHA256": self._payload_sha256,
                        "S3ComputedContentSHA256": computed,
                    },
                )
        md5 = self._md5.digest()
        if self._content_md5 is not None:
            sent, sent_md5 = self._content_md5
            if not hmac.compare_digest(md5, sent_md5):
                raise AwsError(
                    "BadDigest",
                    "The Content-MD5 you specified did not match what we received.",
                    fields={
                        "ExpectedDigest": sent,
                        "CalculatedDigest": base64.b64encode(md5).decode("ascii"),
                    },
                )
        digests = {name: digest.digest() for name, digest in self._digests.items()}
        algorithm = self.checksum_algorithm
        if algorithm is not None:
            value = self._checksum_value
            if value is None:  # sent in the trailer
                assert decoder is not None and self._trailer is not None
                value = decoder.trailers[self._trailer]
                if _decode_checksum(value, _ALGORITHMS[algorithm]) is None:
                    raise _invalid_request(f"Value for {self._trailer} trailing header is invalid.")
            claimed = _decode_checksum(value, _ALGORITHMS[algorithm])
            if claimed is None or not hmac.compare_digest(digests[algorithm], claimed):
                raise _checksum_mismatch(algorithm)
        self._md5_hex = md5.hex()
        self._checksums = {
            name: base64.b64encode(digest).decode("ascii") for name, digest in digests.items()
        }
        self.complete = True


def _declared_size(flat: Mapping[str, str], aws_chunked: bool) -> int | None:
    if aws_chunked:
        text = flat.get("x-amz-decoded-content-length")
        if text is None:
            return None
        if not _DIGITS.fullmatch(text.strip()):
            raise AwsError(
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
                status=411,
            )
        return int(text)
    text = flat.get("content-length")
    if text is None or not _DIGITS.fullmatch(text.strip()):
        return None  # the HTTP server has refused a malformed one already
    return int(text)


def _trailer(flat: Mapping[str, str], mode: PayloadMode, aws_chunked: bool) -> str | None:
    """The trailing header ``x-amz-trailer`` declares (``x-amz-checksum-<alg>``), if any."""
    text = flat.get("x-amz-trailer")
    if text is None:
        return None
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if (
        len(names) != 1
        or not names[0].startswith(_CHECKSUM_PREFIX)
        or names[0] in _NOT_CHECKSUMS
        or names[0][len(_CHECKSUM_PREFIX) :].upper() not in _ALGORITHMS
    ):
        raise _invalid_request("The value specified in the x-amz-trailer header is not supported")
    if not aws_chunked or mode is PayloadMode.STREAMING_SIGNED:
        raise _malformed_trailer()  # a body that cannot carry a trailer
    return names[0]


def _flexible_checksum(
    flat: Mapping[str, str], trailer: str | None
) -> tuple[str | None, str | None]:
    """The flexible checksum's algorithm and, when sent as a header, its value."""
    found: list[tuple[str, str | None]] = []
    for name, text in flat.items():
        if not name.startswith(_CHECKSUM_PREFIX) or name in _NOT_CHECKSUMS:
            continue
        kind = name[len(_CHECKSUM_PREFIX) :].upper()
        if kind not in _S3_ALGORITHMS:
            raise _invalid_request(
                "The algorithm type you specified in x-amz-checksum- header is invalid."
            )
        if kind not in _ALGORITHMS:
            raise _unsupported_algorithm()
        if _decode_checksum(text, _ALGORITHMS[kind]) is None:
            raise _invalid_request(f"Value for {name} header is invalid.")
        found.append((kind, text))
    if trailer is not None:
        found.append((trailer[len(_CHECKSUM_PREFIX) :].upper(), None))
    if len(found) > 1:
        raise _invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
        )
    algorithm: str | None = None
    value: str | None = None
    if found:
        algorithm, value = found[0]
    sdk = flat.get("x-amz-sdk-checksum-algorithm")
    if sdk is not None:
        named = sdk.strip().upper()
        if named not in _ALGORITHMS:
            raise _unsupported_algorithm()
        if algorithm is None:
            raise _invalid_request(
                "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* "
                "or x-amz-trailer headers were found."
            )
        if named != algorithm:
            raise _checksum_mismatch(named)
    return algorithm, value
