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
        self._again = False  # flush_soon() during a flush: flush again after it
        self.flushes = 0

    @property
    def log(self) -> PartitionLog:
        return self._log

    async def commit(self, through: int | None = None) -> int:
        """Return once every record appended before this call is committed (with ``through``:
        every record starting below that offset — at once, without a flush, if they are
        already); returns the ``durable_offset`` then. Raises the flush's error
        (``StorageFailure``) to every waiter that shared it. Cancelling a waiter never cancels
        the flush others share."""
        target = self._log.end_offset if through is None else through
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

    def flush_soon(self) -> None:
        """Make what is appended durable without waiting: start a flush now, or — if one is
        running, which took only what was appended before it started — right after it."""
        if self._closed or self._log.durable_offset >= self._log.end_offset:
            return
        if self._flush is None or self._flush.done():
            self._start_flush()
        else:
            self._again = True

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
        failed = flush.cancelled() or flush.exception() is not None  # marks it retrieved
        if self._again and self._flush is None:
            self._again = False
            if not failed:  # after a failure the log refuses writes; the next commit says so
                self.flush_soon()

    async def aclose(self) -> None:
        """Wait for a running flush, then stop the worker thread. Does not close the log."""
        self._closed = True
        if self._flush is not None:
            await asyncio.wait([self._flush])
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
