"""The HTTP routes of queues, their messages and move tasks (docs/http-api.md).

Control routes run typed control calls (:mod:`raybus.control.queues`, :mod:`raybus.control.
moves`) and see the new catalog before answering; message routes go through the queue data
plane (:class:`~raybus.gateway.queue_service.QueueService`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from raybus.control.moves import CancelMoveTask, ListMoveTasks, StartMoveTask
from raybus.control.queues import CreateQueue, DeleteQueue, GetQueue, ListQueues, UpdateQueue
from raybus.core.errors import RaybusError
from raybus.engines import SendEntry
from raybus.gateway import queue_wire as W
from raybus.gateway import schemas as S
from raybus.gateway.api import Context, body, clean, int_field, ok, query_limit
from raybus.gateway.boundary import CODEC, Route
from raybus.gateway.codec import error_body, utf8_len
from raybus.gateway.queue_service import MAX_WAIT_S
from raybus.gateway.queue_wire import (
    MAX_BATCH,
    entries_from_wire,
    message_to_wire,
    result_to_wire,
)

__all__ = ["QueueApi", "routes"]


def _fail(code: str, message: str, **details: Any) -> RaybusError:
    return RaybusError(code, message, **details)


class QueueApi:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.control = context.control
        self.service = context.queues
        self.metrics = context.metrics

    # -- queues ---------------------------------------------------------------------------------
    async def create_queue(self, request: web.Request) -> web.Response:
        config, created = await self.control.run(CreateQueue(body(request)))
        await self.context.changed()
        return ok(request, {"queue": config, "created": created})

    async def list_queues(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix") or None
        names = await self.control.run(ListQueues(prefix, query_limit(request.query)))
        return ok(request, {"queues": names})

    async def get_queue(self, request: web.Request) -> web.Response:
        config = await self.control.run(GetQueue(request.match_info["name"]))
        return ok(request, {"queue": config})

    async def update_queue(self, request: web.Request) -> web.Response:
        config = await self.control.run(UpdateQueue(request.match_info["name"], body(request)))
        await self.context.changed()
        return ok(request, {"queue": config})

    async def delete_queue(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self.control.run(DeleteQueue(name))
        await self.context.changed()
        self.service.forget(name)
        self.metrics.forget(name)
        return ok(request, {})

    async def stats(self, request: web.Request) -> web.Response:
        return ok(request, await self.service.stats(request.match_info["name"]))

    async def purge(self, request: web.Request) -> web.Response:
        await self.service.purge(request.match_info["name"])
        return ok(request, {})

    # -- messages -------------------------------------------------------------------------------
    async def send(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        entries, batch = entries_from_wire(body(request), json=request[CODEC].json)
        if not batch and isinstance(entries[0], RaybusError):
            raise entries[0]
        results = await self.service.send(name, entries)
        sent = sent_bytes = 0
        for entry, result in zip(entries, results, strict=True):
            if isinstance(entry, SendEntry) and not isinstance(result, RaybusError):
                sent += 1
                text = entry.body  # bytes from entry_from_wire, which encodes text once
                sent_bytes += len(text) if type(text) is bytes else utf8_len(text)
        self.metrics.count("sent", name, sent, sent_bytes)
        if not batch:
            (result,) = results
            if isinstance(result, RaybusError):
                raise result
            return ok(request, result_to_wire(result))
        return ok(
            request,
            {
                "results": [
                    error_body(clean(r)) if isinstance(r, RaybusError) else result_to_wire(r)
                    for r in results
                ]
            },
        )

    async def receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = body(request)
        max_messages = int_field(data, "max_messages", 1, 1, MAX_BATCH)
        wait_s = int_field(data, "wait_s", None, 0, MAX_WAIT_S)
        visibility = int_field(data, "visibility_timeout_s", None, 0, 43_200)
        assert max_messages is not None
        messages = await self.service.receive(name, max_messages, wait_s, visibility)
        self.metrics.count("received", name, len(messages))
        json = request[CODEC].json
        return ok(request, {"messages": [message_to_wire(m, json=json) for m in messages]})

    @staticmethod
    def _batch(data: dict[str, Any], key: str) -> list[Any]:
        items = data[key]
        if not isinstance(items, list):
            raise _fail("InvalidParameterValue", f"{key} must be a list.", parameter=key)
        if not items:
            raise _fail("EmptyBatchRequest", "The batch has no entries.")
        if len(items) > MAX_BATCH:
            raise _fail(
                "TooManyEntriesInBatchRequest",
                f"A batch holds at most {MAX_BATCH} entries, not {len(items)}.",
                limit=MAX_BATCH,
            )
        return items

    @staticmethod
    def _answer(
        request: web.Request, results: list[RaybusError | None], batch: bool
    ) -> web.Response:
        if not batch:
            if results[0] is not None:
                raise results[0]
            return ok(request, {})
        return ok(
            request, {"results": [None if r is None else error_body(clean(r)) for r in results]}
        )

    async def delete(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = body(request)
        if "receipts" in data:
            receipts, batch = self._batch(data, "receipts"), True
        elif "receipt" in data:
            receipts, batch = [data["receipt"]], False
        else:
            raise _fail("MissingParameter", "Give receipt or receipts.", parameter="receipt")
        results = await self.service.delete(name, receipts)
        self.metrics.count("deleted", name, sum(1 for r in results if r is None))
        return self._answer(request, results, batch)

    async def visibility(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        data = body(request)
        if "changes" in data:
            raw, batch = self._batch(data, "changes"), True
        else:
            raw, batch = [data], False
        changes: list[tuple[object, object]] = []
        for item in raw:
            if not isinstance(item, dict) or "receipt" not in item:
                raise _fail("MissingParameter", "Each change needs a receipt.", parameter="receipt")
            if "visibility_timeout_s" not in item:
                raise _fail(
                    "MissingParameter",
                    "Each change needs visibility_timeout_s.",
                    parameter="visibility_timeout_s",
                )
            changes.append((item["receipt"], item["visibility_timeout_s"]))
        results = await self.service.change_visibility(name, changes)
        return self._answer(request, results, batch)

    # -- move tasks -----------------------------------------------------------------------------
    async def start_move_task(self, request: web.Request) -> web.Response:
        data = body(request)
        source = data.get("source")
        if not isinstance(source, str):
            raise _fail("MissingParameter", "A move task needs a source.", parameter="source")
        destination = data.get("destination")
        if destination is not None and not isinstance(destination, str):
            raise _fail("InvalidParameterValue", "destination is a queue name.")
        call = StartMoveTask(source, destination, data.get("max_messages_per_s"))
        return ok(request, {"task": await self.control.run(call)})

    async def list_move_tasks(self, request: web.Request) -> web.Response:
        source = request.query.get("source")
        if not source:
            raise _fail("MissingParameter", "Give ?source=<queue>.", parameter="source")
        return ok(request, {"tasks": await self.control.run(ListMoveTasks(source))})

    async def cancel_move_task(self, request: web.Request) -> web.Response:
        task = await self.control.run(CancelMoveTask(request.match_info["handle"]))
        return ok(request, {"task": task})


def routes(context: Context) -> list[Route]:
    api = QueueApi(context)
    q = "/v1/queues/{name}"
    names = {"prefix": S.STRING, "limit": {"type": "integer", "minimum": 1}}
    task = S.open_object({"task": S.ref("MoveTask")}, ["task"])
    return [
        Route("POST", "/v1/queues", "create_queue", api.create_queue,
              "Create a queue (idempotent for equal settings).", "queues",
              body=W.QUEUE_CONFIG, answer=W.QUEUE_ANSWER),
        Route("GET", "/v1/queues", "list_queues", api.list_queues, "List queue names.",
              "queues", query=names, answer=S.open_object({"queues": S.NAMES}, ["queues"])),
        Route("GET", q, "get_queue", api.get_queue, "A queue's settings.", "queues",
              answer=W.QUEUE_ANSWER),
        Route("PATCH", q, "update_queue", api.update_queue, "Change a queue's settings.",
              "queues", body=W.QUEUE_CHANGES, answer=W.QUEUE_ANSWER),
        Route("DELETE", q, "delete_queue", api.delete_queue, "Delete a queue and its messages.",
              "queues"),
        Route("GET", q + "/stats", "stats", api.stats, "A queue's depth and counters.",
              "queues", answer=S.STATS),
        Route("POST", q + "/purge", "purge", api.purge, "Delete every message of a queue.",
              "queues"),
        Route("POST", q + "/messages", "send", api.send, "Send a message or a batch.",
              "messages", body=W.SEND, answer=W.SEND_ANSWER),
        Route("POST", q + "/receive", "receive", api.receive,
              "Receive messages (long-polling up to wait_s).", "messages", body=W.RECEIVE,
              answer=W.RECEIVE_ANSWER),
        Route("POST", q + "/delete", "delete", api.delete, "Delete received messages.",
              "messages", body=W.DELETE, answer=W.SETTLE_ANSWER),
        Route("POST", q + "/visibility", "change_visibility", api.visibility,
              "Change the visibility timeout of received messages.", "messages",
              body=W.VISIBILITY, answer=W.SETTLE_ANSWER),
        Route("POST", "/v1/move-tasks", "start_move_task", api.start_move_task,
              "Start moving a dead-letter queue's messages back.", "move tasks",
              body=W.MOVE_TASK_START, answer=task),
        Route("GET", "/v1/move-tasks", "list_move_tasks", api.list_move_tasks,
              "The move tasks of a source queue, newest first.", "move tasks",
              query={"source": S.STRING},
              answer=S.open_object({"tasks": {"type": "array", "items": S.ref("MoveTask")}},
                                   ["tasks"])),
        Route("POST", "/v1/move-tasks/{handle}/cancel", "cancel_move_task",
              api.cancel_move_task, "Cancel a move task.", "move tasks", answer=task),
    ]  # fmt: skip
