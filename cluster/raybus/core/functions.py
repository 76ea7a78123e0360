"""Function settings (Lambda's) and the function kind (:mod:`raybus.core.kinds`).

A function's code comes in one of three forms:

- an import path ``package.module:function`` (``handler``), importable on the cluster;
- a serialised callable (``code_format="pickle"``, ``code_sha256``): the SDK's cloudpickle;
- a zip archive (``code_format="zip"``, ``code_sha256``) with Lambda's ``handler``
  ``module.function`` and a Python ``python_runtime`` (``python3.12``): a Lambda deployment
  package, run as Lambda's Python runtime runs it.

Every function runs with Lambda's runtime environment: its ``environment`` (Lambda's
``Variables``; Lambda's reserved keys refused), plus the variables the runtime sets — among
them the AWS endpoint and credentials its own AWS calls use (``aws_endpoint_url``,
``aws_access_key_id``, ``aws_secret_access_key``, set by the gateway that created or changed
the function, never by the caller).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.settings import (
    MAX_FUNCTION_NAME_CHARS,
    Target,
    TargetKind,
    bool_setting,
    field_names,
    int_in,
    invalid,
    known,
    target,
    validate_function_name,
)

__all__ = [
    "FUNCTION",
    "LAMBDA_MB_PER_VCPU",
    "MAX_ENVIRONMENT_BYTES",
    "RESERVED_VARIABLES",
    "SERVER_SIDE",
    "FunctionConfig",
]

LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU per 1,769 MB of memory
Runtime = Literal["task", "actor"]
CodeFormat = Literal["pickle", "zip"]
MAX_ENVIRONMENT_BYTES = 4096  # Lambda: a function's variables total at most 4 KB
MAX_DESCRIPTION_CHARS = 256
MAX_LAMBDA_HANDLER_CHARS = 128
PYTHON_RUNTIME = re.compile(r"python3\.[0-9]{1,2}")
_VARIABLE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+")
SERVER_SIDE = frozenset(
    {"code_sha256", "code_size", "aws_endpoint_url", "aws_access_key_id", "aws_secret_access_key"}
)
"""Settings the server sets (from the uploaded code, from the gateway), never the caller."""

RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
"""The variables Lambda's runtime sets, which a function's own cannot replace (Lambda's list)."""


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """A Lambda-style function (see the module docstring for its code forms; the controller
    keeps uploaded code by ``code_sha256``).

    ``cpus`` defaults to Lambda's share, ``memory_mb / 1769``; ``concurrency`` is the reserved
    concurrency (``None``: unreserved, bounded by the pool or the cluster; ``0``: every
    invocation is throttled). ``runtime`` ``task`` runs each invocation as a Ray task;
    ``actor`` keeps ``pool_size`` warm Ray actors (default: the concurrency, else 2)."""

    name: str = field(
        metadata={"schema_extra": {"pattern": f"^[A-Za-z0-9_-]{{1,{MAX_FUNCTION_NAME_CHARS}}}$"}}
    )
    handler: str | None = None
    code_sha256: str | None = None
    code_size: int = 0
    timeout_s: int = bounded(1, 900, default=3)
    memory_mb: int = bounded(128, 10_240, default=128)
    cpus: float | None = field(
        default=None, metadata={"schema_extra": {"exclusiveMinimum": 0, "maximum": 64}}
    )
    concurrency: int | None = bounded(0, 1000, default=None)
    max_retries: int = bounded(0, 2, default=2)
    max_event_age_s: int = bounded(60, 21_600, default=21_600)
    on_success: str | None = None
    on_failure: str | None = None
    dead_letter_queue: str | None = None
    runtime: Runtime = "task"
    pool_size: int | None = bounded(1, 1000, default=None)
    code_format: CodeFormat = "pickle"
    python_runtime: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    description: str = field(default="", metadata={"schema_extra": {"maxLength": 256}})
    role: str | None = None  # Lambda's execution role: stored and reported, not enforced
    policy: str | None = None  # Lambda's resource-based policy (JSON): stored, not enforced
    event_invoke_config: bool = False  # whether Lambda's event invoke config was put
    aws_endpoint_url: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None

    def __post_init__(self) -> None:
        validate_function_name(self.name)
        if self.code_format == "zip":
            self._check_zip()
        elif self.code_format == "pickle":
            self._check_pickle_or_path()
        else:
            raise invalid("code_format", "code_format must be pickle or zip.")
        check_bounds(self, int_in)
        if self.cpus is not None and (
            isinstance(self.cpus, bool)
            or not isinstance(self.cpus, (int, float))
            or not 0 < self.cpus <= 64
        ):
            raise invalid("cpus", "cpus must be a number above 0 and at most 64.")
        allowed: tuple[TargetKind, ...] = ("queue", "topic", "function")
        for name in ("on_success", "on_failure"):
            value = getattr(self, name)
            if value is not None:
                Target.parse(value, name, allowed)
        if self.dead_letter_queue is not None:
            Target.parse(self.dead_letter_queue, "dead_letter_queue", ("queue", "topic"))
        if self.runtime not in ("task", "actor"):
            raise invalid("runtime", "runtime must be task or actor.")
        _check_environment(self.environment)
        if not isinstance(self.description, str) or len(self.description) > MAX_DESCRIPTION_CHARS:
            raise invalid("description", "description is at most 256 characters.")
        for name in ("role", "policy", *sorted(SERVER_SIDE - {"code_sha256", "code_size"})):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise invalid(name, f"{name} is a string.")
        bool_setting("event_invoke_config", self.event_invoke_config)

    def _check_pickle_or_path(self) -> None:
        if (self.handler is None) == (self.code_sha256 is None):
            raise invalid("handler", "Give exactly one of handler (module:function) and code.")
        if self.handler is not None and (
            not isinstance(self.handler, str)
            or not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", self.handler)
        ):
            raise invalid("handler", "handler is an import path such as package.module:function.")
        if self.python_runtime is not None:
            raise invalid("python_runtime", "python_runtime is a setting of zip code only.")

    def _check_zip(self) -> None:
        """Lambda's rules for a deployment package: a handler and a runtime are required; the
        handler is checked when it is loaded (at invocation, as Lambda does), beyond its form."""
        if self.code_sha256 is None:
            raise invalid("code", "A zip function needs its archive (code).")
        if self.handler is None or self.python_runtime is None:
            raise invalid(
                "handler" if self.handler is None else "python_runtime",
                "Runtime and Handler are mandatory parameters for functions created with "
                "deployment packages.",
            )
        if (
            not isinstance(self.handler, str)
            or not 0 < len(self.handler) <= MAX_LAMBDA_HANDLER_CHARS
            or re.search(r"\s", self.handler)
        ):
            raise invalid("handler", "handler is up to 128 characters without spaces.")
        if not isinstance(self.python_runtime, str) or not PYTHON_RUNTIME.fullmatch(
            self.python_runtime
        ):
            raise invalid(
                "python_runtime",
                f"The runtime parameter of {self.python_runtime} is not supported: raybus runs "
                "Python functions only (python3.x).",
            )

    @property
    def cpu_share(self) -> float:
        return self.cpus if self.cpus is not None else round(self.memory_mb / LAMBDA_MB_PER_VCPU, 4)

    @property
    def pool(self) -> int:
        if self.pool_size is not None:
            return self.pool_size
        return self.concurrency if self.concurrency else 2

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunctionConfig:
        settings = known("function", data, field_names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "A function needs a name.", parameter="name")
        allowed: tuple[TargetKind, ...] = ("queue", "topic", "function")
        for name in ("on_success", "on_failure"):
            settings[name] = target(settings.get(name), name, allowed)
        settings["dead_letter_queue"] = target(
            settings.get("dead_letter_queue"), "dead_letter_queue", ("queue", "topic")
        )
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def described(self) -> dict[str, Any]:
        """The settings as answers show them: the secret key the function runs with is left
        out (it is only ever given to the function)."""
        data = self.to_dict()
        data.pop("aws_secret_access_key")
        return data

    def same_as(self, other: FunctionConfig) -> bool:
        """Equal settings, whichever gateway set the AWS endpoint and credentials."""
        server = dict.fromkeys(SERVER_SIDE - {"code_sha256", "code_size"})
        return {**self.to_dict(), **server} == {**other.to_dict(), **server}

    def updated(self, changes: Mapping[str, Any]) -> FunctionConfig:
        changes = known("function", changes, field_names(FunctionConfig) - {"name"})
        return FunctionConfig.from_dict({**self.to_dict(), **changes})


def _check_environment(variables: object) -> None:
    """Lambda's rules for ``Environment.Variables``: names of two or more letters, digits and
    ``_`` (starting with a letter), text values, 4 KB in all, none of the runtime's reserved
    keys."""
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise invalid("environment", "environment maps variable names to text values.")
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        raise invalid(
            "environment",
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not "
            f"supported for modification. Reserved keys used in this request: "
            f"{', '.join(reserved)}",
        )
    bad = sorted(k for k in variables if not _VARIABLE.fullmatch(k))
    if bad:
        raise invalid(
            "environment",
            "Environment variable names are two or more letters, digits and underscores, "
            f"starting with a letter: {bad[0]!r} is not.",
        )
    size = len(json.dumps(variables, separators=(",", ":")).encode("utf-8"))
    if size > MAX_ENVIRONMENT_BYTES:
        raise invalid(
            "environment",
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit ({size} bytes).",
        )


FUNCTION = Kind(
    name="function",
    plural="functions",
    config=FunctionConfig.from_dict,
    key=lambda config: str(config.name),
)
