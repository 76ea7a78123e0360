"""SQS over raybus's queues: every action of the current API (docs/aws-sqs.md)."""

from __future__ import annotations

from raybus.gateway.aws.service import AwsService
from raybus.gateway.aws.sqs.errors import ERRORS
from raybus.gateway.aws.sqs.operations import OPERATIONS, queue_url_from_path

__all__ = ["SERVICE"]

# ReceiveMessage's AttributeNames is modelled as queue attribute names, but SQS takes message
# system attribute names there (SentTimestamp, ...): the operation checks the names itself.
SERVICE = AwsService(
    "sqs",
    OPERATIONS,
    ERRORS,
    validation_code="InvalidParameterValue",
    validation_query_code="InvalidParameterValue",
    lenient_enums=frozenset({"QueueAttributeName"}),
    from_path=queue_url_from_path,
)
