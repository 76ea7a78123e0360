"""The HTTP routes of topics, subscriptions, functions and event-source mappings.

Same conventions as the queue routes (docs/http-api.md): msgpack or JSON chosen by
:class:`~raybus.gateway.codec.Codec`, unknown request fields refused with
``InvalidParameterValue``, failures raised as :class:`RaybusError` for the server's
middleware to turn into the catalog's status and error body (and to time under the route's
name). Control-plane routes call the controller actor (``await admin.X.remote(...)``) and
refresh the gateway's routing table after every change, so the next data-plane call sees the
new resource; publish and invoke go to the data-plane services handed to :func:`resource_routes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web

from raybus.core.errors import RaybusError
from raybus.core.resources import PublishEntry, PublishResult
from raybus.gateway import schemas as S
from raybus.gateway.boundary import BODY, CODEC, Route
from raybus.gateway.codec import error_body
from raybus.gateway.resources_codec import (
    check_json_value,
    function_settings_from_wire,
    publish_entries_from_wire,
    publish_result_to_wire,
    query_limit,
)
from raybus.gateway.service import QueueService

__all__ = [
    "FUNCTION_ERROR_HEADER",
    "FunctionInvoker",
    "ResourcesApi",
    "TopicPublisher",
    "resource_routes",
]

FUNCTION_ERROR_HEADER = "X-Amz-Function-Error"


class TopicPublisher(Protocol):
    """The gateway's topic data plane: one result or error per entry, in order."""

    async def publish(
        self, topic: str, entries: list[PublishEntry]
    ) -> Sequence[PublishResult | RaybusError]: ...


class FunctionInvoker(Protocol):
    """The gateway's function data plane. ``invoke`` answers ``{"request_id", "ok",
    "payload", "duration_ms"}`` (``payload`` is the result, or Lambda's error object when
    ``ok`` is false); ``invoke_async`` answers the request id once the event is durable."""

    async def invoke(self, name: str, payload: Any) -> Mapping[str, Any]: ...

    async def invoke_async(self, name: str, payload: Any) -> str: ...


def _clean(error: RaybusError) -> RaybusError:
    """Errors raised inside actors arrive wrapped in Ray's task-error class; rebuild them."""
    return RaybusError(error.code, error.message, **error.details)


