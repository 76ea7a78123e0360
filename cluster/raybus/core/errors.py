"""The error catalog: one table of stable error codes shared by engines, gateway and SDK.

Contract:
- A code, once published, keeps its meaning, HTTP status and retriable flag forever; new codes
  are appended, none is renamed or reused. The gateway sends ``{"code", "message", "details"}``
  and the SDK rebuilds the same :class:`RaybusError` from it with :func:`error_from_wire`.
- Codes follow the names AWS uses for the same condition where one exists (so users recognise
  them); raybus-only conditions (stale routing, storage failure) have their own names.
- ``retriable`` means: the same request may succeed if repeated later unchanged. Clients retry
  only those.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = [
    "CATALOG",
    "ErrorSpec",
    "RaybusError",
    "as_reply",
    "error_from_wire",
    "printable",
    "replies_with_errors",
]

log = logging.getLogger(__name__)
C = TypeVar("C", bound=type)


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    code: str
    http_status: int
    retriable: bool
    meaning: str


# Append-only. Ordered by family; never reorder codes' meanings.
_SPECS: tuple[ErrorSpec, ...] = (
    # -- request shape ----------------------------------------------------------------------------
    ErrorSpec("MalformedRequest", 400, False, "The body is not valid msgpack/JSON or not a map."),
    ErrorSpec("MissingParameter", 400, False, "A required parameter is absent."),
    ErrorSpec("InvalidParameterValue", 400, False, "A parameter has the wrong type or range."),
    ErrorSpec("InvalidAttributeName", 400, False, "A queue or message attribute name is invalid."),
    ErrorSpec("InvalidAttributeValue", 400, False, "A queue attribute value is invalid."),
    ErrorSpec("InvalidMessageContents", 400, False, "The body holds characters SQS rejects."),
    ErrorSpec("MessageTooLong", 400, False, "Body plus attributes exceed the maximum size."),
    ErrorSpec("RequestTooLarge", 413, False, "The request body exceeds the gateway's limit."),
    ErrorSpec("EmptyBatchRequest", 400, False, "A batch request has no entries."),
    ErrorSpec("TooManyEntriesInBatchRequest", 400, False, "A batch exceeds the entry limit."),
    ErrorSpec("BatchEntryIdsNotDistinct", 400, False, "Two batch entries share an id."),
    ErrorSpec("InvalidBatchEntryId", 400, False, "A batch entry id is malformed."),
    ErrorSpec("BatchRequestTooLong", 400, False, "A batch's total size exceeds the limit."),
    ErrorSpec("UnsupportedOperation", 400, False, "The combination of settings is not supported."),
    # -- resources --------------------------------------------------------------------------------
    ErrorSpec("QueueDoesNotExist", 404, False, "No queue has this name."),
    ErrorSpec("QueueAlreadyExists", 409, False, "A queue of this name exists with other settings."),
    ErrorSpec("QueueDeletedRecently", 409, False, "The queue is still being deleted."),
    ErrorSpec("PurgeQueueInProgress", 409, False, "Only one purge per queue every 60 seconds."),
    ErrorSpec("ResourceNotFound", 404, False, "The referenced resource does not exist."),
    # -- messages ---------------------------------------------------------------------------------
    ErrorSpec("ReceiptHandleIsInvalid", 400, False, "The receipt handle is malformed."),
    ErrorSpec("MessageNotInflight", 400, False, "The message is not in flight for this receipt."),
    ErrorSpec(
        "InvalidRedrivePolicy", 400, False, "The redrive or redrive-allow policy is invalid."
    ),
    ErrorSpec("RedriveNotAllowed", 403, False, "The dead-letter queue does not allow this source."),
    ErrorSpec("MoveTaskConflict", 409, False, "A move task is already running for this source."),
    # -- cluster ----------------------------------------------------------------------------------
    ErrorSpec("StaleEpoch", 409, True, "Routing is stale; refresh the routing table and retry."),
    ErrorSpec("PartitionUnavailable", 503, True, "The partition is recovering or moving."),
    ErrorSpec("Throttled", 429, True, "Too many requests in flight; retry after a pause."),
    ErrorSpec("StorageFailure", 503, False, "The log failed to write; nothing more is accepted."),
    ErrorSpec("InternalError", 500, True, "An unexpected server error."),
    ErrorSpec("Unauthorized", 401, False, "The bearer token is missing or wrong."),
    ErrorSpec("NotFound", 404, False, "No such route."),
    # -- patterns (AWS's codes for EventBridge and SNS) --------------------------------------------
    ErrorSpec("InvalidEventPatternException", 400, False, "An event pattern is invalid."),
    ErrorSpec("ValidationException", 400, False, "An event given to test a pattern is invalid."),
    ErrorSpec("InvalidParameter", 400, False, "A parameter such as a filter policy is invalid."),
    # -- topics, functions, event-source mappings (AWS's SNS and Lambda codes) ---------------------
    ErrorSpec(
        "ResourceConflict", 409, False, "The resource exists with other settings, or is in use."
    ),
    ErrorSpec(
        "TooManyRequestsException", 429, True, "The function's concurrency limit is reached."
    ),
    # -- the HTTP boundary ---------------------------------------------------------------------
    ErrorSpec(
        "UnsupportedMediaType", 415, False, "The body's content type is not JSON or msgpack."
    ),
    ErrorSpec("RequestTimeout", 408, True, "The request's body did not arrive in time."),
    # -- the test clock -------------------------------------------------------------------------
    ErrorSpec(
        "ClockAdvanceIncomplete",
        409,
        False,
        "The test clock stopped before its target: work still running, or a bound was reached.",
    ),
    # -- event buses (EventBridge's codes) --------------------------------------------------------
    ErrorSpec("InvalidArgument", 400, False, "An event entry's parameter is invalid."),
    ErrorSpec("MalformedDetail", 400, False, "An event's detail is not a JSON object."),
    ErrorSpec(
        "NotAuthorizedForSourceException", 400, False, "The event's source is reserved (aws.*)."
    ),
    ErrorSpec("ManagedRuleException", 400, False, "The rule is managed by a service."),
    ErrorSpec("LimitExceededException", 400, False, "A limit such as targets per rule is reached."),
    # -- buckets (S3's codes) ---------------------------------------------------------------------
    ErrorSpec("NoSuchBucket", 404, False, "The bucket does not exist."),
    ErrorSpec("NoSuchKey", 404, False, "The object key does not exist."),
    ErrorSpec("NoSuchVersion", 404, False, "The object version does not exist."),
    ErrorSpec("NoSuchUpload", 404, False, "The multipart upload does not exist."),
    ErrorSpec("BucketAlreadyOwnedByYou", 409, False, "The bucket exists and is yours."),
    ErrorSpec("BucketNotEmpty", 409, False, "The bucket still holds objects or versions."),
    ErrorSpec("InvalidBucketName", 400, False, "The bucket name breaks S3's naming rules."),
    ErrorSpec("KeyTooLongError", 400, False, "The object key is longer than 1,024 bytes."),
    ErrorSpec("MetadataTooLarge", 400, False, "User metadata exceeds 2 KB."),
    ErrorSpec("EntityTooSmall", 400, False, "A multipart part is smaller than 5 MiB."),
    ErrorSpec("EntityTooLarge", 400, False, "The object or part exceeds the maximum size."),
    ErrorSpec("InvalidPart", 400, False, "A listed part was not uploaded or its ETag differs."),
    ErrorSpec("InvalidPartOrder", 400, False, "The listed parts are not in ascending order."),
    ErrorSpec("InvalidRange", 416, False, "The requested range is not satisfiable."),
    ErrorSpec("PreconditionFailed", 412, False, "A conditional header's precondition failed."),
    ErrorSpec("NotModified", 304, False, "The object has not been modified (conditional get)."),
    ErrorSpec("InvalidObjectState", 403, False, "An archived object must be restored first."),
    ErrorSpec(
        "RestoreAlreadyInProgress", 409, False, "The object's restore is already in progress."
    ),
    ErrorSpec("MalformedXML", 400, False, "The XML is not well-formed or not valid."),
    ErrorSpec("InvalidRequest", 400, False, "The request is not valid as a whole."),
    ErrorSpec("InvalidStorageClass", 400, False, "The storage class is not valid."),
    ErrorSpec("InvalidTag", 400, False, "A tag key or value is not valid."),
    ErrorSpec("BadDigest", 400, False, "The body does not match its Content-MD5 or checksum."),
    ErrorSpec("InvalidDigest", 400, False, "The Content-MD5 or checksum header is malformed."),
    ErrorSpec("IncompleteBody", 400, False, "Fewer bytes arrived than the request announced."),
    ErrorSpec("NoSuchTagSet", 404, False, "The object or bucket has no tag set."),
    ErrorSpec("NoSuchLifecycleConfiguration", 404, False, "The bucket has no lifecycle rules."),
    ErrorSpec(
        "ReplicationConfigurationNotFoundError", 404, False, "The bucket has no replication rules."
    ),
    ErrorSpec(
        "ObjectNotInActiveTierError", 403, False, "The source object is archived (copy refused)."
    ),
)

CATALOG: dict[str, ErrorSpec] = {spec.code: spec for spec in _SPECS}


class RaybusError(Exception):
    """A domain error with a catalog code.

    ``details`` carries machine-readable context (the parameter name, the limit, the failing
    batch entry id) and must be msgpack-serialisable.

    The message and every string in ``details`` are made encodable as UTF-8 on construction
    (a lone surrogate becomes ``\\ud800``): an error often quotes the input that caused it,
    and an unencodable string in an exception kills the Ray worker that tries to report it.
    """

    def __init__(self, code: str, message: str, **details: Any) -> None:
        if code not in CATALOG:
            raise ValueError(f"unknown error code {code!r}")
        message = printable(message)
        details = {printable(key): _printable_value(value) for key, value in details.items()}
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def spec(self) -> ErrorSpec:
        return CATALOG[self.code]

    @property
    def http_status(self) -> int:
        return self.spec.http_status

    @property
    def retriable(self) -> bool:
        return self.spec.retriable

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    def __repr__(self) -> str:
        return f"RaybusError({self.code!r}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps the error intact across pickling (Ray task/actor boundaries).
        return (_rebuild, (self.code, self.message, self.details))


def printable(text: str) -> str:
    """``text`` with every code point UTF-8 cannot encode (lone surrogates) escaped as
    ``\\udXXX``; valid text is returned unchanged (and uncopied)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    except AttributeError:  # not a str: an error message must still be text
        return printable(str(text))
    return text


