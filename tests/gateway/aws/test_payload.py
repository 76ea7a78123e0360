"""Reading S3 request bodies as a stream (raybus.gateway.aws.payload), on real bytes.

The bodies are the ones real clients produce: boto3's own requests (captured just before they
would be sent, over plain HTTP and over HTTPS, and once end to end through an aiohttp server),
botocore's ``AwsChunkedWrapper`` for the unsigned ``aws-chunked`` encoding with a checksum
trailer, and the two worked examples of AWS's documentation ("Transferring Payload in Multiple
Chunks" and "Including Trailing Headers"), whose seed, chunk and trailer signatures are
published and are used here as fixed vectors. Every body is also fed in awkward slices, and
every fault must be refused with S3's error, never another exception.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import random
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError
from botocore.httpchecksum import (
    _CHECKSUM_CLS,
    AwsChunkedWrapper,
    Crc32Checksum,
    Sha256Checksum,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from raybus.gateway.aws.payload import (
    CHECKSUM_ALGORITHMS,
    MAX_LINE,
    MAX_PUT_SIZE,
    Payload,
    PayloadMode,
    checksum_header,
)
from raybus.gateway.aws.protocols.errors import AwsError
from raybus.gateway.aws.sigv4 import (
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    UNSIGNED_PAYLOAD,
    SigV4,
    StreamSigner,
    parse_authorization,
    verify,
)

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ISO_BASIC = "%Y%m%dT%H%M%SZ"
CRC32C = pytest.mark.skipif("CRC32C" not in CHECKSUM_ALGORITHMS, reason="no awscrt")


# -- the request as the gateway sees it, and feeding a payload ----------------------------------


@dataclass(frozen=True)
class Wire:
    """What the server reads of a request before its body (a sigv4 ``RequestLike``)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: CIMultiDict[str]
    body: bytes = b""


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def wire_of(request: AWSRequest | AWSPreparedRequest) -> Wire:
    from yarl import URL

    url = URL(request.url, encoded=True)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        headers.add(name, _text(value))
    if "host" not in headers:
        headers["Host"] = url.raw_authority
    return Wire(request.method, url.raw_path, tuple(url.query.items()), headers)


def signed_at(sig: SigV4) -> float:
    return datetime.strptime(sig.amz_date, ISO_BASIC).replace(tzinfo=timezone.utc).timestamp()


def verified(wire: Wire, secret: str = SECRET_KEY) -> SigV4:
    """The request's signature, verified as the S3 front verifies it (the body comes later)."""
    sig = parse_authorization(wire)
    assert sig is not None
    verify(wire, sig, secret, now=signed_at(sig), s3=True, check_payload=False)
    return sig


def sliced(body: bytes, split: int | Sequence[int] | None) -> Iterator[bytes]:
    """``body`` in pieces: all at once, every ``split`` bytes, or cycling through sizes."""
    if split is None:
        yield body
        return
    sizes = [split] if isinstance(split, int) else list(split)
    at, turn = 0, 0
    while at < len(body):
        size = max(1, sizes[turn % len(sizes)])
        yield body[at : at + size]
        at += size
        turn += 1


