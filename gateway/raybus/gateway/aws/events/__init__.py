"""EventBridge over raybus's buses (docs/aws-events.md)."""

from __future__ import annotations

from raybus.gateway.aws.events.errors import ERRORS
from raybus.gateway.aws.events.operations import OPERATIONS
from raybus.gateway.aws.service import AwsService

__all__ = ["SERVICE"]

SERVICE = AwsService("events", OPERATIONS, ERRORS, validation_code="ValidationException")
