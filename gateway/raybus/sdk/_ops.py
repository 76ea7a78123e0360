"""Every operation of the native API as a pure :class:`Op`: the request and how to parse its
answer. The clients run these; nothing here does I/O.

Batch calls longer than the gateway's limits (1,000 entries; 1 MiB of bodies plus attributes per
send batch) are planned here as several requests whose answers are stitched back in input order.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast

from raybus.core.attributes import attributes_size
from raybus.sdk._wire import Call, Op, body_bytes, encode_attributes, parse_attributes, path
from raybus.sdk.errors import (
    InternalError,
    InvalidParameterValue,
    InvalidRedrivePolicy,
    MessageTooLong,
    RaybusError,
    error_from_wire,
)
from raybus.sdk.models import Health, MoveTask, QueueStats, SendResult

T = TypeVar("T")

MAX_BATCH_ENTRIES = 1_000
MAX_BATCH_BYTES = 1_048_576
MAX_WAIT_S = 20
SEND_KEYWORDS = frozenset({"attributes", "delay_s", "group_id", "dedup_id"})
_FIFO_ONLY_DEFAULTS: dict[str, object] = {
    "content_based_dedup": False,
    "dedup_scope": "queue",
    "throughput_limit": "perQueue",
}


class Named(Protocol):
    @property
    def name(self) -> str: ...


def name_of(queue: str | Named) -> str:
    return queue if isinstance(queue, str) else queue.name


def _map(answer: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = answer.get(key)
    if not isinstance(value, dict):
        raise InternalError(f"The gateway's answer lacks the map {key!r}.")
    return value


def _list(answer: Mapping[str, Any], key: str) -> list[Any]:
    value = answer.get(key)
    if not isinstance(value, list):
        raise InternalError(f"The gateway's answer lacks the list {key!r}.")
    return value


def _nothing(_: object) -> None:
    return None


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


def create_queue(body: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("POST", path("queues"), body), lambda a: _map(a, "queue"))


def get_queue(name: str) -> Op[dict[str, Any]]:
    return Op(Call("GET", path("queues", name)), lambda a: _map(a, "queue"))


def update_queue(name: str, changes: Mapping[str, Any]) -> Op[dict[str, Any]]:
    return Op(Call("PATCH", path("queues", name), changes), lambda a: _map(a, "queue"))


def list_queues(prefix: str | None, limit: int | None) -> Op[list[str]]:
    params = {}
    if prefix:
        params["prefix"] = prefix
    if limit is not None:
        params["limit"] = str(limit)
    return Op(
        Call("GET", path("queues"), params=params or None),
        lambda a: [str(n) for n in _list(a, "queues")],
    )


def delete_queue(name: str) -> Op[None]:
    return Op(Call("DELETE", path("queues", name)), _nothing)


def queue_stats(name: str) -> Op[QueueStats]:
    return Op(Call("GET", path("queues", name, "stats")), lambda a: cast(QueueStats, a))


def purge_queue(name: str) -> Op[None]:
    return Op(Call("POST", path("queues", name, "purge"), {}), _nothing)


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
    if not isinstance(answer, Mapping):
        raise InternalError(f"The gateway answered a send with {answer!r:.100}.")
    sequence = answer.get("sequence_number")
    return SendResult(
        message_id=str(answer.get("message_id", "")),
        md5_of_body=str(answer.get("md5_of_body", "")),
        md5_of_attributes=str(answer.get("md5_of_attributes") or ""),
        sequence_number=None if sequence is None else str(sequence),
    )


def send(name: str, entry: Mapping[str, Any]) -> Op[SendResult]:
    return Op(Call("POST", path("queues", name, "messages"), entry), _send_result)


def _entry_results(
    count: int, parse: Callable[[Any], T]
) -> Callable[[Mapping[str, Any]], list[T | RaybusError]]:
    """Read ``{"results": [...]}``: one result or ``{"error"}`` per entry, in order."""

    def read(answer: Mapping[str, Any]) -> list[T | RaybusError]:
        results = _list(answer, "results")
        if len(results) != count:
            raise InternalError(f"The gateway answered {len(results)} results for {count}.")
        out: list[T | RaybusError] = []
        for result in results:
            if isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
                out.append(error_from_wire(result["error"]))
            else:
                out.append(parse(result))
        return out

    return read


def chunks(sizes: Sequence[int], max_entries: int, max_bytes: int) -> list[list[int]]:
    """Split positions ``0..len(sizes)-1`` into consecutive groups of at most ``max_entries``
    whose sizes sum to at most ``max_bytes`` (an item larger than ``max_bytes`` goes alone)."""
    groups: list[list[int]] = []
    current: list[int] = []
    total = 0
    for index, size in enumerate(sizes):
        if current and (len(current) >= max_entries or total + size > max_bytes):
            groups.append(current)
            current, total = [], 0
        current.append(index)
        total += size
    if current:
        groups.append(current)
    return groups


class _Pending(enum.Enum):
    PENDING = "pending"


PENDING = _Pending.PENDING


class BatchPlan(Generic[T]):
    """Several requests answering one batch call of ``size`` entries; :meth:`record` fills
    their slots, which stay in input order."""

    def __init__(self, size: int) -> None:
        self.slots: list[T | RaybusError | _Pending] = [PENDING] * size
        self.requests: list[tuple[list[int], Op[list[T | RaybusError]]]] = []
        self._answered = 0

    def record(self, positions: list[int], results: list[T | RaybusError]) -> None:
        for position, result in zip(positions, results, strict=True):
            self.slots[position] = result
        self._answered += 1

    def interrupted(self, error: BaseException) -> None:
        """Give ``error`` the ``partial_results`` of the call when earlier requests succeeded."""
        if self._answered and hasattr(error, "partial_results"):
            prefix: list[Any] = []
            for slot in self.slots:
                if slot is PENDING:
                    break
                prefix.append(slot)
            error.partial_results = prefix

    def results(self) -> list[T | RaybusError]:
        return [slot for slot in self.slots if not isinstance(slot, _Pending)]


def _entry_kwargs(entry: object) -> tuple[object, dict[str, Any]]:
    if isinstance(entry, Mapping):
        if "body" not in entry:
            raise InvalidParameterValue("A batch entry needs a body.", parameter="body")
        unknown = set(entry) - SEND_KEYWORDS - {"body"}
        if unknown:
            raise InvalidParameterValue(
                f"Unknown batch entry keys: {', '.join(sorted(map(str, unknown)))}.",
                parameter=sorted(map(str, unknown))[0],
            )
        return entry["body"], {k: v for k, v in entry.items() if k != "body"}
    return entry, {}


def plan_send_batch(name: str, entries: Iterable[object]) -> BatchPlan[SendResult]:
    """Slots pre-filled with the client-side errors of bad entries (a body that is not bytes
    or str, an attribute of no SQS type, an entry over 1 MiB); the rest grouped into requests."""
    items = list(entries)
    plan: BatchPlan[SendResult] = BatchPlan(len(items))
    wire: list[dict[str, Any]] = []
    sizes: list[int] = []
    positions: list[int] = []
    for position, item in enumerate(items):
        try:
            body, kwargs = _entry_kwargs(item)
            entry, size = send_entry(body, **kwargs)
            if size > MAX_BATCH_BYTES:
                raise MessageTooLong(
                    f"The message is {size} bytes; no queue takes more than {MAX_BATCH_BYTES}.",
                    limit=MAX_BATCH_BYTES,
                )
        except RaybusError as exc:
            plan.slots[position] = exc
            continue
        wire.append(entry)
        sizes.append(size)
        positions.append(position)
    for group in chunks(sizes, MAX_BATCH_ENTRIES, MAX_BATCH_BYTES):
        call = Call("POST", path("queues", name, "messages"), {"entries": [wire[i] for i in group]})
        plan.requests.append(
            ([positions[i] for i in group], Op(call, _entry_results(len(group), _send_result)))
        )
    return plan


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
    return Op(call, lambda a: [m for m in _list(a, "messages") if isinstance(m, dict)])


def message_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`~raybus.sdk.models.BaseMessage` (without queue fields)."""
    body = raw.get("body")
    if body is None and "body_base64" in raw:
        body = base64.b64decode(raw["body_base64"])
    sequence = raw.get("sequence_number")
    first = raw.get("first_receive_ms")
    return {
        "message_id": str(raw.get("message_id", "")),
        "receipt": str(raw.get("receipt", "")),
        "body": body_bytes(body if body is not None else b""),
        "typed_attributes": parse_attributes(raw.get("attributes")),
        "md5_of_body": str(raw.get("md5_of_body", "")),
        "md5_of_attributes": str(raw.get("md5_of_attributes") or ""),
        "sent_ms": int(raw.get("sent_ms") or 0),
        "receive_count": int(raw.get("receive_count") or 0),
        "first_receive_ms": None if first is None else int(first),
        "group_id": raw.get("group_id"),
        "dedup_id": raw.get("dedup_id"),
        "sequence_number": None if sequence is None else str(sequence),
    }


