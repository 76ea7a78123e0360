"""The query protocol (awsQuery), inverting botocore's QuerySerializer and feeding its
QueryParser: SNS, STS, IAM, and SQS as clients older than botocore 1.34.90 speak it.

A request is form-encoded, in the body (``application/x-www-form-urlencoded``) or, for GET, in
the query string; both are read, the body winning. ``Action`` names the operation. Keys are
dotted paths: ``Attributes.entry.1.key``, ``AttributeName.1`` (flattened), ``Tags.member.2.Key``;
an empty list is ``Name=``. Answers are ``<OpResponse xmlns=...><OpResult>...</OpResult>
<ResponseMetadata><RequestId>..</RequestId></ResponseMetadata></OpResponse>`` and errors
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``, where
the code is the query code (``AWS.SimpleQueueService.NonExistentQueue``) when there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from raybus.gateway.aws.protocols.errors import (
    AwsError,
    internal_failure,
    invalid_action,
    invalid_parameter_value,
    malformed_query_string,
    missing_action,
)
from raybus.gateway.aws.protocols.models import error_shape
from raybus.gateway.aws.protocols.values import BadValue, bad_text, scalar_from_text
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse
from raybus.gateway.aws.protocols.xml import escape, write_members

__all__ = ["FORM_MEDIA_TYPE", "QueryCodec", "form_pairs"]

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_INDEX = re.compile(r"[1-9][0-9]{0,8}\Z")


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The decoded pairs of a form body; ``MalformedQueryString`` if it is not UTF-8, has a
    broken percent escape, or escapes bytes that are not UTF-8."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed_query_string("The request body is not valid UTF-8.") from None
    pairs: list[tuple[str, str]] = []
    for part in text.split("&"):
        if not part:
            continue
        if _BROKEN_ESCAPE.search(part):
            raise malformed_query_string("The request body has a malformed percent escape.")
        name, _, value = part.partition("=")
        try:
            pairs.append(
                (unquote_plus(name, errors="strict"), unquote_plus(value, errors="strict"))
            )
        except UnicodeDecodeError:
            raise malformed_query_string(
                "The request body escapes bytes that are not UTF-8."
            ) from None
    return pairs


class _Node:
    """One dotted component of the parameter keys: its value, and the components below."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(params: Mapping[str, str]) -> _Node:
    root = _Node()
    for key, value in params.items():
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.value = value
    return root


