"""The control calls of functions (see :mod:`raybus.control.plane`).

A function is a catalog entry (not partitioned) plus its internal event queue
``raybus-async-<name>`` for asynchronous invocations (Lambda's event queue), created and
deleted with it. Uploaded code — a serialised callable, or a zip archive (Lambda's deployment
package, checked here as Lambda checks it: :func:`raybus.functions.archive.check_archive`) —
is kept by digest in the :class:`~raybus.control.catalog.CodeStore` (fsynced before the catalog
refers to it); hosts fetch it once per digest. A handler given by import path must import on
the controller; a zip archive's handler is only loaded when invoked (Lambda reports a missing
one then, as ``Runtime.ImportModuleError``). Create is idempotent for equal settings
(``ResourceConflict`` otherwise; the AWS endpoint a gateway records does not count). Deleting a
function deletes its event-source mappings (and the topic subscriptions they own) and its
event queue. Answers leave out the secret key the function runs with.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from raybus.control.plane import ControlCall, ControlPlane
from raybus.control.queues import MAX_LIST, DeleteQueue, UpdateQueue, list_names
from raybus.core.errors import RaybusError
from raybus.core.functions import FunctionConfig
from raybus.core.queues import QueueConfig
from raybus.core.routing import async_queue_name
from raybus.functions.archive import check_archive
from raybus.functions.loader import check_handler

__all__ = [
    "CreateFunction",
    "DeleteFunction",
    "FunctionCode",
    "GetFunction",
    "ListFunctions",
    "UpdateFunction",
    "async_queue_config",
]

MAX_CODE_BYTES = 50 << 20  # Lambda's direct-upload limit


def async_queue_config(config: FunctionConfig) -> QueueConfig:
    """The internal queue of ``config``'s asynchronous invocations. Its visibility timeout
    covers one invocation with room to spare; retries are scheduled by changing it."""
    return QueueConfig.create(
        async_queue_name(config.name),
        visibility_timeout_s=min(43_200, config.timeout_s * 6 + 30),
        retention_s=1_209_600,
    )


def _settings(
    settings: dict[str, Any], base: FunctionConfig | None
) -> tuple[FunctionConfig, bytes | None]:
    """The validated config and the uploaded code (``None`` if none came with the call)."""
    if not isinstance(settings, dict):
        raise RaybusError("MalformedRequest", "Function settings are a map.")
    settings = dict(settings)
    for server_side in ("code_sha256", "code_size"):
        if server_side in settings:
            raise RaybusError(
                "InvalidParameterValue",
                f"{server_side} is set by the server.",
                parameter=server_side,
            )
    code_format = settings.get("code_format", base.code_format if base else "pickle")
    code = settings.pop("code", None)
    if code is not None:
        if not isinstance(code, (bytes, bytearray)) or not code:
            raise RaybusError(
                "InvalidParameterValue",
                "code is the serialised handler or the zip archive.",
                parameter="code",
            )
        if len(code) > MAX_CODE_BYTES:
            raise RaybusError(
                "RequestTooLarge", f"code exceeds {MAX_CODE_BYTES} bytes.", parameter="code"
            )
        code = bytes(code)
        if code_format == "zip":
            check_archive(code)
        else:
            settings["handler"] = None
        settings.update(code_sha256=hashlib.sha256(code).hexdigest(), code_size=len(code))
    elif base is not None and code_format != base.code_format:
        raise RaybusError(
            "InvalidParameterValue",
            "Changing code_format needs new code in that format.",
            parameter="code_format",
        )
    elif settings.get("handler") is not None and code_format == "pickle":
        settings.update(code_sha256=None, code_size=0)
    config = base.updated(settings) if base is not None else FunctionConfig.from_dict(settings)
    if config.handler is not None and config.code_sha256 is None:  # an import path
        check_handler(config.handler)
    return config, code


@dataclass(frozen=True, slots=True)
class CreateFunction(ControlCall[tuple[dict[str, Any], bool]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        config, code = _settings(self.settings, None)
        async with plane.change() as catalog:
            existing = catalog.find("function", config.name)
            if existing is not None:
                if config.same_as(existing.config):
                    return existing.config.described(), False
                raise RaybusError(
                    "ResourceConflict",
                    f"Function {config.name} already exists with other settings.",
                    resource=config.name,
                )
            if code is not None:
                plane.code_store.put(config.name, code)
            queue = async_queue_config(config)
            catalog.add("queue", queue)
            catalog.put("function", config)
        await plane.open_partitions("queue", queue.name)
        return config.described(), True


@dataclass(frozen=True, slots=True)
class UpdateFunction(ControlCall[dict[str, Any]]):
    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            base: FunctionConfig = catalog.config("function", self.name)
            config, code = _settings(self.changes, base)
            if code is not None:
                plane.code_store.put(self.name, code)
            catalog.put("function", config)
        plane.code_store.prune(self.name, config.code_sha256)
        if config.timeout_s != base.timeout_s:
            timeout = async_queue_config(config).visibility_timeout_s
            await UpdateQueue(async_queue_name(self.name), {"visibility_timeout_s": timeout}).run(
                plane
            )
        answer: dict[str, Any] = config.described()
        return answer


@dataclass(frozen=True, slots=True)
class GetFunction(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: dict[str, Any] = plane.catalog.config("function", self.name).described()
        return config


@dataclass(frozen=True, slots=True)
class FunctionCode(ControlCall[bytes]):
    """The uploaded code of a function (hosts fetch and cache it by digest)."""

    name: str
    sha256: str

    async def run(self, plane: ControlPlane) -> bytes:
        return plane.code_store.get(self.name, self.sha256)


@dataclass(frozen=True, slots=True)
class ListFunctions(ControlCall[list[str]]):
    prefix: str | None = None
    limit: int = MAX_LIST

    async def run(self, plane: ControlPlane) -> list[str]:
        return list_names(plane.catalog, "function", self.prefix, self.limit)


@dataclass(frozen=True, slots=True)
class DeleteFunction(ControlCall[None]):
    name: str

    async def run(self, plane: ControlPlane) -> None:
        topics: set[str] = set()
        async with plane.change() as catalog:
            catalog.remove("function", self.name)
            for mapping in [m for m in catalog.of("mapping").values()
                            if m.config.function == self.name]:  # fmt: skip
                catalog.remove("mapping", mapping.key)
                if mapping.config.subscription is not None:
                    sub = catalog.remove("subscription", mapping.config.subscription).config
                    topics.add(sub.topic)
        for topic in topics:
            await plane.push_attached("topic", topic)
        plane.code_store.prune(self.name, None)
        try:
            await DeleteQueue(async_queue_name(self.name)).run(plane)
        except RaybusError as error:
            if error.code != "QueueDoesNotExist":
                raise
