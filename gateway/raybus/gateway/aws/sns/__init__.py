"""SNS over raybus's topics (docs/aws-sns.md)."""

from __future__ import annotations

from raybus.gateway.aws.service import AwsService
from raybus.gateway.aws.sns.errors import ERRORS
from raybus.gateway.aws.sns.operations import OPERATIONS

__all__ = ["SERVICE"]

SERVICE = AwsService(
    "sns",
    OPERATIONS,
    ERRORS,
    # an HTTP endpoint confirms its subscription by fetching the SubscribeURL it was sent (the
    # token in it is the proof), as on AWS
    unsigned=frozenset({"ConfirmSubscription"}),
    validation_code="ValidationError",
)
