"""raybus's error codes in Lambda's terms (rest-json: ``x-amzn-ErrorType`` and
``{"Type", "message"}``; boto3 raises ``client.exceptions.<Code>``).

A throttled invocation carries Lambda's ``Reason`` (``ReservedFunctionConcurrentInvocation
LimitExceeded``) and a ``Retry-After`` header, as Lambda's ``TooManyRequestsException`` does.
"""

from __future__ import annotations

from raybus.core.errors import RaybusError
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import ErrorMap

__all__ = ["ERRORS", "lambda_error"]

_INVALID = ("InvalidParameterValueException", 400, None)

ERRORS = ErrorMap(
    {
        "ResourceNotFound": ("ResourceNotFoundException", 404, None),
        "ResourceConflict": ("ResourceConflictException", 409, None),
        "InvalidParameterValue": _INVALID,
        "InvalidParameter": _INVALID,
        "MissingParameter": _INVALID,
        "MalformedRequest": _INVALID,
        "InvalidEventPatternException": _INVALID,
        "UnsupportedOperation": _INVALID,
        # a mapping's source queue (or a destination) that does not exist
        "QueueDoesNotExist": _INVALID,
        "RequestTooLarge": ("RequestTooLargeException", 413, None),
    },
    internal=("ServiceException", 500),
    unavailable=("ServiceException", 500),
    throttled=("TooManyRequestsException", 429),
)


def lambda_error(error: RaybusError) -> AwsError:
    """``error`` as Lambda reports it."""
    if error.code != "TooManyRequestsException":
        return ERRORS(error)
    reason = str(error.details.get("reason", "ReservedFunctionConcurrentInvocationLimitExceeded"))
    return AwsError(
        "TooManyRequestsException",
        error.message,
        status=429,
        fields={"Reason": reason, "retryAfterSeconds": "1"},  # the latter is Retry-After
    )
