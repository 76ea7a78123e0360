"""raybus's error codes in SQS's terms: the error shape botocore raises (``__type``), the HTTP
status, and the query-compatible code SQS's clients have always seen (``Error.Code``)."""

from __future__ import annotations

from raybus.gateway.aws.service import ErrorMap

__all__ = ["ERRORS"]

_SQS = "AWS.SimpleQueueService."

ERRORS = ErrorMap(
    {
        "QueueDoesNotExist": ("QueueDoesNotExist", 400, _SQS + "NonExistentQueue"),
        "QueueAlreadyExists": ("QueueNameExists", 400, "QueueAlreadyExists"),
        "QueueDeletedRecently": ("QueueDeletedRecently", 400, _SQS + "QueueDeletedRecently"),
        "PurgeQueueInProgress": ("PurgeQueueInProgress", 403, _SQS + "PurgeQueueInProgress"),
        "ReceiptHandleIsInvalid": ("ReceiptHandleIsInvalid", 400, "ReceiptHandleIsInvalid"),
        "MessageNotInflight": ("MessageNotInflight", 400, _SQS + "MessageNotInflight"),
        "EmptyBatchRequest": ("EmptyBatchRequest", 400, _SQS + "EmptyBatchRequest"),
        "TooManyEntriesInBatchRequest": (
            "TooManyEntriesInBatchRequest",
            400,
            _SQS + "TooManyEntriesInBatchRequest",
        ),
        "BatchEntryIdsNotDistinct": (
            "BatchEntryIdsNotDistinct",
            400,
            _SQS + "BatchEntryIdsNotDistinct",
        ),
        "InvalidBatchEntryId": ("InvalidBatchEntryId", 400, _SQS + "InvalidBatchEntryId"),
        "BatchRequestTooLong": ("BatchRequestTooLong", 400, _SQS + "BatchRequestTooLong"),
        "InvalidAttributeName": ("InvalidAttributeName", 400, "InvalidAttributeName"),
        "InvalidAttributeValue": ("InvalidAttributeValue", 400, "InvalidAttributeValue"),
        "InvalidMessageContents": ("InvalidMessageContents", 400, "InvalidMessageContents"),
        "MessageTooLong": ("InvalidParameterValue", 400, "InvalidParameterValue"),
        "MissingParameter": ("MissingParameter", 400, "MissingParameter"),
        "InvalidParameterValue": ("InvalidParameterValue", 400, "InvalidParameterValue"),
        "InvalidRedrivePolicy": ("InvalidParameterValue", 400, "InvalidParameterValue"),
        "RedriveNotAllowed": ("InvalidParameterValue", 400, "InvalidParameterValue"),
        "UnsupportedOperation": ("UnsupportedOperation", 400, _SQS + "UnsupportedOperation"),
        "MoveTaskConflict": ("UnsupportedOperation", 400, _SQS + "UnsupportedOperation"),
        "ResourceNotFound": ("ResourceNotFoundException", 404, "ResourceNotFoundException"),
        "MalformedRequest": ("InvalidParameterValue", 400, "InvalidParameterValue"),
    },
    throttled=("RequestThrottled", 400),
)
