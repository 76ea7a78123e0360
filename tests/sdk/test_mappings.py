"""Event-source mappings in the SDK: sources and functions given as handles or strings, the
settings on the wire, listing with filters, and the handle."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.sdk import errors
from tests.sdk.conftest import Api, ait

DEFAULTS = {
    "batch_size": 10,
    "batching_window_s": 0,
    "report_batch_item_failures": False,
    "enabled": True,
}


def test_create_sends_the_source_the_function_and_the_documented_defaults(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.create_event_source_mapping("queue:orders", "resize"))

    mapping = api.run(scenario)
    request = api.gateway.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/event-source-mappings")
    assert request.body == {"source": "queue:orders", "function": "resize", **DEFAULTS}
    assert (mapping.source, mapping.function) == ("queue:orders", "resize")
    assert mapping.id == mapping.config["id"] and "queue:orders -> resize" in repr(mapping)


def test_sources_and_functions_may_be_handles(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.resources.add_topic("alerts")
    api.gateway.resources.add_function("resize")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        topic = await ait(client.topic("alerts"))
        function = await ait(client.function("resize"))
        for source in (queue, topic, "topic:alerts", "orders"):
            await ait(client.create_event_source_mapping(source, function))

    api.run(scenario)
    bodies = [r.body for r in api.gateway.requests if r.method == "POST"]
    assert [(b["source"], b["function"]) for b in bodies] == [
        ("queue:orders", "resize"),
        ("topic:alerts", "resize"),
        ("topic:alerts", "resize"),
        ("orders", "resize"),
    ]


def test_every_setting_goes_on_the_wire(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        await ait(
            client.create_event_source_mapping(
                "queue:orders",
                "resize",
                batch_size=100,
                batching_window_s=5,
                max_concurrency=4,
                report_batch_item_failures=True,
                filter_criteria=({"body": {"kind": ["a"]}},),
                enabled=False,
            )
        )
        await ait(
            client.create_event_source_mapping(
                "queue:orders",
                "resize",
                filter_criteria={"Filters": [{"Pattern": '{"body": {"kind": ["b"]}}'}]},
            )
        )

    api.run(scenario)
    first, second = (r.body for r in api.gateway.requests)
    assert first == {
        "source": "queue:orders",
        "function": "resize",
        "batch_size": 100,
        "batching_window_s": 5,
        "max_concurrency": 4,
        "report_batch_item_failures": True,
        "filter_criteria": [{"body": {"kind": ["a"]}}],
        "enabled": False,
    }
    assert second["filter_criteria"] == {"Filters": [{"Pattern": '{"body": {"kind": ["b"]}}'}]}


@pytest.mark.parametrize("source", [None, "", 7])
def test_a_source_that_is_not_a_queue_or_topic_is_refused_before_any_request(
    api: Api, source: Any
) -> None:
    async def scenario(client: Any) -> Any:
        await ait(client.create_event_source_mapping(source, "resize"))

    with pytest.raises(errors.InvalidParameterValue):
        api.run(scenario)
    assert api.gateway.requests == []


def test_a_function_handle_is_not_a_source(api: Api) -> None:
    api.gateway.resources.add_function("resize")

    async def scenario(client: Any) -> Any:
        function = await ait(client.function("resize"))
        await ait(client.create_event_source_mapping(function, function))

    with pytest.raises(errors.InvalidParameterValue, match="not a function"):
        api.run(scenario)


def test_list_filters_by_function_and_source_and_returns_handles(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        await ait(client.create_event_source_mapping("queue:orders", "a"))
        await ait(client.create_event_source_mapping("topic:alerts", "a"))
        await ait(client.create_event_source_mapping("queue:orders", "b"))
        queue = await ait(client.queue("orders"))
        every = await ait(client.list_event_source_mappings())
        of_a = await ait(client.list_event_source_mappings("a"))
        from_orders = await ait(client.list_event_source_mappings(source=queue))
        both = await ait(client.list_event_source_mappings("a", "queue:orders"))
        return every, of_a, from_orders, both

    every, of_a, from_orders, both = api.run(scenario)
    assert len(every) == 3 and [m.function for m in of_a] == ["a", "a"]
    assert [m.function for m in from_orders] == ["a", "b"]
    assert [(m.source, m.function) for m in both] == [("queue:orders", "a")]
    lists = [r.params for r in api.gateway.requests if r.method == "GET" and "mappings" in r.path]
    assert lists == [{}, {"function": "a"}, {"source": "queue:orders"},
                     {"function": "a", "source": "queue:orders"}]  # fmt: skip


def test_the_mapping_handle_updates_enables_disables_reports_and_deletes(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        created = await ait(client.create_event_source_mapping("queue:orders", "resize"))
        mapping = await ait(client.event_source_mapping(created.id))
        config = await ait(mapping.update(batch_size=5, filter_criteria=("{}",)))
        await ait(mapping.disable())
        disabled = mapping.config["enabled"]
        await ait(mapping.enable())
        stats = await ait(mapping.stats())
        await ait(mapping.delete())
        return mapping, config, disabled, stats

    mapping, config, disabled, stats = api.run(scenario)
    patches = [r for r in api.gateway.requests if r.method == "PATCH"]
    assert {r.path for r in patches} == {f"/v1/event-source-mappings/{mapping.id}"}
    assert [r.body for r in patches] == [
        {"batch_size": 5, "filter_criteria": ["{}"]},
        {"enabled": False},
        {"enabled": True},
    ]
    assert config["batch_size"] == 5 and (disabled, mapping.config["enabled"]) == (False, True)
    assert stats["backlog"] == 3
    assert api.gateway.requests[-1].method == "DELETE"
    assert api.gateway.resources.mappings == {}


def test_a_missing_mapping_raises_resource_not_found(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        await ait(client.event_source_mapping("nope"))

    with pytest.raises(errors.ResourceNotFound):
        api.run(scenario)
