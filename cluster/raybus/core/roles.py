"""IAM role settings and the role kind (:mod:`raybus.core.kinds`).

raybus enforces no IAM: a role is kept so that the tools that create one before a Lambda
function (and read it back, attach policies to it, delete it) work as they do on AWS
(docs/aws-sts-iam.md). A role is a catalog entry, not partitioned; its tags are the catalog's.
Policies are stored as the JSON text they were given, never evaluated.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.settings import field_names, int_in, invalid, known

__all__ = ["MAX_ATTACHED_POLICIES", "ROLE", "RoleConfig", "role_id"]

MAX_ATTACHED_POLICIES = 10  # IAM's default quota of managed policies per role
MAX_NAME_CHARS = 64
_ID_CHARS = string.ascii_uppercase + string.digits


def role_id() -> str:
    """A new role id in IAM's form: ``AROA`` and 17 upper-case letters and digits."""
    return "AROA" + "".join(secrets.choice(_ID_CHARS) for _ in range(17))


def _json_text(parameter: str, value: object) -> str:
    if not isinstance(value, str):
        raise invalid(parameter, f"{parameter} is a JSON document.")
    try:
        json.loads(value)
    except ValueError:
        raise invalid(parameter, f"{parameter} is not valid JSON.") from None
    return value


@dataclass(frozen=True, slots=True)
class RoleConfig:
    """One IAM role: its ``name`` (the key), ``id``, ``path``, trust policy, description,
    maximum session length, the ARNs of the managed policies attached to it and its inline
    policies (name → JSON text)."""

    name: str
    assume_role_policy: str
    id: str = ""
    path: str = "/"
    description: str = ""
    max_session_s: int = bounded(3600, 43_200, default=3600)
    attached: tuple[str, ...] = ()
    inline: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= MAX_NAME_CHARS:
            raise invalid("name", f"A role name has 1 to {MAX_NAME_CHARS} characters.")
        if (
            not isinstance(self.path, str)
            or not self.path.startswith("/")
            or not (self.path.endswith("/"))
        ):
            raise invalid("path", "A role's path begins and ends with /.")
        _json_text("assume_role_policy", self.assume_role_policy)
        if not isinstance(self.description, str):
            raise invalid("description", "A role's description is text.")
        check_bounds(self, int_in)
        if not all(isinstance(arn, str) for arn in self.attached):
            raise invalid("attached", "Attached policies are ARNs.")
        if len(self.attached) > MAX_ATTACHED_POLICIES:
            raise RaybusError(
                "InvalidParameterValue",
                f"Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}",
                parameter="attached",
                reason="LimitExceeded",
            )
        if not isinstance(self.inline, dict):
            raise invalid("inline", "Inline policies map names to JSON documents.")
        for name, document in self.inline.items():
            if not isinstance(name, str) or not name:
                raise invalid("inline", "An inline policy has a name.")
            _json_text("inline", document)

    @property
    def has_policies(self) -> bool:
        return bool(self.attached or self.inline)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleConfig:
        settings = known("role", data, field_names(cls))
        for required in ("name", "assume_role_policy"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A role needs {required}.", parameter=required
                )
        if not settings.get("id"):
            settings["id"] = role_id()
        settings["attached"] = tuple(settings.get("attached") or ())
        settings["inline"] = dict(settings.get("inline") or {})
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["attached"] = list(self.attached)
        return data

    def updated(self, changes: Mapping[str, Any]) -> RoleConfig:
        changes = known("role", changes, field_names(RoleConfig) - {"name", "id"})
        return RoleConfig.from_dict({**self.to_dict(), **changes})


ROLE = Kind(
    name="role",
    plural="roles",
    config=RoleConfig.from_dict,
    key=lambda config: str(config.name),
)
