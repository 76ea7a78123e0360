"""Bad input gets the documented error and changes nothing (docs/http-api.md, "Error codes").

Every case sends real HTTP to the session cluster's gateway and checks three things: the HTTP
status, the error ``code`` in ``{"error": {"code", "message", "details"}}``, and that nothing
changed — the queues that exist, their settings and depth, the cluster clock, and (where a
message is at stake) that it can still be received. Raw bodies go through httpx so that the
gateway, not the SDK's own checks, is what is tested; the SDK is used where a typed error is
the natural surface.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgpack
import pytest
import ray

from raybus.control import RunningCluster
from raybus.core.errors import RaybusError
from raybus.core.tokens import Receipt, encode_receipt
from raybus.gateway import Gateway
from raybus.sdk import Client, Queue, errors

JSON = "application/json"
MSGPACK = "application/msgpack"
MIB = 1 << 20
TOKEN = "s3cret"

# -- wire helpers ------------------------------------------------------------------------------


def call(
    http: httpx.Client,
    method: str,
    path: str,
    body: Any = None,
    *,
    as_msgpack: bool = False,
    content: bytes | None = None,
    content_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One request; ``body`` is encoded as JSON (or msgpack), ``content`` is sent as it is."""
    if content is None and body is not None:
        content = (
            msgpack.packb(body, use_bin_type=True) if as_msgpack else json.dumps(body).encode()
        )
        content_type = content_type or (MSGPACK if as_msgpack else JSON)
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    return http.request(method, path, content=content, headers=sent)


def decode(response: httpx.Response) -> Any:
    if "msgpack" in response.headers.get("content-type", ""):
        return msgpack.unpackb(response.content, raw=False)
    return response.json()


