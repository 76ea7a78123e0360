"""The one way to change the catalog: a draft that is saved before it is installed.

:meth:`CatalogKeeper.change` yields a *copy* of the catalog. The caller validates and mutates
the copy; when the block ends without an exception and the copy differs from the installed
catalog, the copy is saved (atomic snapshot, fsynced) and only then installed and announced.
If the block raises, or saving fails (an unencodable value, a full disk), the installed
catalog and the file on disk stay exactly as they were and the caller gets the error: a
rejected request changes nothing, and nothing is answered as done that a restart would undo.
Just before saving, the draft's new and changed records get their creation and change times
(:meth:`Catalog.stamp`).

Changes are serialised by one lock, never held across a call to another actor by the callers
(a host calling back during a placement cannot deadlock the controller). Readers use
:attr:`CatalogKeeper.catalog` directly: it is replaced, never mutated, so a reader never sees a
half-applied change.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from raybus.control.catalog import Catalog
from raybus.core.clock import Clock, SystemClock

__all__ = ["CatalogKeeper", "CatalogSaver"]


class CatalogSaver(Protocol):
    def load(self) -> Catalog: ...
    def save(self, catalog: Catalog) -> None: ...


class CatalogKeeper:
    def __init__(
        self,
        store: CatalogSaver,
        *,
        on_change: Callable[[Catalog], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self._clock = clock or SystemClock()
        # While a test-clock advance steps, the time of its current step (the catalog already
        # holds the target): what changes made meanwhile are stamped with.
        self.stepping_ms: int | None = None
        self.catalog = store.load()
        self._on_change = on_change
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def change(self) -> AsyncIterator[Catalog]:
        """A draft of the catalog to change; saved, then installed, when the block ends."""
        async with self._lock:
            draft = self.catalog.copy()
            yield draft
            self.install(draft)

    def change_now(self, mutate: Callable[[Catalog], object]) -> None:
        """The synchronous form, for construction (no event loop, no concurrent changes)."""
        draft = self.catalog.copy()
        mutate(draft)
        self.install(draft)

    def install(self, draft: Catalog) -> None:
        if not draft.differs_from(self.catalog):
            return
        draft.stamp(self.catalog, self._now_ms(draft))
        self.store.save(draft)  # raises: nothing changed
        self.catalog = draft
        if self._on_change is not None:
            self._on_change(draft)
        self._changed.set()
        self._changed = asyncio.Event()

    def _now_ms(self, draft: Catalog) -> int:
        """The catalog's time: the test clock when it runs on one (mid-advance, the current
        step's time), else the system's."""
        if draft.clock_ms is None:
            return self._clock.now_ms()
        return self.stepping_ms if self.stepping_ms is not None else draft.clock_ms

    async def wait_newer(self, known_version: int, timeout_s: float) -> Catalog:
        """The catalog once its routing version exceeds ``known_version`` (or after
        ``timeout_s``, whichever comes first)."""
        if self.catalog.version <= known_version:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout_s)
        return self.catalog