class HasReceipt(Protocol):
    @property
    def receipt(self) -> str: ...


def receipt_of(item: str | HasReceipt) -> str:
    return item if isinstance(item, str) else item.receipt


def delete_message(name: str, receipt: str) -> Op[None]:
    return Op(Call("POST", path("queues", name, "delete"), {"receipt": receipt}), _nothing)


def change_visibility(name: str, receipt: str, visibility_timeout_s: int) -> Op[None]:
    body = {"receipt": receipt, "visibility_timeout_s": visibility_timeout_s}
    return Op(Call("POST", path("queues", name, "visibility"), body), _nothing)


def plan_delete_batch(name: str, receipts: Sequence[str]) -> BatchPlan[None]:
    plan: BatchPlan[None] = BatchPlan(len(receipts))
    for start in range(0, len(receipts), MAX_BATCH_ENTRIES):
        group = list(range(start, min(start + MAX_BATCH_ENTRIES, len(receipts))))
        call = Call(
            "POST", path("queues", name, "delete"), {"receipts": [receipts[i] for i in group]}
        )
        plan.requests.append((group, Op(call, _entry_results(len(group), _nothing))))
    return plan


def plan_visibility_batch(name: str, changes: Sequence[tuple[str, int]]) -> BatchPlan[None]:
    plan: BatchPlan[None] = BatchPlan(len(changes))
    for start in range(0, len(changes), MAX_BATCH_ENTRIES):
        group = list(range(start, min(start + MAX_BATCH_ENTRIES, len(changes))))
        body = {
            "changes": [
                {"receipt": changes[i][0], "visibility_timeout_s": changes[i][1]} for i in group
            ]
        }
        call = Call("POST", path("queues", name, "visibility"), body)
        plan.requests.append((group, Op(call, _entry_results(len(group), _nothing))))
    return plan


