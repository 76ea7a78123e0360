"""Reads of settings raybus does not have, answered as Lambda answers for a function that never
set them — the calls infrastructure tools make after creating a function (Terraform's AWS
provider reads the code-signing config and the versions): one version, ``$LATEST``; no
code-signing config; recursive loops ``Terminate``; runtime updates ``Auto``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raybus.gateway.aws.lambda_.functions import configuration, describe, existing
from raybus.gateway.aws.lambda_.names import function_arn, function_name
from raybus.gateway.aws.service import Call

__all__ = ["OPERATIONS"]


async def list_versions_by_function(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    return {"Versions": [configuration(call, await describe(call, name))]}


async def get_function_code_signing_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    await existing(call, name)
    return {"CodeSigningConfigArn": "", "FunctionName": name}


async def get_function_recursion_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    await existing(call, function_name(call, params, qualified=False))
    return {"RecursiveLoop": "Terminate"}


async def get_runtime_management_config(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    await existing(call, name)
    return {"UpdateRuntimeOn": "Auto", "FunctionArn": function_arn(call, name)}


OPERATIONS = {
    "ListVersionsByFunction": list_versions_by_function,
    "GetFunctionCodeSigningConfig": get_function_code_signing_config,
    "GetFunctionRecursionConfig": get_function_recursion_config,
    "GetRuntimeManagementConfig": get_runtime_management_config,
}
