"""The rest-json protocol (restJson1), inverting botocore's RestJSONSerializer and feeding its
RestJSONParser: Lambda.

An operation is found by method and ``requestUri`` template (:mod:`.routes`). Input members sit
where the model places them: URI labels, the query string and headers as :mod:`.rest` reads
them (shared with rest-xml), the payload member (a blob or string is the raw body, a structure
is a JSON body), the rest in a JSON body. Outputs go back the same way; the status comes from a
``statusCode`` member, else ``http.responseCode`` (200).

Errors: ``x-amzn-ErrorType: <Code>`` and ``{"Type": "User"|"Service", "message": ...}`` (or
``Message`` when the error shape spells it so), plus the error shape's other members; no body
when the request was a HEAD (``error(..., head=True)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raybus.gateway.aws.protocols.errors import (
    AwsError,
    internal_failure,
    serialization_exception,
    unknown_operation,
)
from raybus.gateway.aws.protocols.json10 import dump_json
from raybus.gateway.aws.protocols.jsonshape import from_json, load_json, to_json
from raybus.gateway.aws.protocols.models import error_shape
from raybus.gateway.aws.protocols.rest import place_located, read_located, split_header_list
from raybus.gateway.aws.protocols.routes import Router
from raybus.gateway.aws.protocols.values import BadValue
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse

__all__ = ["RestJsonCodec", "split_header_list"]

_BODYLESS = (204, 304)


class RestJsonCodec:
    """The rest-json protocol for one service model."""

    protocol = "rest-json"

    def __init__(self, service: Any) -> None:
        self.service = service
        self._router = Router(service)
        bad_body = error_shape(service, "InvalidRequestContentException")
        self._bad_code = bad_body.name if bad_body is not None else None
        self._bad_status = (
            int(bad_body.metadata.get("error", {}).get("httpStatusCode", 400))
            if bad_body is not None
            else 400
        )

    def _bad(self, error: BadValue, where: str) -> AwsError:
        at = f" at '{error.path}'" if error.path else ""
        message = f"Could not parse the request {where}{at}: expected {error.reason}."
        if self._bad_code is None:
            return serialization_exception(message)
        return AwsError(self._bad_code, message, status=self._bad_status)

    # -- requests ---------------------------------------------------------------------------

    def operation(self, request: WireRequest) -> Any:
        operation = self._router.match(request.method, request.path, request.query)
        if operation is None:
            raise unknown_operation(
                f"No operation matches {request.method} {request.path[:256]}.", status=404
            )
        return operation

    def parse(self, operation: Any, request: WireRequest) -> dict[str, Any]:
        labels = self._router.labels(operation, request.path)
        if labels is None:
            raise unknown_operation(
                f"{operation.name} does not match {request.method} {request.path[:256]}.",
                status=404,
            )
        shape = operation.input_shape
        if shape is None:
            return {}
        params: dict[str, Any] = {}
        try:
            claimed = self._router.literal_query_keys(operation)
            read_located(shape, labels, request, params, claimed=claimed)
        except BadValue as error:
            raise self._bad(error, "parameters") from None
        try:
            self._body(shape, request.body, params)
        except BadValue as error:
            raise self._bad(error, "body") from None
        except RecursionError:
            raise self._bad(BadValue("JSON nested less deeply"), "body") from None
        return params

    def _body(self, shape: Any, body: bytes, params: dict[str, Any]) -> None:
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if member.type_name == "blob":
                if body:
                    params[payload] = body
            elif member.type_name == "string":
                if body:
                    try:
                        params[payload] = body.decode("utf-8")
                    except UnicodeDecodeError:
                        raise BadValue("UTF-8 text") from None
            elif body.strip():
                value = load_json(body)
                if value != {}:
                    params[payload] = from_json(member, value, payload)
            return
        if not any("location" not in m.serialization for m in shape.members.values()):
            return
        value = load_json(body) if body.strip() else {}
        if not isinstance(value, dict):
            raise BadValue("a JSON object")
        params.update(from_json(shape, value, body_only=True))

    # -- responses --------------------------------------------------------------------------

    def serialize(self, operation: Any, output: Mapping[str, Any], request_id: str) -> WireResponse:
        try:
            return self._serialize(operation, output, request_id)
        except (TypeError, ValueError) as error:
            raise internal_failure(f"{operation.name}: {error}") from error

    def _serialize(
        self, operation: Any, output: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        status = int(operation.http.get("responseCode", 200))
        headers = self._headers(request_id)
        shape = operation.output_shape
        if shape is None:
            if output:
                raise ValueError(f"{operation.name} has no output, but was given {sorted(output)}")
            return WireResponse(status, headers, b"" if status in _BODYLESS else b"{}")
        if shape.serialization.get("eventstream") or operation.has_event_stream_output:
            raise ValueError("event stream responses are not supported")
        members = shape.members
        for name in output:
            if name not in members:
                raise ValueError(f"{name!r} is not a member of {shape.name}")
        status = place_located(members, output, headers, status)
        payload = shape.serialization.get("payload")
        if payload is not None:
            body = self._payload(members[payload], output.get(payload))
        elif any("location" not in m.serialization for m in members.values()):
            body = dump_json(to_json(shape, output, body_only=True))
        else:
            body = b"{}"
        if status in _BODYLESS:
            body = b""
        return WireResponse(status, headers, body)

    def _payload(self, member: Any, value: Any) -> bytes:
        if value is None:
            return b""
        if member.type_name in ("blob", "string"):
            if isinstance(value, str):
                return value.encode("utf-8")
            if isinstance(value, bytes | bytearray | memoryview):
                return bytes(value)
            if hasattr(value, "read"):
                data = value.read()
                return data.encode("utf-8") if isinstance(data, str) else bytes(data)
            raise TypeError(f"{member.name} must be bytes, not {type(value).__name__}")
        return dump_json(to_json(member, value))

    def error(self, error: AwsError, request_id: str, *, head: bool = False) -> WireResponse:
        """``error`` as rest-json writes it; without a body for a HEAD request (``head``)."""
        headers = self._headers(request_id)
        headers["x-amzn-ErrorType"] = error.code
        body: dict[str, Any] = {"Type": "User" if error.sender_fault else "Service"}
        shape = error_shape(self.service, error.code)
        message_key = "message"
        if shape is not None:
            members = shape.members
            if "Message" in members and "message" not in members:
                message_key = "Message"
            if error.fields:
                try:
                    place_located(members, error.fields, headers, error.status)
                    body.update(to_json(shape, error.fields, body_only=True))
                except (TypeError, ValueError):
                    pass
        body[message_key] = error.message
        headers.update(error.headers)
        if head or error.status in _BODYLESS:
            return WireResponse(error.status, headers, b"")
        return WireResponse(error.status, headers, dump_json(body, lenient=True))

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