async def source_of(pieces: Iterable[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        await asyncio.sleep(0)
        yield piece


@dataclass
class Outcome:
    payload: Payload | None = None
    chunks: list[bytes] = field(default_factory=list)
    error: AwsError | None = None

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def feed(
    headers: Mapping[str, str],
    body: bytes,
    *,
    split: int | Sequence[int] | None = None,
    signature: SigV4 | None = None,
    secret: str | None = None,
    max_size: int = MAX_PUT_SIZE,
    extra: Iterable[str] = (),
) -> Outcome:
    """Open and read a payload to its end; an :class:`AwsError` is recorded with the chunks
    yielded before it, any other exception fails the test."""
    outcome = Outcome()

    async def run() -> None:
        try:
            payload = Payload.open(
                headers,
                source_of(sliced(body, split)),
                signature=signature,
                secret=secret,
                max_size=max_size,
                extra_checksums=extra,
            )
            outcome.payload = payload
            async for chunk in payload:
                assert isinstance(chunk, bytes) and chunk
                outcome.chunks.append(chunk)
        except AwsError as error:
            outcome.error = error

    asyncio.run(run())
    return outcome


def accepted(headers: Mapping[str, str], body: bytes, **options: Any) -> Payload:
    outcome = feed(headers, body, **options)
    assert outcome.error is None, repr(outcome.error)
    assert outcome.payload is not None and outcome.payload.complete
    return outcome.payload


def refused(headers: Mapping[str, str], body: bytes, **options: Any) -> AwsError:
    outcome = feed(headers, body, **options)
    assert outcome.error is not None, "accepted"
    assert outcome.payload is None or not outcome.payload.complete
    return outcome.error


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def botocore_checksum(algorithm: str, data: bytes) -> str:
    """``algorithm``'s value of ``data`` as botocore computes it (its own implementation)."""
    checksum = _CHECKSUM_CLS[algorithm.lower()]()
    checksum.update(data)
    value: str = checksum.b64digest()
    return value


def random_bytes(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


# -- boto3's own requests -----------------------------------------------------------------------


class _EmptyRaw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""


def boto3_put(endpoint: str, body: bytes, **params: Any) -> tuple[Wire, bytes]:
    """The PutObject request boto3 sends to ``endpoint``, captured just before it would go on
    the wire (the body as it would be sent: a plain body, or botocore's aws-chunked stream)."""
    captured: list[AWSPreparedRequest] = []

    def capture(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        captured.append(request)
        return AWSResponse(request.url, 200, {"ETag": '"0"'}, _EmptyRaw())

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    client.meta.events.register("before-send.s3.PutObject", capture)
    client.put_object(Bucket="bucket", Key="key", Body=body, **params)
    request = captured[-1]
    raw = request.body
    sent = raw if isinstance(raw, bytes) else raw.read()
    return wire_of(request), sent


def test_boto3_over_plain_http_signs_the_bodys_sha256_and_it_is_checked() -> None:
    body = random_bytes(3 * 1024 * 1024 + 17)
    wire, sent = boto3_put("http://127.0.0.1:9", body)
    assert sent == body
    assert wire.headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    sig = verified(wire)
    payload = accepted(wire.headers, sent, split=65536, signature=sig, secret=SECRET_KEY)
    assert payload.mode is PayloadMode.SHA256 and not payload.aws_chunked
    assert (payload.size, payload.md5_hex) == (len(body), hashlib.md5(body).hexdigest())
    assert payload.checksum_algorithm == "CRC32"
    assert (
        payload.checksums
        == {"CRC32": wire.headers["x-amz-checksum-crc32"]}
        == {"CRC32": crc32(body)}
    )

    tampered = bytearray(sent)
    tampered[len(body) // 2] ^= 1
    error = refused(wire.headers, bytes(tampered), split=65536, signature=sig, secret=SECRET_KEY)
    assert (error.code, error.status) == ("XAmzContentSHA256Mismatch", 400)
    assert error.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )
    assert error.fields == {
        "ClientComputedContentSHA256": hashlib.sha256(body).hexdigest(),
        "S3ComputedContentSHA256": hashlib.sha256(bytes(tampered)).hexdigest(),
    }


HTTPS_ALGORITHMS = [
    None,
    "CRC32",
    pytest.param("CRC32C", marks=CRC32C),
    pytest.param("CRC64NVME", marks=CRC32C),
    "SHA1",
    "SHA256",
]


@pytest.mark.parametrize("algorithm", HTTPS_ALGORITHMS)
def test_boto3_over_https_streams_aws_chunked_with_a_checksum_trailer(
    algorithm: str | None,
) -> None:
    body = random_bytes(2 * 1024 * 1024 + 1000)  # three chunks of botocore's 1 MiB
    params = {} if algorithm is None else {"ChecksumAlgorithm": algorithm}
    wire, sent = boto3_put("https://127.0.0.1:9", body, ContentEncoding="gzip", **params)
    expected = algorithm or "CRC32"  # botocore's default
    assert wire.headers["x-amz-content-sha256"] == STREAMING_UNSIGNED_PAYLOAD_TRAILER
    assert wire.headers["Content-Encoding"] == "gzip,aws-chunked"
    assert wire.headers["X-Amz-Trailer"] == checksum_header(expected)
    sig = verified(wire)
    payload = accepted(wire.headers, sent, split=16384, signature=sig, secret=SECRET_KEY)
    assert payload.mode is PayloadMode.STREAMING_UNSIGNED_TRAILER and payload.aws_chunked
    assert payload.content_encoding == "gzip"  # aws-chunked was the transfer's, not the object's
    assert payload.declared_size == payload.size == len(body)
    assert payload.md5_hex == hashlib.md5(body).hexdigest()
    assert payload.checksums == {expected: botocore_checksum(expected, body)}


@pytest.mark.parametrize(
    ("checksum_cls", "algorithm"),
    [
        (Crc32Checksum, "CRC32"),
        pytest.param(_CHECKSUM_CLS.get("crc32c"), "CRC32C", marks=CRC32C),
        (Sha256Checksum, "SHA256"),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 1000, 8192])
def test_botocores_aws_chunked_wrapper_decodes_with_its_trailer(
    checksum_cls: Any, algorithm: str, chunk_size: int
) -> None:
    body = random_bytes(5_000 if chunk_size == 1 else 20_000 + chunk_size, seed=chunk_size)
    name = checksum_header(algorithm)
    sent = AwsChunkedWrapper(
        io.BytesIO(body), checksum_cls=checksum_cls, checksum_name=name, chunk_size=chunk_size
    ).read()
    headers = {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        "x-amz-trailer": name,
        "x-amz-decoded-content-length": str(len(body)),
        "x-amz-sdk-checksum-algorithm": algorithm,
    }
    for split in (None, 1, 7, chunk_size + 5):
        payload = accepted(headers, sent, split=split)
        assert payload.size == len(body)
        assert payload.checksums == {algorithm: botocore_checksum(algorithm, body)}
        assert payload.content_encoding is None

    value = botocore_checksum(algorithm, body)
    other = botocore_checksum(algorithm, body + b"!")
    wrong = sent.replace(f":{value}\r\n".encode(), f":{other}\r\n".encode())
    assert wrong != sent
    error = refused(headers, wrong)
    assert (error.code, error.status, error.message) == (
        "BadDigest",
        400,
        f"The {algorithm} you specified did not match the calculated checksum.",
    )


# -- AWS's documented examples ------------------------------------------------------------------

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_NOW = datetime(2013, 5, 24, tzinfo=timezone.utc).timestamp()
DOC_DATA = b"a" * 66560
DOC_CHUNKED: dict[str, Any] = {  # "Transferring Payload in Multiple Chunks (Chunked Upload)"
    "seed": "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    "chunks": (
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ),
}
DOC_TRAILER: dict[str, Any] = {  # "Signature calculations for trailing headers (chunked uploads)"
    "seed": "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
    "chunks": (
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ),
    "trailer": "x-amz-checksum-crc32c:sOO8/Q==",
    "trailer_signature": "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435",
}


def doc_request(trailer: bool) -> tuple[Wire, SigV4]:
    """The documented PUT of ``chunkObject.txt`` (66,560 bytes of ``a``, chunks of 64 KiB)."""
    headers: CIMultiDict[str] = CIMultiDict()
    headers["Host"] = "s3.amazonaws.com"
    headers["x-amz-date"] = "20130524T000000Z"
    headers["x-amz-storage-class"] = "REDUCED_REDUNDANCY"
    headers["Content-Encoding"] = "aws-chunked"
    headers["x-amz-decoded-content-length"] = "66560"
    if trailer:
        headers["x-amz-content-sha256"] = STREAMING_PAYLOAD_TRAILER
        headers["x-amz-trailer"] = "x-amz-checksum-crc32c"
        signed = "content-encoding;host;x-amz-content-sha256;x-amz-date;"
        signed += "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer"
        seed = DOC_TRAILER["seed"]
    else:
        headers["x-amz-content-sha256"] = STREAMING_PAYLOAD
        headers["Content-Length"] = "66824"
        signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        signed += "x-amz-decoded-content-length;x-amz-storage-class"
        seed = DOC_CHUNKED["seed"]
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed},Signature={seed}"
    )
    wire = Wire("PUT", "/examplebucket/chunkObject.txt", (), headers)
    sig = parse_authorization(wire)
    assert sig is not None
    verify(wire, sig, DOC_SECRET, now=DOC_NOW, s3=True, check_payload=False)  # the seed
    return wire, sig


def doc_body(
    trailer: bool,
    chunks: Sequence[str] | None = None,
    trailer_line: str | None = None,
    trailer_signature: str | None = None,
) -> bytes:
    vectors: dict[str, Any] = DOC_TRAILER if trailer else DOC_CHUNKED
    first, second, final = chunks or vectors["chunks"]
    body = f"10000;chunk-signature={first}\r\n".encode() + b"a" * 65536
    body += f"\r\n400;chunk-signature={second}\r\n".encode() + b"a" * 1024
    body += f"\r\n0;chunk-signature={final}\r\n".encode()
    if trailer:
        line = trailer_line or vectors["trailer"]
        signature = trailer_signature or vectors["trailer_signature"]
        body += f"{line}\r\nx-amz-trailer-signature:{signature}\r\n".encode()
    return body + b"\r\n"


def test_the_documented_chunk_signatures_are_the_chain_stream_signer_computes() -> None:
    for trailer, vectors in ((False, DOC_CHUNKED), (True, DOC_TRAILER)):
        _, sig = doc_request(trailer)
        signer = StreamSigner.of(sig, DOC_SECRET)
        previous = vectors["seed"]
        for chunk, published in zip(
            (b"a" * 65536, b"a" * 1024, b""), vectors["chunks"], strict=True
        ):
            previous = signer.chunk(previous, hashlib.sha256(chunk).hexdigest())
            assert previous == published
    trailing = hashlib.sha256(f"{DOC_TRAILER['trailer']}\n".encode()).hexdigest()
    assert signer.trailer(previous, trailing) == DOC_TRAILER["trailer_signature"]


def test_the_documented_body_is_the_documented_length() -> None:
    assert len(doc_body(False)) == 66824  # the example's Content-Length


@pytest.mark.parametrize("trailer", [False, True], ids=["chunked", "chunked-with-trailer"])
@pytest.mark.parametrize("split", [None, 777, 65536, 1], ids=["whole", "777", "64KiB", "bytewise"])
def test_the_documented_uploads_decode_with_their_published_signatures(
    trailer: bool, split: int | None
) -> None:
    wire, sig = doc_request(trailer)
    payload = accepted(
        wire.headers, doc_body(trailer), split=split, signature=sig, secret=DOC_SECRET
    )
    assert payload.size == len(DOC_DATA)
    assert payload.md5_hex == hashlib.md5(DOC_DATA).hexdigest()
    assert payload.mode is (
        PayloadMode.STREAMING_SIGNED_TRAILER if trailer else PayloadMode.STREAMING_SIGNED
    )
    if trailer and "CRC32C" in CHECKSUM_ALGORITHMS:
        assert payload.checksums == {"CRC32C": "sOO8/Q=="}


@pytest.mark.parametrize("trailer", [False, True], ids=["chunked", "chunked-with-trailer"])
@pytest.mark.parametrize("which", [0, 1, 2], ids=["first", "second", "final"])
def test_a_wrong_chunk_signature_is_refused(trailer: bool, which: int) -> None:
    wire, sig = doc_request(trailer)
    chunks = list((DOC_TRAILER if trailer else DOC_CHUNKED)["chunks"])
    chunks[which] = chunks[which][:-1] + ("0" if chunks[which][-1] != "0" else "1")
    outcome = feed(wire.headers, doc_body(trailer, chunks), signature=sig, secret=DOC_SECRET)
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.status) == ("SignatureDoesNotMatch", 403)
    assert outcome.error.message.startswith("The request signature we calculated does not match")


