"""raybus's error codes in S3's terms: S3's own codes keep their names and statuses (the catalog
has them, :mod:`raybus.core.errors`); the rest map to the code S3 answers for the condition.
The error document carries the key or bucket it concerns (``Key``, ``BucketName``), as S3's
does."""

from __future__ import annotations

from typing import Any

from raybus.core.errors import RaybusError
from raybus.gateway.aws.protocols import AwsError

__all__ = ["s3_error"]

# Native codes that are not S3's → (S3 code, status)
_MAPPED: dict[str, tuple[str, int]] = {
    "InvalidParameterValue": ("InvalidArgument", 400),
    "MissingParameter": ("InvalidRequest", 400),
    "MalformedRequest": ("MalformedXML", 400),
    "UnsupportedOperation": ("NotImplemented", 501),
    "ResourceNotFound": ("InvalidArgument", 400),
    "QueueDoesNotExist": ("InvalidArgument", 400),
    "ResourceConflict": ("OperationAborted", 409),
    "RequestTooLarge": ("EntityTooLarge", 400),
    "Throttled": ("SlowDown", 503),
    "StaleEpoch": ("ServiceUnavailable", 503),
    "PartitionUnavailable": ("ServiceUnavailable", 503),
    "StorageFailure": ("InternalError", 500),
    "InternalError": ("InternalError", 500),
    "RequestTimeout": ("RequestTimeout", 400),
}
_FIELDS = {"key": "Key", "bucket": "BucketName", "version_id": "VersionId", "upload_id": "UploadId"}


def s3_error(error: RaybusError) -> AwsError:
    """The S3 error for a native one."""
    code, status = _MAPPED.get(error.code, (error.code, error.http_status))
    fields: dict[str, Any] = {}
    for name, wire in _FIELDS.items():
        value = error.details.get(name)
        if isinstance(value, str):
            fields[wire] = value
    headers: dict[str, str] = {}
    if error.details.get("delete_marker"):
        headers["x-amz-delete-marker"] = "true"
        version = error.details.get("version_id")
        if isinstance(version, str):
            headers["x-amz-version-id"] = version
    if code == "NotModified" and isinstance(error.details.get("etag"), str):
        headers["ETag"] = error.details["etag"]
    return AwsError(
        code,
        error.message,
        status=status,
        fields=fields,
        headers=headers,
        sender_fault=status < 500,
    )