def _indexed(node: _Node) -> list[tuple[int, _Node]]:
    return sorted(
        ((int(key), child) for key, child in node.children.items() if _INDEX.match(key)),
        key=lambda pair: pair[0],
    )


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class QueryCodec:
    """The query protocol for one service model."""

    protocol = "query"

    def __init__(self, service: Any) -> None:
        self.service = service
        metadata = service.metadata
        self._namespace = str(
            metadata.get("xmlNamespace")
            or f"https://{service.endpoint_prefix}.amazonaws.com/doc/{service.api_version}/"
        )
        self._operations = {
            service.operation_model(name).wire_name: service.operation_model(name)
            for name in service.operation_names
        }

    # -- requests ---------------------------------------------------------------------------

    def params(self, request: WireRequest) -> dict[str, str]:
        """The request's parameters: the query string's, then the form body's."""
        params: dict[str, str] = {}
        for key, value in request.query:
            if bad_text(key) or bad_text(value):
                raise malformed_query_string("The query string is not valid UTF-8.")
            params[key] = value
        if request.body and request.media_type in (FORM_MEDIA_TYPE, ""):
            params.update(form_pairs(request.body))
        return params

    def operation(self, request: WireRequest) -> Any:
        action = self.params(request).get("Action")
        if not action:
            raise missing_action()
        operation = self._operations.get(action)
        if operation is None:
            raise invalid_action(action[:128])
        return operation

    def parse(self, operation: Any, request: WireRequest) -> dict[str, Any]:
        shape = operation.input_shape
        params = self.params(request)
        if shape is None:
            return {}
        try:
            return self._structure(shape, _tree(params), "")
        except BadValue as error:
            raise invalid_parameter_value(
                f"Invalid value for the parameter {error.path}: expected {error.reason}."
            ) from None

    def _read(self, shape: Any, node: _Node, path: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self._structure(shape, node, path)
        if kind == "list":
            return self._list(shape, node, path)
        if kind == "map":
            return self._map(shape, node, path)
        if node.value is None:
            raise BadValue("a value", path)
        try:
            return scalar_from_text(shape, kind, node.value, "iso8601")
        except BadValue as error:
            raise error.at(path) from None

    def _structure(self, shape: Any, node: _Node, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            own = member.serialization.get("name", name)
            key = own
            if member.type_name == "list" and member.serialization.get("flattened"):
                key = member.member.serialization.get("name", own)
            child = node.children.get(key)
            if child is None and key != own:
                child = node.children.get(own)  # an empty flattened list: "Own="
            if child is not None:
                out[name] = self._read(member, child, _join(path, key))
        return out

    def _list(self, shape: Any, node: _Node, path: str) -> list[Any]:
        if not node.children:
            if node.value:
                raise BadValue("a list (Name.member.N), not a single value", path)
            return []
        if shape.serialization.get("flattened"):
            items, where = node, path
        else:
            tag = shape.member.serialization.get("name", "member")
            found = node.children.get(tag)
            if found is None:
                return []
            items, where = found, _join(path, tag)
        member = shape.member
        return [self._read(member, child, f"{where}.{i}") for i, child in _indexed(items)]

    def _map(self, shape: Any, node: _Node, path: str) -> dict[Any, Any]:
        if shape.serialization.get("flattened"):
            entries, where = node, path
        else:
            found = node.children.get("entry")
            if found is None:
                if node.value:
                    raise BadValue("a map (Name.entry.N.key/value), not a single value", path)
                return {}
            entries, where = found, _join(path, "entry")
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        for i, entry in _indexed(entries):
            key_node = entry.children.get(key_tag)
            value_node = entry.children.get(value_tag)
            if key_node is None:
                raise BadValue("a key", f"{where}.{i}.{key_tag}")
            if value_node is None:
                raise BadValue("a value", f"{where}.{i}.{value_tag}")
            key = self._read(shape.key, key_node, f"{where}.{i}.{key_tag}")
            out[key] = self._read(shape.value, value_node, f"{where}.{i}.{value_tag}")
        return out

    # -- responses --------------------------------------------------------------------------

    def serialize(self, operation: Any, output: Mapping[str, Any], request_id: str) -> WireResponse:
        name = operation.name
        parts = [
            f'<?xml version="1.0" encoding="UTF-8"?><{name}Response xmlns="{self._namespace}">'
        ]
        shape = operation.output_shape
        try:
            if shape is not None:
                wrapper = shape.serialization.get("resultWrapper")
                if wrapper:
                    parts.append(f"<{wrapper}>")
                write_members(shape, output, parts)
                if wrapper:
                    parts.append(f"</{wrapper}>")
            elif output:
                raise ValueError(f"{name} has no output, but was given {sorted(output)}")
        except (TypeError, ValueError) as error:
            raise internal_failure(f"{name}: {error}") from error
        parts.append(self._metadata(request_id))
        parts.append(f"</{name}Response>")
        return WireResponse(
            int(operation.http.get("responseCode", 200)),
            self._headers(request_id),
            "".join(parts).encode("utf-8"),
        )

    def error(self, error: AwsError, request_id: str) -> WireResponse:
        code = escape(error.query_code or error.code, lenient=True)
        parts = [
            f'<?xml version="1.0" encoding="UTF-8"?><ErrorResponse xmlns="{self._namespace}">',
            f"<Error><Type>{error.fault}</Type><Code>{code}</Code>",
            f"<Message>{escape(error.message, lenient=True)}</Message>",
        ]
        shape = error_shape(self.service, error.code)
        if shape is not None and error.fields:
            extra: list[str] = []
            try:
                write_members(shape, error.fields, extra)
            except (TypeError, ValueError):
                extra = []
            parts.extend(extra)
        parts.append(f"</Error><RequestId>{escape(request_id, lenient=True)}</RequestId>")
        parts.append("</ErrorResponse>")
        headers = self._headers(request_id)
        headers.update(error.headers)
        return WireResponse(error.status, headers, "".join(parts).encode("utf-8", "replace"))

    def _metadata(self, request_id: str) -> str:
        rid = escape(request_id, lenient=True)
        return f"<ResponseMetadata><RequestId>{rid}</RequestId></ResponseMetadata>"

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
