"""Typed errors: one exception class per code of the error catalog (:data:`raybus.core.CATALOG`).

Contract:
- Every class subclasses :class:`raybus.core.RaybusError`, so ``except RaybusError`` catches
  every error the gateway (or the SDK's own input checks) reports, and each instance has
  ``code``, ``message``, ``details``, ``http_status`` and ``retriable``.
- :func:`error_from_wire` rebuilds the class named by a ``{"code", "message", "details"}``
  payload; a code this SDK does not know becomes :class:`InternalError` with the original code
  in ``details["original_code"]``.
- A failure to talk to the gateway at all (connection refused, DNS, timeout, broken
  connection) is :class:`GatewayConnectionError`, a builtin :class:`ConnectionError` and not a
  catalog error; it is raised ``from`` the underlying ``httpx`` exception after retries.
- ``partial_results`` is set only on an error raised by a batch call that the SDK split into
  several requests, when an earlier request had already succeeded: it holds the results of the
  entries answered before the failure (a prefix of the input, in order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from raybus.core.errors import CATALOG, RaybusError

__all__ = [
    "BadDigest",
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "BucketAlreadyOwnedByYou",
    "BucketNotEmpty",
    "ClockAdvanceIncomplete",
    "EmptyBatchRequest",
    "EntityTooLarge",
    "EntityTooSmall",
    "FunctionError",
    "GatewayConnectionError",
    "IncompleteBody",
    "InternalError",
    "InvalidArgument",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "InvalidBatchEntryId",
    "InvalidBucketName",
    "InvalidDigest",
    "InvalidEventPatternException",
    "InvalidMessageContents",
    "InvalidObjectState",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidPart",
    "InvalidPartOrder",
    "InvalidRange",
    "InvalidRedrivePolicy",
    "InvalidRequest",
    "InvalidStorageClass",
    "InvalidTag",
    "KeyTooLongError",
    "LimitExceededException",
    "MalformedDetail",
    "MalformedRequest",
    "MalformedXML",
    "ManagedRuleException",
    "MessageNotInflight",
    "MessageTooLong",
    "MetadataTooLarge",
    "MissingParameter",
    "MoveTaskConflict",
    "NoSuchBucket",
    "NoSuchKey",
    "NoSuchLifecycleConfiguration",
    "NoSuchTagSet",
    "NoSuchUpload",
    "NoSuchVersion",
    "NotAuthorizedForSourceException",
    "NotFound",
    "NotModified",
    "ObjectNotInActiveTierError",
    "PartitionUnavailable",
    "PreconditionFailed",
    "PurgeQueueInProgress",
    "QueueAlreadyExists",
    "QueueDeletedRecently",
    "QueueDoesNotExist",
    "RaybusError",
    "ReceiptHandleIsInvalid",
    "RedriveNotAllowed",
    "ReplicationConfigurationNotFoundError",
    "RequestTimeout",
    "RequestTooLarge",
    "ResourceConflict",
    "ResourceNotFound",
    "RestoreAlreadyInProgress",
    "StaleEpoch",
    "StorageFailure",
    "Throttled",
    "TooManyEntriesInBatchRequest",
    "TooManyRequestsException",
    "Unauthorized",
    "UnsupportedMediaType",
    "UnsupportedOperation",
    "ValidationException",
    "error_class",
    "error_for_status",
    "error_from_wire",
]

_CLASSES: dict[str, type[CatalogError]] = {}


class CatalogError(RaybusError):
    """Base of the typed errors; subclasses bind one catalog code with ``code=...``."""

    _code: ClassVar[str]
    partial_results: list[Any] | None = None

    def __init_subclass__(cls, *, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            if code not in CATALOG:
                raise ValueError(f"{code!r} is not in the error catalog")
            cls._code = code
            if cls.__doc__ is None:
                cls.__doc__ = CATALOG[code].meaning
            _CLASSES[code] = cls

    def __init__(self, message: str = "", **details: Any) -> None:
        super().__init__(self._code, message, **details)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.code, self.message, self.details))


def _rebuild(code: str, message: str, details: dict[Any, Any]) -> RaybusError:
    error = error_class(code)(message)
    error.details = dict(details)
    return error


class MalformedRequest(CatalogError, code="MalformedRequest"): ...


class MissingParameter(CatalogError, code="MissingParameter"): ...


class InvalidParameterValue(CatalogError, code="InvalidParameterValue"): ...


class InvalidAttributeName(CatalogError, code="InvalidAttributeName"): ...


class InvalidAttributeValue(CatalogError, code="InvalidAttributeValue"): ...


class InvalidMessageContents(CatalogError, code="InvalidMessageContents"): ...


class MessageTooLong(CatalogError, code="MessageTooLong"): ...


class RequestTooLarge(CatalogError, code="RequestTooLarge"): ...


class EmptyBatchRequest(CatalogError, code="EmptyBatchRequest"): ...


class TooManyEntriesInBatchRequest(CatalogError, code="TooManyEntriesInBatchRequest"): ...


class BatchEntryIdsNotDistinct(CatalogError, code="BatchEntryIdsNotDistinct"): ...


class InvalidBatchEntryId(CatalogError, code="InvalidBatchEntryId"): ...


class BatchRequestTooLong(CatalogError, code="BatchRequestTooLong"): ...


class UnsupportedOperation(CatalogError, code="UnsupportedOperation"): ...


class QueueDoesNotExist(CatalogError, code="QueueDoesNotExist"): ...


class QueueAlreadyExists(CatalogError, code="QueueAlreadyExists"): ...


class QueueDeletedRecently(CatalogError, code="QueueDeletedRecently"): ...


class PurgeQueueInProgress(CatalogError, code="PurgeQueueInProgress"): ...


class ResourceNotFound(CatalogError, code="ResourceNotFound"): ...


class ReceiptHandleIsInvalid(CatalogError, code="ReceiptHandleIsInvalid"): ...


class MessageNotInflight(CatalogError, code="MessageNotInflight"): ...


class InvalidRedrivePolicy(CatalogError, code="InvalidRedrivePolicy"): ...


class RedriveNotAllowed(CatalogError, code="RedriveNotAllowed"): ...


class MoveTaskConflict(CatalogError, code="MoveTaskConflict"): ...


class StaleEpoch(CatalogError, code="StaleEpoch"): ...


class PartitionUnavailable(CatalogError, code="PartitionUnavailable"): ...


class Throttled(CatalogError, code="Throttled"): ...


class StorageFailure(CatalogError, code="StorageFailure"): ...


class InternalError(CatalogError, code="InternalError"): ...


class Unauthorized(CatalogError, code="Unauthorized"): ...


class NotFound(CatalogError, code="NotFound"): ...


class InvalidEventPatternException(CatalogError, code="InvalidEventPatternException"): ...


class ValidationException(CatalogError, code="ValidationException"): ...


class InvalidParameter(CatalogError, code="InvalidParameter"): ...


class ResourceConflict(CatalogError, code="ResourceConflict"): ...


class TooManyRequestsException(CatalogError, code="TooManyRequestsException"): ...


class UnsupportedMediaType(CatalogError, code="UnsupportedMediaType"): ...


class RequestTimeout(CatalogError, code="RequestTimeout"): ...


class InvalidArgument(CatalogError, code="InvalidArgument"): ...


class MalformedDetail(CatalogError, code="MalformedDetail"): ...


class NotAuthorizedForSourceException(CatalogError, code="NotAuthorizedForSourceException"): ...


class ManagedRuleException(CatalogError, code="ManagedRuleException"): ...


class LimitExceededException(CatalogError, code="LimitExceededException"): ...


class NoSuchBucket(CatalogError, code="NoSuchBucket"): ...


class NoSuchKey(CatalogError, code="NoSuchKey"): ...


class NoSuchVersion(CatalogError, code="NoSuchVersion"): ...


class NoSuchUpload(CatalogError, code="NoSuchUpload"): ...


class BucketAlreadyOwnedByYou(CatalogError, code="BucketAlreadyOwnedByYou"): ...


class BucketNotEmpty(CatalogError, code="BucketNotEmpty"): ...


class InvalidBucketName(CatalogError, code="InvalidBucketName"): ...


class KeyTooLongError(CatalogError, code="KeyTooLongError"): ...


class MetadataTooLarge(CatalogError, code="MetadataTooLarge"): ...


class EntityTooSmall(CatalogError, code="EntityTooSmall"): ...


class EntityTooLarge(CatalogError, code="EntityTooLarge"): ...


class InvalidPart(CatalogError, code="InvalidPart"): ...


class InvalidPartOrder(CatalogError, code="InvalidPartOrder"): ...


class InvalidRange(CatalogError, code="InvalidRange"): ...


class PreconditionFailed(CatalogError, code="PreconditionFailed"): ...


class NotModified(CatalogError, code="NotModified"): ...


class InvalidObjectState(CatalogError, code="InvalidObjectState"): ...


class RestoreAlreadyInProgress(CatalogError, code="RestoreAlreadyInProgress"): ...


class MalformedXML(CatalogError, code="MalformedXML"): ...


class InvalidRequest(CatalogError, code="InvalidRequest"): ...


class InvalidStorageClass(CatalogError, code="InvalidStorageClass"): ...


class InvalidTag(CatalogError, code="InvalidTag"): ...


class BadDigest(CatalogError, code="BadDigest"): ...


class InvalidDigest(CatalogError, code="InvalidDigest"): ...


class IncompleteBody(CatalogError, code="IncompleteBody"): ...


class NoSuchTagSet(CatalogError, code="NoSuchTagSet"): ...


class NoSuchLifecycleConfiguration(CatalogError, code="NoSuchLifecycleConfiguration"): ...


class ReplicationConfigurationNotFoundError(
    CatalogError, code="ReplicationConfigurationNotFoundError"
): ...


class ObjectNotInActiveTierError(CatalogError, code="ObjectNotInActiveTierError"): ...


class ClockAdvanceIncomplete(CatalogError, code="ClockAdvanceIncomplete"): ...


class FunctionError(Exception):
    """A function ran and failed (its handler raised, timed out, or returned something that
    is not JSON): the invocation itself succeeded, so this is not a catalog error and is never
    retried. ``error_type``, ``error_message`` and ``stack_trace`` are Lambda's
    ``errorType``, ``errorMessage`` and ``stackTrace``; ``request_id`` names the invocation."""

    def __init__(
        self,
        error_type: str,
        error_message: str,
        stack_trace: list[str] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{error_type}: {error_message}" if error_message else error_type)
        self.error_type = error_type
        self.error_message = error_message
        self.stack_trace = list(stack_trace or [])
        self.request_id = request_id

    def __repr__(self) -> str:
        return f"FunctionError({self.error_type!r}, {self.error_message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            FunctionError,
            (self.error_type, self.error_message, self.stack_trace, self.request_id),
        )

    @classmethod
    def from_payload(cls, payload: object, request_id: str | None = None) -> FunctionError:
        """Build from the error object of a failed invocation (any shape: a handler may fail
        in ways that leave fields out)."""
        if not isinstance(payload, Mapping):
            return cls("Unhandled", "" if payload is None else str(payload), None, request_id)
        trace = payload.get("stackTrace")
        return cls(
            str(payload.get("errorType") or "Unhandled"),
            str(payload.get("errorMessage") or ""),
            [str(line) for line in trace] if isinstance(trace, list) else None,
            request_id,
        )


class GatewayConnectionError(ConnectionError):
    """The gateway could not be reached or did not answer in time (after the retries).

    Raised ``from`` the ``httpx`` exception. ``timeout`` says whether the cause was a timeout,
    in which case the request may or may not have taken effect (a send may have been enqueued).
    """

    retriable: ClassVar[bool] = True
    partial_results: list[Any] | None = None

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.timeout = timeout


def error_class(code: str) -> type[CatalogError]:
    """The class for a catalog code (a code added to the catalog after this SDK was written
    gets a class made on first use); unknown codes map to :class:`InternalError`."""
    cls = _CLASSES.get(code)
    if cls is None:
        if code not in CATALOG:
            return InternalError
        cls = type(code, (CatalogError,), {"__module__": __name__}, code=code)
    return cls


def error_from_wire(payload: object, *, http_status: int | None = None) -> RaybusError:
    """Rebuild the typed error of an ``{"code", "message", "details"}`` payload."""
    if not isinstance(payload, Mapping):
        return InternalError(f"The gateway sent an unreadable error: {payload!r:.200}")
    code = payload.get("code")
    message = payload.get("message")
    message = message if isinstance(message, str) else ""
    details = payload.get("details")
    details = dict(details) if isinstance(details, Mapping) else {}
    if isinstance(code, str) and code in CATALOG:
        error: RaybusError = error_class(code)(message)
    else:
        error = InternalError(f"{code}: {message}")
        details["original_code"] = code
        if http_status is not None:
            details["http_status"] = http_status
    error.details = details
    return error


# The error an HTTP status most likely means, for answers without an error body (a proxy's
# page, a crashed worker).
_STATUS_CODES = {
    400: "MalformedRequest",
    401: "Unauthorized",
    404: "NotFound",
    413: "RequestTooLarge",
    429: "Throttled",
    503: "PartitionUnavailable",
}


def error_for_status(status: int, text: str = "") -> RaybusError:
    """The typed error for an HTTP failure whose body is not a raybus error."""
    code = _STATUS_CODES.get(status, "InternalError")
    snippet = text.strip()[:200]
    message = f"HTTP {status} without a raybus error body" + (f": {snippet}" if snippet else "")
    return error_class(code)(message, http_status=status)
