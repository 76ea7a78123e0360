"""The HTTP routes of topics, subscriptions, functions and event-source mappings.

Same conventions as the queue routes (docs/http-api.md): msgpack or JSON chosen by
:class:`~raybus.gateway.codec.Codec`, unknown request fields refused with
``InvalidParameterValue``, failures raised as :class:`RaybusError` for the server's
middleware to turn into the catalog's status and error body (and to time under the route's
name). Control-plane routes call the controller actor (``await admin.X.remote(...)``) and
refresh the gateway's routing table after every change, so the next data-plane call sees the
new resource; publish and invoke go to the data-plane services handed to :func:`add_routes`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web

from raybus.core.errors import RaybusError
from raybus.core.resources import PublishEntry, PublishResult
from raybus.gateway.codec import Codec, check_keys, error_body
from raybus.gateway.resources_codec import (
    FUNCTION_CREATE_KEYS,
    FUNCTION_UPDATE_KEYS,
    MAPPING_CREATE_KEYS,
    MAPPING_UPDATE_KEYS,
    SUBSCRIBE_KEYS,
    SUBSCRIPTION_UPDATE_KEYS,
    TOPIC_CREATE_KEYS,
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
    "add_routes",
]

FUNCTION_ERROR_HEADER = "X-Amz-Function-Error"
_INVOKE_KEYS = frozenset({"payload"})


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
    """The handlers; ``codec_key`` is where the middleware left the request's codec."""

    def __init__(
        self,
        codec_key: web.RequestKey[Codec],
        service: QueueService,
        admin: Any,
        topics: TopicPublisher | None,
        functions: FunctionInvoker | None,
    ) -> None:
        self.codec_key = codec_key
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
        codec = request[self.codec_key]
        return web.Response(
            status=status,
            body=codec.encode(payload),
            content_type=codec.content_type,
            headers=headers,
        )

    async def _body(self, request: web.Request, allowed: frozenset[str]) -> dict[str, Any]:
        data = request[self.codec_key].decode(await request.read())
        check_keys(data, allowed)
        return data

    async def _changed(self) -> None:
        await self.service.router.refresh()

    # -- topics ---------------------------------------------------------------------------------
    async def create_topic(self, request: web.Request) -> web.Response:
        settings = await self._body(request, TOPIC_CREATE_KEYS)
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
        codec = request[self.codec_key]
        data = codec.decode(await request.read())
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
        settings = await self._body(request, SUBSCRIBE_KEYS)
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
        changes = await self._body(request, SUBSCRIPTION_UPDATE_KEYS)
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
        codec = request[self.codec_key]
        settings = function_settings_from_wire(
            codec.decode(await request.read()), json=codec.json, allowed=FUNCTION_CREATE_KEYS
        )
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
        codec = request[self.codec_key]
        changes = function_settings_from_wire(
            codec.decode(await request.read()), json=codec.json, allowed=FUNCTION_UPDATE_KEYS
        )
        config = await self.admin.update_function.remote(request.match_info["name"], changes)
        await self._changed()
        return self._ok(request, {"function": config})

    async def delete_function(self, request: web.Request) -> web.Response:
        await self.admin.delete_function.remote(request.match_info["name"])
        await self._changed()
        return self._ok(request, {})

    async def _payload(self, request: web.Request) -> Any:
        codec = request[self.codec_key]
        data = codec.decode(await request.read())
        check_keys(data, _INVOKE_KEYS)
        payload = data.get("payload")
        if not codec.json:
            check_json_value(payload)
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
        settings = await self._body(request, MAPPING_CREATE_KEYS)
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
        changes = await self._body(request, MAPPING_UPDATE_KEYS)
        mapping = await self.admin.update_mapping.remote(request.match_info["id"], changes)
        await self._changed()
        return self._ok(request, {"mapping": mapping})

    async def delete_mapping(self, request: web.Request) -> web.Response:
        await self.admin.delete_mapping.remote(request.match_info["id"])
        await self._changed()
        return self._ok(request, {})

    async def mapping_stats(self, request: web.Request) -> web.Response:
        return self._ok(request, await self.admin.mapping_stats.remote(request.match_info["id"]))


def add_routes(
    app: web.Application,
    codec_key: web.RequestKey[Codec],
    service: QueueService,
    admin: Any,
    *,
    topics: TopicPublisher | None = None,
    functions: FunctionInvoker | None = None,
) -> ResourcesApi:
    """Register the topic and subscription routes when ``topics`` is given, the function and
    event-source-mapping routes when ``functions`` is given. Route names label the gateway's
    latency histogram (``operation``)."""
    api = ResourcesApi(codec_key, service, admin, topics, functions)
    r = app.router
    if topics is not None:
        t = "/v1/topics/{name}"
        r.add_post("/v1/topics", api.create_topic, name="create_topic")
        r.add_get("/v1/topics", api.list_topics, name="list_topics")
        r.add_get(t, api.get_topic, name="get_topic")
        r.add_delete(t, api.delete_topic, name="delete_topic")
        r.add_get(t + "/stats", api.topic_stats, name="topic_stats")
        r.add_post(t + "/publish", api.publish, name="publish")
        r.add_post(t + "/subscriptions", api.subscribe, name="subscribe")
        r.add_get(t + "/subscriptions", api.list_subscriptions, name="list_subscriptions")
        s = "/v1/subscriptions/{id}"
        r.add_get(s, api.get_subscription, name="get_subscription")
        r.add_patch(s, api.update_subscription, name="update_subscription")
        r.add_delete(s, api.unsubscribe, name="unsubscribe")
    if functions is not None:
        f = "/v1/functions/{name}"
        r.add_post("/v1/functions", api.create_function, name="create_function")
        r.add_get("/v1/functions", api.list_functions, name="list_functions")
        r.add_get(f, api.get_function, name="get_function")
        r.add_patch(f, api.update_function, name="update_function")
        r.add_delete(f, api.delete_function, name="delete_function")
        r.add_post(f + "/invoke", api.invoke, name="invoke")
        r.add_post(f + "/invoke-async", api.invoke_async, name="invoke_async")
        m = "/v1/event-source-mappings/{id}"
        r.add_post("/v1/event-source-mappings", api.create_mapping, name="create_mapping")
        r.add_get("/v1/event-source-mappings", api.list_mappings, name="list_mappings")
        r.add_get(m, api.get_mapping, name="get_mapping")
        r.add_patch(m, api.update_mapping, name="update_mapping")
        r.add_delete(m, api.delete_mapping, name="delete_mapping")
        r.add_get(m + "/stats", api.mapping_stats, name="mapping_stats")
    return api