@pytest.mark.parametrize(
    ("where", "code"),
    [
        (100, "SignatureDoesNotMatch"),  # in the first chunk's data
        (65750, "SignatureDoesNotMatch"),  # in the second's
        (88 + 65536, "IncompleteBody"),  # the CR that ends the first chunk's data
    ],
)
def test_a_tampered_chunk_is_refused(where: int, code: str) -> None:
    wire, sig = doc_request(False)
    body = bytearray(doc_body(False))
    body[where] = ord("b")
    error = refused(wire.headers, bytes(body), signature=sig, secret=DOC_SECRET)
    assert error.code == code


def test_a_tampered_chunk_yields_nothing_of_itself_when_it_arrives_whole() -> None:
    wire, sig = doc_request(False)
    body = bytearray(doc_body(False))
    body[100] = ord("b")
    outcome = feed(wire.headers, bytes(body), signature=sig, secret=DOC_SECRET, split=len(body))
    assert outcome.error is not None and outcome.error.code == "SignatureDoesNotMatch"
    assert outcome.chunks == []


def test_a_changed_trailer_breaks_the_trailer_signature() -> None:
    wire, sig = doc_request(True)
    body = doc_body(True, trailer_line="x-amz-checksum-crc32c:sOO8/A==")
    error = refused(wire.headers, body, signature=sig, secret=DOC_SECRET)
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    error = refused(
        wire.headers, doc_body(True, trailer_signature="0" * 64), signature=sig, secret=DOC_SECRET
    )
    assert error.code == "SignatureDoesNotMatch"


def test_without_a_secret_chunk_signatures_are_read_but_not_checked() -> None:
    wire, sig = doc_request(False)
    chunks = ("1" * 64, "2" * 64, "3" * 64)
    payload = accepted(wire.headers, doc_body(False, chunks), signature=sig, secret=None)
    assert payload.size == len(DOC_DATA)
    # ... but their framing is still required
    unsigned = doc_body(False).replace(
        b";chunk-signature=" + DOC_CHUNKED["chunks"][1].encode(), b""
    )
    assert refused(wire.headers, unsigned, signature=sig, secret=None).code == "IncompleteBody"


# -- chunks signed here, with a seed botocore signs ---------------------------------------------


