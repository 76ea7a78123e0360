"""Fixtures: a fake gateway, and clients of both kinds driven by one scenario body.

A parity test is written once as ``async def scenario(client)`` that awaits every SDK call
through :func:`ait`; the ``api`` fixture runs it with the sync :class:`Client` and with the
:class:`AsyncClient` (the sync calls simply return values).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from raybus.sdk import AsyncClient, Backoff, Client
from tests.sdk.fakes import FakeGateway

T = TypeVar("T")
URL = "http://gateway.test:8000"


async def ait(value: T | Awaitable[T]) -> T:
    """Await what the async client returns; pass through what the sync client returns."""
    if inspect.isawaitable(value):
        return await value
    return value


class Api:
    """Builds a client of one kind against a fake gateway and runs scenarios with it."""

    def __init__(self, mode: str, gateway: FakeGateway) -> None:
        self.mode = mode
        self.gateway = gateway
        self.sleeps: list[float] = []

    @property
    def is_async(self) -> bool:
        return self.mode == "async"

    def client(self, **options: Any) -> Client | AsyncClient:
        options.setdefault("backoff", Backoff(base_s=0.1, cap_s=2.0, random=lambda: 0.5))
        options.setdefault("transport", self.gateway.transport)
        options.setdefault("token", "secret")
        url = options.pop("url", URL)
        if self.is_async:

            async def sleep(seconds: float) -> None:
                self.sleeps.append(seconds)

            return AsyncClient(url, sleep=sleep, **options)
        return Client(url, sleep=self.sleeps.append, **options)

    def run(self, scenario: Callable[[Any], Awaitable[T]], **options: Any) -> T:
        async def main() -> T:
            client = self.client(**options)
            try:
                return await scenario(client)
            finally:
                await ait(client.aclose() if isinstance(client, AsyncClient) else client.close())

        return asyncio.run(main())


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, gateway: FakeGateway) -> Api:
    return Api(request.param, gateway)


@pytest.fixture
def sync_api(gateway: FakeGateway) -> Api:
    return Api("sync", gateway)


@pytest.fixture
def async_api(gateway: FakeGateway) -> Api:
    return Api("async", gateway)
