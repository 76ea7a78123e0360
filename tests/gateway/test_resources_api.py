"""The HTTP routes of topics, subscriptions, functions and event-source mappings
(raybus.gateway.topics, .functions, .mappings), against fake backends: no Ray, one loopback
aiohttp server per request. These pin the HTTP layer to docs/http-api.md — which control call
each route makes with what, the answer's shape and status, the request checks the gateway makes
itself — and leave the semantics to the controller's and engines' tests.

A control call is named here as the controller's method used to be (``CreateTopic`` is
``create_topic``) with its fields as the arguments.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Any

import msgpack
import pytest
from aiohttp.test_utils import TestClient, TestServer

from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult
from raybus.gateway import GatewayMetrics, build_app
from raybus.gateway.functions import FUNCTION_ERROR_HEADER

JSON = "application/json"
MSGPACK = "application/msgpack"

# -- fakes ------------------------------------------------------------------------------------


class WrappedError(RaybusError):
    """What an error raised in an actor looks like on the caller's side (Ray's task-error
    class subclasses the original exception's class)."""


class FakeAdmin:
    """The controller handle: ``admin.X.remote(*args)`` — and ``admin.run.remote(call)``,
    recorded under the call's name — records the call and returns an awaitable of
    ``answers[X]`` (called with the arguments when callable; raised when an exception)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.answers: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        admin = self

        class Method:
            @staticmethod
            def remote(*args: Any) -> Any:
                if name == "run":  # a typed control call: named as the method it replaces
                    return admin._answer(*_call_name(args[0]))
                return admin._answer(name, args)

        return Method()

    def _answer(self, name: str, args: tuple[Any, ...]) -> Any:
        self.calls.append((name, args))

        async def run() -> Any:
            answer = self.answers.get(name)
            if isinstance(answer, BaseException):
                raise answer
            return answer(*args) if callable(answer) else answer

        return run()


def _call_name(call: Any) -> tuple[str, tuple[Any, ...]]:
    """``TopicStatsCall(name="alerts")`` → ``("topic_stats", ("alerts",))``."""
    stem = type(call).__name__.removesuffix("Call")
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", stem).lower()
    return name, tuple(getattr(call, f.name) for f in dataclasses.fields(call))


class FakeTopics:
    def __init__(self) -> None:
        self.published: list[tuple[str, list[PublishEntry]]] = []
        self.forgotten: list[str] = []

    def forget(self, topic: str) -> None:
        self.forgotten.append(topic)

    async def publish(
        self, topic: str, entries: list[PublishEntry]
    ) -> list[PublishResult | RaybusError]:
        if topic == "missing":
            raise WrappedError("ResourceNotFound", "no topic missing")
        self.published.append((topic, list(entries)))
        out: list[PublishResult | RaybusError] = []
        for index, entry in enumerate(entries):
            if entry.body in (b"reject", "reject"):
                out.append(WrappedError("MessageTooLong", "rejected by the fake"))
            elif topic.endswith(".fifo"):
                out.append(PublishResult(f"m{index}", f"{index:020d}", entry.dedup_id == "dup"))
            else:
                out.append(PublishResult(f"m{index}"))
        return out


class FakeFunctions:
    def __init__(self) -> None:
        self.invoked: list[tuple[str, str, Any]] = []
        self.answer: dict[str, Any] = {
            "request_id": "r-1",
            "ok": True,
            "payload": {"doubled": 4},
            "duration_ms": 1.5,
        }

    async def invoke(self, name: str, payload: Any) -> dict[str, Any]:
        self.invoked.append(("sync", name, payload))
        if name == "busy":
            raise WrappedError("TooManyRequestsException", "concurrency limit reached")
        return self.answer

    async def invoke_async(self, name: str, payload: Any) -> str:
        self.invoked.append(("async", name, payload))
        return "r-2"


class FakeRouter:
    def __init__(self) -> None:
        self.refreshes = 0

    async def refresh(self) -> None:
        self.refreshes += 1


class FakeService:
    def __init__(self) -> None:
        self.router = FakeRouter()
        self.parked = 0


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def code(self) -> str | None:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return error["code"] if isinstance(error, dict) else None


class Gateway:
    def __init__(self, *, topics: bool = True, functions: bool = True) -> None:
        self.admin = FakeAdmin()
        self.topics = FakeTopics()
        self.functions = FakeFunctions()
        self.service = FakeService()
        self.metrics = GatewayMetrics()
        self.with_topics = topics
        self.with_functions = functions
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        codec: str = JSON,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        app = build_app(
            self.service,  # type: ignore[arg-type]
            self.admin,
            self.metrics,
            token=self.token,
            topics=self.topics if self.with_topics else None,
            functions=self.functions if self.with_functions else None,
        )
        if raw is None and body is not None:
            raw = json.dumps(body).encode() if codec == JSON else msgpack.packb(body)
        sent = {"Content-Type": codec, "Accept": codec, **(headers or {})}

        async def run() -> Reply:
            async with TestClient(TestServer(app)) as client:
                response = await client.request(method, path, data=raw, headers=sent)
                content = await response.read()
                kind = response.headers.get("Content-Type", "")
                decoded = (
                    json.loads(content)
                    if "json" in kind
                    else msgpack.unpackb(content, raw=False)
                    if content
                    else None
                )
                return Reply(response.status, dict(response.headers), decoded)

        return asyncio.run(run())

    def called(self) -> list[tuple[str, tuple[Any, ...]]]:
        return self.admin.calls


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


TOPIC = {"name": "alerts", "fifo": False, "content_based_dedup": False}
SUB = {"id": "s-1", "topic": "alerts", "protocol": "queue", "endpoint": "orders", "raw": False}
FUNCTION = {"name": "resize", "handler": "pkg.mod:fn", "timeout_s": 3}
MAPPING = {"id": "m-1", "source": "queue:orders", "function": "resize", "batch_size": 10}

# -- the control-plane routes -----------------------------------------------------------------

# (method, path, body, controller method, its answer, expected arguments, expected answer,
#  whether the routing table is refreshed)
ROUTES: list[tuple[str, str, Any, str, Any, tuple[Any, ...], Any, bool]] = [
    ("POST", "/v1/topics", {"name": "alerts"}, "create_topic", (TOPIC, True),
     ({"name": "alerts"},), {"topic": TOPIC, "created": True}, True),
    ("GET", "/v1/topics?prefix=al&limit=5", None, "list_topics", ["alerts"],
     ("al", 5), {"topics": ["alerts"]}, False),
    ("GET", "/v1/topics", None, "list_topics", [], (None, 1000), {"topics": []}, False),
    ("GET", "/v1/topics/alerts", None, "get_topic", {"topic": TOPIC, "subscriptions": [SUB]},
     ("alerts",), {"topic": TOPIC, "subscriptions": [SUB]}, False),
    ("DELETE", "/v1/topics/alerts", None, "delete_topic", None, ("alerts",), {}, True),
    ("GET", "/v1/topics/alerts/stats", None, "topic_stats",
     {"published": 3, "retained": 1, "subscriptions": {"s-1": {"backlog": 1}}}, ("alerts",),
     {"published": 3, "retained": 1, "subscriptions": {"s-1": {"backlog": 1}}}, False),
    ("POST", "/v1/topics/alerts/subscriptions",
     {"protocol": "queue", "endpoint": "orders", "filter_policy": {"kind": ["a"]}},
     "subscribe", (SUB, False),
     ("alerts", {"protocol": "queue", "endpoint": "orders", "filter_policy": {"kind": ["a"]}}),
     {"subscription": SUB, "created": False}, True),
    ("GET", "/v1/topics/alerts/subscriptions", None, "list_subscriptions", [SUB], ("alerts",),
     {"subscriptions": [SUB]}, False),
    ("GET", "/v1/subscriptions/s-1", None, "get_subscription", SUB, ("s-1",),
     {"subscription": SUB}, False),
    ("PATCH", "/v1/subscriptions/s-1", {"enabled": False}, "update_subscription", SUB,
     ("s-1", {"enabled": False}), {"subscription": SUB}, True),
    ("DELETE", "/v1/subscriptions/s-1", None, "unsubscribe", None, ("s-1",), {}, True),
    ("POST", "/v1/functions", {"name": "resize", "handler": "pkg.mod:fn", "timeout_s": 3},
     "create_function", (FUNCTION, True),
     ({"name": "resize", "handler": "pkg.mod:fn", "timeout_s": 3},),
     {"function": FUNCTION, "created": True}, True),
    ("GET", "/v1/functions?prefix=re", None, "list_functions", ["resize"], ("re", 1000),
     {"functions": ["resize"]}, False),
    ("GET", "/v1/functions/resize", None, "get_function", FUNCTION, ("resize",),
     {"function": FUNCTION}, False),
    ("PATCH", "/v1/functions/resize", {"timeout_s": 10}, "update_function", FUNCTION,
     ("resize", {"timeout_s": 10}), {"function": FUNCTION}, True),
    ("DELETE", "/v1/functions/resize", None, "delete_function", None, ("resize",), {}, True),
    ("POST", "/v1/event-source-mappings", {"source": "queue:orders", "function": "resize"},
     "create_mapping", (MAPPING, True), ({"source": "queue:orders", "function": "resize"},),
     {"mapping": MAPPING, "created": True}, True),
    ("GET", "/v1/event-source-mappings?function=resize&source=queue:orders", None,
     "list_mappings", [MAPPING], ("resize", "queue:orders"), {"mappings": [MAPPING]}, False),
    ("GET", "/v1/event-source-mappings", None, "list_mappings", [], (None, None),
     {"mappings": []}, False),
    ("GET", "/v1/event-source-mappings/m-1", None, "get_mapping", MAPPING, ("m-1",),
     {"mapping": MAPPING}, False),
    ("PATCH", "/v1/event-source-mappings/m-1", {"batch_size": 5}, "update_mapping", MAPPING,
     ("m-1", {"batch_size": 5}), {"mapping": MAPPING}, True),
    ("DELETE", "/v1/event-source-mappings/m-1", None, "delete_mapping", None, ("m-1",), {},
     True),
    ("GET", "/v1/event-source-mappings/m-1/stats", None, "mapping_stats", {"backlog": 2},
     ("m-1",), {"backlog": 2}, False),
]  # fmt: skip


@pytest.mark.parametrize("codec", [JSON, MSGPACK])
@pytest.mark.parametrize(
    ("method", "path", "body", "admin_method", "admin_answer", "args", "expected", "refresh"),
    ROUTES,
    ids=[f"{r[0]} {r[1]}" for r in ROUTES],
)
def test_each_control_route_calls_its_controller_method_and_answers_its_documented_shape(
    gateway: Gateway,
    codec: str,
    method: str,
    path: str,
    body: Any,
    admin_method: str,
    admin_answer: Any,
    args: tuple[Any, ...],
    expected: Any,
    refresh: bool,
) -> None:
    gateway.admin.answers[admin_method] = admin_answer
    reply = gateway.request(method, path, body, codec=codec)
    assert (reply.status, reply.body) == (200, expected)
    assert reply.headers["Content-Type"].startswith(codec)
    assert gateway.called() == [(admin_method, args)]
    assert gateway.service.router.refreshes == (1 if refresh else 0)


# Every route that reads a body, with one field the route does not know.
BODY_ROUTES = [
    ("POST", "/v1/topics", {"name": "alerts", "delay_s": 1}),
    ("POST", "/v1/topics/alerts/subscriptions", {"protocol": "queue", "topic": "other"}),
    ("PATCH", "/v1/subscriptions/s-1", {"endpoint": "elsewhere"}),
    ("POST", "/v1/functions", {"name": "f", "handler": "m:f", "code_sha256": "ab"}),
    ("PATCH", "/v1/functions/f", {"name": "g"}),
    ("POST", "/v1/event-source-mappings", {"source": "q", "function": "f", "id": "x"}),
    ("PATCH", "/v1/event-source-mappings/m-1", {"function": "other"}),
    ("POST", "/v1/topics/alerts/publish", {"body": "x", "delay_s": 5}),
    ("POST", "/v1/topics/alerts/publish", {"entries": [{"body": "x"}], "extra": 1}),
    ("POST", "/v1/functions/f/invoke", {"payload": 1, "qualifier": "$LATEST"}),
    ("POST", "/v1/functions/f/invoke-async", {"event": {}}),
]


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES, ids=lambda v: str(v)[:40])
def test_an_unknown_request_field_is_refused_before_any_backend_is_called(
    gateway: Gateway, method: str, path: str, body: Any
) -> None:
    reply = gateway.request(method, path, body)
    assert (reply.status, reply.code) == (400, "InvalidParameterValue")
    assert gateway.called() == [] and gateway.topics.published == []
    assert gateway.functions.invoked == []


@pytest.mark.parametrize("codec", [JSON, MSGPACK])
@pytest.mark.parametrize(("method", "path"), sorted({(m, p) for m, p, _ in BODY_ROUTES}))
@pytest.mark.parametrize("raw", [b"\xc1{not", b"[1, 2]"], ids=["unreadable", "not-a-map"])
def test_a_body_that_is_not_a_map_is_a_malformed_request(
    gateway: Gateway, codec: str, method: str, path: str, raw: bytes
) -> None:
    if raw == b"[1, 2]" and codec == MSGPACK:
        raw = msgpack.packb([1, 2])
    reply = gateway.request(method, path, codec=codec, raw=raw)
    assert (reply.status, reply.code) == (400, "MalformedRequest")
    assert gateway.called() == []


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (WrappedError("ResourceNotFound", "no topic alerts"), 404),
        (WrappedError("ResourceConflict", "exists with other settings"), 409),
        (WrappedError("QueueDoesNotExist", "no queue orders"), 404),
        (WrappedError("InvalidParameter", "bad filter policy", parameter="filter_policy"), 400),
        (WrappedError("InvalidParameterValue", "bad batch_size"), 400),
        (WrappedError("MissingParameter", "A topic needs a name."), 400),
    ],
    ids=lambda v: getattr(v, "code", v),
)
def test_controller_errors_answer_their_catalog_status_and_body(
    gateway: Gateway, error: RaybusError, status: int
) -> None:
    gateway.admin.answers["subscribe"] = error
    reply = gateway.request("POST", "/v1/topics/alerts/subscriptions", {"protocol": "queue"})
    assert reply.status == status
    assert reply.body == {"error": {"code": error.code, "message": error.message,
                                    "details": error.details}}  # fmt: skip
    assert gateway.service.router.refreshes == 0


@pytest.mark.parametrize("path", ["/v1/topics?limit=x", "/v1/topics?limit=0"])
def test_a_bad_list_limit_is_an_invalid_parameter_value(gateway: Gateway, path: str) -> None:
    reply = gateway.request("GET", path)
    assert (reply.status, reply.code) == (400, "InvalidParameterValue")


def test_routes_exist_only_for_the_backends_given() -> None:
    topics_only = Gateway(functions=False)
    assert topics_only.request("GET", "/v1/functions").code == "NotFound"
    assert topics_only.request("GET", "/v1/event-source-mappings").code == "NotFound"
    topics_only.admin.answers["list_topics"] = []
    assert topics_only.request("GET", "/v1/topics").status == 200
    functions_only = Gateway(topics=False)
    assert functions_only.request("POST", "/v1/topics/a/publish", {"body": "x"}).status == 404
    assert functions_only.request("GET", "/v1/subscriptions/s").code == "NotFound"


def test_a_wrong_method_on_a_route_is_not_found(gateway: Gateway) -> None:
    assert gateway.request("PUT", "/v1/topics/alerts").code == "NotFound"


def test_the_bearer_token_guards_the_new_routes(gateway: Gateway) -> None:
    gateway.token = "secret"
    gateway.admin.answers["list_topics"] = []
    assert gateway.request("GET", "/v1/topics").code == "Unauthorized"
    ok = gateway.request("GET", "/v1/topics", headers={"Authorization": "Bearer secret"})
    assert ok.status == 200


def test_request_latency_is_recorded_under_the_route_name(gateway: Gateway) -> None:
    gateway.request("POST", "/v1/topics/alerts/publish", {"body": "x"})
    gateway.request("POST", "/v1/functions/busy/invoke", {"payload": 1})
    sample = gateway.metrics.registry.get_sample_value
    name = "raybus_gateway_request_duration_seconds_count"
    assert sample(name, {"operation": "publish", "outcome": "ok"}) == 1
    assert sample(name, {"operation": "invoke", "outcome": "TooManyRequestsException"}) == 1


# -- publish ----------------------------------------------------------------------------------


def test_a_single_publish_passes_every_field_and_answers_the_message_id(gateway: Gateway) -> None:
    reply = gateway.request(
        "POST",
        "/v1/topics/alerts/publish",
        {
            "body": "hello",
            "attributes": {"kind": ["String", "greeting"], "raw": ["Binary.x", "AAE="]},
            "subject": "hi",
            "group_id": "g",
        },
    )
    assert (reply.status, reply.body) == (200, {"message_id": "m0"})
    ((topic, (entry,)),) = gateway.topics.published
    assert topic == "alerts"
    assert entry == PublishEntry(
        body="hello",
        attributes={"kind": ["String", "greeting"], "raw": ["Binary.x", b"\x00\x01"]},
        subject="hi",
        group_id="g",
    )


def test_a_fifo_publish_answers_the_sequence_number_and_a_duplicate(gateway: Gateway) -> None:
    body = {"body": "x", "group_id": "g", "dedup_id": "dup"}
    reply = gateway.request("POST", "/v1/topics/jobs.fifo/publish", body)
    assert reply.body == {"message_id": "m0", "sequence_number": "0" * 20, "duplicate": True}


@pytest.mark.parametrize(
    ("body", "codec", "expected"),
    [
        ({"body_base64": base64.b64encode(b"\xff").decode()}, JSON, b"\xff"),
        ({"body": b"\xff\x00"}, MSGPACK, b"\xff\x00"),
        ({"body": "text"}, MSGPACK, "text"),
    ],
    ids=["json-base64", "msgpack-bytes", "msgpack-str"],
)
def test_bodies_arrive_as_sent(gateway: Gateway, body: Any, codec: str, expected: Any) -> None:
    assert gateway.request("POST", "/v1/topics/t/publish", body, codec=codec).status == 200
    assert gateway.topics.published[0][1][0].body == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "MissingParameter"),
        ({"body": None}, "MissingParameter"),
        ({"body": "x", "body_base64": "eA=="}, "InvalidParameterValue"),
        ({"body_base64": "***"}, "InvalidParameterValue"),
        ({"body": "x", "subject": 3}, "InvalidParameterValue"),
        ({"body": "x", "group_id": ["g"]}, "InvalidParameterValue"),
        ({"body": "x", "dedup_id": 1}, "InvalidParameterValue"),
        ({"body": "x", "attributes": {"b": ["Binary", "not base64!"]}}, "InvalidParameterValue"),
        ({"body": "reject"}, "MessageTooLong"),
    ],
)
def test_a_bad_single_publish_answers_its_error(gateway: Gateway, body: Any, code: str) -> None:
    reply = gateway.request("POST", "/v1/topics/alerts/publish", body)
    assert (reply.status, reply.code) == (400, code)


def test_publishing_to_a_missing_topic_is_resource_not_found(gateway: Gateway) -> None:
    reply = gateway.request("POST", "/v1/topics/missing/publish", {"entries": [{"body": "x"}]})
    assert (reply.status, reply.code) == (404, "ResourceNotFound")


def test_a_batch_answers_in_order_with_ids_and_per_entry_errors(gateway: Gateway) -> None:
    entries = [
        {"id": "a", "body": "one"},
        {"id": "b", "body": "reject"},
        {"id": "c"},
        "not a map",
        {"body": "five", "subject": "s"},
    ]
    reply = gateway.request("POST", "/v1/topics/alerts/publish", {"entries": entries})
    assert reply.status == 200
    results = reply.body["results"]
    assert results[0] == {"message_id": "m0", "id": "a"}
    assert (results[1]["id"], results[1]["error"]["code"]) == ("b", "MessageTooLong")
    assert (results[2]["id"], results[2]["error"]["code"]) == ("c", "MissingParameter")
    assert results[3]["error"]["code"] == "InvalidParameterValue" and "id" not in results[3]
    assert results[4] == {"message_id": "m2"}
    # only well-formed entries reach the topic, in order
    assert [e.body for e in gateway.topics.published[0][1]] == ["one", "reject", "five"]


def test_a_batch_of_only_malformed_entries_publishes_nothing(gateway: Gateway) -> None:
    reply = gateway.request("POST", "/v1/topics/alerts/publish", {"entries": [{}, 3]})
    assert [r["error"]["code"] for r in reply.body["results"]] == [
        "MissingParameter",
        "InvalidParameterValue",
    ]
    assert gateway.topics.published == []


def _entries(count: int, size: int = 1) -> list[dict[str, Any]]:
    return [{"body": "x" * size} for _ in range(count)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"entries": []}, "EmptyBatchRequest"),
        ({"entries": _entries(11)}, "TooManyEntriesInBatchRequest"),
        ({"entries": {"body": "x"}}, "InvalidParameterValue"),
        ({"entries": [{"id": "a", "body": "x"}, {"id": "a", "body": "y"}]},
         "BatchEntryIdsNotDistinct"),
        ({"entries": [{"id": "no spaces", "body": "x"}]}, "InvalidBatchEntryId"),
        ({"entries": [{"id": "x" * 81, "body": "x"}]}, "InvalidBatchEntryId"),
        ({"entries": [{"id": 7, "body": "x"}]}, "InvalidBatchEntryId"),
        ({"entries": _entries(2, 131_073)}, "BatchRequestTooLong"),
        ({"entries": [{"body": "é" * 131_072, "attributes": {"k": ["String", "v"]}}]},
         "BatchRequestTooLong"),
    ],
    ids=["empty", "eleven", "not-a-list", "same-id", "bad-id", "long-id", "id-not-text",
         "too-long", "utf8-bytes-count"],
)  # fmt: skip
def test_a_batch_breaking_a_request_limit_is_refused_whole(
    gateway: Gateway, body: Any, code: str
) -> None:
    reply = gateway.request("POST", "/v1/topics/alerts/publish", body)
    assert (reply.status, reply.code) == (400, code)
    assert gateway.topics.published == []


def test_a_batch_at_the_limits_is_accepted(gateway: Gateway) -> None:
    last = {"id": "x" * 80, "body": "y" * (262_144 - 9 * 26_214)}  # ids do not count
    entries = [*_entries(9, 26_214), last]
    reply = gateway.request("POST", "/v1/topics/alerts/publish", {"entries": entries})
    assert reply.status == 200 and len(reply.body["results"]) == 10


# -- functions --------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [JSON, MSGPACK])
def test_invoke_passes_the_payload_and_answers_the_invocation(gateway: Gateway, codec: str) -> None:
    payload = {"n": 2, "items": [1, "two", None, 1.5, {"deep": [True]}]}
    reply = gateway.request(
        "POST", "/v1/functions/resize/invoke", {"payload": payload}, codec=codec
    )
    assert (reply.status, reply.body) == (200, gateway.functions.answer)
    assert FUNCTION_ERROR_HEADER not in reply.headers
    assert gateway.functions.invoked == [("sync", "resize", payload)]


def test_a_failed_invocation_answers_200_with_the_function_error_header(gateway: Gateway) -> None:
    error = {"errorType": "ValueError", "errorMessage": "bad", "stackTrace": ["line 1"]}
    gateway.functions.answer = {"request_id": "r", "ok": False, "payload": error, "duration_ms": 2}
    reply = gateway.request("POST", "/v1/functions/resize/invoke", {"payload": 1})
    assert (reply.status, reply.body["payload"]) == (200, error)
    assert reply.headers[FUNCTION_ERROR_HEADER] == "Unhandled"


def test_an_invoke_without_payload_sends_null(gateway: Gateway) -> None:
    assert gateway.request("POST", "/v1/functions/resize/invoke").status == 200
    assert gateway.functions.invoked == [("sync", "resize", None)]


def test_invoke_async_answers_202_with_the_request_id(gateway: Gateway) -> None:
    reply = gateway.request("POST", "/v1/functions/resize/invoke-async", {"payload": [1]})
    assert (reply.status, reply.body) == (202, {"request_id": "r-2"})
    assert gateway.functions.invoked == [("async", "resize", [1])]


def test_a_throttled_invoke_is_429_too_many_requests(gateway: Gateway) -> None:
    reply = gateway.request("POST", "/v1/functions/busy/invoke", {"payload": 1})
    assert (reply.status, reply.code) == (429, "TooManyRequestsException")


@pytest.mark.parametrize(
    "payload",
    [b"bytes", {"k": b"v"}, [1, {"x": float("nan")}], {b"key": "bytes key"}, float("inf")],
    ids=["bytes", "nested-bytes", "nan", "bytes-key", "inf"],
)
def test_a_msgpack_payload_json_cannot_carry_is_refused(gateway: Gateway, payload: Any) -> None:
    raw = msgpack.packb({"payload": payload}, strict_types=False)
    reply = gateway.request("POST", "/v1/functions/resize/invoke", codec=MSGPACK, raw=raw)
    assert (reply.status, reply.code) == (400, "InvalidParameterValue")
    assert gateway.functions.invoked == []


@pytest.mark.parametrize(
    ("codec", "body"),
    [
        (JSON, {"name": "f", "code_base64": base64.b64encode(b"pickled").decode()}),
        (MSGPACK, {"name": "f", "code": b"pickled"}),
    ],
)
def test_uploaded_code_reaches_the_controller_as_bytes(
    gateway: Gateway, codec: str, body: Any
) -> None:
    gateway.admin.answers["create_function"] = ({"name": "f", "code_sha256": "ab"}, True)
    reply = gateway.request("POST", "/v1/functions", body, codec=codec)
    assert reply.status == 200
    assert gateway.called() == [("create_function", ({"name": "f", "code": b"pickled"},))]


def test_updated_code_reaches_the_controller_as_bytes(gateway: Gateway) -> None:
    gateway.admin.answers["update_function"] = {"name": "f"}
    body = {"code_base64": base64.b64encode(b"new").decode(), "timeout_s": 9}
    assert gateway.request("PATCH", "/v1/functions/f", body).status == 200
    assert gateway.called() == [("update_function", ("f", {"code": b"new", "timeout_s": 9}))]


@pytest.mark.parametrize(
    ("codec", "body"),
    [
        (JSON, {"name": "f", "code": "cGlja2xlZA=="}),
        (JSON, {"name": "f", "code_base64": "not base64!"}),
        (JSON, {"name": "f", "code_base64": ""}),
        (MSGPACK, {"name": "f", "code": "text"}),
        (MSGPACK, {"name": "f", "code": b"x", "code_base64": "eA=="}),
    ],
    ids=["json-code", "bad-base64", "empty", "msgpack-text", "both"],
)
def test_code_in_the_wrong_form_is_refused(gateway: Gateway, codec: str, body: Any) -> None:
    reply = gateway.request("POST", "/v1/functions", body, codec=codec)
    assert (reply.status, reply.code) == (400, "InvalidParameterValue")
    assert gateway.called() == []


def test_a_request_too_large_is_refused_before_reading(gateway: Gateway) -> None:
    raw = json.dumps({"name": "f", "code_base64": "A" * (4 << 20)}).encode()
    reply = gateway.request("POST", "/v1/functions", raw=raw)
    assert (reply.status, reply.code) == (413, "RequestTooLarge")
