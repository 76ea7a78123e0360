"""The queue operations (SQS) as pure :class:`~raybus.sdk._wire.Op` s: each builds its request
and reads its answer; the clients run them, nothing here does I/O.

Queues, their messages (send, receive, delete, visibility) and dead-letter move tasks. Batch
calls past the gateway's limits (1,000 entries; 1 MiB of bodies plus attributes per send batch)
are planned as several requests (:mod:`raybus.sdk._batch`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

from raybus.core.attributes import attributes_size
from raybus.sdk._batch import BatchPlan, entry_kwargs, entry_results, plan_entries
from raybus.sdk._handles import Named, name_of
from raybus.sdk._wire import (
    Call,
    Op,
    answer_list,
    answer_map,
    body_bytes,
    encode_attributes,
    names_query,
    nothing,
    parse_attributes,
    path,
)
from raybus.sdk.errors import InternalError, InvalidRedrivePolicy, MessageTooLong, RaybusError
from raybus.sdk.models import MoveTask, QueueStats, SendResult

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "MAX_WAIT_S",
    "SEND_KEYWORDS",
    "cancel_move_task",
    "change_visibility",
    "create_queue",
    "delete_message",
    "delete_queue",
    "get_queue",
    "list_move_tasks",
    "list_queues",
    "messages",
    "plan_delete_batch",
    "plan_send_batch",
    "plan_visibility_batch",
    "purge_queue",
    "queue_settings",
    "queue_stats",
    "receipt_of",
    "receipts_of",
    "receive",
    "redrive_policy",
    "send",
    "send_entry",
    "settings_changes",
    "start_move_task",
    "update_queue",
]

MAX_BATCH_ENTRIES = 1_000
MAX_BATCH_BYTES = 1_048_576
MAX_WAIT_S = 20
SEND_KEYWORDS = frozenset({"attributes", "delay_s", "group_id", "dedup_id"})
_FIFO_ONLY_DEFAULTS: dict[str, object] = {
    "content_based_dedup": False,
    "dedup_scope": "queue",
    "throughput_limit": "perQueue",
}


# -- queues -----------------------------------------------------------------------------------


def redrive_policy(
    dead_letter_queue: str | Named | None, max_receive_count: int | None
) -> dict[str, Any] | None:
    """The wire ``redrive_policy`` for the pair, ``None`` for neither; one alone is an error."""
    if dead_letter_queue is None and max_receive_count is None:
        return None
    if dead_letter_queue is None or max_receive_count is None:
        raise InvalidRedrivePolicy(
            "dead_letter_queue and max_receive_count are given together.",
            parameter="dead_letter_queue" if dead_letter_queue is None else "max_receive_count",
        )
    return {"dead_letter_queue": name_of(dead_letter_queue), "max_receive_count": max_receive_count}


def queue_settings(name: str, fifo: bool | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The create body: ``fifo`` inferred from the name when ``None``; FIFO-only settings sent
    for FIFO queues or when not at their default (so the gateway refuses them); ``None`` values
    (server's choice) left out."""
    fifo = name.endswith(".fifo") if fifo is None else fifo
    body: dict[str, Any] = {"name": name, "fifo": fifo}
    for key, value in settings.items():
        if value is None:
            continue
        if not fifo and key in _FIFO_ONLY_DEFAULTS and value == _FIFO_ONLY_DEFAULTS[key]:
            continue
        body[key] = value
    return body


def settings_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """An update body: ``dead_letter_queue`` + ``max_receive_count`` become ``redrive_policy``
    (``redrive_policy=None`` removes it); other keys go as given."""
    body = dict(changes)
    if "dead_letter_queue" in body or "max_receive_count" in body:
        if "redrive_policy" in body:
            raise InvalidRedrivePolicy(
                "Give redrive_policy or dead_letter_queue/max_receive_count, not both."
            )
        body["redrive_policy"] = redrive_policy(
            body.pop("dead_letter_queue", None), body.pop("max_receive_count", None)
        )
    return body


def _config(answer: Mapping[str, Any]) -> dict[str, Any]:
    return answer_map(answer, "queue")


def create_queue(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("queues"), body), _config)


def get_queue(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("queues", name)), _config)


def update_queue(name: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("PATCH", path("queues", name), changes), _config)


def list_queues(prefix: str | None, limit: int | None) -> Op[list[str]]:
    return Op(
        Call("GET", path("queues"), params=names_query(prefix, limit)),
        lambda a: [str(n) for n in answer_list(a, "queues")],
    )


def delete_queue(name: str) -> Op[None]:
    return Op(Call("DELETE", path("queues", name)), nothing)


