"""The environment variables a handler runs with, as Lambda's Python runtime sets them
(docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html, "Defined runtime
environment variables"), and applying them around a handler's load and call.

:func:`runtime_environment` is built by the invoking process (it knows the cluster's region)
and travels with the invocation; the worker adds what only it knows (the archive's directory,
``LAMBDA_TASK_ROOT``; the log stream). The function's own variables come last and may set
anything Lambda does not reserve — ``AWS_ENDPOINT_URL`` among them, which the runtime sets to
the raybus gateway that created the function, so ``boto3.client("sqs")`` in a handler reaches
raybus with the credentials the function runs with.

Pure; :func:`applied` changes ``os.environ`` of the calling process for the block and restores
it afterwards (a worker runs one invocation at a time).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

from raybus.core.arns import LATEST
from raybus.core.functions import FunctionConfig

__all__ = ["PLACEHOLDER_KEY", "applied", "runtime_environment"]

PLACEHOLDER_KEY = "raybus"
"""The access key id and secret a function gets when it has no credentials of its own: a
cluster that verifies no signatures accepts any (a client still needs some to sign with)."""


def runtime_environment(config: FunctionConfig, region: str) -> dict[str, str]:
    """The variables of ``config``'s invocations in ``region``: Lambda's runtime variables,
    the AWS endpoint and credentials, then the function's own."""
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": config.aws_access_key_id or PLACEHOLDER_KEY,
        "AWS_SECRET_ACCESS_KEY": config.aws_secret_access_key or PLACEHOLDER_KEY,
    }
    if config.python_runtime is not None:
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{config.python_runtime}"
    if config.handler is not None:
        env["_HANDLER"] = config.handler
    if config.aws_endpoint_url is not None:
        env["AWS_ENDPOINT_URL"] = config.aws_endpoint_url
    env.update(config.environment)
    return env


@contextlib.contextmanager
def applied(variables: Mapping[str, str]) -> Iterator[None]:
    """Set ``variables`` in ``os.environ`` for the block; afterwards every one of them has its
    previous value again (or is unset, if it was)."""
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
