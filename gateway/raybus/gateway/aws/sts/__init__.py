"""STS: who is calling (docs/aws-sts-iam.md)."""

from __future__ import annotations

from raybus.gateway.aws.service import AwsService, ErrorMap
from raybus.gateway.aws.sts.operations import OPERATIONS

__all__ = ["SERVICE"]

SERVICE = AwsService(
    "sts",
    OPERATIONS,
    ErrorMap({}, internal=("InternalFailure", 500), throttled=("Throttling", 400)),
    validation_code="ValidationError",
)
