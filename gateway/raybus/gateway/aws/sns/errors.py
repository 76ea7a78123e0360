"""raybus's error codes in SNS's terms (the query protocol's ``Code``, which boto3 maps to its
exception classes: ``NotFound`` → ``NotFoundException``, ``InvalidParameter`` →
``InvalidParameterException``)."""

from __future__ import annotations

from raybus.gateway.aws.service import ErrorMap

__all__ = ["ERRORS"]

ERRORS = ErrorMap(
    {
        "ResourceNotFound": ("NotFound", 404, None),
        "QueueDoesNotExist": ("NotFound", 404, None),
        "InvalidParameter": ("InvalidParameter", 400, None),
        # a setting or name SNS checks itself ("Invalid parameter: Topic Name")
        "InvalidParameterValue": ("InvalidParameter", 400, None),
        "InvalidAttributeName": ("InvalidParameter", 400, None),
        "InvalidAttributeValue": ("ParameterValueInvalid", 400, None),
        "InvalidMessageContents": ("ParameterValueInvalid", 400, None),
        "MissingParameter": ("InvalidParameter", 400, None),
        "MessageTooLong": ("InvalidParameter", 400, None),
        "MalformedRequest": ("InvalidParameter", 400, None),
        "UnsupportedOperation": ("InvalidParameter", 400, None),
        "ResourceConflict": ("InvalidParameter", 400, None),
        "EmptyBatchRequest": ("EmptyBatchRequest", 400, None),
        "TooManyEntriesInBatchRequest": ("TooManyEntriesInBatchRequest", 400, None),
        "BatchEntryIdsNotDistinct": ("BatchEntryIdsNotDistinct", 400, None),
        "InvalidBatchEntryId": ("InvalidBatchEntryId", 400, None),
        "BatchRequestTooLong": ("BatchRequestTooLong", 400, None),
    },
    internal=("InternalError", 500),
    unavailable=("InternalError", 500),
    throttled=("Throttled", 429),
)