def expect_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the documented error answer; returns its ``details``."""
    payload = decode(response)
    error = payload.get("error") if isinstance(payload, dict) else None
    assert isinstance(error, dict), (response.status_code, payload)
    assert (response.status_code, error.get("code")) == (status, code), payload
    assert set(error) == {"code", "message", "details"}, payload
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error["details"]


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return decode(response)


def create(http: httpx.Client, name: str, **settings: Any) -> dict[str, Any]:
    queue: dict[str, Any] = ok(call(http, "POST", "/v1/queues", {"name": name, **settings}))[
        "queue"
    ]
    return queue


def send(http: httpx.Client, queue: str, *entries: dict[str, Any]) -> list[Any]:
    results: list[Any] = ok(
        call(http, "POST", f"/v1/queues/{queue}/messages", {"entries": list(entries)})
    )["results"]
    assert all("error" not in r for r in results), results
    return results


def receive(http: httpx.Client, queue: str, max_messages: int = 10) -> list[dict[str, Any]]:
    body = {"max_messages": max_messages, "visibility_timeout_s": 600, "wait_s": 0}
    messages: list[dict[str, Any]] = ok(call(http, "POST", f"/v1/queues/{queue}/receive", body))[
        "messages"
    ]
    return messages


def drain(http: httpx.Client, queue: str, count: int) -> list[str]:
    """Receive until ``count`` messages came back (bounded), returning their bodies sorted."""
    bodies: list[str] = []
    for _ in range(20):
        if len(bodies) >= count:
            break
        bodies += [m["body"] for m in receive(http, queue)]
    return sorted(bodies)


def exists(http: httpx.Client, queue: str) -> bool:
    status = http.get(f"/v1/queues/{queue}").status_code
    assert status in (200, 404)
    return status == 200


def state(http: httpx.Client, *queues: str) -> dict[str, Any]:
    """What a bad request must not change: the queue names, the clock, each queue's settings
    and depth."""
    snapshot: dict[str, Any] = {
        "queues": ok(http.get("/v1/queues"))["queues"],
        "clock_ms": ok(http.get("/v1/clock"))["now_ms"],
    }
    for queue in queues:
        stats = ok(http.get(f"/v1/queues/{queue}/stats"))
        stats.pop("oldest_age_ms")
        snapshot[queue] = {"settings": ok(http.get(f"/v1/queues/{queue}"))["queue"], "stats": stats}
    return snapshot


def table(*cases: tuple[Any, ...]) -> Any:
    """``pytest.param`` rows from ``(id, *values)`` tuples (ids stay valid in queue names)."""
    return [pytest.param(*values, id=case_id) for case_id, *values in cases]


def unique(label: str) -> str:
    return f"bad-{uuid.uuid4().hex[:8]}-{label}"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture(scope="module")
def target(http: httpx.Client) -> str:
    """A standard queue holding two visible messages, shared by tests that must not touch it."""
    queue = unique("target")
    create(http, queue)
    send(http, queue, {"body": "m0"}, {"body": "m1"})
    assert ok(http.get(f"/v1/queues/{queue}/stats"))["visible"] == 2
    return queue


@pytest.fixture(scope="module")
def dead_letter_queues(http: httpx.Client) -> dict[str, str]:
    queues = {
        "standard": unique("dlq"),
        "fifo": unique("dlq") + ".fifo",
        "deny": unique("deny"),
    }
    create(http, queues["standard"])
    create(http, queues["fifo"])
    create(http, queues["deny"], redrive_allow_policy={"permission": "denyAll"})
    return queues


@pytest.fixture
def seeded(http: httpx.Client, name: str) -> str:
    """A fresh standard queue with two visible messages ``a`` and ``b``."""
    create(http, name)
    send(http, name, {"body": "a"}, {"body": "b"})
    return name


# -- malformed bodies --------------------------------------------------------------------------

BODY_ROUTES = table(
    ("create", "POST", "/v1/queues"),
    ("update", "PATCH", "/v1/queues/{q}"),
    ("send", "POST", "/v1/queues/{q}/messages"),
    ("receive", "POST", "/v1/queues/{q}/receive"),
    ("delete", "POST", "/v1/queues/{q}/delete"),
    ("visibility", "POST", "/v1/queues/{q}/visibility"),
    ("move", "POST", "/v1/move-tasks"),
    ("clock", "POST", "/v1/clock/advance"),
)

MALFORMED_BODIES = table(
    ("json-garbage", b"{not json", JSON),
    ("json-truncated", b'{"body": "x"', JSON),
    ("json-list", b'[{"body": "x"}]', JSON),
    ("json-string", b'"hello"', JSON),
    ("json-number", b"42", JSON),
    ("json-invalid-utf8", b'{"body": "\xff\xfe"}', JSON),
    ("msgpack-garbage", b"\xc1\xc1\xc1", MSGPACK),
    ("msgpack-truncated", b"\x81\xa4body", MSGPACK),
    ("msgpack-list", msgpack.packb([{"body": "x"}]), MSGPACK),
    ("msgpack-string", msgpack.packb("hello"), MSGPACK),
    ("msgpack-nested-too-deep", b"\x91" * 10_000 + b"\xc0", MSGPACK),
    ("msgpack-labelled-json", msgpack.packb({"body": "x"}), JSON),
    ("json-labelled-msgpack", b'{"body": "x"}', MSGPACK),
)


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize(("raw", "content_type"), MALFORMED_BODIES)
def test_a_body_that_is_not_a_map_in_its_encoding_is_malformed_request(
    http: httpx.Client, target: str, method: str, path: str, raw: bytes, content_type: str
) -> None:
    before = state(http, target)
    response = call(http, method, path.format(q=target), content=raw, content_type=content_type)
    expect_error(response, 400, "MalformedRequest")
    assert response.headers["content-type"].startswith(content_type)  # the request's encoding
    assert state(http, target) == before


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_json_body_nested_past_the_parsers_depth_is_malformed_request(
    http: httpx.Client, target: str, method: str, path: str
) -> None:
    before = state(http, target)
    raw = b"[" * 100_000 + b"]" * 100_000
    response = call(http, method, path.format(q=target), content=raw, content_type=JSON)
    expect_error(response, 400, "MalformedRequest")
    assert state(http, target) == before


# -- routes ------------------------------------------------------------------------------------

UNKNOWN_ROUTES = table(
    ("unknown-v1-path", "GET", "/v1/nothing"),
    ("unknown-queue-operation", "POST", "/v1/queues/{q}/explode"),
    ("outside-v1", "GET", "/nothing"),
    ("v1-root", "GET", "/v1"),
    ("put-queues", "PUT", "/v1/queues"),
    ("delete-queues", "DELETE", "/v1/queues"),
    ("get-messages", "GET", "/v1/queues/{q}/messages"),
    ("put-queue", "PUT", "/v1/queues/{q}"),
    ("get-receive", "GET", "/v1/queues/{q}/receive"),
    ("post-clock", "POST", "/v1/clock"),
    ("get-clock-advance", "GET", "/v1/clock/advance"),
    ("post-healthz", "POST", "/healthz"),
)


@pytest.mark.parametrize(("method", "path"), UNKNOWN_ROUTES)
def test_an_unknown_route_or_method_is_not_found(
    http: httpx.Client, target: str, method: str, path: str
) -> None:
    before = state(http, target)
    response = call(http, method, path.format(q=target), {"body": "x", "seconds": 5})
    expect_error(response, 404, "NotFound")
    assert state(http, target) == before


# -- request size ------------------------------------------------------------------------------


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = min(size, total - sent)
        sent += chunk
        yield b"x" * chunk


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_http_body_over_4_mib_is_request_too_large(
    http: httpx.Client, target: str, chunked: bool
) -> None:
    before = state(http, target)
    size = 4 * MIB + 1
    response = http.post(
        f"/v1/queues/{target}/messages",
        content=_chunks(size) if chunked else b'{"body": "' + b"x" * size + b'"}',
        headers={"Content-Type": JSON},
    )
    expect_error(response, 413, "RequestTooLarge")
    assert state(http, target) == before


# -- send: sizes, batch limits, fields ---------------------------------------------------------

SIZED_ENTRIES = table(
    ("at-the-limit", {"body": "x" * 1024}, None),
    ("one-byte-over", {"body": "x" * 1025}, "MessageTooLong"),
    ("utf8-counts-bytes", {"body": "\u00e9" * 513}, "MessageTooLong"),  # 513 chars, 1026 bytes
    (
        "attributes-at-the-limit",  # 1000 + "kind" + "String" + 14
        {"body": "x" * 1000, "attributes": {"kind": ["String", "y" * 14]}},
        None,
    ),
    (
        "attributes-count",
        {"body": "x" * 1000, "attributes": {"kind": ["String", "y" * 15]}},
        "MessageTooLong",
    ),
)


@pytest.mark.parametrize(("entry", "code"), SIZED_ENTRIES)
def test_a_single_message_over_the_queues_maximum_is_message_too_long(
    http: httpx.Client, name: str, entry: dict[str, Any], code: str | None
) -> None:
    create(http, name, max_message_bytes=1024)
    before = state(http, name)
    response = call(http, "POST", f"/v1/queues/{name}/messages", entry)
    if code is None:
        assert "message_id" in ok(response)
        assert state(http, name)[name]["stats"]["visible"] == 1
        return
    details = expect_error(response, 400, code)
    assert details["limit"] == 1024 and details["size"] > 1024
    assert state(http, name) == before


def test_each_batch_entry_over_the_maximum_fails_alone(http: httpx.Client, name: str) -> None:
    create(http, name, max_message_bytes=1024)
    entries = [values[0] for values in (p.values for p in SIZED_ENTRIES)]
    codes = [values[1] for values in (p.values for p in SIZED_ENTRIES)]
    results = ok(call(http, "POST", f"/v1/queues/{name}/messages", {"entries": entries}))["results"]
    assert [r["error"]["code"] if "error" in r else None for r in results] == codes
    assert all("message_id" in r for r, code in zip(results, codes, strict=True) if code is None)
    accepted = sorted(e["body"] for e, code in zip(entries, codes, strict=True) if code is None)
    assert state(http, name)[name]["stats"]["visible"] == len(accepted)
    assert drain(http, name, len(accepted)) == accepted


BATCH_LIMITS = table(
    (
        "over-1-mib-in-utf8-attribute-values",  # 2 x 600,000 bytes, but 2 x 300,000 characters
        {"entries": [{"body": "x", "attributes": {"a": ["String", "\u00e9" * 300_000]}}] * 2},
        "BatchRequestTooLong",
    ),
    ("empty", {"entries": []}, "EmptyBatchRequest"),
    ("over-1000", {"entries": [{"body": "x"}] * 1001}, "TooManyEntriesInBatchRequest"),
    ("not-a-list", {"entries": {"body": "x"}}, "InvalidParameterValue"),
    ("over-1-mib", {"entries": [{"body": "x" * 600_000}] * 2}, "BatchRequestTooLong"),
    (
        "over-1-mib-with-attributes",
        {
            "entries": [{"body": "x" * (MIB // 2 - 10), "attributes": {"a": ["String", "y" * 10]}}]
            * 2
        },
        "BatchRequestTooLong",
    ),
)


@pytest.mark.parametrize("as_msgpack", [False, True], ids=["json", "msgpack"])
@pytest.mark.parametrize(("body", "code"), BATCH_LIMITS)
def test_a_send_batch_past_a_request_limit_is_refused_whole(
    http: httpx.Client, name: str, body: dict[str, Any], code: str, as_msgpack: bool
) -> None:
    create(http, name, max_message_bytes=MIB)  # every entry alone would be accepted
    before = state(http, name)
    response = call(http, "POST", f"/v1/queues/{name}/messages", body, as_msgpack=as_msgpack)
    details = expect_error(response, 400, code)
    if code == "TooManyEntriesInBatchRequest":
        assert details["limit"] == 1000
    assert state(http, name) == before


def test_a_batch_of_exactly_1000_entries_is_accepted(http: httpx.Client, name: str) -> None:
    create(http, name)
    results = send(http, name, *[{"body": f"m{i}"} for i in range(1000)])
    assert len(results) == 1000
    assert state(http, name)[name]["stats"]["visible"] == 1000


TRANSFER_FIELDS = table(
    ("message-id", "message_id", "00000000-0000-8000-8000-000000000001"),
    ("sent-ms", "sent_ms", 1),
    ("system", "system", {"dead_letter_source": "elsewhere"}),
    ("unknown", "colour", "red"),
)


@pytest.mark.parametrize(("field", "value"), TRANSFER_FIELDS)
def test_a_message_that_sets_a_field_clients_may_not_set_is_refused(
    http: httpx.Client, target: str, field: str, value: Any
) -> None:
    before = state(http, target)
    response = call(http, "POST", f"/v1/queues/{target}/messages", {"body": "x", field: value})
    details = expect_error(response, 400, "InvalidParameterValue")
    assert details["parameter"] == field
    assert state(http, target) == before


@pytest.mark.parametrize(("field", "value"), TRANSFER_FIELDS)
def test_a_batch_entry_that_sets_a_forbidden_field_fails_alone(
    http: httpx.Client, name: str, field: str, value: Any
) -> None:
    create(http, name)
    entries = [{"body": "first"}, {"body": "forged", field: value}, {"body": "last"}]
    results = ok(call(http, "POST", f"/v1/queues/{name}/messages", {"entries": entries}))["results"]
    assert [r.get("error", {}).get("code") for r in results] == [
        None,
        "InvalidParameterValue",
        None,
    ]
    messages = receive(http, name)
    assert sorted(m["body"] for m in messages) == ["first", "last"]
    assert all(m["message_id"] != value for m in messages)


BAD_MESSAGES = table(
    ("no-body", {"attributes": {}}, "MissingParameter"),
    ("empty-body", {"body": ""}, "MissingParameter"),
    ("number-body", {"body": 5}, "InvalidParameterValue"),
    ("body-and-base64", {"body": "x", "body_base64": "eA=="}, "InvalidParameterValue"),
    ("bad-base64", {"body_base64": "***"}, "InvalidParameterValue"),
    (
        "attribute-nul-character",
        {"body": "x", "attributes": {"a": ["String", "a\u0000b"]}},
        "InvalidMessageContents",
    ),
    ("delay-over-900", {"body": "x", "delay_s": 901}, "InvalidParameterValue"),
    ("delay-negative", {"body": "x", "delay_s": -1}, "InvalidParameterValue"),
    ("delay-text", {"body": "x", "delay_s": "5"}, "InvalidParameterValue"),
    ("dedup-id-on-standard", {"body": "x", "dedup_id": "d"}, "InvalidParameterValue"),
    (
        "eleven-attributes",
        {"body": "x", "attributes": {f"a{i}": ["String", "v"] for i in range(11)}},
        "InvalidParameterValue",
    ),
    (
        "attribute-bad-type",
        {"body": "x", "attributes": {"a": ["Text", "v"]}},
        "InvalidParameterValue",
    ),
    (
        "attribute-bad-name",
        {"body": "x", "attributes": {"a b": ["String", "v"]}},
        "InvalidAttributeName",
    ),
    ("attributes-not-a-map", {"body": "x", "attributes": ["a"]}, "InvalidParameterValue"),
)


@pytest.mark.parametrize(("entry", "code"), BAD_MESSAGES)
def test_a_message_breaking_an_sqs_rule_is_refused_with_its_code(
    http: httpx.Client, target: str, entry: dict[str, Any], code: str
) -> None:
    before = state(http, target)
    response = call(http, "POST", f"/v1/queues/{target}/messages", entry)
    expect_error(response, 400, code)
    assert state(http, target) == before


FIFO_MESSAGES = table(
    ("no-group-id", {"body": "x", "dedup_id": "d1"}, "MissingParameter"),
    (
        "delay",
        {"body": "x", "group_id": "g", "dedup_id": "d1", "delay_s": 5},
        "InvalidParameterValue",
    ),
    ("empty-group-id", {"body": "x", "group_id": "", "dedup_id": "d1"}, "InvalidParameterValue"),
    ("group-id-space", {"body": "x", "group_id": "a b", "dedup_id": "d1"}, "InvalidParameterValue"),
    (
        "group-id-129",
        {"body": "x", "group_id": "g" * 129, "dedup_id": "d1"},
        "InvalidParameterValue",
    ),
    ("no-dedup-id", {"body": "x", "group_id": "g"}, "InvalidParameterValue"),
    ("number-dedup-id", {"body": "x", "group_id": "g", "dedup_id": 7}, "InvalidParameterValue"),
)


@pytest.mark.parametrize(("entry", "code"), FIFO_MESSAGES)
def test_a_fifo_message_breaking_a_fifo_rule_is_refused_and_spends_no_dedup_id(
    http: httpx.Client, name: str, entry: dict[str, Any], code: str
) -> None:
    queue = name + ".fifo"
    create(http, queue)
    before = state(http, queue)
    expect_error(call(http, "POST", f"/v1/queues/{queue}/messages", entry), 400, code)
    results = ok(call(http, "POST", f"/v1/queues/{queue}/messages", {"entries": [entry]}))[
        "results"
    ]
    assert results[0]["error"]["code"] == code
    assert state(http, queue) == before
    sent = ok(
        call(
            http,
            "POST",
            f"/v1/queues/{queue}/messages",
            {"body": "x", "group_id": "g", "dedup_id": "d1"},
        )
    )
    [message] = receive(http, queue)
    assert message["message_id"] == sent["message_id"]  # d1 was not taken by the refused send


# -- receive parameters ------------------------------------------------------------------------

RECEIVE_PARAMETERS = table(
    ("max-0", {"max_messages": 0}, "InvalidParameterValue"),
    ("max-negative", {"max_messages": -1}, "InvalidParameterValue"),
    ("max-1001", {"max_messages": 1001}, "TooManyEntriesInBatchRequest"),
    ("max-text", {"max_messages": "ten"}, "InvalidParameterValue"),
    ("max-float", {"max_messages": 1.5}, "InvalidParameterValue"),
    ("max-bool", {"max_messages": True}, "InvalidParameterValue"),
    ("max-list", {"max_messages": [1]}, "InvalidParameterValue"),
    ("max-null", {"max_messages": None}, "InvalidParameterValue"),
    ("wait-21", {"wait_s": 21}, "InvalidParameterValue"),
    ("wait-negative", {"wait_s": -1}, "InvalidParameterValue"),
    ("wait-text", {"wait_s": "5"}, "InvalidParameterValue"),
    ("visibility-43201", {"visibility_timeout_s": 43_201}, "InvalidParameterValue"),
    ("visibility-negative", {"visibility_timeout_s": -1}, "InvalidParameterValue"),
    ("visibility-text", {"visibility_timeout_s": "30"}, "InvalidParameterValue"),
)


@pytest.mark.parametrize("as_msgpack", [False, True], ids=["json", "msgpack"])
@pytest.mark.parametrize(("body", "code"), RECEIVE_PARAMETERS)
def test_a_receive_with_a_parameter_out_of_range_receives_nothing(
    http: httpx.Client, target: str, body: dict[str, Any], code: str, as_msgpack: bool
) -> None:
    before = state(http, target)
    response = call(http, "POST", f"/v1/queues/{target}/receive", body, as_msgpack=as_msgpack)
    expect_error(response, 400, code)
    assert state(http, target) == before


# -- unknown queues ----------------------------------------------------------------------------

WELL_FORMED_RECEIPT = encode_receipt(Receipt(partition=0, epoch=1, tag=1, seq=1, nonce=1))

QUEUE_OPERATIONS = table(
    ("get", "GET", "/v1/queues/{q}", None),
    ("update", "PATCH", "/v1/queues/{q}", {"visibility_timeout_s": 5}),
    ("delete-queue", "DELETE", "/v1/queues/{q}", None),
    ("stats", "GET", "/v1/queues/{q}/stats", None),
    ("purge", "POST", "/v1/queues/{q}/purge", None),
    ("send", "POST", "/v1/queues/{q}/messages", {"body": "x"}),
    ("send-batch", "POST", "/v1/queues/{q}/messages", {"entries": [{"body": "x"}]}),
    ("receive", "POST", "/v1/queues/{q}/receive", {}),
    ("long-poll", "POST", "/v1/queues/{q}/receive", {"wait_s": 20}),
    ("delete", "POST", "/v1/queues/{q}/delete", {"receipt": WELL_FORMED_RECEIPT}),
    ("delete-batch", "POST", "/v1/queues/{q}/delete", {"receipts": [WELL_FORMED_RECEIPT]}),
    (
        "visibility",
        "POST",
        "/v1/queues/{q}/visibility",
        {"receipt": WELL_FORMED_RECEIPT, "visibility_timeout_s": 0},
    ),
    ("list-move-tasks", "GET", "/v1/move-tasks?source={q}", None),
    ("start-move-task", "POST", "/v1/move-tasks", {"source": "{q}"}),
)


@pytest.mark.parametrize(("method", "path", "body"), QUEUE_OPERATIONS)
def test_every_operation_on_an_unknown_queue_is_queue_does_not_exist(
    http: httpx.Client, name: str, method: str, path: str, body: Any
) -> None:
    before = state(http)
    if body is not None:
        body = json.loads(json.dumps(body).replace("{q}", name))
    response = call(http, method, path.format(q=name), body)
    expect_error(response, 404, "QueueDoesNotExist")
    assert state(http) == before
    assert not exists(http, name)


def test_a_move_task_to_an_unknown_destination_is_queue_does_not_exist(
    http: httpx.Client, dead_letter_queues: dict[str, str], name: str
) -> None:
    source = dead_letter_queues["standard"]
    before = state(http, source)
    response = call(http, "POST", "/v1/move-tasks", {"source": source, "destination": name})
    expect_error(response, 404, "QueueDoesNotExist")
    assert state(http, source) == before
    assert ok(http.get("/v1/move-tasks", params={"source": source}))["tasks"] == []


SDK_OPERATIONS: list[Any] = table(
    ("queue", lambda c, q: c.queue(q.name)),
    ("delete-queue", lambda c, q: c.delete_queue(q.name)),
    ("update", lambda c, q: q.update(visibility_timeout_s=5)),
    ("stats", lambda c, q: q.stats()),
    ("purge", lambda c, q: q.purge()),
    ("send", lambda c, q: q.send("x")),
    ("send-batch", lambda c, q: q.send_batch(["x", "y"])),
    ("receive", lambda c, q: q.receive(max_messages=10, wait_s=0)),
    ("delete", lambda c, q: q.delete_message(WELL_FORMED_RECEIPT)),
    ("delete-batch", lambda c, q: q.delete_batch([WELL_FORMED_RECEIPT])),
    ("visibility", lambda c, q: q.change_visibility(WELL_FORMED_RECEIPT, 0)),
    ("list-move-tasks", lambda c, q: c.list_move_tasks(q.name)),
    ("start-move-task", lambda c, q: c.start_move_task(q.name)),
)


@pytest.mark.parametrize("operation", SDK_OPERATIONS)
def test_the_sdk_raises_queue_does_not_exist_for_every_operation_on_an_unknown_queue(
    client: Client, http: httpx.Client, name: str, operation: Callable[[Client, Queue], Any]
) -> None:
    before = state(http)
    with pytest.raises(errors.QueueDoesNotExist) as info:
        operation(client, Queue(client, {"name": name}))
    assert info.value.http_status == 404 and not info.value.retriable
    assert state(http) == before


# -- receipts ----------------------------------------------------------------------------------


@pytest.fixture
def receipts(http: httpx.Client, name: str) -> dict[str, Any]:
    """``mine``: the receipt of an in-flight message of ``queue``; ``other``: of a queue with
    the same partitioning; ``fifo``: of a one-partition FIFO queue's in-flight message;
    ``old``: of the same name's earlier incarnation."""
    queue, other, fifo = name, name + "-other", name + "-f.fifo"
    create(http, queue)
    create(http, other)
    create(http, fifo)
    old = name + "-old"
    create(http, old)
    send(http, old, {"body": "before"})
    [old_message] = receive(http, old)
    ok(http.delete(f"/v1/queues/{old}"))
    create(http, old)
    send(http, old, {"body": "after"})
    send(http, queue, {"body": "mine"})
    send(http, other, {"body": "theirs"})
    send(http, fifo, {"body": "fifo", "group_id": "g", "dedup_id": "d"})
    found = {}
    for key, source in (("mine", queue), ("other", other), ("fifo", fifo)):
        [message] = receive(http, source)
        found[key] = message["receipt"]
    mine = found["mine"]
    tampered = mine[:10] + ("A" if mine[10] != "A" else "B") + mine[11:]  # a data character
    return {
        "queue": queue,
        "queues": [queue, other, fifo, old],
        "old_queue": old,
        "mine": mine,
        "other": found["other"],
        "fifo": found["fifo"],
        "old": old_message["receipt"],
        "tampered": tampered,
    }


