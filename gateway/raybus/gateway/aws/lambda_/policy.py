"""A function's resource-based policy and the tags of functions and event-source mappings.

``AddPermission`` / ``RemovePermission`` / ``GetPolicy`` keep Lambda's policy document
(``{"Version", "Id": "default", "Statement": [...]}``, one statement per ``StatementId``, in
the form Lambda writes: a service principal as ``{"Service": ...}``, ``SourceArn`` as an
``ArnLike`` condition, ``SourceAccount`` as ``StringEquals``). raybus stores and answers it and
never enforces it, as it enforces no IAM (docs/aws-sts-iam.md): tools that grant SNS or S3 the
right to invoke a function before subscribing it work unchanged.

``TagResource`` / ``UntagResource`` / ``ListTags`` name a function or an event-source mapping by
ARN; the tags are the catalog's (:mod:`raybus.control.tags`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from raybus.control.functions import UpdateFunction
from raybus.control.tags import ListTags, TagResource, UntagResource
from raybus.core.errors import RaybusError
from raybus.gateway.aws.lambda_.functions import check_revision, describe, revision_id
from raybus.gateway.aws.lambda_.names import function_arn, function_name, invalid, not_found
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call

__all__ = ["OPERATIONS"]


def _statement(call: Call, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    principal = params["Principal"]
    if principal == "*":
        who: Any = "*"
    elif principal.endswith(".amazonaws.com"):
        who = {"Service": principal}
    elif principal.isdigit():
        who = {"AWS": f"arn:aws:iam::{principal}:root"}
    else:
        who = {"AWS": principal}
    statement: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": who,
        "Action": params["Action"],
        "Resource": function_arn(call, name),
    }
    condition: dict[str, Any] = {}
    if params.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
    if params.get("SourceAccount"):
        condition["StringEquals"] = {"AWS:SourceAccount": params["SourceAccount"]}
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if condition:
        statement["Condition"] = condition
    return statement


def _policy(described: Mapping[str, Any]) -> dict[str, Any] | None:
    text = described["config"].get("policy")
    return json.loads(text) if text else None


def _no_policy() -> AwsError:
    return AwsError(
        "ResourceNotFoundException", "The resource you requested does not exist.", status=404
    )


async def add_permission(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    described = await describe(call, name)
    check_revision(params, described)
    policy = _policy(described) or {"Version": "2012-10-17", "Id": "default", "Statement": []}
    sid = params["StatementId"]
    if any(s.get("Sid") == sid for s in policy["Statement"]):
        raise AwsError(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please provide a new statement "
            "id, or remove the existing statement.",
            status=409,
        )
    statement = _statement(call, name, params)
    policy["Statement"].append(statement)
    await call.gateway.control.run(UpdateFunction(name, {"policy": json.dumps(policy)}))
    await call.gateway.changed()
    return {"Statement": json.dumps(statement)}


async def remove_permission(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = function_name(call, params)
    described = await describe(call, name)
    check_revision(params, described)
    policy = _policy(described)
    sid = params["StatementId"]
    kept = [s for s in (policy or {}).get("Statement", []) if s.get("Sid") != sid]
    if policy is None or len(kept) == len(policy["Statement"]):
        raise AwsError(
            "ResourceNotFoundException",
            f"Statement {sid} is not found in resource policy.",
            status=404,
        )
    text = json.dumps({**policy, "Statement": kept}) if kept else None
    await call.gateway.control.run(UpdateFunction(name, {"policy": text}))
    await call.gateway.changed()
    return {}


async def get_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    described = await describe(call, function_name(call, params))
    policy = _policy(described)
    if policy is None:
        raise _no_policy()
    return {"Policy": json.dumps(policy), "RevisionId": revision_id(described)}


# -- tags -------------------------------------------------------------------------------------
def _resource(call: Call, arn: str) -> tuple[str, str]:
    """``("function", name)`` or ``("mapping", uuid)`` for a taggable ARN of this endpoint."""
    parts = arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda":
        raise invalid(f"{arn} is not a function or event source mapping ARN.")
    if (parts[3], parts[4]) != (call.settings.region, call.settings.account_id):
        raise _no_policy()
    if parts[5] == "function" and len(parts) == 7:
        return "function", parts[6]
    if parts[5] == "event-source-mapping" and len(parts) == 7:
        return "mapping", parts[6]
    raise invalid(f"{arn} is not a function or event source mapping ARN.")


async def _tags_call(call: Call, arn: str, make: Any) -> dict[str, str]:
    kind, key = _resource(call, arn)
    try:
        tags: dict[str, str] = await call.gateway.control.run(make(kind, key))
    except RaybusError as error:
        if error.code != "ResourceNotFound":
            raise
        if kind == "function":
            raise not_found(call, key) from None
        raise _no_policy() from None
    return tags


async def tag_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    tags = dict(params["Tags"])
    await _tags_call(call, params["Resource"], lambda kind, key: TagResource(kind, key, tags))
    return {}


async def untag_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    keys = list(params["TagKeys"])
    await _tags_call(call, params["Resource"], lambda kind, key: UntagResource(kind, key, keys))
    return {}


async def list_tags(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return {"Tags": await _tags_call(call, params["Resource"], ListTags)}


OPERATIONS = {
    "AddPermission": add_permission,
    "RemovePermission": remove_permission,
    "GetPolicy": get_policy,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTags": list_tags,
}
