"""IAM's role actions over raybus's stored roles (docs/aws-sts-iam.md): CreateRole, GetRole,
UpdateRole, UpdateAssumeRolePolicy, DeleteRole, ListRoles; managed policies attached by ARN
(AttachRolePolicy, DetachRolePolicy, ListAttachedRolePolicies) and inline policies
(PutRolePolicy, GetRolePolicy, DeleteRolePolicy, ListRolePolicies); role tags.

Stored, never enforced: raybus checks no permission, so a function's role only has to exist
where a tool reads it back. Policy documents must be JSON (``MalformedPolicyDocument``) and
come back as IAM sends them, URL-encoded (boto3 decodes them into dicts). Lists page with
``Marker`` / ``MaxItems`` (1–1,000, default 100) and ``IsTruncated``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from raybus.control.roles import (
    AttachRolePolicy,
    CreateRole,
    DeleteRole,
    DeleteRolePolicy,
    DetachRolePolicy,
    ListRoles,
    PutRolePolicy,
    UpdateRole,
)
from raybus.control.tags import DescribeResource, ListTags, TagResource, UntagResource
from raybus.core.errors import RaybusError
from raybus.core.roles import RoleConfig
from raybus.gateway.aws.protocols import AwsError, modeled_error
from raybus.gateway.aws.service import Call

__all__ = ["OPERATIONS"]

DEFAULT_MAX_ITEMS = 100
_POLICY_ARN = re.compile(r"arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/[\w+=,.@/-]+")


def _error(name: str, message: str) -> AwsError:
    return modeled_error("iam", name, message)


def _no_role(name: str) -> AwsError:
    return _error("NoSuchEntity", f"The role with name {name} cannot be found.")


def _document(text: str) -> str:
    """A policy document: JSON text whose top level is an object."""
    try:
        value = json.loads(text)
    except ValueError:
        raise _error("MalformedPolicyDocument", "This policy contains invalid Json") from None
    if not isinstance(value, dict):
        raise _error("MalformedPolicyDocument", "The policy is not a JSON object.")
    return text


def _role_arn(call: Call, config: RoleConfig) -> str:
    return f"arn:aws:iam::{call.settings.account_id}:role{config.path}{config.name}"


async def _described(call: Call, name: str) -> dict[str, Any]:
    try:
        described: dict[str, Any] = await call.gateway.control.run(DescribeResource("role", name))
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise _no_role(name) from None
        raise
    return described


def _role(call: Call, described: Mapping[str, Any], *, tags: bool = True) -> dict[str, Any]:
    """IAM's ``Role`` (tags only where IAM includes them: CreateRole and GetRole)."""
    config = RoleConfig.from_dict(described["config"])
    out: dict[str, Any] = {
        "Path": config.path,
        "RoleName": config.name,
        "RoleId": config.id,
        "Arn": _role_arn(call, config),
        "CreateDate": datetime.fromtimestamp(described["created_ms"] / 1000, tz=timezone.utc),
        "AssumeRolePolicyDocument": quote(config.assume_role_policy, safe=""),
        "MaxSessionDuration": config.max_session_s,
        "RoleLastUsed": {},
    }
    if config.description:
        out["Description"] = config.description
    if tags and described["tags"]:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(described["tags"].items())]
    return out


def _page(
    items: Sequence[Any], params: Mapping[str, Any], key: Callable[[Any], str]
) -> dict[str, Any]:
    """IAM's paging: the items after ``Marker`` (the last key of the previous page)."""
    limit = params.get("MaxItems", DEFAULT_MAX_ITEMS)
    marker = params.get("Marker")
    start = (
        0 if not marker else next((i for i, x in enumerate(items) if key(x) > marker), len(items))
    )
    chunk = list(items[start : start + limit])
    truncated = start + limit < len(items)
    out: dict[str, Any] = {"items": chunk, "IsTruncated": truncated}
    if truncated and chunk:
        out["Marker"] = key(chunk[-1])
    return out


async def _run(call: Call, name: str, control: Any) -> Any:
    try:
        return await call.gateway.control.run(control)
    except RaybusError as error:
        if error.code == "ResourceNotFound" and error.details.get("resource") == name:
            raise _no_role(name) from None
        if error.code == "ResourceNotFound":
            raise _error(
                "NoSuchEntity", f"{error.details.get('resource')} cannot be found."
            ) from None
        if error.details.get("reason") == "LimitExceeded":
            raise _error("LimitExceeded", error.message) from None
        if error.details.get("reason") == "PoliciesAttached":
            raise _error("DeleteConflict", error.message) from None
        raise


