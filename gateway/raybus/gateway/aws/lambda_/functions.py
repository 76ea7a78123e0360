"""Lambda's function actions over raybus's functions: CreateFunction (zip deployment packages,
Python runtimes), GetFunction, GetFunctionConfiguration, ListFunctions, DeleteFunction,
UpdateFunctionCode and UpdateFunctionConfiguration (docs/aws-lambda.md).

A function created here is a native function of code format ``zip`` (:mod:`raybus.core.
functions`): its handler ``module.function`` is loaded from the archive when it is invoked,
with Lambda's runtime environment, the endpoint this request reached as ``AWS_ENDPOINT_URL``
and the caller's credentials (its access key id; the secret the cluster verifies it with, if
any). Answers have every member of Lambda's ``FunctionConfiguration`` raybus can fill; the
settings raybus accepts without acting on them (VPC, tracing, architectures, ...) are reported
with Lambda's defaults. ``RevisionId`` is derived from the settings and their change time, so
it changes with every change, as Lambda's does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from raybus.control.functions import CreateFunction, DeleteFunction, ListFunctions, UpdateFunction
from raybus.control.tags import DescribeResource, TagResource
from raybus.core.arns import LATEST
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.functions.archive import check_archive
from raybus.gateway.aws.lambda_.names import (
    arn_of_target,
    function_arn,
    function_name,
    invalid,
    lambda_time,
    not_found,
    target_of_arn,
)
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call

__all__ = [
    "OPERATIONS",
    "access_settings",
    "check_revision",
    "configuration",
    "describe",
    "existing",
    "page",
    "revision_id",
]

_LIMITS = {"Timeout": (1, 900), "MemorySize": (128, 10_240)}  # Lambda's, for zip functions
DEFAULT_MAX_ITEMS = 50
MAX_ITEMS = 10_000
_EMPTY_SHA = base64.b64encode(hashlib.sha256(b"").digest()).decode("ascii")


# -- shared by every Lambda module ----------------------------------------------------------
async def existing(call: Call, name: str) -> FunctionConfig:
    """The function ``name`` (routing table, refreshed once), else Lambda's not-found."""
    router = call.gateway.router
    route = router.table.route("function", name)
    if route is None:
        route = (await router.refresh()).route("function", name)
    if route is None:
        raise not_found(call, name)
    config: FunctionConfig = route.config
    return config


async def describe(call: Call, name: str) -> dict[str, Any]:
    """``{"config", "created_ms", "modified_ms", "tags"}`` of the function, from the catalog."""
    try:
        described: dict[str, Any] = await call.gateway.control.run(
            DescribeResource("function", name)
        )
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise not_found(call, name) from None
        raise
    return described


def revision_id(described: Mapping[str, Any]) -> str:
    settings = FunctionConfig.from_dict(described["config"]).described()
    text = json.dumps([settings, described["modified_ms"]], sort_keys=True, default=str)
    return str(uuid.UUID(bytes=hashlib.sha256(text.encode("utf-8")).digest()[:16]))


def check_revision(params: Mapping[str, Any], described: Mapping[str, Any]) -> None:
    """Lambda's optimistic lock: a ``RevisionId`` that is not the current one is refused."""
    given = params.get("RevisionId")
    if given is not None and given != revision_id(described):
        raise AwsError(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id",
            status=412,
        )


def access_settings(call: Call) -> dict[str, Any]:
    """The AWS endpoint and credentials the function's own AWS calls use: this gateway, as
    the caller reached it, and the caller's access key (with its secret when the cluster
    verifies signatures; otherwise any secret signs)."""
    key = None if call.caller == "anonymous" else call.caller
    return {
        "aws_endpoint_url": call.base_url,
        "aws_access_key_id": key,
        "aws_secret_access_key": call.settings.credentials.get(key) if key else None,
    }


