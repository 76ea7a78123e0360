"""Lambda over raybus's functions (docs/aws-lambda.md): functions from zip deployment packages
(Python runtimes), invocation, event invoke configs, reserved concurrency, event-source
mappings from SQS queues, resource policies and tags."""

from __future__ import annotations

from raybus.gateway.aws.lambda_ import (
    async_config,
    defaults,
    functions,
    invoke,
    mappings,
    policy,
)
from raybus.gateway.aws.lambda_.errors import lambda_error
from raybus.gateway.aws.service import AwsService

__all__ = ["SERVICE"]

SERVICE = AwsService(
    "lambda",
    {
        **functions.OPERATIONS,
        **invoke.OPERATIONS,
        **async_config.OPERATIONS,
        **mappings.OPERATIONS,
        **policy.OPERATIONS,
        **defaults.OPERATIONS,
    },
    lambda_error,
)