# -- roles --------------------------------------------------------------------------------------
async def create_role(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    settings = {
        "name": name,
        "assume_role_policy": _document(params["AssumeRolePolicyDocument"]),
        "path": params.get("Path", "/"),
        "description": params.get("Description", ""),
        "max_session_s": params.get("MaxSessionDuration", 3600),
    }
    try:
        await call.gateway.control.run(CreateRole(settings))
    except RaybusError as error:
        if error.code == "ResourceConflict":
            raise _error("EntityAlreadyExists", f"Role with name {name} already exists.") from None
        raise
    tags = params.get("Tags")
    if tags:
        await call.gateway.control.run(
            TagResource("role", name, {t["Key"]: t["Value"] for t in tags})
        )
    return {"Role": _role(call, await _described(call, name))}


async def get_role(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    return {"Role": _role(call, await _described(call, params["RoleName"]))}


async def list_roles(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    roles = await call.gateway.control.run(ListRoles(params.get("PathPrefix", "/")))
    page = _page(roles, params, key=lambda role: role["name"])
    described = [await _described_or_none(call, role["name"]) for role in page.pop("items")]
    return {"Roles": [_role(call, d, tags=False) for d in described if d is not None], **page}


async def _described_or_none(call: Call, name: str) -> dict[str, Any] | None:
    try:
        return await _described(call, name)
    except AwsError:  # deleted since the listing
        return None


async def update_role(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    members = {"Description": "description", "MaxSessionDuration": "max_session_s"}
    changes = {native: params[aws] for aws, native in members.items() if aws in params}
    name = params["RoleName"]
    await _run(call, name, UpdateRole(name, changes))
    return {}


async def update_assume_role_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    changes = {"assume_role_policy": _document(params["PolicyDocument"])}
    await _run(call, name, UpdateRole(name, changes))
    return {}


async def delete_role(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    await _run(call, name, DeleteRole(name))
    return {}


# -- policies -----------------------------------------------------------------------------------
def _policy_arn(arn: str) -> str:
    if not _POLICY_ARN.fullmatch(arn):
        raise _error("InvalidInput", f"ARN {arn} is not valid.")
    return arn


async def attach_role_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    await _run(call, name, AttachRolePolicy(name, _policy_arn(params["PolicyArn"])))
    return {}


async def detach_role_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    await _run(call, name, DetachRolePolicy(name, _policy_arn(params["PolicyArn"])))
    return {}


async def list_attached_role_policies(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    config = RoleConfig.from_dict((await _described(call, params["RoleName"]))["config"])
    prefix = params.get("PathPrefix", "/")
    attached = [
        {"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn}
        for arn in sorted(config.attached)
        if ("/" + arn.split(":policy/", 1)[-1]).startswith(prefix)  # the policy's path
    ]
    page = _page(attached, params, key=lambda p: p["PolicyArn"])
    return {"AttachedPolicies": page.pop("items"), **page}


async def put_role_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    document = _document(params["PolicyDocument"])
    await _run(call, name, PutRolePolicy(name, params["PolicyName"], document))
    return {}


async def get_role_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name, policy = params["RoleName"], params["PolicyName"]
    config = RoleConfig.from_dict((await _described(call, name))["config"])
    if policy not in config.inline:
        raise _error("NoSuchEntity", f"The role policy with name {policy} cannot be found.")
    document = quote(config.inline[policy], safe="")
    return {"RoleName": name, "PolicyName": policy, "PolicyDocument": document}


async def delete_role_policy(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    await _run(call, name, DeleteRolePolicy(name, params["PolicyName"]))
    return {}


async def list_role_policies(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    config = RoleConfig.from_dict((await _described(call, params["RoleName"]))["config"])
    page = _page(sorted(config.inline), params, key=lambda policy: policy)
    return {"PolicyNames": page.pop("items"), **page}


# -- tags ---------------------------------------------------------------------------------------
async def tag_role(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    await _run(call, name, TagResource("role", name, tags))
    return {}


async def untag_role(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    await _run(call, name, UntagResource("role", name, list(params["TagKeys"])))
    return {}


async def list_role_tags(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["RoleName"]
    tags = await _run(call, name, ListTags("role", name))
    page = _page(
        [{"Key": k, "Value": v} for k, v in sorted(tags.items())], params, key=lambda t: t["Key"]
    )
    return {"Tags": page.pop("items"), **page}


OPERATIONS = {
    "CreateRole": create_role,
    "GetRole": get_role,
    "ListRoles": list_roles,
    "UpdateRole": update_role,
    "UpdateAssumeRolePolicy": update_assume_role_policy,
    "DeleteRole": delete_role,
    "AttachRolePolicy": attach_role_policy,
    "DetachRolePolicy": detach_role_policy,
    "ListAttachedRolePolicies": list_attached_role_policies,
    "PutRolePolicy": put_role_policy,
    "GetRolePolicy": get_role_policy,
    "DeleteRolePolicy": delete_role_policy,
    "ListRolePolicies": list_role_policies,
    "TagRole": tag_role,
    "UntagRole": untag_role,
    "ListRoleTags": list_role_tags,
}
