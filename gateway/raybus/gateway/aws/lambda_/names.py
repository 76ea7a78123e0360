"""How Lambda's API names things, and raybus's names for them.

- A function is named by its name (``my-function``), its ARN
  (``arn:aws:lambda:<region>:<account>:function:my-function``) or a partial ARN
  (``<account>:function:my-function``), each optionally qualified (``:$LATEST``, or the
  ``Qualifier`` parameter). raybus keeps one version per function, ``$LATEST``: any other
  qualifier names a version that does not exist (``ResourceNotFoundException``, as Lambda
  answers for an unpublished version). An ARN of another account or region names nothing here.
- Destinations, dead-letter targets and event sources are ARNs of queues (``sqs``), topics
  (``sns``) and functions (``lambda``); raybus writes them as ``queue:<name>``,
  ``topic:<name>`` and ``function:<name>``.
- Times are Lambda's: ``2024-05-01T12:00:00.000+0000`` for a function's ``LastModified``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from raybus.core.arns import LATEST
from raybus.core.errors import RaybusError
from raybus.core.settings import Target
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call

__all__ = [
    "arn_of_target",
    "as_datetime",
    "function_arn",
    "function_name",
    "invalid",
    "lambda_time",
    "not_found",
    "target_of_arn",
]

_SERVICES = {"sqs": "queue", "sns": "topic", "lambda": "function"}


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValueException", message, status=400)


def function_arn(call: Call, name: str, qualifier: str | None = None) -> str:
    resource = f"function:{name}" if qualifier is None else f"function:{name}:{qualifier}"
    return call.arn("lambda", resource)


def not_found(call: Call, name: str, qualifier: str | None = None) -> AwsError:
    return AwsError(
        "ResourceNotFoundException",
        f"Function not found: {function_arn(call, name, qualifier)}",
        status=404,
    )


def _split(call: Call, given: str) -> tuple[str, str | None]:
    """(name, qualifier) of a function name, ARN or partial ARN."""
    parts = given.split(":")
    if given.startswith("arn:"):
        if len(parts) not in (7, 8) or parts[2] != "lambda" or parts[5] != "function":
            raise invalid(f"{given} is not a function ARN.")
        if (parts[3], parts[4]) != (call.settings.region, call.settings.account_id):
            raise not_found(call, parts[6])  # another account's or region's function
        return parts[6], parts[7] if len(parts) == 8 else None
    if len(parts) >= 3 and parts[1] == "function":  # <account>:function:<name>[:<qualifier>]
        if parts[0] != call.settings.account_id or len(parts) > 4:
            raise not_found(call, parts[2])
        return parts[2], parts[3] if len(parts) == 4 else None
    if len(parts) == 2:
        return parts[0], parts[1]
    return given, None


def function_name(call: Call, params: Mapping[str, Any], *, qualified: bool = True) -> str:
    """The name of the function a request names (``FunctionName`` and ``Qualifier``); any
    qualifier but ``$LATEST`` names a version raybus does not have. ``qualified=False`` for
    actions Lambda takes only unqualified names for."""
    name, qualifier = _split(call, str(params["FunctionName"]))
    given = params.get("Qualifier")
    if given is not None and qualifier is not None and given != qualifier:
        raise invalid(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    qualifier = qualifier if qualifier is not None else given
    if qualifier is not None and not qualified:
        raise invalid(f"Unsupported qualifier {qualifier!r}: this action takes a function name.")
    if qualifier is not None and qualifier != LATEST:
        raise not_found(call, name, qualifier)
    return name


def target_of_arn(call: Call, arn: str, what: str, allowed: tuple[str, ...]) -> str:
    """``queue:<name>``, ``topic:<name>`` or ``function:<name>`` for an ARN of this endpoint
    whose service is one of ``allowed`` (``sqs``, ``sns``, ``lambda``)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in allowed:
        kinds = ", ".join(allowed)
        raise invalid(f"{what} {arn!r} is not supported: raybus takes ARNs of {kinds} here.")
    if (parts[3], parts[4]) != (call.settings.region, call.settings.account_id):
        raise invalid(f"{what} {arn!r} is not a resource of this endpoint.")
    name = parts[6] if parts[2] == "lambda" and len(parts) >= 7 else parts[5]
    try:
        return str(
            Target.parse(f"{_SERVICES[parts[2]]}:{name}", what, ("queue", "topic", "function"))
        )
    except RaybusError:
        raise invalid(f"{what} {arn!r} does not name a queue, topic or function.") from None


def arn_of_target(call: Call, target: str) -> str:
    """The ARN of a raybus target (``queue:orders`` → ``arn:aws:sqs:...:orders``)."""
    parsed = Target.parse(target, "target", ("queue", "topic", "function"))
    if parsed.kind == "function":
        return function_arn(call, parsed.name)
    return call.arn("sqs" if parsed.kind == "queue" else "sns", parsed.name)


def as_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def lambda_time(ms: int) -> str:
    """Epoch milliseconds as Lambda writes a function's ``LastModified``."""
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+0000"