class ResourcesApi:
    """The handlers; each reads the body the boundary admitted (``request[BODY]``)."""

    def __init__(
        self,
        service: QueueService,
        admin: Any,
        topics: TopicPublisher | None,
        functions: FunctionInvoker | None,
    ) -> None:
        self.service = service
        self.admin = admin
        self.topics = topics
        self.functions = functions

    # -- helpers --------------------------------------------------------------------------------
    def _ok(
        self,
        request: web.Request,
        payload: Mapping[str, Any],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        codec = request[CODEC]
        return web.Response(
            status=status,
            body=codec.encode(payload),
            content_type=codec.content_type,
            headers=headers,
        )

    @staticmethod
    def _body(request: web.Request) -> dict[str, Any]:
        return request[BODY]

    async def _changed(self) -> None:
        await self.service.router.refresh()

    # -- topics ---------------------------------------------------------------------------------
    async def create_topic(self, request: web.Request) -> web.Response:
        settings = self._body(request)
        config, created = await self.admin.create_topic.remote(settings)
        await self._changed()
        return self._ok(request, {"topic": config, "created": created})

    async def list_topics(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        names = await self.admin.list_topics.remote(prefix, query_limit(request.query))
        return self._ok(request, {"topics": names})

    async def get_topic(self, request: web.Request) -> web.Response:
        described = await self.admin.get_topic.remote(request.match_info["name"])
        return self._ok(request, described)

    async def delete_topic(self, request: web.Request) -> web.Response:
        await self.admin.delete_topic.remote(request.match_info["name"])
        await self._changed()
        return self._ok(request, {})

    async def topic_stats(self, request: web.Request) -> web.Response:
        return self._ok(request, await self.admin.topic_stats.remote(request.match_info["name"]))

    async def publish(self, request: web.Request) -> web.Response:
        assert self.topics is not None
        name = request.match_info["name"]
        codec = request[CODEC]
        data = self._body(request)
        entries, ids, batch = publish_entries_from_wire(data, json=codec.json)
        if not batch and isinstance(entries[0], RaybusError):
            raise entries[0]
        slots: list[PublishResult | RaybusError | None] = [
            e if isinstance(e, RaybusError) else None for e in entries
        ]
        valid = [(i, e) for i, e in enumerate(entries) if isinstance(e, PublishEntry)]
        if valid:
            answers = await self.topics.publish(name, [e for _, e in valid])
            for (index, _), answer in zip(valid, answers, strict=True):
                slots[index] = answer
        results = [r if r is not None else RaybusError("InternalError", "no result") for r in slots]
        if not batch:
            (result,) = results
            if isinstance(result, RaybusError):
                raise result
            return self._ok(request, publish_result_to_wire(result))
        return self._ok(
            request,
            {
                "results": [
                    {**error_body(_clean(r)), **({"id": i} if i is not None else {})}
                    if isinstance(r, RaybusError)
                    else publish_result_to_wire(r, i)
                    for r, i in zip(results, ids, strict=True)
                ]
            },
        )

    # -- subscriptions --------------------------------------------------------------------------
    async def subscribe(self, request: web.Request) -> web.Response:
        settings = self._body(request)
        subscription, created = await self.admin.subscribe.remote(
            request.match_info["name"], settings
        )
        await self._changed()
        return self._ok(request, {"subscription": subscription, "created": created})

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        subscriptions = await self.admin.list_subscriptions.remote(request.match_info["name"])
        return self._ok(request, {"subscriptions": subscriptions})

    async def get_subscription(self, request: web.Request) -> web.Response:
        subscription = await self.admin.get_subscription.remote(request.match_info["id"])
        return self._ok(request, {"subscription": subscription})

    async def update_subscription(self, request: web.Request) -> web.Response:
        changes = self._body(request)
        subscription = await self.admin.update_subscription.remote(
            request.match_info["id"], changes
        )
        await self._changed()
        return self._ok(request, {"subscription": subscription})

    async def unsubscribe(self, request: web.Request) -> web.Response:
        await self.admin.unsubscribe.remote(request.match_info["id"])
        await self._changed()
        return self._ok(request, {})

    # -- functions ------------------------------------------------------------------------------
    async def create_function(self, request: web.Request) -> web.Response:
        settings = function_settings_from_wire(self._body(request), json=request[CODEC].json)
        config, created = await self.admin.create_function.remote(settings)
        await self._changed()
        return self._ok(request, {"function": config, "created": created})

    async def list_functions(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        names = await self.admin.list_functions.remote(prefix, query_limit(request.query))
        return self._ok(request, {"functions": names})

    async def get_function(self, request: web.Request) -> web.Response:
        config = await self.admin.get_function.remote(request.match_info["name"])
        return self._ok(request, {"function": config})

    async def update_function(self, request: web.Request) -> web.Response:
        changes = function_settings_from_wire(self._body(request), json=request[CODEC].json)
        config = await self.admin.update_function.remote(request.match_info["name"], changes)
        await self._changed()
        return self._ok(request, {"function": config})

    async def delete_function(self, request: web.Request) -> web.Response:
        await self.admin.delete_function.remote(request.match_info["name"])
        await self._changed()
        return self._ok(request, {})

    async def _payload(self, request: web.Request) -> Any:
        payload = self._body(request).get("payload")
        check_json_value(payload)  # msgpack bytes, JSON's NaN: not a JSON event
        return payload

    async def invoke(self, request: web.Request) -> web.Response:
        assert self.functions is not None
        payload = await self._payload(request)
        result = await self.functions.invoke(request.match_info["name"], payload)
        headers = {} if result.get("ok") else {FUNCTION_ERROR_HEADER: "Unhandled"}
        return self._ok(request, result, headers=headers)

    async def invoke_async(self, request: web.Request) -> web.Response:
        assert self.functions is not None
        payload = await self._payload(request)
        request_id = await self.functions.invoke_async(request.match_info["name"], payload)
        return self._ok(request, {"request_id": request_id}, status=202)

    # -- event-source mappings ----------------------------------------------------------------
    async def create_mapping(self, request: web.Request) -> web.Response:
        settings = self._body(request)
        mapping, created = await self.admin.create_mapping.remote(settings)
        await self._changed()
        return self._ok(request, {"mapping": mapping, "created": created})

    async def list_mappings(self, request: web.Request) -> web.Response:
        function = request.query.get("function") or None
        source = request.query.get("source") or None
        mappings = await self.admin.list_mappings.remote(function, source)
        return self._ok(request, {"mappings": mappings})

    async def get_mapping(self, request: web.Request) -> web.Response:
        mapping = await self.admin.get_mapping.remote(request.match_info["id"])
        return self._ok(request, {"mapping": mapping})

    async def update_mapping(self, request: web.Request) -> web.Response:
        changes = self._body(request)
        mapping = await self.admin.update_mapping.remote(request.match_info["id"], changes)
        await self._changed()
        return self._ok(request, {"mapping": mapping})

    async def delete_mapping(self, request: web.Request) -> web.Response:
        await self.admin.delete_mapping.remote(request.match_info["id"])
        await self._changed()
        return self._ok(request, {})

    async def mapping_stats(self, request: web.Request) -> web.Response:
        return self._ok(request, await self.admin.mapping_stats.remote(request.match_info["id"]))


def resource_routes(
    service: QueueService,
    admin: Any,
    topics: TopicPublisher | None = None,
    functions: FunctionInvoker | None = None,
) -> list[Route]:
    """The topic and subscription routes when ``topics`` is given, the function and
    event-source-mapping routes when ``functions`` is given. Route names label the gateway's
    latency histogram (``operation``)."""
    api = ResourcesApi(service, admin, topics, functions)
    routes: list[Route] = []
    names = {"prefix": S.STRING, "limit": {"type": "integer", "minimum": 1}}
    if topics is not None:
        t = "/v1/topics/{name}"
        s = "/v1/subscriptions/{id}"
        topic = S.open_object({"topic": S.ref("TopicConfig"), "created": S.BOOLEAN}, ["topic"])
        subs = S.open_object(
            {"subscriptions": {"type": "array", "items": S.ref("SubscriptionConfig")}},
            ["subscriptions"],
        )
        sub = S.open_object(
            {"subscription": S.ref("SubscriptionConfig"), "created": S.BOOLEAN},
            ["subscription"],
        )
        routes += [
            Route("POST", "/v1/topics", "create_topic", api.create_topic,
                  "Create a topic (idempotent for equal settings).", "topics",
                  body=S.COMPONENTS["TopicConfig"], answer=topic),
            Route("GET", "/v1/topics", "list_topics", api.list_topics, "List topic names.",
                  "topics", query=names,
                  answer=S.open_object({"topics": S.NAMES}, ["topics"])),
            Route("GET", t, "get_topic", api.get_topic,
                  "A topic's settings and subscriptions.", "topics",
                  answer=S.open_object({"topic": S.ref("TopicConfig"),
                                        "subscriptions": subs["properties"]["subscriptions"]},
                                       ["topic", "subscriptions"])),
            Route("DELETE", t, "delete_topic", api.delete_topic,
                  "Delete a topic and its subscriptions.", "topics"),
            Route("GET", t + "/stats", "topic_stats", api.topic_stats,
                  "A topic's delivery counts per subscription.", "topics",
                  answer={"type": "object"}),
            Route("POST", t + "/publish", "publish", api.publish,
                  "Publish a message or a batch (SNS's limits: 10 entries, 256 KiB).",
                  "topics", body=S.PUBLISH, answer=S.PUBLISH_ANSWER),
            Route("POST", t + "/subscriptions", "subscribe", api.subscribe,
                  "Subscribe a queue, a function or an HTTP(S) endpoint.", "subscriptions",
                  body=S.SUBSCRIBE, answer=sub),
            Route("GET", t + "/subscriptions", "list_subscriptions", api.list_subscriptions,
                  "A topic's subscriptions.", "subscriptions", answer=subs),
            Route("GET", s, "get_subscription", api.get_subscription, "A subscription.",
                  "subscriptions", answer=sub),
            Route("PATCH", s, "update_subscription", api.update_subscription,
                  "Change a subscription.", "subscriptions", body=S.SUBSCRIPTION_CHANGES,
                  answer=sub),
            Route("DELETE", s, "unsubscribe", api.unsubscribe, "Delete a subscription.",
                  "subscriptions"),
        ]  # fmt: skip
    if functions is not None:
        f = "/v1/functions/{name}"
        m = "/v1/event-source-mappings/{id}"
        function = S.open_object(
            {"function": S.ref("FunctionConfig"), "created": S.BOOLEAN}, ["function"]
        )
        mapping = S.open_object(
            {"mapping": S.ref("MappingConfig"), "created": S.BOOLEAN}, ["mapping"]
        )
        routes += [
            Route("POST", "/v1/functions", "create_function", api.create_function,
                  "Create a function from an import path or uploaded code.", "functions",
                  body=S.FUNCTION_CREATE, answer=function),
            Route("GET", "/v1/functions", "list_functions", api.list_functions,
                  "List function names.", "functions", query=names,
                  answer=S.open_object({"functions": S.NAMES}, ["functions"])),
            Route("GET", f, "get_function", api.get_function, "A function's settings.",
                  "functions", answer=function),
            Route("PATCH", f, "update_function", api.update_function,
                  "Change a function's settings or code.", "functions",
                  body=S.FUNCTION_CHANGES, answer=function),
            Route("DELETE", f, "delete_function", api.delete_function,
                  "Delete a function and its mappings.", "functions"),
            Route("POST", f + "/invoke", "invoke", api.invoke,
                  "Invoke synchronously: the handler's result or Lambda's error object.",
                  "functions", body=S.INVOKE, answer=S.INVOKE_ANSWER),
            Route("POST", f + "/invoke-async", "invoke_async", api.invoke_async,
                  "Queue an asynchronous invocation (durable before the answer).",
                  "functions", body=S.INVOKE,
                  answer=S.open_object({"request_id": S.STRING}, ["request_id"]), status=202),
            Route("POST", "/v1/event-source-mappings", "create_mapping", api.create_mapping,
                  "Feed a function from a queue or a topic.", "event-source mappings",
                  body=S.MAPPING_CREATE, answer=mapping),
            Route("GET", "/v1/event-source-mappings", "list_mappings", api.list_mappings,
                  "List mappings, by function and/or source.", "event-source mappings",
                  query={"function": S.STRING, "source": S.STRING},
                  answer=S.open_object({"mappings": {"type": "array",
                                                     "items": S.ref("MappingConfig")}},
                                       ["mappings"])),
            Route("GET", m, "get_mapping", api.get_mapping, "A mapping.",
                  "event-source mappings", answer=mapping),
            Route("PATCH", m, "update_mapping", api.update_mapping, "Change a mapping.",
                  "event-source mappings", body=S.MAPPING_CHANGES, answer=mapping),
            Route("DELETE", m, "delete_mapping", api.delete_mapping, "Delete a mapping.",
                  "event-source mappings"),
            Route("GET", m + "/stats", "mapping_stats", api.mapping_stats,
                  "A mapping's backlog and poller counts.", "event-source mappings",
                  answer={"type": "object"}),
        ]  # fmt: skip
    return routes
