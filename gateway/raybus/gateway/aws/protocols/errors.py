"""Errors in AWS's terms, independent of the protocol that carries them.

A service raises :class:`AwsError`; the codec of the request writes it the way its protocol
does (``__type`` and ``x-amzn-query-error`` for json, ``<ErrorResponse>`` for query,
``x-amzn-errortype`` for rest-json). The codecs raise the protocol-level errors built here when
a request cannot be read; their codes are AWS's own:

- json (awsJson1_0, Coral): ``SerializationException`` (400) for a body that is not JSON or does
  not fit the model, ``UnknownOperationException`` (400) for a missing or unknown
  ``X-Amz-Target`` or a content type that is not ``application/x-amz-json-1.x``;
- query: ``MissingAction`` (400), ``InvalidAction`` (400), ``MalformedQueryString`` (404, as
  AWS's "Common Errors" pages list it) for a form or query string that is not valid UTF-8 or
  has a broken percent escape, ``InvalidParameterValue`` (400) for a value of the wrong type;
- rest-json: ``UnknownOperationException`` (404) when no operation's method and URI template
  match; the service's modeled "cannot read the body" error when it has one (Lambda's
  ``InvalidRequestContentException``, 400), else ``SerializationException`` (400).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "CORAL_CODES",
    "AwsError",
    "internal_failure",
    "invalid_action",
    "invalid_parameter_value",
    "malformed_query_string",
    "missing_action",
    "serialization_exception",
    "unknown_operation",
]

# Codes the JSON protocols write in Coral's namespace ("com.amazon.coral.service#...") rather
# than the service's: the framework, not the service, raises them.
CORAL_CODES = frozenset(
    {"SerializationException", "UnknownOperationException", "InternalFailure", "InternalError"}
)


class AwsError(Exception):
    """An error as AWS reports it.

    ``code`` is the error's name in the service model (``QueueDoesNotExist``,
    ``ResourceNotFoundException``) or a common code (``InvalidParameterValue``); ``query_code``
    the code a query-protocol (or ``awsQueryCompatible``) response carries instead, when it
    differs (``AWS.SimpleQueueService.NonExistentQueue``). ``sender_fault`` picks
    Sender/Receiver (query) or User/Service (rest-json); by default it follows the status.
    ``headers`` are added to the response (``Retry-After``); ``fields`` are further members of
    the modeled error shape (``Reason``), written where the shape places them.
    """

    code: str
    message: str
    status: int
    sender_fault: bool
    query_code: str | None
    headers: dict[str, str]
    fields: dict[str, Any]

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        status: int = 400,
        sender_fault: bool | None = None,
        query_code: str | None = None,
        headers: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.status = status
        self.sender_fault = status < 500 if sender_fault is None else sender_fault
        self.query_code = query_code
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    def __repr__(self) -> str:
        return f"AwsError({self.code!r}, {self.message!r}, status={self.status})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only arguments: rebuild explicitly (errors cross Ray process boundaries).
        state = (
            self.code,
            self.message,
            self.status,
            self.sender_fault,
            self.query_code,
            self.headers,
            self.fields,
        )
        return (_rebuild, state)

    @property
    def fault(self) -> str:
        """``Sender`` or ``Receiver``: the query protocol's ``<Type>``."""
        return "Sender" if self.sender_fault else "Receiver"


def _rebuild(
    code: str,
    message: str,
    status: int,
    sender_fault: bool,
    query_code: str | None,
    headers: dict[str, str],
    fields: dict[str, Any],
) -> AwsError:
    return AwsError(
        code,
        message,
        status=status,
        sender_fault=sender_fault,
        query_code=query_code,
        headers=headers,
        fields=fields,
    )


def serialization_exception(message: str) -> AwsError:
    """A JSON body that cannot be read, or does not fit the model (Coral's code)."""
    return AwsError("SerializationException", message)


def unknown_operation(message: str, *, status: int = 400) -> AwsError:
    """No operation answers this target, or this method and path."""
    return AwsError("UnknownOperationException", message, status=status)


def missing_action() -> AwsError:
    return AwsError("MissingAction", "The request must contain the parameter Action.")


def invalid_action(action: str) -> AwsError:
    return AwsError("InvalidAction", f"The action {action} is not valid for this web service.")


def malformed_query_string(message: str) -> AwsError:
    return AwsError("MalformedQueryString", message, status=404)


def invalid_parameter_value(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message)


def internal_failure(message: str) -> AwsError:
    return AwsError("InternalFailure", message, status=500)
