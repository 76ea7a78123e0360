"""One real raybus cluster per test session: a local Ray instance on loopback, the controller,
two partition hosts (so partitioned queues really span hosts; both serve the gateway on one
127.0.0.1 port, as `raybus up` does, so a request may reach either process), on a virtual
clock so tests cross visibility timeouts and dedup windows by advancing it.

Tests share the cluster, so each uses queues with unique names (the ``name`` fixture).
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator

import pytest

from raybus.control import ClusterSpec, RunningCluster, start
from raybus.gateway import Gateway, GatewayHost
from raybus.sdk import Client

TOKEN = None
_names = itertools.count()


AWS_ACCESS_KEY = "AKIDEXAMPLE"
AWS_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCluster]:
    data_dir = tmp_path_factory.mktemp("raybus-data")
    # a fixed port: a test kills a host, which serves the gateway and must come back on it
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = start(
        ClusterSpec(
            data_dir=str(data_dir),
            port=port,
            partition_hosts=2,
            test_clock=True,
            body_timeout_s=2.0,  # a truncated body is answered 408 in 2 s, not the default 30
            # AWS clients' signatures are verified (tests/integration/aws signs with this pair)
            aws_credentials=((AWS_ACCESS_KEY, AWS_SECRET_KEY),),
        ),
        gateway=Gateway,
        gateway_host=GatewayHost,
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def url(cluster: RunningCluster) -> str:
    return cluster.url


@pytest.fixture
def client(url: str) -> Iterator[Client]:
    with Client(url, max_retries=3) as c:
        yield c


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A queue name unique in the session (prefix for derived names)."""
    return f"t{next(_names)}-{request.node.name[:40]}".replace("[", "-").replace("]", "")[:70]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.ray)
