"""Event-source mappings on the client: :class:`AsyncMappingMethods` (the client's mapping
methods) and :class:`AsyncEventSourceMapping`.

A mapping feeds a function from a queue (polled in batches) or a topic (a function
subscription); the function may run more than once for one message (at-least-once).

``_aio.py`` is the source of both flavours; ``_sync.py`` beside it is generated from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from raybus.sdk._handles import Handle, Target, name_of
from raybus.sdk.base._aio import AsyncClientBase
from raybus.sdk.functions._aio import AsyncFunction
from raybus.sdk.mappings import ops
from raybus.sdk.models import MappingStats

__all__ = ["AsyncEventSourceMapping", "AsyncMappingMethods"]


class AsyncMappingMethods(AsyncClientBase):
    """The client's event-source-mapping methods."""

    async def create_event_source_mapping(
        self,
        source: Target,
        function: str | AsyncFunction,
        *,
        batch_size: int = 10,
        batching_window_s: int = 0,
        max_concurrency: int | None = None,
        report_batch_item_failures: bool = False,
        filter_criteria: Sequence[Any] | Mapping[str, Any] | None = None,
        enabled: bool = True,
    ) -> AsyncEventSourceMapping:
        """Feed ``function`` from ``source``: a queue (polled in batches of ``batch_size``,
        waiting up to ``batching_window_s`` to fill one) or a topic (a function
        subscription). ``filter_criteria`` is Lambda's ``{"Filters": [{"Pattern": ...}]}`` or
        a list of patterns. Creating the same mapping again returns it."""
        body = ops.mapping_settings(
            source,
            function,
            {
                "batch_size": batch_size,
                "batching_window_s": batching_window_s,
                "max_concurrency": max_concurrency,
                "report_batch_item_failures": report_batch_item_failures,
                "filter_criteria": filter_criteria,
                "enabled": enabled,
            },
        )
        return AsyncEventSourceMapping(self, await self._run(ops.create_mapping(body)))

    async def event_source_mapping(self, mapping_id: str) -> AsyncEventSourceMapping:
        """The mapping with this id; raises ``ResourceNotFound``."""
        return AsyncEventSourceMapping(self, await self._run(ops.get_mapping(mapping_id)))

    async def list_event_source_mappings(
        self, function: str | AsyncFunction | None = None, source: Target | None = None
    ) -> list[AsyncEventSourceMapping]:
        """Mappings, optionally only those of one function and/or one source."""
        name = None if function is None else name_of(function)
        where = None if source is None else ops.source_target(source)
        found = await self._run(ops.list_mappings(name, where))
        return [AsyncEventSourceMapping(self, config) for config in found]


class AsyncEventSourceMapping(Handle[AsyncClientBase]):
    """A handle on one event-source mapping: ``id``, ``source``, ``function`` and ``config``
    (its settings as the gateway last reported them)."""

    resource_kind: ClassVar[str] = "mapping"

    def __init__(self, client: AsyncClientBase, config: Mapping[str, Any]) -> None:
        super().__init__(client, config)
        self.id: str = str(self.config.get("id"))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.id!r}, {self.source} -> {self.function})"

    @property
    def source(self) -> str:
        return str(self.config.get("source"))

    @property
    def function(self) -> str:
        return str(self.config.get("function"))

    async def update(self, **changes: Any) -> dict[str, Any]:
        """Change ``batch_size``, ``batching_window_s``, ``max_concurrency``,
        ``report_batch_item_failures``, ``filter_criteria`` or ``enabled``; returns the
        config."""
        self.config = await self._client._run(ops.update_mapping(self.id, changes))
        return self.config

    async def enable(self) -> None:
        await self.update(enabled=True)

    async def disable(self) -> None:
        """Stop polling; the source keeps its messages until :meth:`enable`."""
        await self.update(enabled=False)

    async def stats(self) -> MappingStats:
        return await self._client._run(ops.mapping_stats(self.id))

    async def delete(self) -> None:
        """Delete the mapping; the source keeps its messages."""
        await self._client._run(ops.delete_mapping(self.id))
