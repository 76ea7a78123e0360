"""The embedded gateway's port is reserved before any host binds it: every host then shares it
with SO_REUSEPORT, and a port another process listens on is refused — even another raybus
whose sockets set SO_REUSEPORT too (the kernel would split connections between two clusters)."""

from __future__ import annotations

import socket

import pytest

from raybus.control import AddressUnavailable
from raybus.control.bootstrap import reserve_port


def listener(*, reuse_port: bool) -> socket.socket:
    sock = socket.socket()
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_port_zero_reserves_a_free_port_the_hosts_can_all_listen_on() -> None:
    reserved, port = reserve_port("127.0.0.1", 0)
    with reserved:
        assert port > 0 and reserved.getsockname()[1] == port
        hosts = []
        for _ in range(2):  # what each partition host does (aiohttp's reuse_port=True)
            host = socket.socket()
            host.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            host.bind(("127.0.0.1", port))
            host.listen()
            hosts.append(host)
    for host in hosts:
        host.close()


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "another-raybus"])
def test_a_port_another_process_listens_on_is_refused(reuse_port: bool) -> None:
    with listener(reuse_port=reuse_port) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(AddressUnavailable, match=f"cannot serve 127.0.0.1:{port}"):
            reserve_port("127.0.0.1", port)


def test_attached_serving_hosts_need_a_fixed_port_and_nothing_starts_without_one() -> None:
    import ray

    from raybus.control import ClusterSpec, start
    from raybus.gateway import Gateway, GatewayHost

    connected = ray.is_initialized()
    spec = ClusterSpec(address="127.0.0.1:1", port=0)  # no Ray there: refused before connecting
    with pytest.raises(AddressUnavailable, match="give a port other than 0"):
        start(spec, gateway=Gateway, gateway_host=GatewayHost)
    assert ray.is_initialized() == connected