class _StreamingS3Auth(S3SigV4Auth):  # type: ignore[misc]
    """botocore's S3 signer with a streaming payload literal in ``x-amz-content-sha256``."""

    def __init__(self, credentials: BotoCredentials, payload_hash: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def streaming_request(
    payload_hash: str, headers: Mapping[str, str], secret: str = SECRET_KEY
) -> tuple[Wire, SigV4]:
    request = AWSRequest(method="PUT", url="http://127.0.0.1:8000/bucket/key", data=b"")
    for name, value in headers.items():
        request.headers[name] = value
    _StreamingS3Auth(BotoCredentials(ACCESS_KEY, secret), payload_hash).add_auth(request)
    wire = wire_of(request)
    return wire, verified(wire, secret)


def encode_chunked(
    data: bytes,
    sizes: Sequence[int],
    *,
    signer: StreamSigner | None = None,
    trailer: tuple[str, str] | None = None,
    trailer_signed: bool = False,
) -> bytes:
    """``data`` as ``aws-chunked``: chunks of ``sizes`` (cycled), signed when ``signer`` is
    given, then the trailer (signed when ``trailer_signed``) and the blank line."""
    out = bytearray()
    previous = signer.seed if signer is not None else ""
    at, turn = 0, 0

    def header(chunk: bytes) -> bytes:
        nonlocal previous
        line = f"{len(chunk):x}"
        if signer is not None:
            previous = signer.chunk(previous, hashlib.sha256(chunk).hexdigest())
            line += f";chunk-signature={previous}"
        return line.encode() + b"\r\n"

    while at < len(data):
        chunk = data[at : at + sizes[turn % len(sizes)]]
        out += header(chunk) + chunk + b"\r\n"
        at += len(chunk)
        turn += 1
    out += header(b"")
    if trailer is not None:
        out += f"{trailer[0]}:{trailer[1]}\r\n".encode()
    if trailer_signed:
        assert signer is not None
        canonical = "" if trailer is None else f"{trailer[0]}:{trailer[1]}\n"
        signature = signer.trailer(previous, hashlib.sha256(canonical.encode()).hexdigest())
        out += f"x-amz-trailer-signature:{signature}\r\n".encode()
    return bytes(out + b"\r\n")


def signed_trailer_upload(data: bytes, sizes: Sequence[int]) -> tuple[Wire, SigV4, bytes]:
    wire, sig = streaming_request(
        STREAMING_PAYLOAD_TRAILER,
        {
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-sdk-checksum-algorithm": "CRC32",
        },
    )
    signer = StreamSigner.of(sig, SECRET_KEY)
    body = encode_chunked(
        data,
        sizes,
        signer=signer,
        trailer=("x-amz-checksum-crc32", crc32(data)),
        trailer_signed=True,
    )
    return wire, sig, body


def test_a_signed_upload_with_a_signed_crc32_trailer_decodes() -> None:
    data = random_bytes(50_000)
    wire, sig, body = signed_trailer_upload(data, [8192, 10_000])
    for split in (None, 1, 4093):
        payload = accepted(wire.headers, body, split=split, signature=sig, secret=SECRET_KEY)
        assert payload.checksums == {"CRC32": crc32(data)}
        assert payload.size == len(data)


def test_a_signed_trailer_needs_its_signature() -> None:
    data = b"x" * 9000
    wire, sig = streaming_request(
        STREAMING_PAYLOAD_TRAILER,
        {"x-amz-decoded-content-length": "9000", "x-amz-trailer": "x-amz-checksum-crc32"},
    )
    signer = StreamSigner.of(sig, SECRET_KEY)
    body = encode_chunked(
        data, [8192], signer=signer, trailer=("x-amz-checksum-crc32", crc32(data))
    )
    error = refused(wire.headers, body, signature=sig, secret=SECRET_KEY)
    assert error.code == "MalformedTrailerError"


def test_a_signed_chunked_upload_with_another_secret_is_refused() -> None:
    data = random_bytes(20_000)
    wire, sig = streaming_request(
        STREAMING_PAYLOAD, {"x-amz-decoded-content-length": str(len(data))}
    )
    body = encode_chunked(data, [8192], signer=StreamSigner.of(sig, SECRET_KEY))
    assert accepted(wire.headers, body, signature=sig, secret=SECRET_KEY).size == len(data)
    error = refused(wire.headers, body, signature=sig, secret="another secret")
    assert error.code == "SignatureDoesNotMatch"


# -- the other modes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "mode"),
    [(None, PayloadMode.ABSENT), (UNSIGNED_PAYLOAD, PayloadMode.UNSIGNED)],
)
def test_an_unsigned_body_is_passed_through_as_is(value: str | None, mode: PayloadMode) -> None:
    body = random_bytes(100_000)
    headers = {"Content-Length": str(len(body)), "Content-Encoding": "gzip"}
    if value is not None:
        headers["x-amz-content-sha256"] = value
    payload = accepted(headers, body, split=4096, extra=["crc64nvme", "SHA256"])
    assert payload.mode is mode and not payload.aws_chunked
    assert payload.content_encoding == "gzip"
    assert payload.declared_size == len(body)
    assert payload.checksum_algorithm is None
    assert payload.checksums["SHA256"] == b64(hashlib.sha256(body).digest())
    if "CRC64NVME" in CHECKSUM_ALGORITHMS:
        assert payload.checksums["CRC64NVME"] == botocore_checksum("CRC64NVME", body)


def test_an_empty_body_is_an_empty_object() -> None:
    payload = accepted({"Content-Length": "0"}, b"")
    assert (payload.size, payload.md5_hex) == (0, hashlib.md5(b"").hexdigest())
    wire, sig = streaming_request(STREAMING_PAYLOAD, {"x-amz-decoded-content-length": "0"})
    body = encode_chunked(b"", [1], signer=StreamSigner.of(sig, SECRET_KEY))
    assert accepted(wire.headers, body, signature=sig, secret=SECRET_KEY).size == 0


def test_content_encoding_aws_chunked_alone_means_unsigned_chunks() -> None:
    data = random_bytes(30_000)
    body = encode_chunked(
        data, [10_000], trailer=("x-amz-checksum-sha256", b64(hashlib.sha256(data).digest()))
    )
    headers = {
        "Content-Encoding": "aws-chunked, br",
        "x-amz-content-sha256": UNSIGNED_PAYLOAD,
        "x-amz-trailer": "x-amz-checksum-sha256",
    }
    payload = accepted(headers, body, split=333)
    assert payload.aws_chunked and payload.content_encoding == "br"
    assert payload.checksums == {"SHA256": b64(hashlib.sha256(data).digest())}
    assert payload.size == len(data)


