"""The control calls of IAM roles (see :mod:`raybus.control.plane` and
:mod:`raybus.core.roles`): stored, never enforced.

Each call changes one role in one catalog change, so concurrent attachments never lose one
another. Conditions a caller must tell apart carry a ``reason`` detail: ``PoliciesAttached``
(a role with policies cannot be deleted), ``LimitExceeded`` (too many attached policies).
Creating an existing role is ``ResourceConflict`` (IAM's create is not idempotent); a missing
role, attached policy or inline policy is ``ResourceNotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.errors import RaybusError
from raybus.core.roles import RoleConfig

__all__ = [
    "AttachRolePolicy",
    "CreateRole",
    "DeleteRole",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "ListRoles",
    "PutRolePolicy",
    "UpdateRole",
]


def _missing(what: str) -> RaybusError:
    return RaybusError("ResourceNotFound", f"{what} cannot be found.", resource=what)


@dataclass(frozen=True, slots=True)
class CreateRole(ControlCall[dict[str, Any]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config = RoleConfig.from_dict(self.settings)
        async with plane.change() as catalog:
            if catalog.find("role", config.name) is not None:
                raise RaybusError(
                    "ResourceConflict",
                    f"Role with name {config.name} already exists.",
                    resource=config.name,
                )
            catalog.put("role", config)
        return config.to_dict()


@dataclass(frozen=True, slots=True)
class ListRoles(ControlCall[list[dict[str, Any]]]):
    """Every role whose path starts with ``path_prefix``, sorted by name."""

    path_prefix: str = "/"

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        roles = [r.config for r in plane.catalog.of("role").values()]
        return [
            role.to_dict()
            for role in sorted(roles, key=lambda r: r.name)
            if role.path.startswith(self.path_prefix)
        ]


@dataclass(frozen=True, slots=True)
class UpdateRole(ControlCall[dict[str, Any]]):
    """Change a role's description, maximum session length or trust policy."""

    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            config = catalog.config("role", self.name).updated(self.changes)
            catalog.put("role", config)
        answer: dict[str, Any] = config.to_dict()
        return answer


@dataclass(frozen=True, slots=True)
class DeleteRole(ControlCall[None]):
    name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            config: RoleConfig = catalog.config("role", self.name)
            if config.has_policies:
                raise RaybusError(
                    "ResourceConflict",
                    "Cannot delete entity, must detach all policies first."
                    if config.attached
                    else "Cannot delete entity, must delete policies first.",
                    resource=self.name,
                    reason="PoliciesAttached",
                )
            catalog.remove("role", self.name)


@dataclass(frozen=True, slots=True)
class AttachRolePolicy(ControlCall[None]):
    """Attach a managed policy (attaching it again changes nothing, as in IAM)."""

    name: str
    policy_arn: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            config: RoleConfig = catalog.config("role", self.name)
            if self.policy_arn not in config.attached:
                attached = [*config.attached, self.policy_arn]
                catalog.put("role", config.updated({"attached": attached}))


@dataclass(frozen=True, slots=True)
class DetachRolePolicy(ControlCall[None]):
    name: str
    policy_arn: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            config: RoleConfig = catalog.config("role", self.name)
            if self.policy_arn not in config.attached:
                raise _missing(f"Policy {self.policy_arn}")
            attached = [arn for arn in config.attached if arn != self.policy_arn]
            catalog.put("role", config.updated({"attached": attached}))


@dataclass(frozen=True, slots=True)
class PutRolePolicy(ControlCall[None]):
    """Add or replace an inline policy."""

    name: str
    policy_name: str
    document: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            config: RoleConfig = catalog.config("role", self.name)
            inline = {**config.inline, self.policy_name: self.document}
            catalog.put("role", config.updated({"inline": inline}))


@dataclass(frozen=True, slots=True)
class DeleteRolePolicy(ControlCall[None]):
    name: str
    policy_name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            config: RoleConfig = catalog.config("role", self.name)
            if self.policy_name not in config.inline:
                raise _missing(f"The role policy with name {self.policy_name}")
            inline = {k: v for k, v in config.inline.items() if k != self.policy_name}
            catalog.put("role", config.updated({"inline": inline}))
