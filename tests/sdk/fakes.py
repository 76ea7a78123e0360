"""An in-memory stand-in for the gateway's native API, for SDK tests (no sockets, no Ray).

It records every request (decoded), answers from a small queue model that follows the HTTP
reference (docs/http-api.md), and can be told to answer the next requests with scripted
responses or exceptions (errors, throttling, dropped connections).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgpack

from raybus.core import CATALOG, md5_of_attributes, md5_of_body
from raybus.core.attributes import Attribute

MSGPACK = "application/msgpack"


@dataclass
class Recorded:
    method: str
    path: str  # as sent, percent-encoded
    params: dict[str, str]
    headers: httpx.Headers
    body: Any
    timeout: dict[str, float | None]


def answer(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=msgpack.packb(payload, use_bin_type=True),
        headers={"content-type": MSGPACK, **headers},
    )


def error_answer(code: str, message: str = "", **details: Any) -> httpx.Response:
    status = CATALOG[code].http_status
    extra = {"retry-after": str(details["retry_after_s"])} if "retry_after_s" in details else {}
    body = {"error": {"code": code, "message": message or code, "details": details}}
    return answer(body, status, **extra)


def entry_error(code: str, message: str = "") -> dict[str, Any]:
    return {"error": {"code": code, "message": message or code, "details": {}}}


@dataclass
class FakeMessage:
    message_id: str
    body: bytes
    attributes: dict[str, list[Any]]
    group_id: str | None = None
    visible: bool = True
    receive_count: int = 0


@dataclass
class FakeQueue:
    settings: dict[str, Any]
    messages: dict[str, FakeMessage] = field(default_factory=dict)

    def receipt(self, message: FakeMessage) -> str:
        return f"{self.settings['name']}:{message.message_id}:{message.receive_count}"


DEFAULTS = {
    "visibility_timeout_s": 30,
    "delay_s": 0,
    "retention_s": 345_600,
    "max_message_bytes": 262_144,
    "receive_wait_s": 0,
}


class FakeGateway:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.queues: dict[str, FakeQueue] = {}
        self.scripted: deque[httpx.Response | Exception] = deque()
        self.now_ms = 1_700_000_000_000
        self._ids = 0
        self.transport = httpx.MockTransport(self.handle)
        from tests.sdk.fake_resources import FakeResources  # it uses this module's helpers

        self.resources = FakeResources()

    # -- test controls -------------------------------------------------------------------------
    def script(self, *outcomes: httpx.Response | Exception) -> None:
        """Answer the next requests with these, in order, before the model answers again."""
        self.scripted.extend(outcomes)

    def add_queue(self, name: str, **settings: Any) -> FakeQueue:
        queue = FakeQueue({"name": name, "fifo": name.endswith(".fifo"), **DEFAULTS, **settings})
        self.queues[name] = queue
        return queue

    def put(self, queue: str, *bodies: bytes, **fields: Any) -> list[FakeMessage]:
        stored = []
        for body in bodies:
            self._ids += 1
            message = FakeMessage(f"m{self._ids}", body, fields.get("attributes", {}))
            self.queues[queue].messages[message.message_id] = message
            stored.append(message)
        return stored

    def bodies(self, queue: str, *, visible: bool | None = None) -> list[bytes]:
        return [
            m.body
            for m in self.queues[queue].messages.values()
            if visible is None or m.visible == visible
        ]

    def calls(self, suffix: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(suffix)]

    # -- the transport -------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        kind = request.headers.get("content-type", "")
        if not content:
            body = None
        elif "json" in kind:
            body = json.loads(content)
        else:
            body = msgpack.unpackb(content, raw=False)
        self.requests.append(
            Recorded(
                request.method,
                request.url.raw_path.decode("ascii").partition("?")[0],
                dict(request.url.params),
                request.headers,
                body,
                dict(request.extensions.get("timeout", {})),
            )
        )
        if self.scripted:
            outcome = self.scripted.popleft()
            if isinstance(outcome, Exception):
                raise outcome
            # A fresh copy: a response object is bound to the client that first read it.
            return httpx.Response(
                outcome.status_code, headers=outcome.headers, content=outcome.content
            )
        return self._route(request.method, request.url.path, dict(request.url.params), body)

    def _route(self, method: str, path: str, params: dict[str, str], body: Any) -> httpx.Response:
        parts = path.strip("/").split("/")
        if path == "/healthz":
            return answer({"status": "ok", "partitions": 4, "hosts": 1, "routing_version": 1})
        if parts[:2] == ["v1", "clock"]:
            if len(parts) == 3:
                self.now_ms += int(body["seconds"] * 1000)
            return answer({"now_ms": self.now_ms, "test_clock": True})
        if parts[:2] == ["v1", "move-tasks"]:
            return self._move_tasks(method, parts, params, body)
        if parts[:1] == ["v1"] and parts[1:2] != ["queues"]:
            return self.resources.route(method, parts, params, body)
        if parts[:2] != ["v1", "queues"]:
            return error_answer("NotFound")
        if len(parts) == 2:
            if method == "GET":
                names = sorted(n for n in self.queues if n.startswith(params.get("prefix", "")))
                return answer({"queues": names[: int(params.get("limit", 1000))]})
            created = body["name"] not in self.queues
            queue = self.queues.get(body["name"]) or self.add_queue(body["name"])
            queue.settings.update(body)
            return answer({"queue": queue.settings, "created": created})
        queue = self.queues.get(parts[2])
        if queue is None:
            return error_answer("QueueDoesNotExist", f"no queue {parts[2]}")
        action = parts[3] if len(parts) > 3 else None
        if action is None:
            if method == "DELETE":
                del self.queues[parts[2]]
                return answer({})
            if method == "PATCH":
                queue.settings.update(body)
            return answer({"queue": queue.settings})
        handler = getattr(self, f"_{action}")
        return handler(queue, body)  # type: ignore[no-any-return]

    def _stats(self, queue: FakeQueue, body: Any) -> httpx.Response:
        visible = sum(m.visible for m in queue.messages.values())
        in_flight = len(queue.messages) - visible
        return answer(
            {
                "visible": visible,
                "in_flight": in_flight,
                "delayed": 0,
                "oldest_age_ms": 0,
                "partitions": 1,
            }
        )

    def _purge(self, queue: FakeQueue, body: Any) -> httpx.Response:
        queue.messages.clear()
        return answer({})

    def _send_one(self, queue: FakeQueue, entry: dict[str, Any]) -> dict[str, Any]:
        body = entry["body"]
        if isinstance(body, str):
            body = body.encode()
        if body == b"reject":
            return entry_error("InvalidMessageContents", "rejected by the fake")
        self._ids += 1
        message = FakeMessage(
            f"m{self._ids}", body, entry.get("attributes", {}), entry.get("group_id")
        )
        queue.messages[message.message_id] = message
        typed = {k: Attribute(*v) for k, v in message.attributes.items()}
        return {
            "message_id": message.message_id,
            "md5_of_body": md5_of_body(body),
            "md5_of_attributes": md5_of_attributes(typed),
            "sequence_number": str(self._ids) if queue.settings["fifo"] else None,
        }

    def _messages(self, queue: FakeQueue, body: Any) -> httpx.Response:
        if "entries" in body:
            return answer({"results": [self._send_one(queue, e) for e in body["entries"]]})
        result = self._send_one(queue, body)
        if "error" in result:
            return error_answer(result["error"]["code"], result["error"]["message"])
        return answer(result)

    def _receive(self, queue: FakeQueue, body: Any) -> httpx.Response:
        out = []
        for message in queue.messages.values():
            if len(out) >= body.get("max_messages", 1):
                break
            if not message.visible:
                continue
            message.visible = False
            message.receive_count += 1
            typed = {k: Attribute(*v) for k, v in message.attributes.items()}
            fifo = queue.settings["fifo"]
            out.append(
                {
                    "message_id": message.message_id,
                    "receipt": queue.receipt(message),
                    "body": message.body,
                    "md5_of_body": md5_of_body(message.body),
                    "attributes": message.attributes,
                    "md5_of_attributes": md5_of_attributes(typed),
                    "sent_ms": self.now_ms,
                    "receive_count": message.receive_count,
                    "first_receive_ms": self.now_ms,
                    "group_id": message.group_id,
                    "dedup_id": message.message_id if fifo else None,
                    "sequence_number": message.message_id[1:] if fifo else None,
                }
            )
        return answer({"messages": out})

    def _find(self, queue: FakeQueue, receipt: str) -> FakeMessage | dict[str, Any] | None:
        name, _, rest = receipt.partition(":")
        message_id, _, count = rest.partition(":")
        if name != queue.settings["name"] or not count.isdigit():
            return entry_error("ReceiptHandleIsInvalid")
        message = queue.messages.get(message_id)
        if message is None or message.receive_count != int(count):
            return None  # gone or superseded: deleting succeeds, as in SQS
        return message

    def _delete_one(self, queue: FakeQueue, receipt: str) -> dict[str, Any] | None:
        found = self._find(queue, receipt)
        if isinstance(found, dict):
            return found
        if found is not None:
            del queue.messages[found.message_id]
        return None

    def _delete(self, queue: FakeQueue, body: Any) -> httpx.Response:
        if "receipts" in body:
            return answer({"results": [self._delete_one(queue, r) for r in body["receipts"]]})
        result = self._delete_one(queue, body["receipt"])
        return answer({}) if result is None else error_answer(result["error"]["code"])

    def _change_one(self, queue: FakeQueue, change: dict[str, Any]) -> dict[str, Any] | None:
        found = self._find(queue, change["receipt"])
        if isinstance(found, dict):
            return found
        if found is None or found.visible:
            return entry_error("MessageNotInflight")
        if change["visibility_timeout_s"] == 0:
            found.visible = True
        return None

    def _visibility(self, queue: FakeQueue, body: Any) -> httpx.Response:
        if "changes" in body:
            return answer({"results": [self._change_one(queue, c) for c in body["changes"]]})
        result = self._change_one(queue, body)
        return answer({}) if result is None else error_answer(result["error"]["code"])

    def _move_tasks(
        self, method: str, parts: list[str], params: dict[str, str], body: Any
    ) -> httpx.Response:
        task = {
            "handle": "task-1",
            "source": (body or params).get("source", "dlq"),
            "destination": (body or {}).get("destination"),
            "status": "RUNNING",
            "started_ms": self.now_ms,
            "moved": 0,
            "to_move": 3,
            "max_messages_per_s": (body or {}).get("max_messages_per_s"),
            "failure_reason": None,
        }
        if method == "GET":
            return answer({"tasks": [task]})
        if parts[-1] == "cancel":
            task["status"] = "CANCELLING"
        return answer({"task": task})