# -- move tasks, clock, health ----------------------------------------------------------------


def start_move_task(
    source: str, destination: str | None, max_messages_per_s: int | None
) -> Op[MoveTask]:
    body = {"source": source, "destination": destination, "max_messages_per_s": max_messages_per_s}
    return Op(Call("POST", path("move-tasks"), body), lambda a: cast(MoveTask, _map(a, "task")))


def list_move_tasks(source: str) -> Op[list[MoveTask]]:
    return Op(
        Call("GET", path("move-tasks"), params={"source": source}),
        lambda a: cast(list[MoveTask], _list(a, "tasks")),
    )


def cancel_move_task(handle: str) -> Op[MoveTask]:
    call = Call("POST", path("move-tasks", handle, "cancel"), {})
    return Op(call, lambda a: cast(MoveTask, _map(a, "task")))


def _now_ms(answer: Mapping[str, Any]) -> int:
    value = answer.get("now_ms")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InternalError("The gateway's clock answer lacks now_ms.")
    return value


def clock() -> Op[int]:
    return Op(Call("GET", path("clock")), _now_ms)


def advance_clock(seconds: float) -> Op[int]:
    return Op(Call("POST", path("clock", "advance"), {"seconds": seconds}), _now_ms)


def health() -> Op[Health]:
    return Op(Call("GET", "/healthz", ok_statuses=(503,)), lambda a: cast(Health, a))