BAD_RECEIPTS = table(
    ("garbage", lambda r: "not-a-receipt"),
    ("empty", lambda r: ""),
    ("number", lambda r: 12345),
    ("list", lambda r: [r["mine"]]),
    ("null", lambda r: None),
    ("tampered", lambda r: r["tampered"]),
    ("truncated", lambda r: r["mine"][:-2]),
    ("other-queue", lambda r: r["other"]),
    ("fifo-queue", lambda r: r["fifo"]),
)


@pytest.mark.parametrize("bad", BAD_RECEIPTS)
def test_deleting_with_a_receipt_that_is_not_this_queues_is_receipt_handle_is_invalid(
    http: httpx.Client, receipts: dict[str, Any], bad: Callable[[dict[str, Any]], Any]
) -> None:
    queue = receipts["queue"]
    before = state(http, *receipts["queues"])
    response = call(http, "POST", f"/v1/queues/{queue}/delete", {"receipt": bad(receipts)})
    expect_error(response, 400, "ReceiptHandleIsInvalid")
    assert state(http, *receipts["queues"]) == before
    batch = {"receipts": [bad(receipts), receipts["mine"]]}
    results = ok(call(http, "POST", f"/v1/queues/{queue}/delete", batch))["results"]
    assert results[0]["error"]["code"] == "ReceiptHandleIsInvalid" and results[1] is None
    after = state(http, *receipts["queues"])
    assert after[queue]["stats"]["in_flight"] == before[queue]["stats"]["in_flight"] - 1
    assert {q: after[q] for q in receipts["queues"][1:]} == {
        q: before[q] for q in receipts["queues"][1:]
    }


