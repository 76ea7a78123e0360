"""Request shapes: every SDK call becomes the request docs/http-api.md specifies."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.core import Attribute, md5_of_attributes, md5_of_body
from raybus.sdk import errors
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer


def test_every_request_speaks_msgpack_and_carries_the_bearer_token(api: Api) -> None:
    async def scenario(client: Any) -> None:
        await ait(client.list_queues())
        queue = await ait(client.create_queue("orders"))
        await ait(queue.send(b"x"))

    api.run(scenario)
    assert len(api.gateway.requests) == 3
    for request in api.gateway.requests:
        assert request.headers["accept"] == "application/msgpack"
        assert request.headers["content-type"] == "application/msgpack"
        assert request.headers["authorization"] == "Bearer secret"
        assert request.headers["user-agent"].startswith("raybus-sdk/")


def test_a_client_without_a_token_sends_no_authorization_header(api: Api) -> None:
    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    api.run(scenario, token=None)
    assert "authorization" not in api.gateway.requests[0].headers


def test_a_url_with_a_path_prefix_keeps_the_prefix(api: Api) -> None:
    api.gateway.script(answer({"queues": []}))

    async def scenario(client: Any) -> None:
        await ait(client.list_queues())

    api.run(scenario, url="http://gateway.test/raybus")
    assert api.gateway.requests[0].path == "/raybus/v1/queues"


def test_create_queue_sends_the_documented_defaults_and_infers_a_standard_queue(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.create_queue("orders"))

    queue = api.run(scenario)
    request = api.gateway.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/queues")
    assert request.body == {
        "name": "orders",
        "fifo": False,
        "visibility_timeout_s": 30,
        "delay_s": 0,
        "retention_s": 345_600,
        "max_message_bytes": 262_144,
        "receive_wait_s": 0,
    }
    assert (queue.name, queue.fifo, queue.settings["visibility_timeout_s"]) == ("orders", False, 30)


def test_create_queue_infers_fifo_from_the_name_and_sends_the_fifo_settings(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.create_queue("jobs.fifo", content_based_dedup=True, partitions=1))

    queue = api.run(scenario)
    body = api.gateway.requests[0].body
    assert body["fifo"] is True and queue.fifo is True
    assert body["content_based_dedup"] is True
    assert (body["dedup_scope"], body["throughput_limit"], body["partitions"]) == (
        "queue",
        "perQueue",
        1,
    )


def test_a_fifo_only_setting_on_a_standard_queue_is_sent_so_the_gateway_refuses_it(
    api: Api,
) -> None:
    async def scenario(client: Any) -> None:
        await ait(client.create_queue("orders", dedup_scope="messageGroup"))

    api.run(scenario)
    assert api.gateway.requests[0].body["dedup_scope"] == "messageGroup"


@pytest.mark.parametrize("by_handle", [False, True], ids=["by-name", "by-queue-handle"])
def test_a_dead_letter_queue_becomes_the_redrive_policy(api: Api, by_handle: bool) -> None:
    async def scenario(client: Any) -> None:
        dlq = await ait(client.create_queue("orders-dlq"))
        await ait(
            client.create_queue(
                "orders", dead_letter_queue=dlq if by_handle else "orders-dlq", max_receive_count=3
            )
        )

    api.run(scenario)
    assert api.gateway.requests[1].body["redrive_policy"] == {
        "dead_letter_queue": "orders-dlq",
        "max_receive_count": 3,
    }


@pytest.mark.parametrize(
    "settings",
    [{"dead_letter_queue": "dlq"}, {"max_receive_count": 3}],
    ids=["queue-without-count", "count-without-queue"],
)
def test_half_a_redrive_policy_is_refused_before_any_request(
    api: Api, settings: dict[str, Any]
) -> None:
    async def scenario(client: Any) -> None:
        await ait(client.create_queue("orders", **settings))

    with pytest.raises(errors.InvalidRedrivePolicy):
        api.run(scenario)
    assert api.gateway.requests == []


def test_queue_gets_the_settings_and_an_unknown_name_raises_queue_does_not_exist(
    api: Api,
) -> None:
    api.gateway.add_queue("orders", visibility_timeout_s=45)

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        with pytest.raises(errors.QueueDoesNotExist) as raised:
            await ait(client.queue("nope"))
        return queue, raised.value

    queue, error = api.run(scenario)
    assert queue.settings["visibility_timeout_s"] == 45
    assert [(r.method, r.path) for r in api.gateway.requests] == [
        ("GET", "/v1/queues/orders"),
        ("GET", "/v1/queues/nope"),
    ]
    assert (error.http_status, error.retriable) == (404, False)


def test_list_queues_passes_prefix_and_limit_as_query_parameters(api: Api) -> None:
    for name in ("a1", "a2", "b1"):
        api.gateway.add_queue(name)

    async def scenario(client: Any) -> Any:
        return await ait(client.list_queues()), await ait(client.list_queues("a", limit=1))

    everything, some = api.run(scenario)
    assert (everything, some) == (["a1", "a2", "b1"], ["a1"])
    assert [r.params for r in api.gateway.requests] == [{}, {"prefix": "a", "limit": "1"}]


def test_delete_queue_takes_a_name_or_a_queue(api: Api) -> None:
    api.gateway.add_queue("a")
    api.gateway.add_queue("b")

    async def scenario(client: Any) -> None:
        await ait(client.delete_queue("a"))
        await ait(client.delete_queue(await ait(client.queue("b"))))

    api.run(scenario)
    deletes = [r.path for r in api.gateway.requests if r.method == "DELETE"]
    assert deletes == ["/v1/queues/a", "/v1/queues/b"]
    assert api.gateway.queues == {}


def test_a_queue_handle_deletes_its_queue_and_names_its_arn(api: Api) -> None:
    api.gateway.add_queue("a")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("a"))
        await ait(queue.delete())
        return queue

    queue = api.run(scenario)
    assert [r.path for r in api.gateway.requests if r.method == "DELETE"] == ["/v1/queues/a"]
    assert api.gateway.queues == {}
    assert queue.arn == "arn:aws:sqs:us-east-1:000000000000:a"


def test_a_queues_settings_are_its_config_under_their_earlier_name(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        before = queue.settings
        await ait(queue.update(visibility_timeout_s=7))
        return queue, before

    queue, before = api.run(scenario)
    assert before["visibility_timeout_s"] == 30
    assert queue.settings is queue.config and queue.config["visibility_timeout_s"] == 7
    queue.settings = {"name": "orders", "fifo": True}
    assert queue.config == {"name": "orders", "fifo": True} and queue.fifo


def test_update_maps_the_dead_letter_pair_and_can_remove_the_policy(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        await ait(
            queue.update(visibility_timeout_s=5, dead_letter_queue="dlq", max_receive_count=2)
        )
        await ait(queue.update(redrive_policy=None))
        return queue

    queue = api.run(scenario)
    patches = [r for r in api.gateway.requests if r.method == "PATCH"]
    assert [p.path for p in patches] == ["/v1/queues/orders"] * 2
    assert patches[0].body == {
        "visibility_timeout_s": 5,
        "redrive_policy": {"dead_letter_queue": "dlq", "max_receive_count": 2},
    }
    assert patches[1].body == {"redrive_policy": None}
    assert queue.settings["visibility_timeout_s"] == 5


def test_send_encodes_a_str_body_as_utf8_bytes_and_omits_unset_options(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        return await ait(queue.send("héllo"))

    result = api.run(scenario)
    request = api.gateway.requests[-1]
    assert (request.method, request.path) == ("POST", "/v1/queues/orders/messages")
    assert request.body == {"body": "héllo".encode()}
    assert result.message_id.startswith("m") and result.sequence_number is None


def test_send_passes_every_option_and_returns_the_fifo_sequence_number(api: Api) -> None:
    api.gateway.add_queue("jobs.fifo")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("jobs.fifo"))
        return await ait(
            queue.send(b"\x00\x01", attributes={"k": "v"}, group_id="g", dedup_id="d", delay_s=0)
        )

    result = api.run(scenario)
    assert api.gateway.requests[-1].body == {
        "body": b"\x00\x01",
        "attributes": {"k": ["String", "v"]},
        "delay_s": 0,
        "group_id": "g",
        "dedup_id": "d",
    }
    assert result.sequence_number is not None
    assert result.md5_of_body == md5_of_body(b"\x00\x01")
    assert result.md5_of_attributes == md5_of_attributes({"k": Attribute("String", "v")})


def test_receive_sends_only_what_is_given_and_extends_the_read_timeout_by_the_wait(
    api: Api,
) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> None:
        queue = await ait(client.queue("orders"))
        await ait(queue.receive())
        await ait(queue.receive(10, wait_s=15, visibility_timeout_s=60))

    api.run(scenario, timeout_s=5.0)
    default, explicit = api.gateway.calls("/receive")
    assert default.body == {"max_messages": 1}
    assert default.timeout["read"] == 5.0 + 20  # the queue's default wait is at most 20 s
    assert explicit.body == {"max_messages": 10, "wait_s": 15, "visibility_timeout_s": 60}
    assert explicit.timeout["read"] == 5.0 + 15


def test_single_delete_and_visibility_change_use_the_single_forms(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"a", b"b")

    async def scenario(client: Any) -> None:
        queue = await ait(client.queue("orders"))
        first, second = await ait(queue.receive(2))
        await ait(queue.change_visibility(first, 0))
        await ait(queue.delete_message(second.receipt))

    api.run(scenario)
    (visibility,) = api.gateway.calls("/visibility")
    (delete,) = api.gateway.calls("/delete")
    assert visibility.body == {"receipt": "orders:m1:1", "visibility_timeout_s": 0}
    assert delete.body == {"receipt": "orders:m2:1"}
    assert api.gateway.bodies("orders") == [b"a"]


def test_stats_and_purge(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"a", b"b")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        await ait(queue.receive())
        before = await ait(queue.stats())
        await ait(queue.purge())
        return before, await ait(queue.stats())

    before, after = api.run(scenario)
    assert (before["visible"], before["in_flight"], before["delayed"]) == (1, 1, 0)
    assert (after["visible"], after["in_flight"]) == (0, 0)
    purge = api.gateway.calls("/purge")[0]
    assert (purge.method, purge.body) == ("POST", {})
    assert api.gateway.calls("/stats")[0].method == "GET"


def test_clock_reads_and_advances_the_cluster_clock(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        return await ait(client.now_ms()), await ait(client.advance_clock(1.5))

    now, later = api.run(scenario)
    assert later - now == 1500
    read, advance = api.gateway.requests
    assert (read.method, read.path) == ("GET", "/v1/clock")
    assert (advance.method, advance.path, advance.body) == (
        "POST",
        "/v1/clock/advance",
        {"seconds": 1.5},
    )


def test_health_returns_a_degraded_report_instead_of_raising(api: Api) -> None:
    degraded = {"status": "degraded", "partitions": 4, "hosts": 2, "routing_version": 7}
    api.gateway.script(answer(degraded, 503))

    async def scenario(client: Any) -> Any:
        return await ait(client.health()), await ait(client.health())

    first, second = api.run(scenario)
    assert first == degraded and second["status"] == "ok"
    assert [r.path for r in api.gateway.requests] == ["/healthz", "/healthz"]
    assert api.sleeps == []


def test_move_tasks_start_list_and_cancel(api: Api) -> None:
    async def scenario(client: Any) -> Any:
        dlq = await ait(client.create_queue("orders-dlq"))
        started = await ait(client.start_move_task(dlq, "orders", max_messages_per_s=50))
        listed = await ait(client.list_move_tasks("orders-dlq"))
        cancelled = await ait(client.cancel_move_task("a/b"))
        return started, listed, cancelled

    started, listed, cancelled = api.run(scenario)
    start, listing, cancel = api.gateway.requests[1:]
    assert (start.method, start.path, start.body) == (
        "POST",
        "/v1/move-tasks",
        {"source": "orders-dlq", "destination": "orders", "max_messages_per_s": 50},
    )
    assert (listing.method, listing.path, listing.params) == (
        "GET",
        "/v1/move-tasks",
        {"source": "orders-dlq"},
    )
    assert cancel.path == "/v1/move-tasks/a%2Fb/cancel"
    assert started["status"] == "RUNNING" and listed[0]["handle"] == "task-1"
    assert cancelled["status"] == "CANCELLING"


def test_a_move_task_without_destination_sends_null(api: Api) -> None:
    async def scenario(client: Any) -> None:
        await ait(client.start_move_task("dlq"))

    api.run(scenario)
    assert api.gateway.requests[0].body == {
        "source": "dlq",
        "destination": None,
        "max_messages_per_s": None,
    }
