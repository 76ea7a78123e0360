"""The host-to-host channel on real loopback sockets (no Ray): calls, errors, concurrency,
the token, a peer that goes away; and the router's use of it (a stand-in actor handle: its
address asked once, asked again after a failure or a restart, Ray calls for a host without a
channel or with the channel turned off)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from raybus.actors.channel import ChannelClient, ChannelClosed, ChannelServer
from raybus.actors.router import CALLS, _Remote
from raybus.core.errors import RaybusError


class _Host:
    """An ``execute`` that echoes its arguments, fails on request, or waits to be released."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.release = asyncio.Event()

    async def execute(
        self, kind: str, key: str, partition: int, epoch: int, ops: list[Any]
    ) -> list[Any]:
        self.calls.append((kind, key, partition, epoch, ops))
        if ops == ["stale"]:
            raise RaybusError("StaleEpoch", "moved", resource=key, partition=partition)
        if ops == ["boom"]:
            raise KeyError("unexpected")
        if ops == ["wait"]:
            await self.release.wait()
        return [(kind, key, partition, epoch, op) for op in ops]


@contextlib.asynccontextmanager
async def _serving() -> AsyncIterator[tuple[_Host, ChannelServer]]:
    host = _Host()
    server = ChannelServer(host.execute, "host-test")
    await server.start("127.0.0.1")
    try:
        yield host, server
    finally:
        await server.close()


def _client(server: ChannelServer) -> ChannelClient:
    address = server.address()
    assert address is not None
    return ChannelClient(*address)


def test_calls_answer_in_any_order_with_their_own_results() -> None:
    async def scenario() -> None:
        async with _serving() as (host, server):
            client = _client(server)
            waiting = asyncio.ensure_future(client.execute("queue", "q", 1, 7, ["wait"]))
            quick = await asyncio.gather(
                *(client.execute("queue", "q", p, 7, [p, b"\xff" * p]) for p in range(20))
            )
            assert not waiting.done()  # an answer waiting on its turn holds no other back
            for partition, answer in enumerate(quick):
                assert answer == [
                    ("queue", "q", partition, 7, partition),
                    ("queue", "q", partition, 7, b"\xff" * partition),
                ]
            host.release.set()
            assert await waiting == [("queue", "q", 1, 7, "wait")]
            client.close()

    asyncio.run(scenario())


def test_errors_come_back_as_catalog_errors() -> None:
    async def scenario() -> None:
        async with _serving() as (_, server):
            client = _client(server)
            with pytest.raises(RaybusError) as stale:
                await client.execute("queue", "q", 2, 1, ["stale"])
            assert (stale.value.code, stale.value.details["partition"]) == ("StaleEpoch", 2)
            with pytest.raises(RaybusError) as unexpected:
                await client.execute("queue", "q", 0, 1, ["boom"])
            assert unexpected.value.code == "InternalError"
            # the connection still serves after both
            assert await client.execute("queue", "q", 0, 1, ["ok"]) == [("queue", "q", 0, 1, "ok")]
            client.close()

    asyncio.run(scenario())


def test_a_wrong_token_is_refused_and_runs_nothing() -> None:
    async def scenario() -> None:
        async with _serving() as (host, server):
            address = server.address()
            assert address is not None
            intruder = ChannelClient(address[0], address[1], b"x" * len(address[2]))
            with pytest.raises(ChannelClosed):
                await intruder.execute("queue", "q", 0, 1, ["ok"])
            assert host.calls == []

    asyncio.run(scenario())


def test_a_peer_that_goes_away_fails_the_calls_in_flight() -> None:
    async def scenario() -> None:
        async with _serving() as (host, server):
            client = _client(server)
            pending = asyncio.ensure_future(client.execute("queue", "q", 0, 1, ["wait"]))
            for _ in range(10_000):  # until the call has arrived (a few loop turns)
                if host.calls:
                    break
                await asyncio.sleep(0)
            assert host.calls
            await server.close()
            with pytest.raises(ChannelClosed) as in_flight:
                await pending
            assert in_flight.value.sent  # it may have run
            with pytest.raises(ChannelClosed) as after:  # a broken channel stays closed
                await client.execute("queue", "q", 0, 1, ["ok"])
            assert not after.value.sent  # it certainly did not
            host.release.set()

    asyncio.run(scenario())


def test_a_peer_that_is_not_listening_is_a_closed_channel() -> None:
    async def scenario() -> None:
        async with _serving() as (_, server):
            address = server.address()
            assert address is not None
        with pytest.raises(ChannelClosed) as refused:
            await ChannelClient(*address).execute("queue", "q", 0, 1, ["ok"])
        assert not refused.value.sent

    asyncio.run(scenario())


