"""The HTTP routes of event-source mappings (docs/http-api.md): typed control calls
(:mod:`raybus.control.mappings`)."""

from __future__ import annotations

from aiohttp import web

from raybus.control.mappings import (
    CreateMapping,
    DeleteMapping,
    GetMapping,
    ListMappings,
    MappingStats,
    UpdateMapping,
)
from raybus.core.mappings import MappingConfig
from raybus.gateway import schemas as S
from raybus.gateway.api import Context, body, ok
from raybus.gateway.boundary import Route
from raybus.gateway.schemas import (
    COMPONENTS,
    only,
    settings_schema,
)

__all__ = ["MappingApi", "routes"]


COMPONENTS["MappingConfig"] = settings_schema(MappingConfig)
MAPPING_CREATE = settings_schema(MappingConfig, exclude=("id", "subscription"))
MAPPING_CHANGES = only(
    COMPONENTS["MappingConfig"],
    ("batch_size", "batching_window_s", "max_concurrency", "report_batch_item_failures",
     "filter_criteria", "enabled"),
)  # fmt: skip


class MappingApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control

    async def create_mapping(self, request: web.Request) -> web.Response:
        mapping, created = await self.control.run(CreateMapping(body(request)))
        await self.context.changed()
        return ok(request, {"mapping": mapping, "created": created})

    async def list_mappings(self, request: web.Request) -> web.Response:
        function = request.query.get("function") or None
        source = request.query.get("source") or None
        return ok(request, {"mappings": await self.control.run(ListMappings(function, source))})

    async def get_mapping(self, request: web.Request) -> web.Response:
        return ok(
            request, {"mapping": await self.control.run(GetMapping(request.match_info["id"]))}
        )

    async def update_mapping(self, request: web.Request) -> web.Response:
        mapping = await self.control.run(UpdateMapping(request.match_info["id"], body(request)))
        await self.context.changed()
        return ok(request, {"mapping": mapping})

    async def delete_mapping(self, request: web.Request) -> web.Response:
        await self.control.run(DeleteMapping(request.match_info["id"]))
        await self.context.changed()
        return ok(request, {})

    async def mapping_stats(self, request: web.Request) -> web.Response:
        return ok(request, await self.control.run(MappingStats(request.match_info["id"])))


def routes(context: Context) -> list[Route]:
    if context.functions is None:
        return []
    api = MappingApi(context)
    m = "/v1/event-source-mappings/{id}"
    mapping = S.open_object({"mapping": S.ref("MappingConfig"), "created": S.BOOLEAN}, ["mapping"])
    listed = {"type": "array", "items": S.ref("MappingConfig")}
    return [
        Route("POST", "/v1/event-source-mappings", "create_mapping", api.create_mapping,
              "Feed a function from a queue or a topic.", "event-source mappings",
              body=MAPPING_CREATE, answer=mapping),
        Route("GET", "/v1/event-source-mappings", "list_mappings", api.list_mappings,
              "List mappings, by function and/or source.", "event-source mappings",
              query={"function": S.STRING, "source": S.STRING},
              answer=S.open_object({"mappings": listed}, ["mappings"])),
        Route("GET", m, "get_mapping", api.get_mapping, "A mapping.", "event-source mappings",
              answer=mapping),
        Route("PATCH", m, "update_mapping", api.update_mapping, "Change a mapping.",
              "event-source mappings", body=MAPPING_CHANGES, answer=mapping),
        Route("DELETE", m, "delete_mapping", api.delete_mapping, "Delete a mapping.",
              "event-source mappings"),
        Route("GET", m + "/stats", "mapping_stats", api.mapping_stats,
              "A mapping's backlog and poller counts.", "event-source mappings",
              answer={"type": "object"}),
    ]  # fmt: skip