def test_a_streaming_mode_means_aws_chunked_without_content_encoding() -> None:
    data = random_bytes(10_000)
    body = encode_chunked(data, [4096])
    headers = {"x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER}
    payload = accepted(headers, body)
    assert payload.aws_chunked and payload.content_encoding is None
    assert payload.declared_size is None and payload.size == len(data)


def test_the_results_are_known_only_at_the_end() -> None:
    async def run() -> None:
        payload = Payload.open(
            {}, source_of([b"abc", b"def"]), signature=None, secret=None, max_size=10
        )
        first = await payload.__anext__()
        assert first == b"abc" and not payload.complete
        with pytest.raises(RuntimeError):
            _ = payload.md5_hex
        with pytest.raises(RuntimeError):
            _ = payload.checksums
        assert await payload.read_all() == b"def"
        assert payload.complete and payload.md5_hex == hashlib.md5(b"abcdef").hexdigest()

    asyncio.run(run())


# -- refusals -----------------------------------------------------------------------------------


def unsigned_chunked(data: bytes, **headers: str) -> dict[str, str]:
    return {
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        "x-amz-decoded-content-length": str(len(data)),
        **{name.replace("_", "-"): value for name, value in headers.items()},
    }


UPLOAD = random_bytes(30_000, seed=3)
UPLOAD_BODY = encode_chunked(UPLOAD, [8192], trailer=("x-amz-checksum-crc32", crc32(UPLOAD)))
UPLOAD_HEADERS = unsigned_chunked(UPLOAD, x_amz_trailer="x-amz-checksum-crc32")


def test_the_reference_upload_is_accepted() -> None:
    assert accepted(UPLOAD_HEADERS, UPLOAD_BODY).checksums == {"CRC32": crc32(UPLOAD)}


@pytest.mark.parametrize(
    "cut",
    [1, 4, 6, 100, 8192 + 6, 8192 + 7, 8192 + 8, len(UPLOAD_BODY) - 40, len(UPLOAD_BODY) - 3],
)
def test_a_body_cut_short_is_incomplete(cut: int) -> None:
    error = refused(UPLOAD_HEADERS, UPLOAD_BODY[:cut])
    assert (error.code, error.status) in {("IncompleteBody", 400), ("MalformedTrailerError", 400)}
    if cut < len(UPLOAD_BODY) - 50:
        assert error.code == "IncompleteBody"
        assert error.message == "The request body terminated unexpectedly"


def test_a_documented_body_cut_anywhere_is_refused() -> None:
    wire, sig = doc_request(True)
    body = doc_body(True)
    for cut in range(0, len(body) - 2, 997):
        error = refused(wire.headers, body[:cut], signature=sig, secret=DOC_SECRET, split=4096)
        assert error.code in {"IncompleteBody", "MalformedTrailerError"}


def test_the_final_blank_line_may_be_missing_but_nothing_may_follow_it() -> None:
    assert accepted(UPLOAD_HEADERS, UPLOAD_BODY[:-2]).size == len(UPLOAD)
    for extra in (b"x", b"\r\n", b"0\r\n\r\n"):
        error = refused(UPLOAD_HEADERS, UPLOAD_BODY + extra)
        assert (error.code, error.message) == (
            "IncompleteBody",
            "The request body terminated unexpectedly",
        )


def test_fewer_bytes_than_the_decoded_length_is_incomplete() -> None:
    headers = {**UPLOAD_HEADERS, "x-amz-decoded-content-length": str(len(UPLOAD) + 1)}
    error = refused(headers, UPLOAD_BODY)
    assert (error.code, error.status) == ("IncompleteBody", 400)
    assert error.message == (
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )
    assert error.fields == {
        "NumberBytesExpected": str(len(UPLOAD) + 1),
        "NumberBytesProvided": str(len(UPLOAD)),
    }


def test_more_bytes_than_the_decoded_length_is_refused_before_they_are_yielded() -> None:
    headers = {**UPLOAD_HEADERS, "x-amz-decoded-content-length": str(len(UPLOAD) - 1)}
    outcome = feed(headers, UPLOAD_BODY, split=1000)
    assert outcome.error is not None and outcome.error.code == "IncompleteBody"
    assert outcome.error.fields["NumberBytesExpected"] == str(len(UPLOAD) - 1)
    assert len(outcome.data) <= len(UPLOAD) - 1
    assert UPLOAD.startswith(outcome.data)


def test_a_plain_body_shorter_than_its_content_length_is_incomplete() -> None:
    error = refused({"Content-Length": "10"}, b"123456789")
    assert error.code == "IncompleteBody"
    assert error.fields == {"NumberBytesExpected": "10", "NumberBytesProvided": "9"}


FRAMING = {
    "a size that is not hex": b"zz\r\n",
    "an empty size": b"\r\n",
    "a negative size": b"-1\r\nx\r\n",
    "a size line without CR": b"5\nhello\r\n0\r\n\r\n",
    "data not followed by CRLF": b"5\r\nhelloX\r\n0\r\n\r\n",
    "data followed by LF alone": b"5\r\nhello\n0\r\n\r\n",
    "a CR without LF after data": b"5\r\nhello\rX0\r\n\r\n",
    "a size of 17 hex digits": b"00000000000000005\r\nhello\r\n0\r\n\r\n",
    "spaces around the size": b" 5 \r\nhello\r\n0\r\n\r\n",
    "a size line too long": b"5;" + b"x" * MAX_LINE + b"\r\nhello\r\n0\r\n\r\n",
    "a trailer line too long": b"5\r\nhello\r\n0\r\n" + b"x" * MAX_LINE + b"\r\n\r\n",
}


@pytest.mark.parametrize("body", FRAMING.values(), ids=FRAMING.keys())
@pytest.mark.parametrize("split", [None, 1])
def test_bad_framing_is_incomplete_body(body: bytes, split: int | None) -> None:
    headers = {"x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER}
    error = refused(headers, body, split=split)
    assert (error.code, error.status) in {("IncompleteBody", 400), ("MalformedTrailerError", 400)}


def test_a_signed_chunk_without_its_signature_is_malformed() -> None:
    wire, sig = streaming_request(STREAMING_PAYLOAD, {"x-amz-decoded-content-length": "5"})
    for body in (b"5\r\nhello\r\n0\r\n\r\n", b"5;chunk-signature=abc\r\nhello\r\n0\r\n\r\n"):
        assert (
            refused(wire.headers, body, signature=sig, secret=SECRET_KEY).code == "IncompleteBody"
        )


def test_content_md5_is_checked() -> None:
    body = b"the body"
    assert accepted({"Content-MD5": md5_b64(body)}, body).md5_hex == hashlib.md5(body).hexdigest()
    error = refused({"Content-MD5": md5_b64(b"another body")}, body)
    assert (error.code, error.status, error.message) == (
        "BadDigest",
        400,
        "The Content-MD5 you specified did not match what we received.",
    )
    assert error.fields == {
        "ExpectedDigest": md5_b64(b"another body"),
        "CalculatedDigest": md5_b64(body),
    }
    chunked = accepted({**UPLOAD_HEADERS, "Content-MD5": md5_b64(UPLOAD)}, UPLOAD_BODY)
    assert chunked.md5_hex == hashlib.md5(UPLOAD).hexdigest()


@pytest.mark.parametrize("value", ["not base64!", "AAAA", md5_b64(b"x")[:-4], ""])
def test_a_malformed_content_md5_is_an_invalid_digest(value: str) -> None:
    error = refused({"Content-MD5": value}, b"body")
    assert (error.code, error.status, error.message) == (
        "InvalidDigest",
        400,
        "The Content-MD5 you specified was invalid.",
    )


def test_a_body_over_the_limit_is_too_large_as_soon_as_it_is() -> None:
    outcome = feed({}, b"x" * 1001, split=100, max_size=1000)
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.status) == ("EntityTooLarge", 400)
    assert outcome.error.message == "Your proposed upload exceeds the maximum allowed object size."
    assert outcome.error.fields == {"ProposedSize": "1001", "MaxSizeAllowed": "1000"}
    assert len(outcome.data) == 1000
    assert accepted({}, b"x" * 1000, split=100, max_size=1000).size == 1000


def test_a_chunk_over_the_limit_is_refused_at_its_header() -> None:
    body = b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n"
    headers = {"x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER}
    outcome = feed(headers, body, split=1, max_size=1000)
    assert outcome.error is not None and outcome.error.code == "EntityTooLarge"
    assert outcome.chunks == []


async def _never() -> AsyncIterator[bytes]:
    raise AssertionError("the body was read")
    yield b""  # pragma: no cover


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Length": "1001"},
        {
            "x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER,
            "x-amz-decoded-content-length": "1001",
        },
    ],
)
def test_a_declared_size_over_the_limit_is_refused_before_reading(headers: dict[str, str]) -> None:
    with pytest.raises(AwsError) as caught:
        Payload.open(headers, _never(), signature=None, secret=None, max_size=1000)
    assert caught.value.code == "EntityTooLarge"
    assert caught.value.fields == {"ProposedSize": "1001", "MaxSizeAllowed": "1000"}


