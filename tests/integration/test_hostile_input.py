"""Hostile input cannot crash or corrupt raybus (issue 10's probes, each failing before the fix).

Every rejected request is checked three ways against the session cluster: it answers 4xx with
a stable, non-retriable code; the controller process is the same before and after (its pid);
and the catalog is byte-identical, both on disk (the snapshot files under ``<data>/catalog``)
and as the API shows it (queue names and every queue's settings). Where the request aimed at
data (a purge, a move task, the clock), the data is checked to be untouched too.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgpack
import pytest

from raybus.control import RunningCluster
from raybus.core.errors import CATALOG

JSON = "application/json"
MSGPACK = "application/msgpack"
LONE = "\ud800"


# -- helpers -------------------------------------------------------------------------------------


def raw_json(value: Any) -> bytes:
    """JSON as a client would send it: lone surrogates as \\ud800 escapes (json.dumps keeps
    them escaped with ensure_ascii)."""
    return json.dumps(value).encode("ascii")


def post(http: httpx.Client, path: str, body: Any, *, method: str = "POST") -> httpx.Response:
    return http.request(method, path, content=raw_json(body), headers={"Content-Type": JSON})


def unique(label: str) -> str:
    return f"h{uuid.uuid4().hex[:8]}-{label}"


def ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 202), response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    body = response.json()
    assert (response.status_code, body["error"]["code"]) == (status, code), body
    assert not CATALOG[code].retriable
    return dict(body["error"])


def wait_for(condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class Witness:
    """What a rejected request must leave alone: the controller process and the catalog."""

    def __init__(self, http: httpx.Client, data_dir: Path) -> None:
        self.http = http
        self.catalog_dir = data_dir / "catalog"

    def controller_pid(self) -> int:
        return int(self.http.get("/healthz").json()["controller_pid"])

    def catalog_files(self) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(self.catalog_dir.iterdir())}

    def catalog_api(self) -> dict[str, Any]:
        names = ok(self.http.get("/v1/queues"))["queues"]
        return {name: ok(self.http.get(f"/v1/queues/{name}"))["queue"] for name in names}

    def snapshot(self) -> tuple[int, dict[str, bytes], dict[str, Any]]:
        return self.controller_pid(), self.catalog_files(), self.catalog_api()


@pytest.fixture(scope="module")
def http(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def witness(http: httpx.Client, cluster: RunningCluster) -> Witness:
    return Witness(http, Path(cluster.spec.data_dir))


@pytest.fixture(scope="module")
def queue(http: httpx.Client) -> str:
    name = unique("target")
    ok(post(http, "/v1/queues", {"name": name}))
    return name


# -- 1, 2: control calls with lone surrogates ------------------------------------------------------

CONTROL_PROBES = [
    pytest.param("POST", "/v1/move-tasks", {"source": LONE}, id="move-task-source"),
    pytest.param(
        "POST", "/v1/move-tasks", {"source": "{q}", "destination": LONE}, id="move-task-dest"
    ),
    pytest.param(
        "POST",
        "/v1/queues",
        {"name": "{new}", "redrive_policy": {"dead_letter_queue": LONE, "max_receive_count": 3}},
        id="create-redrive-dlq",
    ),
    pytest.param(
        "PATCH",
        "/v1/queues/{q}",
        {"redrive_policy": {"dead_letter_queue": LONE, "max_receive_count": 3}},
        id="update-redrive-dlq",
    ),
    pytest.param(
        "POST",
        "/v1/queues",
        {
            "name": "{new}",
            "redrive_allow_policy": {"permission": "byQueue", "source_queues": [LONE]},
        },
        id="create-redrive-allow-source",
    ),
    pytest.param("POST", "/v1/queues", {"name": LONE}, id="create-name"),
    pytest.param("POST", "/v1/topics", {"name": "{new}", LONE: True}, id="topic-field-name"),
    pytest.param(
        "POST",
        "/v1/topics/{t}/subscriptions",
        {"protocol": "queue", "endpoint": "{q}", "filter_policy": {"kind": [LONE]}},
        id="subscribe-filter-policy",
    ),
    pytest.param(
        "POST", "/v1/functions", {"name": "{new}", "handler": f"m{LONE}:f"}, id="function-handler"
    ),
    pytest.param(
        "POST",
        "/v1/event-source-mappings",
        {"source": f"queue:{LONE}", "function": "f"},
        id="mapping-source",
    ),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROL_PROBES)
def test_a_lone_surrogate_in_a_control_call_is_refused_and_changes_nothing(
    http: httpx.Client, witness: Witness, queue: str, method: str, path: str, body: Any
) -> None:
    topic = unique("topic")
    ok(post(http, "/v1/topics", {"name": topic}))
    fill = {"{q}": queue, "{t}": topic, "{new}": unique("new")}
    for key, value in fill.items():
        path = path.replace(key, value)
    text = json.dumps(body)
    for key, value in fill.items():
        text = text.replace(key, value)
    before = witness.snapshot()
    response = http.request(
        method, path, content=text.encode("ascii"), headers={"Content-Type": JSON}
    )
    error = refused(response, 400, "InvalidParameterValue")
    assert "not valid Unicode" in error["message"]
    assert error["details"]["parameter"]  # names the field
    assert witness.snapshot() == before


def test_a_surrogate_that_reached_a_setting_validator_is_still_a_clean_error(
    http: httpx.Client, witness: Witness
) -> None:
    """msgpack can carry the same name as invalid UTF-8: refused at decoding, naming it."""
    before = witness.snapshot()
    body = b"\x81\xa4name\xa3\xed\xa0\x80"  # {"name": <ED A0 80>}
    response = http.post("/v1/queues", content=body, headers={"Content-Type": MSGPACK})
    assert response.status_code == 400
    error = msgpack.unpackb(response.content)["error"]
    assert (error["code"], error["details"]["parameter"]) == ("MalformedRequest", "name")
    assert witness.snapshot() == before


def test_later_changes_after_a_poison_request_are_saved_and_served(
    http: httpx.Client, witness: Witness
) -> None:
    """The old failure mode: the poison create answered 500 but was applied; every later
    change then failed to save while still being applied in memory (sends got StaleEpoch)."""
    poison = unique("poison")
    refused(
        post(
            http,
            "/v1/queues",
            {
                "name": poison,
                "redrive_allow_policy": {"permission": "byQueue", "source_queues": [LONE]},
            },
        ),
        400,
        "InvalidParameterValue",
    )
    after = unique("after")
    ok(post(http, "/v1/queues", {"name": after}))
    names = ok(http.get("/v1/queues"))["queues"]
    assert after in names and poison not in names
    ok(post(http, f"/v1/queues/{after}/messages", {"body": "hello"}))
    assert after in witness.catalog_api()


# -- 3: the data plane refuses, for good, what can never succeed -------------------------------

DATA_PROBES = [
    pytest.param("{q}", {"body": LONE}, id="body"),
    pytest.param("{q}", {"entries": [{"body": "fine"}, {"body": f"x{LONE}"}]}, id="batch-entry"),
    pytest.param(
        "{q}", {"body": "x", "attributes": {"a": [f"String.{LONE}", "v"]}}, id="attribute-type"
    ),
    pytest.param("{q}", {"body": "x", "attributes": {LONE: ["String", "v"]}}, id="attribute-name"),
    pytest.param("{fifo}", {"body": LONE, "group_id": "g"}, id="fifo-content-dedup-body"),
]


@pytest.mark.parametrize(("target", "body"), DATA_PROBES)
def test_a_message_holding_a_lone_surrogate_is_a_client_error_not_a_retry(
    http: httpx.Client, witness: Witness, queue: str, target: str, body: Any
) -> None:
    fifo = unique("dedup") + ".fifo"
    ok(post(http, "/v1/queues", {"name": fifo, "content_based_dedup": True}))
    name = target.replace("{q}", queue).replace("{fifo}", fifo)
    depth = ok(http.get(f"/v1/queues/{name}/stats"))["visible"]
    before = witness.snapshot()
    refused(post(http, f"/v1/queues/{name}/messages", body), 400, "InvalidParameterValue")
    assert ok(http.get(f"/v1/queues/{name}/stats"))["visible"] == depth
    assert witness.snapshot() == before


def test_a_topic_publish_holding_a_lone_surrogate_is_refused(http: httpx.Client) -> None:
    topic = unique("topic")
    ok(post(http, "/v1/topics", {"name": topic}))
    refused(
        post(http, f"/v1/topics/{topic}/publish", {"body": "x", "subject": LONE}),
        400,
        "InvalidParameterValue",
    )
    assert ok(http.get(f"/v1/topics/{topic}/stats"))["published"] == 0


# -- 4: unknown fields are refused on every route, and the request does nothing ------------------


def test_an_unknown_field_on_the_clock_does_not_move_it(
    http: httpx.Client, witness: Witness
) -> None:
    now = ok(http.get("/v1/clock"))["now_ms"]
    before = witness.snapshot()
    refused(post(http, "/v1/clock/advance", {"seconds": 60, "sconds": 1}), 400,
            "InvalidParameterValue")  # fmt: skip
    assert ok(http.get("/v1/clock"))["now_ms"] == now
    assert witness.snapshot() == before


def test_an_unknown_field_on_purge_purges_nothing(http: httpx.Client) -> None:
    name = unique("purge")
    ok(post(http, "/v1/queues", {"name": name}))
    ok(post(http, f"/v1/queues/{name}/messages", {"entries": [{"body": "a"}, {"body": "b"}]}))
    refused(post(http, f"/v1/queues/{name}/purge", {"force": True}), 400, "InvalidParameterValue")
    assert ok(http.get(f"/v1/queues/{name}/stats"))["visible"] == 2
    ok(post(http, f"/v1/queues/{name}/purge", {}))  # an empty map is no field at all
    assert ok(http.get(f"/v1/queues/{name}/stats"))["visible"] == 0


def test_an_unknown_field_on_a_move_task_starts_no_task(http: httpx.Client) -> None:
    dlq = unique("dlq")
    ok(post(http, "/v1/queues", {"name": dlq}))
    ok(post(http, "/v1/queues", {"name": unique("src"),
                                 "redrive_policy": {"dead_letter_queue": dlq,
                                                    "max_receive_count": 1}}))  # fmt: skip
    refused(post(http, "/v1/move-tasks", {"source": dlq, "rate": 5}), 400, "InvalidParameterValue")
    assert ok(http.get("/v1/move-tasks", params={"source": dlq}))["tasks"] == []


def test_unknown_query_parameters_are_refused(http: httpx.Client) -> None:
    refused(http.get("/v1/queues", params={"prefx": "a"}), 400, "InvalidParameterValue")
    refused(http.get("/v1/clock", params={"now": "1"}), 400, "InvalidParameterValue")


def test_unknown_fields_in_nested_settings_are_refused(http: httpx.Client) -> None:
    dlq = unique("dlq")
    ok(post(http, "/v1/queues", {"name": dlq}))
    name = unique("nested")
    policy = {"dead_letter_queue": dlq, "max_receive_count": 2, "colour": "red"}
    refused(
        post(http, "/v1/queues", {"name": name, "redrive_policy": policy}),
        400,
        "InvalidRedrivePolicy",
    )
    assert name not in ok(http.get("/v1/queues"))["queues"]
    del policy["colour"]
    ok(post(http, "/v1/queues", {"name": name, "redrive_policy": policy}))  # the same, valid


# -- 5: content types and slow or truncated bodies -----------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data"],
)
def test_a_body_that_is_neither_json_nor_msgpack_is_unsupported(
    http: httpx.Client, queue: str, content_type: str
) -> None:
    depth = ok(http.get(f"/v1/queues/{queue}/stats"))["visible"]
    response = http.post(
        f"/v1/queues/{queue}/messages", content=b'{"body": "x"}',
        headers={"Content-Type": content_type},
    )  # fmt: skip
    refused(response, 415, "UnsupportedMediaType")
    assert ok(http.get(f"/v1/queues/{queue}/stats"))["visible"] == depth


def test_json_variants_and_msgpack_aliases_are_accepted(http: httpx.Client, queue: str) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        ok(http.post(f"/v1/queues/{queue}/messages", content=b'{"body": "j"}',
                     headers={"Content-Type": content_type}))  # fmt: skip
    for content_type in ("application/x-msgpack", "application/vnd.msgpack"):
        response = http.post(
            f"/v1/queues/{queue}/messages",
            content=msgpack.packb({"body": "m"}),
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 200, response.text


def test_a_truncated_body_gets_408_and_the_connection_closes(
    url: str, cluster: RunningCluster, queue: str
) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection(
        (host, int(port)), timeout=cluster.spec.body_timeout_s + 10
    ) as sock:
        sock.sendall(
            f"POST /v1/queues/{queue}/messages HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"body": "'
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536)
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while len(body) < length:
            body += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"Connection: close" in head
    assert json.loads(body)["error"]["code"] == "RequestTimeout"


# -- health while the controller restarts, and a restart after accepted and rejected calls ------


def test_health_is_a_prompt_503_while_the_controller_restarts_and_only_accepted_changes_survive(
    http: httpx.Client, witness: Witness
) -> None:
    accepted = {unique("keep-a"): {}, unique("keep-b"): {"visibility_timeout_s": 45}}
    for name, settings in accepted.items():
        ok(post(http, "/v1/queues", {"name": name, **settings}))
    rejected = unique("gone")
    refused(post(http, "/v1/queues", {"name": rejected, "colour": "red"}), 400,
            "InvalidAttributeName")  # fmt: skip
    poison = {"permission": "byQueue", "source_queues": [LONE]}
    refused(post(http, "/v1/queues", {"name": rejected, "redrive_allow_policy": poison}), 400,
            "InvalidParameterValue")  # fmt: skip
    keep_b = next(iter(n for n in accepted if "keep-b" in n))
    ok(post(http, f"/v1/queues/{keep_b}", {"delay_s": 5}, method="PATCH"))
    refused(post(http, f"/v1/queues/{keep_b}", {"delay_s": 5000}, method="PATCH"), 400,
            "InvalidAttributeValue")  # fmt: skip
    before = witness.catalog_api()
    pid = witness.controller_pid()

    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    health = http.get("/healthz", timeout=10)
    waited = time.monotonic() - started
    assert health.status_code == 503, health.text
    assert health.json()["status"] == "degraded"
    print(f"/healthz answered 503 in {waited:.2f} s while the controller restarted")

    def back() -> bool:
        response = http.get("/healthz", timeout=10)
        return response.status_code == 200 and response.json()["controller_pid"] != pid

    wait_for(back)
    after = witness.catalog_api()
    assert after == before
    assert rejected not in after
    assert after[keep_b]["delay_s"] == 5 and after[keep_b]["visibility_timeout_s"] == 45
