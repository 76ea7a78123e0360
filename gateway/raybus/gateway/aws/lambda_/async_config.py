"""Lambda's settings of asynchronous invocation and of concurrency, over a function's native
settings (docs/functions.md, "Invocation"):

- event invoke configs (``Put``/``Update``/``Get``/``Delete``/``ListFunctionEventInvoke
  Configs``): ``MaximumRetryAttempts`` → ``max_retries``, ``MaximumEventAgeInSeconds`` →
  ``max_event_age_s``, ``DestinationConfig`` → ``on_success``/``on_failure`` (ARNs of queues,
  topics or functions of this endpoint; a destination must exist, and a function is not its
  own). ``Put`` replaces the whole config (what it leaves out takes Lambda's default),
  ``Update`` changes what it names, ``Delete`` restores the defaults. Whether a config was put
  is kept (``event_invoke_config``), because Lambda answers ``Get`` for a function without one
  with ``ResourceNotFoundException``; its ``LastModified`` is the function's change time.
- reserved concurrency (``Put``/``Get``/``DeleteFunctionConcurrency``) → ``concurrency``, with
  Lambda's account rule: 1,000 concurrent executions, of which at least 100 stay unreserved.
- ``GetAccountSettings``: those limits and the functions' count and code size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raybus.control.functions import UpdateFunction
from raybus.core.arns import LATEST
from raybus.core.functions import FunctionConfig
from raybus.functions.archive import MAX_UNZIPPED_BYTES
from raybus.gateway.aws.lambda_.functions import describe, existing
from raybus.gateway.aws.lambda_.names import (
    arn_of_target,
    as_datetime,
    function_arn,
    function_name,
    invalid,
    target_of_arn,
)
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call

__all__ = ["ACCOUNT_CONCURRENCY", "MIN_UNRESERVED", "OPERATIONS"]

ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100
DEFAULTS = {"max_retries": 2, "max_event_age_s": 21_600, "on_success": None, "on_failure": None}
_DESTINATIONS = {"OnSuccess": "on_success", "OnFailure": "on_failure"}


# -- event invoke configs ---------------------------------------------------------------------
async def _destination(call: Call, name: str, value: Any) -> str | None:
    arn = (value or {}).get("Destination")
    if not arn:
        return None
    target = target_of_arn(call, arn, "Destination", ("sqs", "sns", "lambda"))
    if target == f"function:{name}":
        raise invalid("You can't specify the function as a destination for itself.")
    kind, _, key = target.partition(":")
    router = call.gateway.router
    if router.table.route(kind, key) is None and (await router.refresh()).route(kind, key) is None:
        raise invalid(f"The destination {arn} does not exist.")
    return target


async def _changes(call: Call, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The native settings the members given in ``params`` name."""
    changes: dict[str, Any] = {"event_invoke_config": True}
    if "MaximumRetryAttempts" in params:
        changes["max_retries"] = params["MaximumRetryAttempts"]
    if "MaximumEventAgeInSeconds" in params:
        changes["max_event_age_s"] = params["MaximumEventAgeInSeconds"]
    destinations = params.get("DestinationConfig") or {}
    for member, setting in _DESTINATIONS.items():
        if member in destinations:
            changes[setting] = await _destination(call, name, destinations[member])
    return changes


async def _answer(call: Call, name: str) -> dict[str, Any]:
    described = await describe(call, name)
    config = FunctionConfig.from_dict(described["config"])
    if not config.event_invoke_config:
        raise AwsError(
            "ResourceNotFoundException",
            f"The function {function_arn(call, name, LATEST)} doesn't have an EventInvokeConfig",
            status=404,
        )
    destinations: dict[str, Any] = {}
    for member, setting in _DESTINATIONS.items():
        target = getattr(config, setting)
        destinations[member] = {"Destination": arn_of_target(call, target)} if target else {}
    return {
        "LastModified": as_datetime(described["modified_ms"]),
        "FunctionArn": function_arn(call, name, LATEST),
        "MaximumRetryAttempts": config.max_retries,
        "MaximumEventAgeInSeconds": config.max_event_age_s,
        "DestinationConfig": destinations,
    }


async def put_event_invoke_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    await existing(call, name)
    changes = {**DEFAULTS, **await _changes(call, name, params)}
    await call.gateway.control.run(UpdateFunction(name, changes))
    await call.gateway.changed()
    return await _answer(call, name)


async def update_event_invoke_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    config = await existing(call, name)
    changes = await _changes(call, name, params)
    if not config.event_invoke_config:  # none yet: what Update leaves out is the default
        changes = {**DEFAULTS, **changes}
    await call.gateway.control.run(UpdateFunction(name, changes))
    await call.gateway.changed()
    return await _answer(call, name)


async def get_event_invoke_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return await _answer(call, function_name(call, params))


async def delete_event_invoke_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    await _answer(call, name)  # Lambda's not-found when there is none
    changes = {**DEFAULTS, "event_invoke_config": False}
    await call.gateway.control.run(UpdateFunction(name, changes))
    await call.gateway.changed()
    return {}


async def list_event_invoke_configs(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    config = await existing(call, name)
    configs = [await _answer(call, name)] if config.event_invoke_config else []
    return {"FunctionEventInvokeConfigs": configs}


# -- concurrency ------------------------------------------------------------------------------
def _reserved(call: Call, *, besides: str | None = None) -> int:
    """Concurrency reserved by every function but ``besides``."""
    return sum(
        route.config.concurrency or 0
        for key, route in call.gateway.router.table.routes("function").items()
        if key != besides
    )


async def put_function_concurrency(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    await existing(call, name)
    wanted = params["ReservedConcurrentExecutions"]
    if _reserved(call, besides=name) + wanted > ACCOUNT_CONCURRENCY - MIN_UNRESERVED:
        raise invalid(
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
        )
    await call.gateway.control.run(UpdateFunction(name, {"concurrency": wanted}))
    await call.gateway.changed()
    return {"ReservedConcurrentExecutions": wanted}


async def get_function_concurrency(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    config = await existing(call, function_name(call, params, qualified=False))
    if config.concurrency is None:
        return {}
    return {"ReservedConcurrentExecutions": config.concurrency}


async def delete_function_concurrency(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    await existing(call, name)
    await call.gateway.control.run(UpdateFunction(name, {"concurrency": None}))
    await call.gateway.changed()
    return {}


async def get_account_settings(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    functions = (await call.gateway.router.refresh()).routes("function")
    return {
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800,
            "CodeSizeUnzipped": MAX_UNZIPPED_BYTES,
            "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": ACCOUNT_CONCURRENCY,
            "UnreservedConcurrentExecutions": ACCOUNT_CONCURRENCY - _reserved(call),
        },
        "AccountUsage": {
            "TotalCodeSize": sum(route.config.code_size for route in functions.values()),
            "FunctionCount": len(functions),
        },
    }


OPERATIONS = {
    "PutFunctionEventInvokeConfig": put_event_invoke_config,
    "UpdateFunctionEventInvokeConfig": update_event_invoke_config,
    "GetFunctionEventInvokeConfig": get_event_invoke_config,
    "DeleteFunctionEventInvokeConfig": delete_event_invoke_config,
    "ListFunctionEventInvokeConfigs": list_event_invoke_configs,
    "PutFunctionConcurrency": put_function_concurrency,
    "GetFunctionConcurrency": get_function_concurrency,
    "DeleteFunctionConcurrency": delete_function_concurrency,
    "GetAccountSettings": get_account_settings,
}