@pytest.mark.parametrize(
    ("algorithm", "value_of"),
    [
        ("CRC32", crc32),
        ("SHA1", lambda data: b64(hashlib.sha1(data).digest())),
        ("SHA256", lambda data: b64(hashlib.sha256(data).digest())),
        pytest.param("CRC32C", lambda d: botocore_checksum("CRC32C", d), marks=CRC32C),
        pytest.param("CRC64NVME", lambda d: botocore_checksum("CRC64NVME", d), marks=CRC32C),
    ],
)
def test_a_checksum_header_is_checked(algorithm: str, value_of: Any) -> None:
    body = random_bytes(5000)
    header = checksum_header(algorithm)
    headers = {header: value_of(body), "x-amz-sdk-checksum-algorithm": algorithm.lower()}
    assert accepted(headers, body, split=7).checksums == {algorithm: value_of(body)}
    error = refused({header: value_of(b"other")}, body)
    assert (error.code, error.status, error.message) == (
        "BadDigest",
        400,
        f"The {algorithm} you specified did not match the calculated checksum.",
    )


def test_a_trailer_checksum_is_checked() -> None:
    body = encode_chunked(UPLOAD, [8192], trailer=("x-amz-checksum-crc32", crc32(b"other")))
    error = refused(UPLOAD_HEADERS, body)
    assert (error.code, error.message) == (
        "BadDigest",
        "The CRC32 you specified did not match the calculated checksum.",
    )
    body = encode_chunked(UPLOAD, [8192], trailer=("x-amz-checksum-crc32", "no!"))
    error = refused(UPLOAD_HEADERS, body)
    assert (error.code, error.message) == (
        "InvalidRequest",
        "Value for x-amz-checksum-crc32 trailing header is invalid.",
    )


MALFORMED_TRAILER = (
    "The request contained trailing data that was not well-formed or did not conform to our "
    "published schema."
)


def test_a_declared_trailer_must_come_and_an_undeclared_one_must_not() -> None:
    missing = encode_chunked(UPLOAD, [8192])
    error = refused(UPLOAD_HEADERS, missing)
    assert (error.code, error.status, error.message) == (
        "MalformedTrailerError",
        400,
        MALFORMED_TRAILER,
    )
    undeclared = unsigned_chunked(UPLOAD)
    assert refused(undeclared, UPLOAD_BODY).code == "MalformedTrailerError"
    other = encode_chunked(UPLOAD, [8192], trailer=("x-amz-checksum-sha1", b64(b"0" * 20)))
    assert refused(UPLOAD_HEADERS, other).code == "MalformedTrailerError"
    not_a_header = UPLOAD_BODY.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-crc32 ")
    assert refused(UPLOAD_HEADERS, not_a_header).code == "MalformedTrailerError"


def test_a_blank_line_before_the_trailer_is_tolerated() -> None:
    body = UPLOAD_BODY.replace(b"\r\n0\r\nx-amz", b"\r\n0\r\n\r\nx-amz")
    assert body != UPLOAD_BODY
    assert accepted(UPLOAD_HEADERS, body, split=3).checksums == {"CRC32": crc32(UPLOAD)}