def page(items: list[Any], params: Mapping[str, Any], key: Any) -> tuple[list[Any], str | None]:
    """One page of ``items`` (sorted by ``key``) after ``Marker`` (the last key of the previous
    page), ``MaxItems`` long (1–10,000, default 50), and the next page's marker."""
    limit = params.get("MaxItems", DEFAULT_MAX_ITEMS)
    if not 1 <= limit <= MAX_ITEMS:
        raise invalid(f"MaxItems must be between 1 and {MAX_ITEMS}.")
    marker = params.get("Marker")
    ordered = sorted(items, key=key)
    start = (
        0
        if not marker
        else next((i for i, x in enumerate(ordered) if key(x) > marker), len(ordered))
    )
    chunk = ordered[start : start + limit]
    more = start + limit < len(ordered)
    return chunk, (str(key(chunk[-1])) if more and chunk else None)


def configuration(call: Call, described: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's ``FunctionConfiguration`` of a function."""
    config = FunctionConfig.from_dict(described["config"])
    sha = (
        base64.b64encode(bytes.fromhex(config.code_sha256)).decode("ascii")
        if config.code_sha256 is not None
        else _EMPTY_SHA
    )
    out: dict[str, Any] = {
        "FunctionName": config.name,
        "FunctionArn": function_arn(call, config.name),
        "CodeSize": config.code_size,
        "Description": config.description,
        "Timeout": config.timeout_s,
        "MemorySize": config.memory_mb,
        "LastModified": lambda_time(described["modified_ms"]),
        "CodeSha256": sha,
        "Version": LATEST,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": revision_id(described),
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{config.name}"},
    }
    if config.python_runtime is not None:
        out["Runtime"] = config.python_runtime
    if config.role is not None:
        out["Role"] = config.role
    if config.handler is not None:
        out["Handler"] = config.handler
    if config.environment:
        out["Environment"] = {"Variables": dict(config.environment)}
    if config.dead_letter_queue is not None:
        out["DeadLetterConfig"] = {"TargetArn": arn_of_target(call, config.dead_letter_queue)}
    return out


# -- what Lambda accepts, refuses and ignores -------------------------------------------------
def _zip(params: Mapping[str, Any], code: Mapping[str, Any]) -> bytes:
    """The deployment package: a ``ZipFile``; S3 locations and images are not supported."""
    if params.get("PackageType", "Zip") != "Zip" or code.get("ImageUri"):
        raise invalid("raybus runs .zip deployment packages only (PackageType Zip).")
    if code.get("S3Bucket") or code.get("S3Key") or code.get("S3ObjectVersion"):
        raise invalid("raybus takes the deployment package as ZipFile (no code from S3 yet).")
    data = code.get("ZipFile")
    if not data:
        raise invalid("Please provide a source for function code.")
    return bytes(data)


def _common(call: Call, params: Mapping[str, Any]) -> dict[str, Any]:
    """Native settings from the members CreateFunction and UpdateFunctionConfiguration share."""
    if params.get("Layers"):
        raise invalid("raybus does not support layers: put the code in the deployment package.")
    for member, (low, high) in _LIMITS.items():
        value = params.get(member)
        if value is not None and not low <= value <= high:
            bound = (
                f"greater than or equal to {low}"
                if value < low
                else f"less than or equal to {high}"
            )
            raise invalid(
                f"'{member}' value failed to satisfy constraint: Member must have value {bound}"
            )
    members = {
        "Handler": "handler",
        "Runtime": "python_runtime",
        "Role": "role",
        "Description": "description",
        "Timeout": "timeout_s",
        "MemorySize": "memory_mb",
    }
    settings = {native: params[aws] for aws, native in members.items() if aws in params}
    if "Environment" in params:
        settings["environment"] = dict((params["Environment"] or {}).get("Variables") or {})
    if "DeadLetterConfig" in params:
        arn = (params["DeadLetterConfig"] or {}).get("TargetArn")
        settings["dead_letter_queue"] = (
            target_of_arn(call, arn, "DeadLetterConfig.TargetArn", ("sqs", "sns")) if arn else None
        )
    return settings


async def _check_target(call: Call, target: str | None, what: str) -> None:
    """A dead-letter target or destination must exist (Lambda checks it can send to it)."""
    if target is None:
        return
    kind, _, name = target.partition(":")
    router = call.gateway.router
    if (
        router.table.route(kind, name) is None
        and (await router.refresh()).route(kind, name) is None
    ):
        raise invalid(f"The {what} {arn_of_target(call, target)} does not exist.")


# -- actions ---------------------------------------------------------------------------------
async def create_function(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    settings = {
        "name": name,
        "code": _zip(params, params["Code"]),
        "code_format": "zip",
        **_common(call, params),
        **access_settings(call),
    }
    await _check_target(call, settings.get("dead_letter_queue"), "dead-letter target")
    if call.gateway.router.table.route("function", name) is not None:
        raise _exists(name)
    _, created = await call.gateway.control.run(CreateFunction(settings))
    if not created:
        raise _exists(name)
    tags = params.get("Tags")
    if tags:
        await call.gateway.control.run(TagResource("function", name, dict(tags)))
    await call.gateway.changed()
    return configuration(call, await describe(call, name))


def _exists(name: str) -> AwsError:
    return AwsError("ResourceConflictException", f"Function already exist: {name}", status=409)


async def get_function(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    described = await describe(call, name)
    out: dict[str, Any] = {
        "Configuration": configuration(call, described),
        "Code": {"RepositoryType": "S3"},
    }
    if described["tags"]:
        out["Tags"] = described["tags"]
    concurrency = described["config"].get("concurrency")
    if concurrency is not None:
        out["Concurrency"] = {"ReservedConcurrentExecutions": concurrency}
    return out


async def get_function_configuration(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return configuration(call, await describe(call, function_name(call, params)))


async def list_functions(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    names = await call.gateway.control.run(ListFunctions(None, 1_000_000))
    chunk, marker = page(list(names), params, key=lambda name: name)
    described = await asyncio.gather(*(_described_or_none(call, name) for name in chunk))
    out: dict[str, Any] = {
        "Functions": [configuration(call, d) for d in described if d is not None]
    }
    if marker:
        out["NextMarker"] = marker
    return out


async def _described_or_none(call: Call, name: str) -> dict[str, Any] | None:
    """A listed function, or None if it was deleted since the listing."""
    try:
        return await describe(call, name)
    except AwsError:
        return None


async def delete_function(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    try:
        await call.gateway.control.run(DeleteFunction(name))
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise not_found(call, name) from None
        raise
    await call.gateway.changed()
    return {"StatusCode": 204}


async def update_function_code(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    described = await describe(call, name)
    check_revision(params, described)
    data = _zip(params, params)
    if params.get("DryRun"):
        check_archive(data)  # validated as an update would be; nothing changes
        return configuration(call, described)
    changes = {"code": data, "code_format": "zip", **access_settings(call)}
    await call.gateway.control.run(UpdateFunction(name, changes))
    await call.gateway.changed()
    return configuration(call, await describe(call, name))


async def update_function_configuration(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params, qualified=False)
    described = await describe(call, name)
    check_revision(params, described)
    changes = {**_common(call, params), **access_settings(call)}
    await _check_target(call, changes.get("dead_letter_queue"), "dead-letter target")
    await call.gateway.control.run(UpdateFunction(name, changes))
    await call.gateway.changed()
    return configuration(call, await describe(call, name))


OPERATIONS = {
    "CreateFunction": create_function,
    "GetFunction": get_function,
    "GetFunctionConfiguration": get_function_configuration,
    "ListFunctions": list_functions,
    "DeleteFunction": delete_function,
    "UpdateFunctionCode": update_function_code,
    "UpdateFunctionConfiguration": update_function_configuration,
}