@pytest.mark.parametrize("bad", BAD_RECEIPTS)
def test_changing_visibility_with_a_receipt_that_is_not_this_queues_is_invalid(
    http: httpx.Client, receipts: dict[str, Any], bad: Callable[[dict[str, Any]], Any]
) -> None:
    queue = receipts["queue"]
    before = state(http, *receipts["queues"])
    change = {"receipt": bad(receipts), "visibility_timeout_s": 0}
    response = call(http, "POST", f"/v1/queues/{queue}/visibility", change)
    expect_error(response, 400, "ReceiptHandleIsInvalid")
    results = ok(call(http, "POST", f"/v1/queues/{queue}/visibility", {"changes": [change]}))[
        "results"
    ]
    assert results[0]["error"]["code"] == "ReceiptHandleIsInvalid"
    assert state(http, *receipts["queues"]) == before


def test_a_receipt_of_an_earlier_queue_of_the_same_name_is_invalid(
    http: httpx.Client, receipts: dict[str, Any]
) -> None:
    old = receipts["old_queue"]
    before = state(http, old)
    response = call(http, "POST", f"/v1/queues/{old}/delete", {"receipt": receipts["old"]})
    expect_error(response, 400, "ReceiptHandleIsInvalid")
    assert state(http, old) == before
    assert drain(http, old, 1) == ["after"]