HEADER_REFUSALS: dict[str, tuple[dict[str, str], str, int, str]] = {
    "two checksum headers": (
        {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": b64(b"0" * 20)},
        "InvalidRequest",
        400,
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    ),
    "a checksum header and a trailer": (
        {
            "x-amz-checksum-crc32": "AAAAAA==",
            "x-amz-trailer": "x-amz-checksum-crc32",
            "x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        },
        "InvalidRequest",
        400,
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    ),
    "an algorithm without a checksum": (
        {"x-amz-sdk-checksum-algorithm": "CRC32"},
        "InvalidRequest",
        400,
        "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
        "x-amz-trailer headers were found.",
    ),
    "an algorithm with another's checksum": (
        {"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": "AAAAAA=="},
        "BadDigest",
        400,
        "The SHA256 you specified did not match the calculated checksum.",
    ),
    "an unknown algorithm": (
        {"x-amz-sdk-checksum-algorithm": "MD4", "x-amz-checksum-crc32": "AAAAAA=="},
        "InvalidRequest",
        400,
        "Checksum algorithm provided is unsupported. Please try again with any of the valid "
        f"types: [{', '.join(CHECKSUM_ALGORITHMS)}]",
    ),
    "a checksum of the wrong size": (
        {"x-amz-checksum-crc32": b64(b"12345")},
        "InvalidRequest",
        400,
        "Value for x-amz-checksum-crc32 header is invalid.",
    ),
    "a checksum that is not base64": (
        {"x-amz-checksum-sha256": "???"},
        "InvalidRequest",
        400,
        "Value for x-amz-checksum-sha256 header is invalid.",
    ),
    "an unknown checksum header": (
        {"x-amz-checksum-crc16": "AAA="},
        "InvalidRequest",
        400,
        "The algorithm type you specified in x-amz-checksum- header is invalid.",
    ),
    "an unsupported trailer": (
        {"x-amz-trailer": "x-amz-meta-foo", "x-amz-content-sha256": STREAMING_PAYLOAD_TRAILER},
        "InvalidRequest",
        400,
        "The value specified in the x-amz-trailer header is not supported",
    ),
    "a trailer on a plain body": (
        {"x-amz-trailer": "x-amz-checksum-crc32"},
        "MalformedTrailerError",
        400,
        MALFORMED_TRAILER,
    ),
    "a payload hash that is neither": (
        {"x-amz-content-sha256": "STREAMING-SOMETHING"},
        "InvalidArgument",
        400,
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
    ),
    "a SigV4a streaming payload": (
        {"x-amz-content-sha256": "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"},
        "NotImplemented",
        501,
        "A header you provided implies functionality that is not implemented",
    ),
    "a decoded length that is not a number": (
        {
            "x-amz-content-sha256": STREAMING_UNSIGNED_PAYLOAD_TRAILER,
            "x-amz-decoded-content-length": "abc",
        },
        "MissingContentLength",
        411,
        "You must provide the Content-Length HTTP header.",
    ),
}


@pytest.mark.parametrize(
    ("headers", "code", "status", "message"), HEADER_REFUSALS.values(), ids=HEADER_REFUSALS.keys()
)
def test_headers_s3_refuses_are_refused_before_reading(
    headers: dict[str, str], code: str, status: int, message: str
) -> None:
    with pytest.raises(AwsError) as caught:
        Payload.open(headers, _never(), signature=None, secret=None, max_size=MAX_PUT_SIZE)
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        code,
        status,
        message,
    )


def test_the_payload_hash_error_names_the_argument() -> None:
    with pytest.raises(AwsError) as caught:
        Payload.open(
            {"x-amz-content-sha256": "abc"}, _never(), signature=None, secret=None, max_size=1
        )
    assert caught.value.fields == {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": "abc"}


def test_an_unknown_extra_checksum_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        Payload.open({}, _never(), signature=None, secret=None, max_size=1, extra_checksums=["x"])


# -- awkward slices and arbitrary damage --------------------------------------------------------

SLICE_DATA = random_bytes(3000, seed=11)


def _slicing_cases() -> dict[str, tuple[Mapping[str, str], bytes, SigV4 | None, str | None]]:
    wire, sig, body = signed_trailer_upload(SLICE_DATA, [1000, 700])
    wrapper = AwsChunkedWrapper(
        io.BytesIO(SLICE_DATA),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=512,
    ).read()
    return {
        "signed with a signed trailer": (wire.headers, body, sig, SECRET_KEY),
        "botocore's unsigned trailer": (
            unsigned_chunked(SLICE_DATA, x_amz_trailer="x-amz-checksum-crc32"),
            wrapper,
            None,
            None,
        ),
    }


SLICING = _slicing_cases()


@pytest.mark.parametrize("case", SLICING.keys())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(min_value=1, max_value=1100), min_size=1, max_size=12))
def test_any_slicing_decodes_identically(case: str, sizes: list[int]) -> None:
    headers, body, sig, secret = SLICING[case]
    payload = accepted(headers, body, split=sizes, signature=sig, secret=secret)
    assert payload.size == len(SLICE_DATA)
    assert payload.md5_hex == hashlib.md5(SLICE_DATA).hexdigest()
    assert payload.checksums == {"CRC32": crc32(SLICE_DATA)}


def test_every_chunk_boundary_split_across_reads_decodes_identically() -> None:
    headers, body, sig, secret = SLICING["signed with a signed trailer"]
    for at in range(1, len(body) - 1):
        if body[at - 1 : at] in (b"\r", b"\n", b";", b":") or at % 97 == 0:
            outcome = feed(headers, body, split=[at, len(body)], signature=sig, secret=secret)
            assert outcome.error is None and outcome.data == SLICE_DATA, at


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(sorted(SLICING)),
    position=st.integers(min_value=0, max_value=10**6),
    damage=st.sampled_from(["flip", "insert", "delete"]),
    byte=st.integers(min_value=0, max_value=255),
    split=st.integers(min_value=1, max_value=2000),
)
def test_damage_anywhere_is_refused_with_an_s3_error_or_changes_nothing(
    case: str, position: int, damage: str, byte: int, split: int
) -> None:
    headers, body, sig, secret = SLICING[case]
    at = position % len(body)
    if damage == "flip":
        damaged = body[:at] + bytes([body[at] ^ (byte or 1)]) + body[at + 1 :]
    elif damage == "insert":
        damaged = body[:at] + bytes([byte]) + body[at:]
    else:
        damaged = body[:at] + body[at + 1 :]
    outcome = feed(headers, damaged, split=split, signature=sig, secret=secret)  # never raises
    if outcome.error is None:  # e.g. a hex digit's case, or a blank line's CR...
        assert outcome.data == SLICE_DATA


# -- memory stays bounded -----------------------------------------------------------------------


