"""The json protocol (awsJson1_0 / 1_1), as botocore's JSONSerializer writes requests and its
JSONParser reads responses: ``POST /``, ``X-Amz-Target: <targetPrefix>.<Operation>``, a JSON
object body (empty means ``{}``); answers are JSON, timestamps in epoch seconds, blobs base64.

Errors carry ``{"__type": "<namespace>#<Code>", "message": ...}``; a service whose model is
``awsQueryCompatible`` (SQS) also sends ``x-amzn-query-error: <query code>;Sender|Receiver``,
from which botocore takes the ``Error.Code`` its users see (and the ``__type`` name picks the
exception class: ``client.exceptions.QueueDoesNotExist``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from raybus.gateway.aws.protocols.errors import (
    CORAL_CODES,
    AwsError,
    internal_failure,
    serialization_exception,
    unknown_operation,
)
from raybus.gateway.aws.protocols.jsonshape import from_json, load_json, to_json
from raybus.gateway.aws.protocols.models import error_shape
from raybus.gateway.aws.protocols.values import BadValue
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse

__all__ = ["JSON_MEDIA_TYPES", "JsonCodec", "dump_json"]

JSON_MEDIA_TYPES = ("application/x-amz-json-1.0", "application/x-amz-json-1.1")


def dump_json(value: Any, *, lenient: bool = False) -> bytes:
    """Compact UTF-8 JSON; ``AwsError(InternalFailure)`` if it holds a lone surrogate, unless
    ``lenient`` (errors: escaped as ``\\udXXX`` rather than refused).

    orjson writes every answer it can (the same compact JSON, several times faster); what it
    refuses — a lone surrogate, a key that is not text, an integer past 64 bits — is written or
    refused by :mod:`json` as before."""
    try:
        return orjson.dumps(value)
    except TypeError:
        pass
    try:
        return json.dumps(value, ensure_ascii=lenient, separators=(",", ":")).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError) as error:
        raise internal_failure(f"the response cannot be written as JSON: {error}") from error


def serialization_error(error: BadValue) -> AwsError:
    where = f" at '{error.path}'" if error.path else ""
    return serialization_exception(
        f"Cannot deserialize the request body{where}: expected {error.reason}."
    )


class JsonCodec:
    """The json protocol for one service model."""

    protocol = "json"

    def __init__(self, service: Any) -> None:
        self.service = service
        metadata = service.metadata
        self._target_prefix = str(metadata["targetPrefix"])
        self._media_type = f"application/x-amz-json-{metadata.get('jsonVersion', '1.0')}"
        self._namespace = f"com.amazonaws.{service.endpoint_prefix}#"
        self._query_compatible = bool(service.is_query_compatible)
        self._operations = {
            service.operation_model(name).wire_name: service.operation_model(name)
            for name in service.operation_names
        }

    def operation(self, request: WireRequest) -> Any:
        if request.method.upper() != "POST":
            raise unknown_operation(f"The json protocol takes POST requests, not {request.method}.")
        if request.media_type not in JSON_MEDIA_TYPES:
            kind = request.media_type or "none"
            raise unknown_operation(
                f"Unsupported content type {kind!r}: expected {self._media_type}."
            )
        target = request.headers.get("X-Amz-Target", "").strip()
        prefix, _, name = target.rpartition(".")
        operation = self._operations.get(name) if prefix == self._target_prefix else None
        if operation is None:
            shown = target[:128] or "(missing X-Amz-Target)"
            raise unknown_operation(f"Unknown operation {shown}.")
        return operation

    def parse(self, operation: Any, request: WireRequest) -> dict[str, Any]:
        try:
            value = load_json(request.body) if request.body.strip() else {}
            if not isinstance(value, dict):
                raise BadValue("a JSON object")
            shape = operation.input_shape
            params: dict[str, Any] = {} if shape is None else from_json(shape, value)
        except BadValue as error:
            raise serialization_error(error) from None
        except RecursionError:
            raise serialization_exception("The request body nests too deeply.") from None
        return params

    def serialize(self, operation: Any, output: Mapping[str, Any], request_id: str) -> WireResponse:
        shape = operation.output_shape
        try:
            value = {} if shape is None else to_json(shape, output)
        except (TypeError, ValueError) as error:
            raise internal_failure(f"{operation.name}: {error}") from error
        return WireResponse(
            int(operation.http.get("responseCode", 200)),
            self._headers(request_id),
            dump_json(value),
        )

    def error(self, error: AwsError, request_id: str) -> WireResponse:
        namespace = "com.amazon.coral.service#" if error.code in CORAL_CODES else self._namespace
        body: dict[str, Any] = {"__type": namespace + error.code}
        shape = error_shape(self.service, error.code)
        if shape is not None and error.fields:
            try:
                fields = to_json(shape, error.fields)
            except (TypeError, ValueError):
                fields = {}
            body.update(fields)
        body["message"] = error.message
        headers = self._headers(request_id)
        if self._query_compatible:
            headers["x-amzn-query-error"] = f"{error.query_code or error.code};{error.fault}"
        headers.update(error.headers)
        return WireResponse(error.status, headers, dump_json(body, lenient=True))

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"Content-Type": self._media_type, "x-amzn-RequestId": request_id}
