"""Amazon S3 over raybus's buckets (docs/aws-s3.md)."""

from __future__ import annotations

from raybus.gateway.aws.s3.errors import s3_error
from raybus.gateway.aws.s3.operations import OPERATIONS
from raybus.gateway.aws.service import AwsService

__all__ = ["SERVICE"]

SERVICE = AwsService(
    name="s3",
    operations=OPERATIONS,
    error=s3_error,
    validation_code="InvalidArgument",
    streaming=frozenset({"PutObject", "UploadPart"}),
)