def _printable_value(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_printable_value(item) for item in value)
    if isinstance(value, dict):
        return {_printable_value(k): _printable_value(v) for k, v in value.items()}
    return value


def _rebuild(code: str, message: str, details: dict[str, Any]) -> RaybusError:
    return RaybusError(code, message, **details)


def error_from_wire(payload: dict[str, Any]) -> RaybusError:
    """Rebuild an error sent by :meth:`RaybusError.to_wire`; unknown codes map to InternalError."""
    code = payload.get("code")
    message = str(payload.get("message", ""))
    details = payload.get("details") or {}
    if not isinstance(code, str) or code not in CATALOG:
        return RaybusError("InternalError", f"{code}: {message}")
    return RaybusError(code, message, **dict(details))


def as_reply(error: Exception, where: str) -> RaybusError:
    """What a caller is told of ``error``: the same catalog error (rebuilt, so no chained
    cause travels with it) or, for anything unexpected, ``InternalError`` after logging it."""
    if isinstance(error, RaybusError):
        return RaybusError(error.code, error.message, **error.details)
    log.error("unexpected error in %s", where, exc_info=error)
    return RaybusError("InternalError", f"{where} failed: {type(error).__name__}: {error}")


def replies_with_errors(cls: C) -> C:
    """Class decorator for Ray actors: every public method (sync, async or async generator is
    not supported) reports a failure to its caller as a :class:`RaybusError` raised ``from
    None``, and never lets any other exception escape.

    Why: Ray formats the traceback of an exception that leaves an actor method, chained causes
    included, and a string it cannot encode as UTF-8 there (a lone surrogate quoted from a
    request) kills the actor's worker process. Rebuilt catalog errors carry printable text
    only (see :class:`RaybusError`) and no cause. ``ray.method`` options on a method survive
    (``functools.wraps`` copies the function's attributes)."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(method):
            continue
        setattr(cls, name, _wrap(method, f"{cls.__name__}.{name}"))
    return cls


def _wrap(method: Callable[..., Any], where: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(method):

        @functools.wraps(method)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await method(*args, **kwargs)
            except Exception as error:
                reply = as_reply(error, where)
            raise reply from None

        return guarded

    @functools.wraps(method)
    def guarded_sync(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            reply = as_reply(error, where)
        raise reply from None

    return guarded_sync