def queue_stats(name: str) -> Op[QueueStats]:
    return Op(Call("GET", path("queues", name, "stats")), lambda a: cast(QueueStats, a))


def purge_queue(name: str) -> Op[None]:
    return Op(Call("POST", path("queues", name, "purge"), {}), nothing)


# -- send -------------------------------------------------------------------------------------


def send_entry(
    body: object,
    *,
    attributes: Mapping[str, object] | None = None,
    delay_s: int | None = None,
    group_id: str | None = None,
    dedup_id: str | None = None,
) -> tuple[dict[str, Any], int]:
    """The wire entry and the bytes it counts toward the batch limit (body + attributes)."""
    raw = body_bytes(body)
    entry: dict[str, Any] = {"body": raw}
    typed = encode_attributes(attributes)
    if typed:
        entry["attributes"] = {name: list(attribute) for name, attribute in typed.items()}
    for key, value in (("delay_s", delay_s), ("group_id", group_id), ("dedup_id", dedup_id)):
        if value is not None:
            entry[key] = value
    return entry, len(raw) + attributes_size(typed)


def _send_result(answer: object) -> SendResult:
    if type(answer) is not dict and not isinstance(answer, Mapping):
        raise InternalError(f"The gateway answered a send with {answer!r:.100}.")
    sequence = answer.get("sequence_number")
    return SendResult(
        str(answer.get("message_id", "")),
        str(answer.get("md5_of_body", "")),
        str(answer.get("md5_of_attributes") or ""),
        None if sequence is None else str(sequence),
    )


def send(name: str, entry: Mapping[str, Any]) -> Op[SendResult]:
    return Op(Call("POST", path("queues", name, "messages"), entry), _send_result)


def _send_wire(entry: object) -> tuple[dict[str, Any], int]:
    if type(entry) is bytes and len(entry) <= MAX_BATCH_BYTES:  # a bare body: the common case
        return {"body": entry}, len(entry)
    body, kwargs = entry_kwargs(entry, SEND_KEYWORDS)
    wire, size = send_entry(body, **kwargs)
    if size > MAX_BATCH_BYTES:
        raise MessageTooLong(
            f"The message is {size} bytes; no queue takes more than {MAX_BATCH_BYTES}.",
            limit=MAX_BATCH_BYTES,
        )
    return wire, size


def plan_send_batch(name: str, entries: Iterable[object]) -> BatchPlan[SendResult]:
    """Slots pre-filled with the client-side errors of bad entries (a body that is not bytes
    or str, an attribute of no SQS type, an entry over 1 MiB); the rest grouped into requests."""

    def request(wire: list[dict[str, Any]]) -> Op[list[SendResult | RaybusError]]:
        call = Call("POST", path("queues", name, "messages"), {"entries": wire})
        return Op(call, entry_results(len(wire), _send_result))

    return plan_entries(
        entries,
        build=_send_wire,
        max_entries=MAX_BATCH_ENTRIES,
        max_bytes=MAX_BATCH_BYTES,
        request=request,
    )


# -- receive, delete, visibility ---------------------------------------------------------------


def receive(
    name: str, max_messages: int, wait_s: int | None, visibility_timeout_s: int | None
) -> Op[list[dict[str, Any]]]:
    body: dict[str, Any] = {"max_messages": max_messages}
    if wait_s is not None:
        body["wait_s"] = wait_s
    if visibility_timeout_s is not None:
        body["visibility_timeout_s"] = visibility_timeout_s
    wait = MAX_WAIT_S if wait_s is None else max(0, min(wait_s, MAX_WAIT_S))
    call = Call("POST", path("queues", name, "receive"), body, extra_timeout_s=float(wait))
    return Op(call, lambda a: [m for m in answer_list(a, "messages") if isinstance(m, dict)])


M = TypeVar("M")


