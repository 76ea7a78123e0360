"""Group commit for asyncio hosts: many awaiting writers, one write + one fsync per flush.

Protocol: a writer appends (synchronously, on the event loop) and then awaits
:meth:`GroupCommitter.commit`. The first waiter that finds no flush running starts one on the
committer's worker thread; everyone whose records that flush took shares it. Records appended
while a flush runs are not in it: their writers wait for it to finish and then share the next
flush, which the first of them starts. So under load each flush carries everything appended
during the previous one (natural batching, no timer), and the loop never blocks on a write or
fsync. With ``FsyncPolicy.ALWAYS`` that is one ``pwrite`` and one fsync per flush.

The log must let ``append``/``read`` run on the loop while ``commit`` runs on the worker thread
(:class:`raybus.storage.FileLog` and :class:`raybus.storage.MemoryLog` do).

For threads instead of a loop, call ``log.commit()`` directly: ``FileLog.commit`` is thread-safe
and concurrent callers already share one write + fsync (see its threading contract).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from raybus.storage.api import PartitionLog

__all__ = ["GroupCommitter"]


class GroupCommitter:
    """Shares commits of one log among concurrent asyncio waiters.

    Use from one event loop. Owns one worker thread (started lazily, stopped by
    :meth:`close`). ``flushes`` counts the commits it ran (for metrics and tests).
    """

    def __init__(self, log: PartitionLog) -> None:
        self._log = log
        self._executor: ThreadPoolExecutor | None = None
        self._flush: asyncio.Future[int] | None = None
        self._closed = False
        self.flushes = 0

    @property
    def log(self) -> PartitionLog:
        return self._log

    async def commit(self) -> int:
        """Return once every record appended before this call is committed; returns the
        ``durable_offset`` then. Raises the flush's error (``StorageFailure``) to every waiter
        that shared it. Cancelling a waiter never cancels the flush others share."""
        target = self._log.end_offset
        while True:
            durable = self._log.durable_offset
            if durable >= target:
                return durable
            flush = self._flush
            # A finished flush can still be installed here: its done-callback is queued behind
            # this task. Awaiting it would return at once without yielding, and this loop would
            # spin forever without letting the callback run. Start the next flush instead.
            if flush is None or flush.done():
                flush = self._start_flush()
            await asyncio.shield(flush)

    def _start_flush(self) -> asyncio.Future[int]:
        if self._closed:
            raise RuntimeError("group committer is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raybus-commit")
        loop = asyncio.get_running_loop()
        flush = loop.run_in_executor(self._executor, self._log.commit)
        self._flush = flush
        self.flushes += 1
        flush.add_done_callback(self._flush_done)
        return flush

    def _flush_done(self, flush: asyncio.Future[int]) -> None:
        if self._flush is flush:
            self._flush = None
        if not flush.cancelled():
            flush.exception()  # mark retrieved: waiters re-raise it, nobody may be left

    async def aclose(self) -> None:
        """Wait for a running flush, then stop the worker thread. Does not close the log."""
        self._closed = True
        if self._flush is not None:
            await asyncio.wait([self._flush])
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
