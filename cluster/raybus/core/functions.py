"""Function settings (Lambda's) and the function kind (:mod:`raybus.core.kinds`)."""

from __future__ import annotations

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
    field_names,
    int_in,
    invalid,
    known,
    target,
    validate_function_name,
)

__all__ = ["FUNCTION", "LAMBDA_MB_PER_VCPU", "FunctionConfig"]

LAMBDA_MB_PER_VCPU = 1769  # Lambda gives one vCPU per 1,769 MB of memory
Runtime = Literal["task", "actor"]


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """A Lambda-style function. Exactly one of ``handler`` (``package.module:function``,
    importable on the cluster) and ``code_sha256`` (a serialised callable uploaded with the
    function; the controller keeps the bytes) is set.

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

    def __post_init__(self) -> None:
        validate_function_name(self.name)
        if (self.handler is None) == (self.code_sha256 is None):
            raise invalid("handler", "Give exactly one of handler (module:function) and code.")
        if self.handler is not None and (
            not isinstance(self.handler, str)
            or not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", self.handler)
        ):
            raise invalid("handler", "handler is an import path such as package.module:function.")
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

    def updated(self, changes: Mapping[str, Any]) -> FunctionConfig:
        changes = known("function", changes, field_names(FunctionConfig) - {"name"})
        return FunctionConfig.from_dict({**self.to_dict(), **changes})


FUNCTION = Kind(
    name="function",
    plural="functions",
    config=FunctionConfig.from_dict,
    key=lambda config: str(config.name),
)
