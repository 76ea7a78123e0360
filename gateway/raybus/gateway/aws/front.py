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

import itertools
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

from aiohttp import web

from raybus.core.errors import RaybusError
from raybus.gateway.api import Context
from raybus.gateway.audit import aws_call
from raybus.gateway.aws.protocols import (
    AwsError,
    WireRequest,
    WireResponse,
    codec_for,
    validate,
    validation_message,
)
from raybus.gateway.aws.recognize import recognize
from raybus.gateway.aws.service import AwsService, AwsSettings, Call
from raybus.gateway.aws.sigv4 import Credentials, SignatureError, parse_authorization, verify
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
        try:
            wire = await self._wire(request)
            recognized = recognize(wire)
            if recognized is None:
                raise web.HTTPNotFound()
            label = f"aws:{recognized.service}"
            codec = codec_for(recognized.service, protocol=recognized.protocol)
            operation = codec.operation(wire)
            service = self.services.get(recognized.service)
            unsigned_ok = service is not None and operation.name in service.unsigned
            caller = self._authenticate(wire, unsigned_ok)
            label = f"aws:{recognized.service}:{operation.name}"
            handler = None if service is None else service.operations.get(operation.name)
            if service is None or handler is None:
                raise AwsError(
                    "NotImplemented",
                    f"raybus does not implement {recognized.service} {operation.name}; "
                    "docs/aws.md lists what it does.",
                    status=501,
                )
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
            response = self._error(codec, error, request_id)
        except SignatureError as error:
            response = self._error(
                codec, AwsError(error.code, error.message, status=error.status), request_id
            )
        except RaybusError as error:  # reading the body: too large, too slow
            close = error.code == "RequestTimeout"
            aws = AwsError(error.code, error.message, status=error.http_status)
            response = self._error(codec, aws, request_id)
        except Exception:
            log.exception("unexpected error serving AWS %s %s", request.method, request.path)
            aws = AwsError(
                "InternalFailure", "An unexpected server error.", status=500, sender_fault=False
            )
            response = self._error(codec, aws, request_id)
        out = web.Response(status=response.status, body=response.body, headers=response.headers)
        if close:
            out.force_close()
        outcome = "ok" if response.status < 400 else str(response.status)
        self.context.metrics.observe(label, outcome, time.perf_counter() - started)
        return out

    async def _wire(self, request: web.Request) -> WireRequest:
        length = request.content_length or 0
        if length > MAX_AWS_BODY:
            raise AwsError(
                "RequestEntityTooLarge",
                f"The request body exceeds {MAX_AWS_BODY} bytes.",
                status=413,
            )
        body = (
            await read_body(request, self.body_timeout_s, MAX_AWS_BODY)
            if request.body_exists
            else b""
        )
        path = request.raw_path.split("?", 1)[0]
        return WireRequest(
            method=request.method,
            path=path,
            query=tuple(request.query.items()),
            headers=request.headers,
            body=body,
        )

    def _authenticate(self, wire: WireRequest, unsigned_ok: bool) -> str:
        """The caller's access key id ("anonymous" for an unsigned request); with credentials
        configured, the signature is verified and an unsigned request refused unless
        ``unsigned_ok``."""
        signature = parse_authorization(wire)
        if signature is None:
            if self.require_signature and not unsigned_ok:
                raise AwsError(
                    "MissingAuthenticationToken",
                    "Request is missing Authentication Token",
                    status=403,
                )
            return "anonymous"
        if self.require_signature:
            secret = self.credentials.secret(signature.access_key)
            if secret is None:
                raise AwsError(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                    status=403,
                )
            verify(wire, signature, secret, now=time.time())
        return str(signature.access_key)

    @staticmethod
    def _error(codec: Any, error: AwsError, request_id: str) -> WireResponse:
        if codec is None:  # not even the service is known: AWS's plain XML error
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{error.code}</Code><Message>{_xml_escape(error.message)}</Message>"
                f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
            return WireResponse(error.status, {"Content-Type": "text/xml"}, body)
        response: WireResponse = codec.error(error, request_id)
        return response


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
