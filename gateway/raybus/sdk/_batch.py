"""Batch calls, planned as pure data: one call of many entries becomes several requests whose
answers are stitched back in input order. Nothing here does I/O; the clients run the plan.

Contract:
- One slot per input entry, in input order. An entry the SDK refuses itself (no body, an
  unknown key, an attribute of no type, over the size limit) gets its typed error in its slot
  and is never sent; the others are grouped greedily, in order, into requests of at most
  ``max_entries`` entries and ``max_bytes`` bytes (an entry larger than ``max_bytes`` alone).
- A request answers ``{"results": [...]}``, one result or ``{"error"}`` per entry, in order; a
  failed entry's slot holds its typed error and nothing raises for it.
- When a request fails as a whole, :meth:`BatchPlan.interrupted` gives the error the
  ``partial_results`` of the entries answered before it (a prefix of the input), if any.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from raybus.sdk._wire import Op, answer_list, nothing
from raybus.sdk.errors import InternalError, InvalidParameterValue, RaybusError, error_from_wire

__all__ = [
    "PENDING",
    "BatchPlan",
    "chunks",
    "entry_kwargs",
    "entry_results",
    "plan_entries",
]

T = TypeVar("T")
WireEntry = dict[str, Any]


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
        """Fill the slots at ``positions`` (increasing, as every plan makes them)."""
        if len(positions) != len(results):
            raise ValueError(f"{len(results)} results for {len(positions)} positions")
        if positions and positions[-1] - positions[0] + 1 == len(positions):
            # increasing positions without a gap (the usual request): one slice assignment
            self.slots[positions[0] : positions[-1] + 1] = results
        else:
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
        return [slot for slot in self.slots if slot is not PENDING]


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


def entry_results(
    count: int, parse: Callable[[Any], T]
) -> Callable[[Mapping[str, Any]], list[T | RaybusError]]:
    """Read ``{"results": [...]}``: one result or ``{"error"}`` per entry, in order."""

    def read(answer: Mapping[str, Any]) -> list[T | RaybusError]:
        results = answer_list(answer, "results")
        if len(results) != count:
            raise InternalError(f"The gateway answered {len(results)} results for {count}.")
        if parse is nothing and results.count(None) == count:
            return list(results)  # every entry succeeded and answers nothing (a delete)
        out: list[T | RaybusError] = []
        for result in results:
            # the exact-type test first: msgpack gives dicts, and a thousand ABC checks per
            # batch were a tenth of the client's cost
            if result is None or (type(result) is dict and "error" not in result):
                out.append(parse(result))
            elif isinstance(result, Mapping) and isinstance(result.get("error"), Mapping):
                out.append(error_from_wire(result["error"]))
            else:
                out.append(parse(result))
        return out

    return read


def entry_kwargs(entry: object, keywords: frozenset[str]) -> tuple[object, dict[str, Any]]:
    """A batch entry as ``(body, keyword arguments)``: a mapping with ``body`` and some of
    ``keywords``, or a bare body."""
    if isinstance(entry, Mapping):
        if "body" not in entry:
            raise InvalidParameterValue("A batch entry needs a body.", parameter="body")
        unknown = set(entry) - keywords - {"body"}
        if unknown:
            raise InvalidParameterValue(
                f"Unknown batch entry keys: {', '.join(sorted(map(str, unknown)))}.",
                parameter=sorted(map(str, unknown))[0],
            )
        return entry["body"], {k: v for k, v in entry.items() if k != "body"}
    return entry, {}


def plan_entries(
    entries: Iterable[object],
    *,
    build: Callable[[object], tuple[WireEntry, int]],
    max_entries: int,
    max_bytes: int,
    request: Callable[[list[WireEntry]], Op[list[T | RaybusError]]],
) -> BatchPlan[T]:
    """The plan of a batch of messages: ``build`` turns an entry into its wire form and the
    bytes it counts (raising the entry's :class:`RaybusError` to refuse it); ``request`` makes
    the operation sending one group of wire entries."""
    items = list(entries)
    plan: BatchPlan[T] = BatchPlan(len(items))
    wire: list[WireEntry] = []
    sizes: list[int] = []
    positions: list[int] = []
    for position, item in enumerate(items):
        try:
            entry, size = build(item)
        except RaybusError as exc:
            plan.slots[position] = exc
            continue
        wire.append(entry)
        sizes.append(size)
        positions.append(position)
    for group in chunks(sizes, max_entries, max_bytes):
        plan.requests.append(([positions[i] for i in group], request([wire[i] for i in group])))
    return plan