class _Method:
    def __init__(self, answer: Any) -> None:
        self.answers = list(answer) if isinstance(answer, list) else [answer]
        self.calls = 0

    def remote(self, *args: Any) -> Any:
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]

        async def call() -> Any:
            if isinstance(answer, Exception):
                raise answer
            return answer(*args) if callable(answer) else answer

        return call()


class _Handle:
    """A stand-in for a Ray actor handle: ``.method.remote(...)`` gives an awaitable."""

    def __init__(self, **methods: _Method) -> None:
        for name, method in methods.items():
            setattr(self, name, method)


def test_a_peer_is_reached_on_its_channel_once_its_address_is_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAYBUS_HOST_CHANNEL", "1")

    async def scenario() -> None:
        async with _serving() as (host, server):
            address = _Method([RaybusError("InternalError", "not started yet"), server.address()])
            through_ray = _Method(lambda *args: ["by ray"])
            remote = _Remote(_Handle(channel_address=address, execute=through_ray))
            with pytest.raises(RaybusError):  # the address could not be had: the call fails...
                await remote.execute("queue", "q", 0, 1, ["a"])
            # ...and the next one asks again, then uses the channel from then on
            assert await remote.execute("queue", "q", 0, 1, ["b"]) == [("queue", "q", 0, 1, "b")]
            assert await remote.execute("queue", "q", 1, 1, ["c"]) == [("queue", "q", 1, 1, "c")]
            assert (address.calls, through_ray.calls, len(host.calls)) == (2, 0, 2)
            remote.close()

    asyncio.run(scenario())


def test_a_restarted_peer_is_reached_on_its_new_channel_without_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host that died and was restarted by Ray listens on a new port; its callers still hold
    the old connection, broken. A call that finds it broken was never sent: it goes out once
    more on a new connection to the address the restarted host gives (as a Ray call reaches
    the restarted actor), instead of failing — a failure costs a receive the messages other
    partitions gave it."""
    monkeypatch.setenv("RAYBUS_HOST_CHANNEL", "1")

    async def scenario() -> None:
        async with _serving() as (old_host, old_server), _serving() as (new_host, new_server):
            address = _Method([old_server.address(), new_server.address()])
            remote = _Remote(_Handle(channel_address=address, execute=_Method(["by ray"])))
            assert await remote.execute("queue", "q", 0, 1, ["a"]) == [("queue", "q", 0, 1, "a")]
            await old_server.close()  # the old incarnation dies
            for _ in range(10_000):  # until this side has seen the connection end
                if remote._channel is not None and remote._channel.result().closed:
                    break
                await asyncio.sleep(0)
            counted = CALLS["channel"]
            assert await remote.execute("queue", "q", 0, 2, ["b"]) == [("queue", "q", 0, 2, "b")]
            assert (len(old_host.calls), len(new_host.calls), address.calls) == (1, 1, 2)
            assert CALLS["channel"] == counted + 1  # one call, however many connections it took
            remote.close()

    asyncio.run(scenario())


def test_a_call_that_may_have_run_is_not_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYBUS_HOST_CHANNEL", "1")

    async def scenario() -> None:
        async with _serving() as (old_host, old_server), _serving() as (new_host, new_server):
            address = _Method([old_server.address(), new_server.address()])
            remote = _Remote(_Handle(channel_address=address, execute=_Method(["by ray"])))
            pending = asyncio.ensure_future(remote.execute("queue", "q", 0, 1, ["wait"]))
            for _ in range(10_000):  # until the call has arrived
                if old_host.calls:
                    break
                await asyncio.sleep(0)
            await old_server.close()
            with pytest.raises(ChannelClosed) as broken:
                await pending
            assert broken.value.sent and new_host.calls == [] and address.calls == 1
            old_host.release.set()

    asyncio.run(scenario())


def test_with_the_channel_turned_off_a_peer_is_reached_through_ray(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAYBUS_HOST_CHANNEL", "0")

    async def scenario() -> None:
        address = _Method([("127.0.0.1", 1, b"t" * 16)])
        through_ray = _Method(lambda *args: ["by ray"])
        remote = _Remote(_Handle(channel_address=address, execute=through_ray))
        assert await remote.execute("queue", "q", 0, 1, ["a"]) == ["by ray"]
        assert (address.calls, through_ray.calls) == (0, 1)

    asyncio.run(scenario())


def test_a_peer_without_a_channel_is_reached_through_ray() -> None:
    async def scenario() -> None:
        through_ray = _Method(lambda *args: ["by ray", args])
        remote = _Remote(_Handle(execute=through_ray))  # no channel_address: an older host
        assert await remote.execute("queue", "q", 0, 1, ["a"]) == [
            "by ray",
            ("queue", "q", 0, 1, ["a"]),
        ]

    asyncio.run(scenario())
