"""The AWS front door: every request that is not the native API, on the same port.

For each request: read the body (bounded in size and time), recognise the service and protocol
(:mod:`.recognize`), check the signature (:mod:`.sigv4`: any is accepted unless credentials
are configured), let the service's model-driven codec (:mod:`.protocols`) name the operation
and parse its parameters, check them against the model, run the service module's operation and
answer in the request's protocol. Every failure is answered as the protocol's error — a
native error translated by the service's error map, an unexpected one as ``InternalFailure``
(logged) — never as a crash.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from raybus.core.errors import RaybusError
from raybus.gateway.api import Context
from raybus.gateway.audit import aws_call
from raybus.gateway.aws.payload import MAX_PUT_SIZE, Payload
from raybus.gateway.aws.protocols import (
    AwsError,
    WireRequest,
    WireResponse,
    codec_for,
    validate,
    validation_message,
)
from raybus.gateway.aws.recognize import NATIVE_PATHS as NATIVE_EXACT
from raybus.gateway.aws.recognize import NATIVE_PREFIXES, Recognized, recognize
from raybus.gateway.aws.service import AwsService, AwsSettings, Call
from raybus.gateway.aws.sigv2 import SigV2, parse_sigv2, verify_sigv2
from raybus.gateway.aws.sigv4 import (
    S3,
    Credentials,
    SignatureError,
    SigV4,
    parse_authorization,
    verify,
)
from raybus.gateway.boundary import read_body

__all__ = ["MAX_AWS_BODY", "NATIVE_PATHS", "AwsFront"]

log = logging.getLogger(__name__)

MAX_AWS_BODY = 70 << 20  # a 50 MB zip, base64-encoded in a Lambda CreateFunction body
# The path pattern of the catch-all route: everything but the native API.
NATIVE_PATHS = r"(?!v1/|healthz$|metrics$|openapi\.json$).*"


class AwsFront:
    def __init__(
        self,
        context: Context,
        credentials: Mapping[str, str],
        services: Mapping[str, AwsService],
        *,
        body_timeout_s: float,
        require_signature: bool = False,
    ) -> None:
        self.context = context
        self.services = services
        self.body_timeout_s = body_timeout_s
        self.secrets = dict(credentials)
        self.credentials = Credentials(dict(credentials))
        # A gateway that demands a token of native callers never serves AWS callers unsigned.
        self.require_signature = require_signature or bool(credentials)

    @property
    def settings(self) -> AwsSettings:
        """The cluster's identity (from the routing table) and this gateway's credentials."""
        table = self.context.router.table
        return AwsSettings(table.aws_account_id, table.aws_region, self.secrets)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        request_id = next(_REQUEST_IDS)
        label = "aws:unknown"
        codec: Any = None
        close = False
        head = request.method == "HEAD"
        payload: Payload | None = None
        try:
            wire = _head_of(request)
            recognized = recognize(wire)  # from the head alone: S3 streams its bodies
            if recognized is None and await self._s3_unsigned(request, wire):
                recognized = Recognized("s3", "rest-xml")
            s3 = recognized is not None and recognized.service == "s3"
            if not s3:  # the other services' bodies are small; some name the service
                wire = _with_body(wire, await self._body(request))
                recognized = recognize(wire)
            if recognized is None:
                raise web.HTTPNotFound()
            label = f"aws:{recognized.service}"
            codec = codec_for(recognized.service, protocol=recognized.protocol)
            operation = codec.operation(wire)
            service = self.services.get(recognized.service)
            unsigned_ok = service is not None and operation.name in service.unsigned
            streaming = service is not None and operation.name in service.streaming
            signature = self._authenticate(wire, unsigned_ok, s3=s3)
            caller = "anonymous" if signature is None else str(signature.access_key)
            label = f"aws:{recognized.service}:{operation.name}"
            handler = None if service is None else service.operations.get(operation.name)
            if service is None or handler is None:
                raise AwsError(
                    "NotImplemented",
                    f"raybus does not implement {recognized.service} {operation.name}; "
                    "docs/aws.md lists what it does.",
                    status=501,
                )
            if s3:
                payload = Payload.open(
                    request.headers,
                    _idle_bounded(request.content.iter_any(), self.body_timeout_s),
                    signature=signature,
                    secret=self._secret(signature),
                    max_size=MAX_PUT_SIZE if streaming else MAX_AWS_BODY,
                )
                if not streaming:
                    wire = _with_body(wire, await payload.read_all())
                    payload = None
            else:
                secret = self._secret(signature)
                if signature is not None and secret is not None:
                    verify(wire, signature, secret, now=time.time())
            params = codec.parse(operation, wire)
            if service.from_path is not None and operation.input_shape is not None:
                members = operation.input_shape.members
                service.from_path(params, members, wire.path, _base_url(request))
            problems = validate(operation.input_shape, params, lenient_enums=service.lenient_enums)
            if problems:
                raise AwsError(
                    service.validation_code,
                    validation_message(problems),
                    query_code=service.validation_query_code,
                )
            call = Call(
                self.context,
                self.settings,
                _base_url(request),
                wire.path,
                caller,
                operation.name,
                source_ip=request.remote or "",
                request_id=str(request_id),
                payload=payload,
            )
            try:
                output = await handler(call, params)
            except RaybusError as error:
                raise service.error(error) from None
            audit = self.context.audit
            if audit is not None:
                await audit.record(
                    aws_call(
                        recognized.service,
                        operation.name,
                        caller=caller,
                        source_ip=request.remote or "",
                        user_agent=request.headers.get("User-Agent", ""),
                        request_id=str(request_id),
                        parameters=params,
                        response=output,
                    )
                )
            response = codec.serialize(operation, output, request_id)
        except web.HTTPNotFound:
            raise
        except AwsError as error:
            close = error.code == "RequestTimeout"
            response = self._error(codec, error, request_id, head=head)
        except SignatureError as error:
            aws = AwsError(error.code, error.message, status=error.status)
            response = self._error(codec, aws, request_id, head=head)
        except RaybusError as error:  # reading the body: too large, too slow
            close = error.code == "RequestTimeout"
            aws = AwsError(error.code, error.message, status=error.http_status)
            response = self._error(codec, aws, request_id, head=head)
        except Exception:
            log.exception("unexpected error serving AWS %s %s", request.method, request.path)
            aws = AwsError(
                "InternalFailure", "An unexpected server error.", status=500, sender_fault=False
            )
            response = self._error(codec, aws, request_id, head=head)
        if payload is not None and not payload.complete:
            close = True  # the rest of an upload's body was never read
        outcome = "ok" if response.status < 400 else str(response.status)
        stream = getattr(response, "stream", None)
        out: web.StreamResponse
        if stream is not None and not head:
            out = await _stream(request, response, stream)
        else:
            body = None if head else response.body
            out = web.Response(status=response.status, body=body, headers=response.headers)
            if close:
                out.force_close()
        self.context.metrics.observe(label, outcome, time.perf_counter() - started)
        return out

    async def _s3_unsigned(self, request: web.Request, wire: WireRequest) -> bool:
        """Whether a request no signature or header names a service for is S3's: a
        virtual-host-style one, or a path-style one (unsigned, or with S3's legacy SigV2)
        whose first segment is an existing bucket; anything else is not found."""
        if wire.path in NATIVE_EXACT or wire.path.startswith(NATIVE_PREFIXES):
            return False
        if virtual_bucket(request.headers.get("Host", "")) is not None:
            return True
        if not _s3_shaped(wire):
            return False
        bucket = unquote(wire.path.lstrip("/").split("/", 1)[0])
        if not bucket:
            return False
        try:
            await self.context.router.route("bucket", bucket)
        except RaybusError:
            return False
        return True

    async def _body(self, request: web.Request) -> bytes:
        length = request.content_length or 0
        if length > MAX_AWS_BODY:
            raise AwsError(
                "RequestEntityTooLarge",
                f"The request body exceeds {MAX_AWS_BODY} bytes.",
                status=413,
            )
        if not request.body_exists:
            return b""
        return await read_body(request, self.body_timeout_s, MAX_AWS_BODY)

    def _secret(self, signature: SigV4 | None) -> str | None:
        """The secret a signature is verified with (None when any signature is accepted)."""
        if signature is None or not self.require_signature:
            return None
        return self.credentials.secret(signature.access_key)

    def _authenticate(self, wire: WireRequest, unsigned_ok: bool, *, s3: bool) -> SigV4 | None:
        """The request's signature (None for an unsigned request); with credentials
        configured, an unsigned request is refused unless ``unsigned_ok``, and an S3
        request's signature is verified at once (its body is checked as it is read; other
        services' signatures once the body is read)."""
        signature = parse_authorization(wire, family=S3 if s3 else None)
        if signature is None and s3:
            legacy = parse_sigv2(wire)
            if legacy is not None:
                self._verify_legacy(wire, legacy)
                return None
        if signature is None:
            if self.require_signature and not unsigned_ok:
                raise AwsError(
                    "AccessDenied" if s3 else "MissingAuthenticationToken",
                    "Access Denied" if s3 else "Request is missing Authentication Token",
                    status=403,
                )
            return None
        if self.require_signature:
            secret = self.credentials.secret(signature.access_key)
            if secret is None:
                raise AwsError(
                    "InvalidAccessKeyId" if s3 else "InvalidClientTokenId",
                    "The AWS Access Key Id you provided does not exist in our records."
                    if s3
                    else "The security token included in the request is invalid.",
                    status=403,
                )
            if s3:
                verify(wire, signature, secret, now=time.time(), s3=True, check_payload=False)
        return signature

    def _verify_legacy(self, wire: WireRequest, signature: SigV2) -> None:
        """S3's SigV2 (boto3's default for presigned S3 URLs), verified when credentials are
        configured; the body of such a request is read unsigned."""
        if not self.require_signature:
            return
        secret = self.credentials.secret(signature.access_key)
        if secret is None:
            raise AwsError(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
                status=403,
            )
        verify_sigv2(wire, signature, secret, now=time.time())

    @staticmethod
    def _error(codec: Any, error: AwsError, request_id: str, *, head: bool = False) -> WireResponse:
        if codec is None:  # not even the service is known: AWS's plain XML error
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{error.code}</Code><Message>{_xml_escape(error.message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            return WireResponse(error.status, {"Content-Type": "text/xml"}, body)
        response: WireResponse = (
            codec.error(error, request_id, head=head)
            if codec.protocol == "rest-xml"
            else codec.error(error, request_id)
        )
        return response


def _head_of(request: web.Request) -> WireRequest:
    """The request without its body (read later, whole or streamed), its path in S3's path
    style when it came virtual-host style (``<bucket>.localhost``, ``<bucket>.s3.<domain>``)."""
    path = request.raw_path.split("?", 1)[0]
    bucket = virtual_bucket(request.headers.get("Host", ""))
    if bucket is not None:
        path = f"/{bucket}" + (path if path != "/" else "")
    return WireRequest(
        method=request.method,
        path=path,
        query=tuple(request.query.items()),
        headers=request.headers,
    )


def virtual_bucket(host: str) -> str | None:
    """The bucket a virtual-host-style ``Host`` names, or None (an address, a plain name)."""
    name = "" if host.startswith("[") else host.rsplit(":", 1)[0].lower()
    for suffix in (".localhost", ".localhost.localstack.cloud"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    if ".s3." in name:
        return name.split(".s3.", 1)[0] or None
    return None


def _s3_shaped(wire: WireRequest) -> bool:
    """A request the head does not name a service for is S3's (path style, unsigned or with
    S3's legacy signature), unless it is a query protocol's form POST (its ``Action`` is in
    the body)."""
    return wire.method != "POST" or wire.media_type != "application/x-www-form-urlencoded"


def _with_body(wire: WireRequest, body: bytes) -> WireRequest:
    return WireRequest(wire.method, wire.path, wire.query, wire.headers, body)


async def _idle_bounded(source: AsyncIterator[bytes], timeout_s: float) -> AsyncIterator[bytes]:
    """``source``, refusing a body that stops arriving for ``timeout_s`` (a 5 GiB upload may
    take long; a stalled one may not)."""
    iterator = source.__aiter__()
    while True:
        try:
            async with asyncio.timeout(timeout_s):  # no task per chunk, unlike wait_for
                chunk = await iterator.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RaybusError(
                "RequestTimeout",
                "Your socket connection to the server was not read from or written to within "
                "the timeout period.",
            ) from None
        yield chunk


async def _stream(
    request: web.Request, response: WireResponse, stream: AsyncIterator[bytes]
) -> web.StreamResponse:
    """Write a streamed body (an object's bytes): headers first, then each chunk."""
    out = web.StreamResponse(status=response.status, headers=response.headers)
    length = response.headers.get("Content-Length")
    if length is not None:
        out.content_length = int(length)
    await out.prepare(request)
    try:
        async for chunk in stream:
            await out.write(chunk)
    except (ConnectionResetError, OSError) as error:
        log.info("client went away during a streamed answer: %s", error)
        out.force_close()
        return out
    finally:
        closer = getattr(stream, "aclose", None)
        if closer is not None:
            await closer()
    await out.write_eof()
    return out


def _request_ids() -> Iterator[str]:
    """Request ids in a UUID's form, unique per process: a random start, then counting (a
    ``uuid4`` per request reads the kernel's random source: ~7% of the front's time here)."""
    start = uuid.uuid4().int
    for n in itertools.count(start):
        h = f"{n & _UUID_BITS:032x}"
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_UUID_BITS = (1 << 128) - 1


_REQUEST_IDS = _request_ids()


def _base_url(request: web.Request) -> str:
    host = request.headers.get("Host") or f"{request.url.host}:{request.url.port}"
    return f"{request.scheme}://{host}"


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