VISIBILITY_VALUES = table(
    ("over-12-hours", 43_201, "InvalidParameterValue"),
    ("negative", -1, "InvalidParameterValue"),
    ("text", "ten", "InvalidParameterValue"),
    ("float", 1.5, "InvalidParameterValue"),
    ("null", None, "InvalidParameterValue"),
    ("bool", True, "InvalidParameterValue"),
)


@pytest.mark.parametrize(("value", "code"), VISIBILITY_VALUES)
def test_a_visibility_timeout_out_of_range_changes_nothing(
    http: httpx.Client, receipts: dict[str, Any], value: Any, code: str
) -> None:
    queue = receipts["queue"]
    before = state(http, queue)
    change = {"receipt": receipts["mine"], "visibility_timeout_s": value}
    expect_error(call(http, "POST", f"/v1/queues/{queue}/visibility", change), 400, code)
    results = ok(call(http, "POST", f"/v1/queues/{queue}/visibility", {"changes": [change]}))[
        "results"
    ]
    assert results[0]["error"]["code"] == code
    assert state(http, queue) == before
    assert receive(http, queue) == []  # still in flight under its original timeout


RECEIPT_REQUESTS = table(
    ("delete-nothing", "delete", {}, 400, "MissingParameter"),
    ("delete-receipts-not-list", "delete", {"receipts": "r"}, 400, "InvalidParameterValue"),
    ("delete-empty-batch", "delete", {"receipts": []}, 400, "EmptyBatchRequest"),
    (
        "delete-1001",
        "delete",
        {"receipts": [WELL_FORMED_RECEIPT] * 1001},
        400,
        "TooManyEntriesInBatchRequest",
    ),
    ("visibility-no-receipt", "visibility", {"visibility_timeout_s": 0}, 400, "MissingParameter"),
    ("visibility-no-timeout", "visibility", {"receipt": "{r}"}, 400, "MissingParameter"),
    ("visibility-not-list", "visibility", {"changes": "c"}, 400, "InvalidParameterValue"),
    ("visibility-empty-batch", "visibility", {"changes": []}, 400, "EmptyBatchRequest"),
    (
        "visibility-1001",
        "visibility",
        {"changes": [{"receipt": "{r}", "visibility_timeout_s": 0}] * 1001},
        400,
        "TooManyEntriesInBatchRequest",
    ),
    (
        "visibility-entry-not-a-map",
        "visibility",
        {"changes": [{"receipt": "{r}", "visibility_timeout_s": 0}, "x"]},
        400,
        "MissingParameter",
    ),
)