class Produced:
    """A large ``aws-chunked`` body generated piece by piece, never whole in memory."""

    def __init__(self, chunks: int, chunk_size: int, piece: int) -> None:
        self.chunks = chunks
        self.chunk_size = chunk_size
        self.piece = piece
        self.pieces_out = 0
        self.block = bytes(range(256)) * (chunk_size // 256)
        self.crc = 0
        for _ in range(chunks):
            self.crc = zlib.crc32(self.block, self.crc)

    @property
    def size(self) -> int:
        return self.chunks * len(self.block)

    async def stream(self) -> AsyncIterator[bytes]:
        frame = f"{len(self.block):x}\r\n".encode() + self.block + b"\r\n"
        for _ in range(self.chunks):
            for at in range(0, len(frame), self.piece):
                self.pieces_out += 1
                yield frame[at : at + self.piece]
        crc = b64(self.crc.to_bytes(4, "big"))
        self.pieces_out += 1
        yield f"0\r\nx-amz-checksum-crc32:{crc}\r\n\r\n".encode()


def test_a_large_upload_streams_in_bounded_memory() -> None:
    produced = Produced(chunks=64, chunk_size=1024 * 1024, piece=65536 + 3)  # 64 MiB
    headers = unsigned_chunked(b"", x_amz_trailer="x-amz-checksum-crc32")
    headers["x-amz-decoded-content-length"] = str(produced.size)
    first_seen_after: list[int] = []

    async def run() -> Payload:
        payload = Payload.open(
            headers, produced.stream(), signature=None, secret=None, max_size=MAX_PUT_SIZE
        )
        async for chunk in payload:
            if not first_seen_after:
                first_seen_after.append(produced.pieces_out)
            assert len(chunk) <= produced.piece
        return payload

    tracemalloc.start()
    try:
        payload = asyncio.run(run())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert payload.size == produced.size and payload.complete
    assert payload.checksums == {"CRC32": b64(produced.crc.to_bytes(4, "big"))}
    assert first_seen_after == [1]  # the first bytes come out as the first piece comes in
    assert peak < 6 * 1024 * 1024, peak  # one 1 MiB block and a few pieces, not 64 MiB


def test_a_large_plain_body_streams_in_bounded_memory() -> None:
    block = random_bytes(65536)
    count = 512  # 32 MiB

    async def source() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield block

    async def run() -> Payload:
        payload = Payload.open(
            {"Content-Length": str(len(block) * count)},
            source(),
            signature=None,
            secret=None,
            max_size=MAX_PUT_SIZE,
        )
        async for chunk in payload:
            assert chunk is block  # passed through, not copied
        return payload

    tracemalloc.start()
    try:
        payload = asyncio.run(run())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert payload.size == len(block) * count
    assert peak < 2 * 1024 * 1024, peak


# -- end to end: boto3 against an aiohttp server on 127.0.0.1 -----------------------------------


def _serve_and_put(
    body: bytes, *, https: bool, **params: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """boto3's PutObject against an aiohttp server that reads the body with :class:`Payload`
    from ``request.content.iter_any()``; the server's record, and boto3's error if any."""
    from aiohttp import web

    record: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        path = request.raw_path.split("?", 1)[0]
        wire = Wire(
            request.method, path, tuple(request.query.items()), CIMultiDict(request.headers)
        )
        try:
            sig = verified(wire)
            payload = Payload.open(
                request.headers,
                request.content.iter_any(),
                signature=sig,
                secret=SECRET_KEY,
                max_size=MAX_PUT_SIZE,
            )
            digest = hashlib.sha256()
            async for chunk in payload:
                digest.update(chunk)
        except AwsError as error:
            record["error"] = error.code
            xml = f"<Error><Code>{error.code}</Code><Message>{error.message}</Message></Error>"
            return web.Response(status=error.status, text=xml, content_type="application/xml")
        record.update(
            mode=payload.mode,
            sha256=digest.hexdigest(),
            checksums=payload.checksums,
            content_encoding=payload.content_encoding,
        )
        return web.Response(headers={"ETag": f'"{payload.md5_hex}"'})

    async def scenario() -> tuple[dict[str, Any], dict[str, Any] | None]:
        ssl_context = _self_signed() if https else None
        app = web.Application(client_max_size=1024)
        app.router.add_put("/{tail:.*}", handler)
        # Content-Encoding is the object's, kept as sent: the server must not decompress it
        runner = web.AppRunner(app, auto_decompress=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
        await site.start()
        port = runner.addresses[0][1]
        scheme = "https" if https else "http"
        try:
            return record, await asyncio.to_thread(
                _put, f"{scheme}://127.0.0.1:{port}", body, params
            )
        finally:
            await runner.cleanup()

    return asyncio.run(scenario())


def _put(endpoint: str, body: bytes, params: dict[str, Any]) -> dict[str, Any] | None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        verify=False,
        config=Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
            connect_timeout=5,
            read_timeout=30,
        ),
    )
    try:
        answer = client.put_object(Bucket="bucket", Key="key", Body=body, **params)
    except ClientError as error:
        return dict(error.response["Error"])
    assert answer["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    return None


def _self_signed() -> Any:
    import ssl
    import tempfile

    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now.replace(year=now.year - 1))
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(key, hashes.SHA256())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        cert_path, key_path = f"{folder}/cert.pem", f"{folder}/key.pem"
        with open(cert_path, "wb") as out:
            out.write(certificate.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as out:
            out.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        context.load_cert_chain(cert_path, key_path)
    return context


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_boto3_uploads_through_a_server_reading_with_payload(https: bool) -> None:
    body = random_bytes(3 * 1024 * 1024 + 5)
    record, error = _serve_and_put(body, https=https, ContentEncoding="gzip")
    assert error is None, error
    assert record["sha256"] == hashlib.sha256(body).hexdigest()
    assert record["checksums"] == {"CRC32": crc32(body)}
    assert record["content_encoding"] == "gzip"
    expected = PayloadMode.STREAMING_UNSIGNED_TRAILER if https else PayloadMode.SHA256
    assert record["mode"] is expected

    record, error = _serve_and_put(b"some bytes", https=https, ChecksumCRC32=crc32(b"other"))
    assert error is not None and error["Code"] == "BadDigest", error
    assert record["error"] == "BadDigest"
