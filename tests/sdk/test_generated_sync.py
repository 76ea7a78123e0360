"""One source for twins: the synchronous SDK is generated from the asynchronous one, so the two
surfaces cannot drift (a hand edit of a generated module, or a source changed without
regenerating, fails here)."""

from __future__ import annotations

import ast

import pytest

from tests.sdk import generate_sync

SOURCES = [str(p.relative_to(generate_sync.SDK)) for p in generate_sync.sources()]


def test_every_kind_and_the_generic_client_have_an_async_source() -> None:
    folders = {source.split("/")[0] for source in SOURCES}
    assert folders == {
        "base",
        "client",
        "queues",
        "topics",
        "functions",
        "mappings",
        "buses",
        "buckets",
    }


def test_regenerating_the_sync_sdk_changes_nothing() -> None:
    stale = generate_sync.stale()
    assert stale == [], f"run `python -m tests.sdk.generate_sync` (stale: {stale})"


@pytest.mark.parametrize("source", SOURCES)
def test_a_generated_module_has_no_coroutines_and_names_no_async_twin(source: str) -> None:
    target = (generate_sync.SDK / source).with_name("_sync.py")
    text = target.read_text()
    assert text.startswith(generate_sync.HEADER)
    for node in ast.walk(ast.parse(text)):
        assert not isinstance(node, ast.AsyncFunctionDef | ast.Await | ast.AsyncFor | ast.AsyncWith)
        if isinstance(node, ast.Name | ast.alias | ast.ClassDef | ast.Attribute):
            name = getattr(node, "id", None) or getattr(node, "name", None) or node.attr
            assert not name.startswith("Async") and "_aio" not in name, name


def test_the_substitutions_turn_async_code_into_its_sync_twin() -> None:
    source = (
        "import asyncio\n"
        "from raybus.sdk.base._aio import AsyncClientBase\n"
        "class AsyncQueue(AsyncIterator[AsyncMessage]):\n"
        '    """Use ``async with queue.consume()``."""\n'
        "    async def __aenter__(self) -> AsyncQueue:\n"
        "        async for message in self:\n"
        "            await asettle(handler(message))\n"
        "        await asyncio.sleep(1)\n"
        "        await self.aclose()\n"
        "        return open_async_transport(url, httpx.AsyncBaseTransport())\n"
    )
    assert generate_sync.unasync(source) == generate_sync.HEADER + (
        "import time\n"
        "from raybus.sdk.base._sync import ClientBase\n"
        "class Queue(Iterator[Message]):\n"
        '    """Use ``with queue.consume()``."""\n'
        "    def __enter__(self) -> Queue:\n"
        "        for message in self:\n"
        "            settle(handler(message))\n"
        "        time.sleep(1)\n"
        "        self.close()\n"
        "        return open_transport(url, httpx.BaseTransport())\n"
    )
