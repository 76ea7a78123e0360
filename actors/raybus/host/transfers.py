"""Moving messages between queues durably: dead letters and move-back tasks.

The order is the whole point: the target commits the message first, and only then does the
source remove it (with its own commit). A crash in between leaves the message in both places
— delivered again at most, never lost. If the target refuses, the source makes the message
visible again.

These functions run synchronously against two :class:`QueueHost` objects; the Ray partition
host runs the same protocol with awaits between the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from raybus.core.errors import RaybusError
from raybus.engines import DeadLetter, MoveTask
from raybus.host.queue_host import QueueHost

__all__ = ["deliver_dead_letters", "run_move_step"]


def _transfer(
    now_ms: int,
    source: QueueHost,
    target: QueueHost,
    letters: Sequence[DeadLetter],
    *,
    dead_lettered: bool,
) -> int:
    """Send ``letters`` to ``target`` and settle them in ``source``; returns how many moved."""
    if not letters:
        return 0
    results = target.send(now_ms, [letter.entry for letter in letters])
    moved: list[int] = []
    failed: list[int] = []
    for letter, result in zip(letters, results, strict=True):
        (failed if isinstance(result, Exception) else moved).append(letter.seq)
    if moved:
        source.finish_transfer(now_ms, moved, dead_lettered=dead_lettered)
    if failed:
        source.engine.abort_transfer(now_ms, failed)
    return len(moved)


def deliver_dead_letters(
    now_ms: int,
    source: QueueHost,
    letters: Sequence[DeadLetter],
    resolve: Callable[[str], QueueHost | None],
) -> int:
    """Deliver the dead letters a receive produced. A missing or failing target leaves them in
    the source (hidden for a visibility timeout, then retried), as a dead-letter queue that
    cannot take them must never lose them."""
    by_target: dict[str, list[DeadLetter]] = {}
    for letter in letters:
        by_target.setdefault(letter.target, []).append(letter)
    moved = 0
    for name, group in by_target.items():
        target = resolve(name)
        if target is None:
            source.engine.abort_transfer(now_ms, [letter.seq for letter in group])
            continue
        try:
            moved += _transfer(now_ms, source, target, group, dead_lettered=True)
        except RaybusError:  # the target failed: the messages stay in the source
            source.engine.abort_transfer(now_ms, [letter.seq for letter in group])
    return moved


def run_move_step(now_ms: int, task: MoveTask, source: QueueHost, destination: QueueHost) -> int:
    """Move one rate-limited batch for ``task``; returns how many moved (0 when not due)."""
    quota = task.quota(now_ms)
    if quota == 0:
        task.settle()
        return 0
    letters = source.take_for_transfer(now_ms, quota, task.destination)
    try:
        moved = _transfer(now_ms, source, destination, letters, dead_lettered=False)
    except RaybusError as error:
        source.engine.abort_transfer(now_ms, [letter.seq for letter in letters])
        task.fail(f"{error.code}: {error.message}")
        raise
    task.record_moved(now_ms, moved, source_empty=not letters)
    return moved
