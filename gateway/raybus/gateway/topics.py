"""The HTTP routes of topics and subscriptions (docs/http-api.md), and the topic data plane.

:class:`TopicService` publishes through the per-partition lanes: a batch is split over the
topic's partitions (FIFO by message group, standard one partition per request, rotating), one
:class:`~raybus.engines.topic.ops.Publish` per partition, coalesced with other requests to the
same partition and acknowledged after its commit. Control routes run typed control calls
(:mod:`raybus.control.topics`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from raybus.control.topics import (
    CreateTopic,
    DeleteTopic,
    GetSubscription,
    GetTopic,
    ListSubscriptions,
    ListTopics,
    Subscribe,
    TopicStatsCall,
    Unsubscribe,
    UpdateSubscription,
)
from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult
from raybus.engines.topic.ops import Publish
from raybus.gateway import schemas as S
from raybus.gateway import topic_wire as W
from raybus.gateway.api import Context, body, clean, ok, query_limit
from raybus.gateway.boundary import CODEC, Route
from raybus.gateway.codec import error_body
from raybus.gateway.lanes import Lanes
from raybus.gateway.topic_wire import publish_entries_from_wire, publish_result_to_wire

__all__ = ["TopicApi", "TopicService", "routes"]


class TopicService:
    def __init__(self, lanes: Lanes) -> None:
        self.lanes = lanes

    async def publish(
        self, topic: str, entries: Sequence[PublishEntry]
    ) -> list[PublishResult | RaybusError]:
        return await self.lanes.split("topic", topic, entries, Publish)

    def forget(self, topic: str) -> None:
        self.lanes.forget("topic", topic)


class TopicApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control

    # -- topics ---------------------------------------------------------------------------------
    async def create_topic(self, request: web.Request) -> web.Response:
        config, created = await self.control.run(CreateTopic(body(request)))
        await self.context.changed()
        return ok(request, {"topic": config, "created": created})

    async def list_topics(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        names = await self.control.run(ListTopics(prefix, query_limit(request.query)))
        return ok(request, {"topics": names})

    async def get_topic(self, request: web.Request) -> web.Response:
        return ok(request, await self.control.run(GetTopic(request.match_info["name"])))

    async def delete_topic(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self.control.run(DeleteTopic(name))
        await self.context.changed()
        if self.context.topics is not None:
            self.context.topics.forget(name)
        return ok(request, {})

    async def topic_stats(self, request: web.Request) -> web.Response:
        return ok(request, await self.control.run(TopicStatsCall(request.match_info["name"])))

    async def publish(self, request: web.Request) -> web.Response:
        publisher = self.context.topics
        assert publisher is not None
        name = request.match_info["name"]
        entries, ids, batch = publish_entries_from_wire(body(request), json=request[CODEC].json)
        if not batch and isinstance(entries[0], RaybusError):
            raise entries[0]
        slots: list[PublishResult | RaybusError | None] = [
            e if isinstance(e, RaybusError) else None for e in entries
        ]
        valid = [(i, e) for i, e in enumerate(entries) if isinstance(e, PublishEntry)]
        if valid:
            answers = await publisher.publish(name, [e for _, e in valid])
            for (index, _), answer in zip(valid, answers, strict=True):
                slots[index] = answer
        results = [r if r is not None else RaybusError("InternalError", "no result") for r in slots]
        if not batch:
            (result,) = results
            if isinstance(result, RaybusError):
                raise result
            return ok(request, publish_result_to_wire(result))
        return ok(
            request,
            {
                "results": [
                    {**error_body(clean(r)), **({"id": i} if i is not None else {})}
                    if isinstance(r, RaybusError)
                    else publish_result_to_wire(r, i)
                    for r, i in zip(results, ids, strict=True)
                ]
            },
        )

    # -- subscriptions --------------------------------------------------------------------------
    async def subscribe(self, request: web.Request) -> web.Response:
        call = Subscribe(request.match_info["name"], body(request))
        subscription, created = await self.control.run(call)
        await self.context.changed()
        return ok(request, {"subscription": subscription, "created": created})

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        subs = await self.control.run(ListSubscriptions(request.match_info["name"]))
        return ok(request, {"subscriptions": subs})

    async def get_subscription(self, request: web.Request) -> web.Response:
        sub = await self.control.run(GetSubscription(request.match_info["id"]))
        return ok(request, {"subscription": sub})

    async def update_subscription(self, request: web.Request) -> web.Response:
        call = UpdateSubscription(request.match_info["id"], body(request))
        subscription = await self.control.run(call)
        await self.context.changed()
        return ok(request, {"subscription": subscription})

    async def unsubscribe(self, request: web.Request) -> web.Response:
        await self.control.run(Unsubscribe(request.match_info["id"]))
        await self.context.changed()
        return ok(request, {})


def routes(context: Context) -> list[Route]:
    if context.topics is None:
        return []
    api = TopicApi(context)
    t = "/v1/topics/{name}"
    s = "/v1/subscriptions/{id}"
    names = {"prefix": S.STRING, "limit": {"type": "integer", "minimum": 1}}
    topic = S.open_object({"topic": S.ref("TopicConfig"), "created": S.BOOLEAN}, ["topic"])
    subs_list = {"type": "array", "items": S.ref("SubscriptionConfig")}
    subs = S.open_object({"subscriptions": subs_list}, ["subscriptions"])
    sub = S.open_object(
        {"subscription": S.ref("SubscriptionConfig"), "created": S.BOOLEAN}, ["subscription"]
    )
    return [
        Route("POST", "/v1/topics", "create_topic", api.create_topic,
              "Create a topic (idempotent for equal settings).", "topics",
              body=S.COMPONENTS["TopicConfig"], answer=topic),
        Route("GET", "/v1/topics", "list_topics", api.list_topics, "List topic names.",
              "topics", query=names, answer=S.open_object({"topics": S.NAMES}, ["topics"])),
        Route("GET", t, "get_topic", api.get_topic, "A topic's settings and subscriptions.",
              "topics",
              answer=S.open_object({"topic": S.ref("TopicConfig"), "subscriptions": subs_list},
                                   ["topic", "subscriptions"])),
        Route("DELETE", t, "delete_topic", api.delete_topic,
              "Delete a topic and its subscriptions.", "topics"),
        Route("GET", t + "/stats", "topic_stats", api.topic_stats,
              "A topic's delivery counts per subscription.", "topics",
              answer={"type": "object"}),
        Route("POST", t + "/publish", "publish", api.publish,
              "Publish a message or a batch (SNS's limits: 10 entries, 256 KiB).", "topics",
              body=W.PUBLISH, answer=W.PUBLISH_ANSWER),
        Route("POST", t + "/subscriptions", "subscribe", api.subscribe,
              "Subscribe a queue, a function or an HTTP(S) endpoint.", "subscriptions",
              body=W.SUBSCRIBE, answer=sub),
        Route("GET", t + "/subscriptions", "list_subscriptions", api.list_subscriptions,
              "A topic's subscriptions.", "subscriptions", answer=subs),
        Route("GET", s, "get_subscription", api.get_subscription, "A subscription.",
              "subscriptions", answer=sub),
        Route("PATCH", s, "update_subscription", api.update_subscription,
              "Change a subscription.", "subscriptions", body=W.SUBSCRIPTION_CHANGES,
              answer=sub),
        Route("DELETE", s, "unsubscribe", api.unsubscribe, "Delete a subscription.",
              "subscriptions"),
    ]  # fmt: skip
