"""raybus's error codes in EventBridge's terms (the ``__type`` botocore raises, HTTP status)."""

from __future__ import annotations

from raybus.gateway.aws.service import ErrorMap

__all__ = ["ERRORS"]

_VALIDATION = ("ValidationException", 400, None)

ERRORS = ErrorMap(
    {
        "ResourceNotFound": ("ResourceNotFoundException", 400, None),
        "QueueDoesNotExist": ("ResourceNotFoundException", 400, None),
        "ResourceConflict": ("ResourceAlreadyExistsException", 400, None),
        "InvalidEventPatternException": ("InvalidEventPatternException", 400, None),
        "ValidationException": _VALIDATION,
        "ManagedRuleException": ("ManagedRuleException", 400, None),
        "LimitExceededException": ("LimitExceededException", 400, None),
        "InvalidParameterValue": _VALIDATION,
        "InvalidParameter": _VALIDATION,
        "MissingParameter": _VALIDATION,
        "MalformedRequest": _VALIDATION,
        "UnsupportedOperation": _VALIDATION,
        "InvalidArgument": _VALIDATION,
        "MalformedDetail": _VALIDATION,
    },
    internal=("InternalException", 500),
    unavailable=("InternalException", 500),
    throttled=("ThrottlingException", 400),
)
