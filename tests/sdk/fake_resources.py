"""The topic, subscription, function and event-source-mapping routes of the fake gateway.

A small model that follows docs/http-api.md closely enough for SDK tests: configs are echoed
back with the fields the SDK sent, publishes are recorded per topic, invocations answer from
the function's name (``failing`` fails, ``busy`` is throttled, anything else echoes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.sdk.fakes import answer, error_answer


class FakeResources:
    def __init__(self) -> None:
        self.topics: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.functions: dict[str, dict[str, Any]] = {}
        self.code: dict[str, bytes] = {}
        self.invocations: list[tuple[str, str, Any]] = []
        self.mappings: dict[str, dict[str, Any]] = {}
        self._ids = 0

    def _next(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids}"

    # -- test controls -------------------------------------------------------------------------
    def add_topic(self, name: str) -> dict[str, Any]:
        config = {"name": name, "fifo": name.endswith(".fifo"), "content_based_dedup": False}
        self.topics[name] = config
        self.published[name] = []
        return config

    def add_function(self, name: str, **settings: Any) -> dict[str, Any]:
        config = {"name": name, "handler": "pkg.mod:fn", "timeout_s": 3, **settings}
        self.functions[name] = config
        return config

    # -- routing -------------------------------------------------------------------------------
    def route(
        self, method: str, parts: list[str], params: dict[str, str], body: Any
    ) -> httpx.Response:
        kind, rest = parts[1], parts[2:]
        handlers: dict[str, Callable[[str, list[str], dict[str, str], Any], httpx.Response]] = {
            "topics": self._topics,
            "subscriptions": self._subscriptions,
            "functions": self._functions,
            "event-source-mappings": self._mappings,
        }
        handler = handlers.get(kind)
        if handler is None:
            return error_answer("NotFound")
        return handler(method, rest, params, body)

    @staticmethod
    def _names(names: list[str], params: dict[str, str]) -> list[str]:
        found = sorted(n for n in names if n.startswith(params.get("prefix", "")))
        return found[: int(params.get("limit", 1000))]

    def _topics(
        self, method: str, rest: list[str], params: dict[str, str], body: Any
    ) -> httpx.Response:
        if not rest:
            if method == "GET":
                return answer({"topics": self._names(list(self.topics), params)})
            created = body["name"] not in self.topics
            config = self.topics.get(body["name"]) or self.add_topic(body["name"])
            config.update(body)
            return answer({"topic": config, "created": created})
        name = rest[0]
        found = self.topics.get(name)
        if found is None:
            return error_answer("ResourceNotFound", f"no topic {name}")
        config = found
        subs = [s for s in self.subscriptions.values() if s["topic"] == name]
        action = rest[1] if len(rest) > 1 else None
        if action is None:
            if method == "DELETE":
                del self.topics[name]
                return answer({})
            return answer({"topic": config, "subscriptions": subs})
        if action == "stats":
            return answer(
                {
                    "published": len(self.published[name]),
                    "retained": 0,
                    "subscriptions": {s["id"]: {"backlog": 0, "delivered": 1} for s in subs},
                }
            )
        if action == "publish":
            return self._publish(name, body)
        if method == "GET":
            return answer({"subscriptions": subs})
        for sub in subs:
            if (sub["protocol"], sub["endpoint"]) == (body["protocol"], body["endpoint"]):
                return answer({"subscription": sub, "created": False})
        sub = {"id": self._next("s"), "topic": name, "enabled": True, **body}
        self.subscriptions[sub["id"]] = sub
        return answer({"subscription": sub, "created": True})

    def _publish_one(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        if entry["body"] == b"reject":
            return {"error": {"code": "MessageTooLong", "message": "rejected", "details": {}}}
        self.published[name].append(entry)
        result: dict[str, Any] = {"message_id": self._next("m")}
        if name.endswith(".fifo"):
            result["sequence_number"] = f"{self._ids:020d}"
            if entry.get("dedup_id") == "seen":
                result["duplicate"] = True
        return result

    def _publish(self, name: str, body: Any) -> httpx.Response:
        if "entries" in body:
            return answer({"results": [self._publish_one(name, e) for e in body["entries"]]})
        result = self._publish_one(name, body)
        if "error" in result:
            return error_answer(result["error"]["code"], result["error"]["message"])
        return answer(result)

    def _subscriptions(
        self, method: str, rest: list[str], params: dict[str, str], body: Any
    ) -> httpx.Response:
        sub = self.subscriptions.get(rest[0])
        if sub is None:
            return error_answer("ResourceNotFound", f"no subscription {rest[0]}")
        if method == "DELETE":
            del self.subscriptions[rest[0]]
            return answer({})
        if method == "PATCH":
            sub.update(body)
        return answer({"subscription": sub})

    def _functions(
        self, method: str, rest: list[str], params: dict[str, str], body: Any
    ) -> httpx.Response:
        if not rest:
            if method == "GET":
                return answer({"functions": self._names(list(self.functions), params)})
            body = dict(body)
            code = body.pop("code", None)
            created = body["name"] not in self.functions
            config = self.functions.get(body["name"]) or self.add_function(body["name"])
            config.update(body)
            if code is not None:
                self.code[body["name"]] = code
                config.update(handler=None, code_sha256="sha", code_size=len(code))
            return answer({"function": config, "created": created})
        name = rest[0]
        if name == "busy" and rest[1:]:
            return error_answer("TooManyRequestsException", "concurrency limit reached")
        found = self.functions.get(name)
        if found is None:
            return error_answer("ResourceNotFound", f"no function {name}")
        config = found
        action = rest[1] if len(rest) > 1 else None
        if action == "invoke":
            return self._invoke(name, body["payload"])
        if action == "invoke-async":
            self.invocations.append(("async", name, body["payload"]))
            return answer({"request_id": "r-async"}, 202)
        if method == "DELETE":
            del self.functions[name]
            return answer({})
        if method == "PATCH":
            body = dict(body)
            code = body.pop("code", None)
            if code is not None:
                self.code[name] = code
            config.update(body)
        return answer({"function": config})

    def _invoke(self, name: str, payload: Any) -> httpx.Response:
        self.invocations.append(("sync", name, payload))
        if name == "failing":
            error = {
                "errorType": "ValueError",
                "errorMessage": "bad input",
                "stackTrace": ['  File "handler.py", line 3, in handle'],
            }
            result = {"request_id": "r-1", "ok": False, "payload": error, "duration_ms": 1.0}
            return answer(result, 200, **{"x-amz-function-error": "Unhandled"})
        return answer(
            {"request_id": "r-1", "ok": True, "payload": {"echo": payload}, "duration_ms": 1.0}
        )

    def _mappings(
        self, method: str, rest: list[str], params: dict[str, str], body: Any
    ) -> httpx.Response:
        if not rest:
            if method == "GET":
                found = [
                    m
                    for m in self.mappings.values()
                    if params.get("function") in (None, m["function"])
                    and params.get("source") in (None, m["source"])
                ]
                return answer({"mappings": found})
            source = body["source"] if ":" in body["source"] else f"queue:{body['source']}"
            mapping = {"id": self._next("esm-"), **body, "source": source}
            self.mappings[mapping["id"]] = mapping
            return answer({"mapping": mapping, "created": True})
        existing = self.mappings.get(rest[0])
        if existing is None:
            return error_answer("ResourceNotFound", f"no mapping {rest[0]}")
        mapping = existing
        if rest[1:] == ["stats"]:
            return answer({"backlog": 3, "invocations": 1})
        if method == "DELETE":
            del self.mappings[rest[0]]
            return answer({})
        if method == "PATCH":
            mapping.update(body)
        return answer({"mapping": mapping})