def messages(
    make: Callable[..., M], queue_name: str, queue: object, answer: Sequence[Mapping[str, Any]]
) -> list[M]:
    """The received messages of ``answer`` as ``make`` (a :class:`~raybus.sdk.models.
    BaseMessage` class) builds them, with positional arguments in the order of its fields
    (``tests/sdk`` checks that order): keyword arguments and a dict per message were about
    1 µs of the 10 a received message cost the client. A value of the type the gateway sends
    is taken as it is (a ``type(...) is`` test is cheaper than the conversion's call); any
    other is converted."""
    out: list[M] = []
    append = out.append
    for raw in answer:
        if len(raw) == 7:  # a standard queue's message without attributes, the usual shape
            try:
                message_id = raw["message_id"]
                receipt = raw["receipt"]
                body = raw["body"]
                md5 = raw["md5_of_body"]
                sent = raw["sent_ms"]
                count = raw["receive_count"]
                first = raw["first_receive_ms"]
            except KeyError:
                pass
            else:
                if (
                    type(body) is bytes
                    and type(message_id) is str
                    and type(receipt) is str
                    and type(md5) is str
                    and type(sent) is int
                    and type(count) is int
                    and type(first) is int
                ):
                    append(
                        make(
                            queue_name,
                            message_id,
                            receipt,
                            body,
                            {},
                            md5,
                            "",
                            sent,
                            count,
                            first,
                            None,
                            None,
                            None,
                            queue,
                        )
                    )
                    continue
        get = raw.get
        body = get("body")
        if type(body) is not bytes:
            if body is None and "body_base64" in raw:
                body = base64.b64decode(raw["body_base64"])
            body = body_bytes(body if body is not None else b"")
        message_id = get("message_id", "")
        receipt = get("receipt", "")
        md5 = get("md5_of_body", "")
        md5_attributes = get("md5_of_attributes") or ""
        sent = get("sent_ms") or 0
        count = get("receive_count") or 0
        first = get("first_receive_ms")
        attributes = get("attributes")
        sequence = get("sequence_number")
        append(
            make(
                queue_name,
                message_id if type(message_id) is str else str(message_id),
                receipt if type(receipt) is str else str(receipt),
                body,
                parse_attributes(attributes) if attributes else {},
                md5 if type(md5) is str else str(md5),
                md5_attributes if type(md5_attributes) is str else str(md5_attributes),
                sent if type(sent) is int else int(sent),
                count if type(count) is int else int(count),
                first if first is None or type(first) is int else int(first),
                get("group_id"),
                get("dedup_id"),
                sequence if sequence is None or type(sequence) is str else str(sequence),
                queue,
            )
        )
    return out


class HasReceipt(Protocol):
    @property
    def receipt(self) -> str: ...


def receipt_of(item: str | HasReceipt) -> str:
    return item if isinstance(item, str) else item.receipt


def receipts_of(items: Iterable[str | HasReceipt]) -> list[str]:
    return [item if isinstance(item, str) else item.receipt for item in items]


def delete_message(name: str, receipt: str) -> Op[None]:
    return Op(Call("POST", path("queues", name, "delete"), {"receipt": receipt}), nothing)


def change_visibility(name: str, receipt: str, visibility_timeout_s: int) -> Op[None]:
    body = {"receipt": receipt, "visibility_timeout_s": visibility_timeout_s}
    return Op(Call("POST", path("queues", name, "visibility"), body), nothing)


def plan_delete_batch(name: str, receipts: Sequence[str]) -> BatchPlan[None]:
    plan: BatchPlan[None] = BatchPlan(len(receipts))
    url = path("queues", name, "delete")
    for start in range(0, len(receipts), MAX_BATCH_ENTRIES):
        group = receipts[start : start + MAX_BATCH_ENTRIES]
        call = Call("POST", url, {"receipts": list(group)})
        positions = list(range(start, start + len(group)))
        plan.requests.append((positions, Op(call, entry_results(len(group), nothing))))
    return plan


def plan_visibility_batch(name: str, changes: Sequence[tuple[str, int]]) -> BatchPlan[None]:
    plan: BatchPlan[None] = BatchPlan(len(changes))
    url = path("queues", name, "visibility")
    for start in range(0, len(changes), MAX_BATCH_ENTRIES):
        group = changes[start : start + MAX_BATCH_ENTRIES]
        body = {
            "changes": [
                {"receipt": receipt, "visibility_timeout_s": seconds} for receipt, seconds in group
            ]
        }
        positions = list(range(start, start + len(group)))
        plan.requests.append(
            (positions, Op(Call("POST", url, body), entry_results(len(group), nothing)))
        )
    return plan


# -- dead-letter move tasks ---------------------------------------------------------------------


def _task(answer: Mapping[str, Any]) -> MoveTask:
    return cast(MoveTask, answer_map(answer, "task"))


def start_move_task(
    source: str, destination: str | None, max_messages_per_s: int | None
) -> Op[MoveTask]:
    body = {"source": source, "destination": destination, "max_messages_per_s": max_messages_per_s}
    return Op(Call("POST", path("move-tasks"), body), _task)


def list_move_tasks(source: str) -> Op[list[MoveTask]]:
    return Op(
        Call("GET", path("move-tasks"), params={"source": source}),
        lambda a: cast(list[MoveTask], answer_list(a, "tasks")),
    )


def cancel_move_task(handle: str) -> Op[MoveTask]:
    call = Call("POST", path("move-tasks", handle, "cancel"), {})
    return Op(call, _task)
