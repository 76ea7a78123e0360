"""IAM's roles, stored and never enforced (docs/aws-sts-iam.md)."""

from __future__ import annotations

from raybus.gateway.aws.iam.operations import OPERATIONS
from raybus.gateway.aws.service import AwsService, ErrorMap

__all__ = ["SERVICE"]

# The operations answer IAM's own errors (modeled_error); what is left is raybus's.
ERRORS = ErrorMap(
    {
        "InvalidParameterValue": ("InvalidInput", 400, None),
        "MissingParameter": ("InvalidInput", 400, None),
        "MalformedRequest": ("InvalidInput", 400, None),
        "ResourceNotFound": ("NoSuchEntity", 404, None),
    },
    internal=("ServiceFailure", 500),
    unavailable=("ServiceFailure", 500),
    throttled=("Throttling", 400),
)

SERVICE = AwsService("iam", OPERATIONS, ERRORS, validation_code="ValidationError")
