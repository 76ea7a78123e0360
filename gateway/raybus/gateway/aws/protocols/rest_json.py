"""The rest-json protocol (restJson1), inverting botocore's RestJSONSerializer and feeding its
RestJSONParser: Lambda.

An operation is found by method and ``requestUri`` template (:mod:`.routes`). Input members sit
where the model places them: URI labels (percent-decoded), the query string (lists as repeated
keys, a map takes the keys nobody else claims), headers (lists comma-separated, ``jsonvalue``
as base64 JSON, a ``headers`` map by prefix), the payload member (a blob or string is the raw
body, a structure is a JSON body), the rest in a JSON body. Outputs go back the same way; the
status comes from a ``statusCode`` member, else ``http.responseCode`` (200).

Errors: ``x-amzn-ErrorType: <Code>`` and ``{"Type": "User"|"Service", "message": ...}`` (or
``Message`` when the error shape spells it so), plus the error shape's other members.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from raybus.gateway.aws.protocols.errors import (
    AwsError,
    internal_failure,
    serialization_exception,
    unknown_operation,
)
from raybus.gateway.aws.protocols.json10 import dump_json
from raybus.gateway.aws.protocols.jsonshape import from_json, load_json, scalar_out, to_json
from raybus.gateway.aws.protocols.models import error_shape
from raybus.gateway.aws.protocols.routes import Router
from raybus.gateway.aws.protocols.values import BadValue, bad_text, scalar_from_text
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse

__all__ = ["RestJsonCodec", "split_header_list"]

_BODYLESS = (204, 304)


def split_header_list(text: str) -> list[str]:
    """A comma-separated header list; items in double quotes may hold commas and ``\\"``."""
    items: list[str] = []
    i, n = 0, len(text)
    while i <= n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            chars: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(text[i])
                i += 1
            items.append("".join(chars))
            comma = text.find(",", i)
            i = n if comma < 0 else comma
        else:
            comma = text.find(",", i)
            end = n if comma < 0 else comma
            items.append(text[i:end].strip())
            i = end
        i += 1
    return items


def _header_list_item(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"' if '"' in text or "," in text else text


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
            self._located(operation, labels, request, params)
        except BadValue as error:
            raise self._bad(error, "parameters") from None
        try:
            self._body(shape, request.body, params)
        except BadValue as error:
            raise self._bad(error, "body") from None
        except RecursionError:
            raise self._bad(BadValue("JSON nested less deeply"), "body") from None
        return params

    def _located(
        self, operation: Any, labels: dict[str, str], request: WireRequest, params: dict[str, Any]
    ) -> None:
        shape = operation.input_shape
        query: list[tuple[str, str]] = list(request.query)
        for key, value in query:
            if bad_text(key) or bad_text(value):
                raise BadValue("a query string in UTF-8")
        claimed = set(self._router.literal_query_keys(operation))
        query_map: tuple[str, Any] | None = None
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "uri":
                raw = labels.get(wire)
                if raw is not None:
                    try:
                        text = unquote(raw, errors="strict")
                    except UnicodeDecodeError:
                        raise BadValue("a URI label in UTF-8", wire) from None
                    params[name] = self._text(member, text, "iso8601", wire)
            elif location == "querystring":
                if member.type_name == "map":
                    query_map = (name, member)
                    continue
                claimed.add(wire)
                values = [value for key, value in query if key == wire]
                if not values:
                    continue
                if member.type_name == "list":
                    params[name] = [self._text(member.member, v, "iso8601", wire) for v in values]
                else:
                    params[name] = self._text(member, values[-1], "iso8601", wire)
            elif location == "header":
                header = request.headers.get(wire)
                if header is not None:
                    params[name] = self._header(member, header, wire)
            elif location == "headers":
                prefix = wire.lower()
                found = {
                    key[len(prefix) :]: value
                    for key, value in request.headers.items()
                    if key.lower().startswith(prefix)
                }
                if found:
                    params[name] = found
        if query_map is not None:
            name, member = query_map
            rest: dict[str, Any] = {}
            for key, value in query:
                if key in claimed:
                    continue
                if member.value.type_name == "list":
                    rest.setdefault(key, []).append(value)
                else:
                    rest[key] = value
            if rest:
                params[name] = rest

    def _text(self, shape: Any, text: str, timestamp_format: str, wire: str) -> Any:
        try:
            return scalar_from_text(shape, shape.type_name, text, timestamp_format)
        except BadValue as error:
            raise error.at(wire) from None

    def _header(self, member: Any, text: str, wire: str) -> Any:
        if member.type_name == "list":
            return [
                self._text(member.member, item, "rfc822", wire) for item in split_header_list(text)
            ]
        if member.type_name == "string" and member.serialization.get("jsonvalue"):
            try:
                return json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
            except (binascii.Error, ValueError, UnicodeDecodeError):
                raise BadValue("base64-encoded JSON", wire) from None
        return self._text(member, text, "rfc822", wire)

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
        status = self._place(members, output, headers, status)
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

    def _place(
        self, members: Any, values: Mapping[str, Any], headers: dict[str, str], status: int
    ) -> int:
        for name, member in members.items():
            item = values.get(name)
            location = member.serialization.get("location")
            if item is None or location is None:
                continue
            wire = member.serialization.get("name", name)
            if location == "statusCode":
                status = int(item)
            elif location == "header":
                headers[wire] = _header_text(member, item)
            elif location == "headers":
                for key, value in item.items():
                    headers[wire + str(key)] = str(value)
        return status

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

    def error(self, error: AwsError, request_id: str) -> WireResponse:
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
                    self._place(members, error.fields, headers, error.status)
                    body.update(to_json(shape, error.fields, body_only=True))
                except (TypeError, ValueError):
                    pass
        body[message_key] = error.message
        headers.update(error.headers)
        return WireResponse(error.status, headers, dump_json(body, lenient=True))

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"Content-Type": "application/json", "x-amzn-RequestId": request_id}


def _header_text(member: Any, value: Any) -> str:
    kind = member.type_name
    if kind == "list":
        return ",".join(_header_list_item(_header_text(member.member, item)) for item in value)
    if kind == "string" and member.serialization.get("jsonvalue"):
        data = json.dumps(value, separators=(",", ":")).encode("utf-8")
        return base64.b64encode(data).decode("ascii")
    text = scalar_out(member, kind, value, "rfc822")
    if kind == "boolean":
        return "true" if text else "false"
    return str(text)
