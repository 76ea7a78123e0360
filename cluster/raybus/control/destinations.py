"""The control calls of connections and API destinations (EventBridge's), see
:mod:`raybus.control.plane`.

A connection holds how an endpoint is authorized (its secrets stay in the catalog, on the
cluster's disk, and are never answered back); an API destination is an HTTP endpoint with a
method, a connection and an invocation rate. Rules reach one through a target of kind
``api_destination``; the bus partitions read both from the routing table when they deliver, so
a change applies to the next invocation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.buses import ApiDestinationConfig, ConnectionConfig
from raybus.core.errors import RaybusError

__all__ = [
    "CreateApiDestination",
    "CreateConnection",
    "DeauthorizeConnection",
    "DeleteApiDestination",
    "DeleteConnection",
    "DescribeApiDestination",
    "DescribeConnection",
    "ListApiDestinations",
    "ListConnections",
    "UpdateApiDestination",
    "UpdateConnection",
]

_CONNECTION, _DESTINATION = "connection", "api_destination"


def _connection_out(config: ConnectionConfig) -> dict[str, Any]:
    return {**config.public(), "state": "DEAUTHORIZED" if config.deauthorized else "AUTHORIZED"}


@dataclass(frozen=True, slots=True)
class CreateConnection(ControlCall[dict[str, Any]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Connection settings are a map.")
        config = ConnectionConfig.from_dict({**self.settings, "created_ms": plane.now_ms()})
        async with plane.change() as catalog:
            if catalog.find(_CONNECTION, config.name) is not None:
                raise RaybusError(
                    "ResourceConflict", f"Connection {config.name} already exists.",
                    resource=config.name,
                )  # fmt: skip
            catalog.put(_CONNECTION, config)
        return _connection_out(config)


@dataclass(frozen=True, slots=True)
class UpdateConnection(ControlCall[dict[str, Any]]):
    """Change a connection's settings (new secrets authorize it again)."""

    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.changes, dict):
            raise RaybusError("MalformedRequest", "Connection settings are a map.")
        async with plane.change() as catalog:
            current: ConnectionConfig = catalog.config(_CONNECTION, self.name)
            changes = {k: v for k, v in self.changes.items() if k not in ("name", "created_ms")}
            config = ConnectionConfig.from_dict(
                {**current.to_dict(), **changes, "deauthorized": False}
            )
            catalog.put(_CONNECTION, config)
        return _connection_out(config)


@dataclass(frozen=True, slots=True)
class DeauthorizeConnection(ControlCall[dict[str, Any]]):
    """Forget the connection's secrets: invocations through it fail until it is updated."""

    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        async with plane.change() as catalog:
            current: ConnectionConfig = catalog.config(_CONNECTION, self.name)
            config = ConnectionConfig.from_dict(
                {
                    **current.to_dict(),
                    "password": None,
                    "api_key_value": None,
                    "deauthorized": True,
                }
            )
            catalog.put(_CONNECTION, config)
        return _connection_out(config)


@dataclass(frozen=True, slots=True)
class DescribeConnection(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        return _connection_out(plane.catalog.config(_CONNECTION, self.name))


@dataclass(frozen=True, slots=True)
class ListConnections(ControlCall[list[dict[str, Any]]]):
    prefix: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        records = sorted(plane.catalog.of(_CONNECTION).values(), key=lambda r: r.key)
        return [
            _connection_out(r.config)
            for r in records
            if self.prefix is None or r.key.startswith(self.prefix)
        ]


@dataclass(frozen=True, slots=True)
class DeleteConnection(ControlCall[None]):
    """Delete a connection no API destination uses."""

    name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            catalog.get(_CONNECTION, self.name)
            users = [r.key for r in catalog.of(_DESTINATION).values()
                     if r.config.connection == self.name]  # fmt: skip
            if users:
                raise RaybusError(
                    "ValidationException",
                    f"Connection {self.name} is used by API destination {users[0]}.",
                    resource=self.name,
                )
            catalog.remove(_CONNECTION, self.name)


@dataclass(frozen=True, slots=True)
class CreateApiDestination(ControlCall[dict[str, Any]]):
    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "API destination settings are a map.")
        config = ApiDestinationConfig.from_dict({**self.settings, "created_ms": plane.now_ms()})
        async with plane.change() as catalog:
            catalog.get(_CONNECTION, config.connection)
            if catalog.find(_DESTINATION, config.name) is not None:
                raise RaybusError(
                    "ResourceConflict", f"API destination {config.name} already exists.",
                    resource=config.name,
                )  # fmt: skip
            catalog.put(_DESTINATION, config)
        return {**config.to_dict(), "state": "ACTIVE"}


@dataclass(frozen=True, slots=True)
class UpdateApiDestination(ControlCall[dict[str, Any]]):
    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        if not isinstance(self.changes, dict):
            raise RaybusError("MalformedRequest", "API destination settings are a map.")
        async with plane.change() as catalog:
            current: ApiDestinationConfig = catalog.config(_DESTINATION, self.name)
            changes = {k: v for k, v in self.changes.items() if k not in ("name", "created_ms")}
            config = ApiDestinationConfig.from_dict({**current.to_dict(), **changes})
            catalog.get(_CONNECTION, config.connection)
            catalog.put(_DESTINATION, config)
        return {**config.to_dict(), "state": "ACTIVE"}


@dataclass(frozen=True, slots=True)
class DescribeApiDestination(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config = plane.catalog.config(_DESTINATION, self.name)
        return {**config.to_dict(), "state": "ACTIVE"}


@dataclass(frozen=True, slots=True)
class ListApiDestinations(ControlCall[list[dict[str, Any]]]):
    prefix: str | None = None
    connection: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        records = sorted(plane.catalog.of(_DESTINATION).values(), key=lambda r: r.key)
        return [
            {**r.config.to_dict(), "state": "ACTIVE"}
            for r in records
            if (self.prefix is None or r.key.startswith(self.prefix))
            and (self.connection is None or r.config.connection == self.connection)
        ]


@dataclass(frozen=True, slots=True)
class DeleteApiDestination(ControlCall[None]):
    name: str

    async def run(self, plane: ControlPlane) -> None:
        async with plane.change() as catalog:
            catalog.remove(_DESTINATION, self.name)