@pytest.mark.parametrize(("operation", "body", "status", "code"), RECEIPT_REQUESTS)
def test_a_malformed_delete_or_visibility_request_is_refused_whole(
    http: httpx.Client,
    receipts: dict[str, Any],
    operation: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    queue = receipts["queue"]
    before = state(http, queue)
    body = json.loads(json.dumps(body).replace("{r}", receipts["mine"]))
    expect_error(call(http, "POST", f"/v1/queues/{queue}/{operation}", body), status, code)
    assert state(http, queue) == before


def test_changing_visibility_of_a_deleted_message_is_message_not_inflight(
    http: httpx.Client, receipts: dict[str, Any]
) -> None:
    queue = receipts["queue"]
    ok(call(http, "POST", f"/v1/queues/{queue}/delete", {"receipt": receipts["mine"]}))
    before = state(http, queue)
    change = {"receipt": receipts["mine"], "visibility_timeout_s": 0}
    expect_error(
        call(http, "POST", f"/v1/queues/{queue}/visibility", change), 400, "MessageNotInflight"
    )
    assert state(http, queue) == before


# -- queue settings ------------------------------------------------------------------------------

NAME = "<name>"
INVALID_CREATES = table(
    ("no-name", {}, 400, "MissingParameter"),
    ("number-name", {"name": 5}, 400, "MissingParameter"),
    ("empty-name", {"name": ""}, 400, "InvalidParameterValue"),
    ("name-with-space", {"name": NAME + " x"}, 400, "InvalidParameterValue"),
    ("name-with-dot", {"name": NAME + ".x"}, 400, "InvalidParameterValue"),
    ("name-81-chars", {"name": "n" * 81}, 400, "InvalidParameterValue"),
    ("fifo-name-standard", {"name": NAME + ".fifo", "fifo": False}, 400, "InvalidParameterValue"),
    ("standard-name-fifo", {"name": NAME, "fifo": True}, 400, "InvalidParameterValue"),
    ("fifo-not-bool", {"name": NAME, "fifo": "yes"}, 400, "InvalidAttributeValue"),
    (
        "visibility-50000",
        {"name": NAME, "visibility_timeout_s": 50_000},
        400,
        "InvalidAttributeValue",
    ),
    (
        "visibility-negative",
        {"name": NAME, "visibility_timeout_s": -1},
        400,
        "InvalidAttributeValue",
    ),
    ("visibility-text", {"name": NAME, "visibility_timeout_s": "30"}, 400, "InvalidAttributeValue"),
    ("delay-901", {"name": NAME, "delay_s": 901}, 400, "InvalidAttributeValue"),
    ("retention-59", {"name": NAME, "retention_s": 59}, 400, "InvalidAttributeValue"),
    (
        "retention-over-14-days",
        {"name": NAME, "retention_s": 1_209_601},
        400,
        "InvalidAttributeValue",
    ),
    ("max-bytes-1023", {"name": NAME, "max_message_bytes": 1023}, 400, "InvalidAttributeValue"),
    (
        "max-bytes-over-1-mib",
        {"name": NAME, "max_message_bytes": MIB + 1},
        400,
        "InvalidAttributeValue",
    ),
    ("receive-wait-21", {"name": NAME, "receive_wait_s": 21}, 400, "InvalidAttributeValue"),
    ("partitions-0", {"name": NAME, "partitions": 0}, 400, "InvalidAttributeValue"),
    ("partitions-1025", {"name": NAME, "partitions": 1025}, 400, "InvalidAttributeValue"),
    ("unknown-setting", {"name": NAME, "colour": "red"}, 400, "InvalidAttributeName"),
    ("sqs-style-setting", {"name": NAME, "VisibilityTimeout": 30}, 400, "InvalidAttributeName"),
    (
        "standard-content-dedup",
        {"name": NAME, "content_based_dedup": True},
        400,
        "InvalidAttributeName",
    ),
    (
        "standard-dedup-scope",
        {"name": NAME, "dedup_scope": "messageGroup"},
        400,
        "InvalidAttributeName",
    ),
    (
        "standard-throughput",
        {"name": NAME, "throughput_limit": "perMessageGroupId"},
        400,
        "InvalidAttributeName",
    ),
    (
        "fifo-bad-scope",
        {"name": NAME + ".fifo", "dedup_scope": "group"},
        400,
        "InvalidAttributeValue",
    ),
    (
        "fifo-throughput-needs-group-scope",
        {"name": NAME + ".fifo", "throughput_limit": "perMessageGroupId"},
        400,
        "InvalidAttributeValue",
    ),
    (
        "fifo-queue-scope-two-partitions",
        {"name": NAME + ".fifo", "partitions": 2},
        400,
        "UnsupportedOperation",
    ),
    (
        "redrive-missing-dlq",
        {
            "name": NAME,
            "redrive_policy": {"dead_letter_queue": NAME + "-gone", "max_receive_count": 3},
        },
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "redrive-to-itself",
        {"name": NAME, "redrive_policy": {"dead_letter_queue": NAME, "max_receive_count": 3}},
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "redrive-count-0",
        {
            "name": NAME,
            "redrive_policy": {"dead_letter_queue": "<standard>", "max_receive_count": 0},
        },
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "redrive-count-1001",
        {
            "name": NAME,
            "redrive_policy": {"dead_letter_queue": "<standard>", "max_receive_count": 1001},
        },
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "redrive-without-count",
        {"name": NAME, "redrive_policy": {"dead_letter_queue": "<standard>"}},
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "redrive-not-a-map",
        {"name": NAME, "redrive_policy": "<standard>"},
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "fifo-with-standard-dlq",
        {
            "name": NAME + ".fifo",
            "redrive_policy": {"dead_letter_queue": "<standard>", "max_receive_count": 3},
        },
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "standard-with-fifo-dlq",
        {"name": NAME, "redrive_policy": {"dead_letter_queue": "<fifo>", "max_receive_count": 3}},
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "dlq-denies-sources",
        {"name": NAME, "redrive_policy": {"dead_letter_queue": "<deny>", "max_receive_count": 3}},
        403,
        "RedriveNotAllowed",
    ),
    (
        "allow-policy-bad-permission",
        {"name": NAME, "redrive_allow_policy": {"permission": "sometimes"}},
        400,
        "InvalidRedrivePolicy",
    ),
    (
        "allow-policy-by-queue-without-sources",
        {"name": NAME, "redrive_allow_policy": {"permission": "byQueue"}},
        400,
        "InvalidRedrivePolicy",
    ),
)


def _fill(value: Any, name: str, dead_letter_queues: dict[str, str]) -> Any:
    text = json.dumps(value).replace(NAME, name)
    for kind, queue in dead_letter_queues.items():
        text = text.replace(f"<{kind}>", queue)
    return json.loads(text)


@pytest.mark.parametrize("as_msgpack", [False, True], ids=["json", "msgpack"])
@pytest.mark.parametrize(("settings", "status", "code"), INVALID_CREATES)
def test_creating_a_queue_with_invalid_settings_creates_nothing(
    http: httpx.Client,
    dead_letter_queues: dict[str, str],
    name: str,
    settings: dict[str, Any],
    status: int,
    code: str,
    as_msgpack: bool,
) -> None:
    settings = _fill(settings, name, dead_letter_queues)
    before = state(http, *dead_letter_queues.values())
    response = call(http, "POST", "/v1/queues", settings, as_msgpack=as_msgpack)
    expect_error(response, status, code)
    assert state(http, *dead_letter_queues.values()) == before
    assert not exists(http, name) and not exists(http, name + ".fifo")


def test_creating_an_existing_queue_with_other_settings_is_queue_already_exists(
    http: httpx.Client, seeded: str
) -> None:
    before = state(http, seeded)
    response = call(http, "POST", "/v1/queues", {"name": seeded, "visibility_timeout_s": 31})
    expect_error(response, 409, "QueueAlreadyExists")
    assert state(http, seeded) == before
    assert drain(http, seeded, 2) == ["a", "b"]


INVALID_UPDATES = table(
    ("standard-fifo", "", {"fifo": True}, "UnsupportedOperation"),
    ("standard-partitions", "", {"partitions": 3}, "UnsupportedOperation"),
    ("standard-name", "", {"name": "renamed"}, "UnsupportedOperation"),
    ("standard-dedup-scope", "", {"dedup_scope": "messageGroup"}, "UnsupportedOperation"),
    ("standard-throughput", "", {"throughput_limit": "perMessageGroupId"}, "UnsupportedOperation"),
    ("standard-content-dedup", "", {"content_based_dedup": True}, "InvalidAttributeName"),
    ("standard-visibility", "", {"visibility_timeout_s": 50_000}, "InvalidAttributeValue"),
    ("standard-unknown", "", {"colour": "red"}, "InvalidAttributeName"),
    (
        "standard-missing-dlq",
        "",
        {"redrive_policy": {"dead_letter_queue": "<name>-gone", "max_receive_count": 3}},
        "InvalidRedrivePolicy",
    ),
    (
        "standard-fifo-dlq",
        "",
        {"redrive_policy": {"dead_letter_queue": "<fifo>", "max_receive_count": 3}},
        "InvalidRedrivePolicy",
    ),
    ("fifo-fifo", ".fifo", {"fifo": False}, "UnsupportedOperation"),
    ("fifo-partitions", ".fifo", {"partitions": 2}, "UnsupportedOperation"),
    ("fifo-dedup-scope", ".fifo", {"dedup_scope": "messageGroup"}, "UnsupportedOperation"),
    ("fifo-delay", ".fifo", {"delay_s": 901}, "InvalidAttributeValue"),
    (
        "fifo-standard-dlq",
        ".fifo",
        {"redrive_policy": {"dead_letter_queue": "<standard>", "max_receive_count": 3}},
        "InvalidRedrivePolicy",
    ),
    # a valid change next to a refused one is not applied either
    ("mixed", "", {"visibility_timeout_s": 5, "partitions": 7}, "UnsupportedOperation"),
)


@pytest.mark.parametrize(("suffix", "changes", "code"), INVALID_UPDATES)
def test_an_invalid_settings_update_changes_nothing(
    http: httpx.Client,
    dead_letter_queues: dict[str, str],
    name: str,
    suffix: str,
    changes: dict[str, Any],
    code: str,
) -> None:
    queue = name + suffix
    create(http, queue)
    before = state(http, queue)
    response = call(http, "PATCH", f"/v1/queues/{queue}", _fill(changes, name, dead_letter_queues))
    expect_error(response, 400, code)
    assert state(http, queue) == before


def test_repeating_a_setting_fixed_at_creation_is_not_an_error(
    http: httpx.Client, name: str
) -> None:
    queue = create(http, name)
    fixed = {key: queue[key] for key in ("name", "fifo", "partitions", "dedup_scope")}
    updated = ok(call(http, "PATCH", f"/v1/queues/{name}", {**fixed, "delay_s": 3}))["queue"]
    assert updated == {**queue, "delay_s": 3}


def test_sdk_create_with_invalid_settings_raises_the_typed_error(
    client: Client, http: httpx.Client, name: str
) -> None:
    before = state(http)
    with pytest.raises(errors.InvalidAttributeValue) as info:
        client.create_queue(name, visibility_timeout_s=50_000)
    assert (
        info.value.http_status == 400 and info.value.details["parameter"] == "visibility_timeout_s"
    )
    with pytest.raises(errors.InvalidRedrivePolicy):
        client.create_queue(name, dead_letter_queue=name + "-gone", max_receive_count=3)
    assert state(http) == before


# -- purge, move tasks, listing ----------------------------------------------------------------


def test_a_second_purge_within_60_seconds_is_purge_queue_in_progress(
    http: httpx.Client, seeded: str
) -> None:
    ok(call(http, "POST", f"/v1/queues/{seeded}/purge"))
    send(http, seeded, {"body": "kept"})
    before = state(http, seeded)
    expect_error(call(http, "POST", f"/v1/queues/{seeded}/purge"), 409, "PurgeQueueInProgress")
    assert state(http, seeded) == before
    assert drain(http, seeded, 1) == ["kept"]


OTHER_REQUESTS = table(
    ("move-without-source", "POST", "/v1/move-tasks", {}, 400, "MissingParameter"),
    ("move-source-not-text", "POST", "/v1/move-tasks", {"source": 5}, 400, "MissingParameter"),
    (
        "move-from-a-queue-that-is-no-dlq",
        "POST",
        "/v1/move-tasks",
        {"source": "<target>"},
        400,
        "InvalidParameterValue",
    ),
    (
        "move-to-itself",
        "POST",
        "/v1/move-tasks",
        {"source": "<target>", "destination": "<target>"},
        400,
        "InvalidParameterValue",
    ),
    ("list-moves-without-source", "GET", "/v1/move-tasks", None, 400, "MissingParameter"),
    (
        "cancel-unknown-task",
        "POST",
        "/v1/move-tasks/0123abcd/cancel",
        None,
        404,
        "ResourceNotFound",
    ),
    ("list-queues-bad-limit", "GET", "/v1/queues?limit=ten", None, 400, "InvalidParameterValue"),
)


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), OTHER_REQUESTS)
def test_a_bad_move_task_or_listing_request_is_refused(
    http: httpx.Client,
    target: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    before = state(http, target)
    if body is not None:
        body = json.loads(json.dumps(body).replace("<target>", target))
    expect_error(call(http, method, path, body), status, code)
    assert state(http, target) == before
    assert ok(http.get("/v1/move-tasks", params={"source": target}))["tasks"] == []


# -- clock ---------------------------------------------------------------------------------------

BAD_ADVANCES = table(
    ("minus-one", b'{"seconds": -1}', "InvalidParameterValue"),
    ("minus-a-little", b'{"seconds": -0.001}', "InvalidParameterValue"),
    ("text", b'{"seconds": "ten"}', "InvalidParameterValue"),
    ("bool", b'{"seconds": true}', "InvalidParameterValue"),
    ("null", b'{"seconds": null}', "InvalidParameterValue"),
    ("list", b'{"seconds": [1]}', "InvalidParameterValue"),
    ("missing", b"{}", "MissingParameter"),
    ("nan", b'{"seconds": NaN}', "InvalidParameterValue"),
    ("infinity", b'{"seconds": Infinity}', "InvalidParameterValue"),
)


@pytest.mark.parametrize(("raw", "code"), BAD_ADVANCES)
def test_the_clock_never_moves_backwards_or_by_a_non_number(
    http: httpx.Client, target: str, raw: bytes, code: str
) -> None:
    before = state(http, target)
    response = call(http, "POST", "/v1/clock/advance", content=raw, content_type=JSON)
    expect_error(response, 400, code)
    assert state(http, target) == before


# -- authentication ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_url(cluster: RunningCluster) -> Iterator[str]:
    """A second gateway in the session's Ray instance, requiring ``TOKEN``."""
    handle = (
        ray.remote(Gateway)
        .options(name="raybus-gateway-authtest", namespace="raybus", num_cpus=0)
        .remote("127.0.0.1", 0, token=TOKEN)
    )
    try:
        yield ray.get(handle.start.remote(), timeout=120)
    finally:
        try:
            ray.get(handle.stop.remote(), timeout=30)
        finally:
            ray.kill(handle, no_restart=True)


@pytest.fixture(scope="module")
def auth_http(auth_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=auth_url, timeout=60) as client:
        yield client


BAD_AUTHORIZATIONS = table(
    ("no-header", None),
    ("wrong-token", f"Bearer {TOKEN}x"),
    ("token-prefix", f"Bearer {TOKEN[:-1]}"),
    ("scheme-only", "Bearer"),
    ("bare-token", TOKEN),
    ("basic-scheme", f"Basic {TOKEN}"),
)


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS)
def test_a_v1_request_without_the_right_token_is_unauthorized_and_changes_nothing(
    auth_http: httpx.Client, http: httpx.Client, name: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    expect_error(auth_http.get("/v1/queues", headers=headers), 401, "Unauthorized")
    before = state(http)
    expect_error(
        call(auth_http, "POST", "/v1/queues", {"name": name}, headers=headers), 401, "Unauthorized"
    )
    expect_error(  # refused before the body is even parsed
        call(
            auth_http, "POST", "/v1/queues", content=b"{garbage", content_type=JSON, headers=headers
        ),
        401,
        "Unauthorized",
    )
    assert state(http) == before
    assert not exists(http, name)


@pytest.mark.parametrize(
    "authorization", [f"Bearer {TOKEN}", f"bearer {TOKEN}"], ids=["bearer", "lower-case-scheme"]
)
def test_the_right_token_is_accepted(
    auth_http: httpx.Client, http: httpx.Client, name: str, authorization: str
) -> None:
    headers = {"Authorization": authorization}
    response = call(auth_http, "POST", "/v1/queues", {"name": name}, headers=headers)
    assert ok(response)["created"] is True
    assert exists(http, name)
    assert name in ok(auth_http.get("/v1/queues", headers=headers))["queues"]


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_health_and_metrics_stay_open_on_a_gateway_with_a_token(
    auth_http: httpx.Client, path: str
) -> None:
    assert auth_http.get(path).status_code == 200


def test_the_sdk_raises_unauthorized_for_a_wrong_token_and_works_with_the_right_one(
    auth_url: str, http: httpx.Client, name: str
) -> None:
    with Client(auth_url, token="wrong", max_retries=0) as wrong:
        with pytest.raises(errors.Unauthorized) as info:
            wrong.create_queue(name)
        assert info.value.http_status == 401 and not info.value.retriable
    assert not exists(http, name)
    with Client(auth_url, token=TOKEN, max_retries=0) as right:
        queue = right.create_queue(name)
        queue.send("hello")
        assert [m.text for m in queue.receive(max_messages=10)] == ["hello"]


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "192.0.2.10", "10.0.0.1", "example.com"],
    ids=["any-ipv4", "any-ipv6", "public-ipv4", "private-ipv4", "hostname"],
)
def test_a_gateway_bound_beyond_loopback_refuses_to_run_open(host: str) -> None:
    with pytest.raises(RaybusError) as info:
        Gateway(host, 0)
    assert info.value.code == "Unauthorized"
    assert Gateway(host, 0, token=TOKEN).token == TOKEN
    assert Gateway(host, 0, allow_open=True).token is None


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"], ids=["v4", "v4-other", "name", "v6"]
)
def test_a_gateway_on_loopback_may_run_open(host: str) -> None:
    assert Gateway(host, 0).token is None
