"""Control calls every kind shares: tags, and a resource's description (settings, times, tags).

A tag change is a catalog change like any other (saved before it is installed) and stamps the
resource's change time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.tags import merged_tags, without_tags

__all__ = ["DescribeResource", "ListTags", "TagResource", "UntagResource"]


@dataclass(frozen=True, slots=True)
class TagResource(ControlCall[dict[str, str]]):
    kind: str
    key: str
    tags: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, str]:
        async with plane.change() as catalog:
            record = catalog.get(self.kind, self.key)
            tags = merged_tags(record.tags, self.tags)
            if tags != record.tags:
                catalog.set_tags(self.kind, self.key, tags)
        return tags


@dataclass(frozen=True, slots=True)
class UntagResource(ControlCall[dict[str, str]]):
    kind: str
    key: str
    keys: list[Any]

    async def run(self, plane: ControlPlane) -> dict[str, str]:
        async with plane.change() as catalog:
            record = catalog.get(self.kind, self.key)
            tags = without_tags(record.tags, self.keys)
            if tags != record.tags:
                catalog.set_tags(self.kind, self.key, tags)
        return tags


@dataclass(frozen=True, slots=True)
class ListTags(ControlCall[dict[str, str]]):
    kind: str
    key: str

    async def run(self, plane: ControlPlane) -> dict[str, str]:
        return dict(plane.catalog.get(self.kind, self.key).tags)


@dataclass(frozen=True, slots=True)
class DescribeResource(ControlCall[dict[str, Any]]):
    """``{"config", "created_ms", "modified_ms", "tags"}`` of one resource."""

    kind: str
    key: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        record = plane.catalog.get(self.kind, self.key)
        return {
            "config": record.config.to_dict(),
            "created_ms": record.created_ms,
            "modified_ms": record.modified_ms,
            "tags": dict(record.tags),
        }
