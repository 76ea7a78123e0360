"""Starting and stopping a raybus cluster: embedded (a local Ray on 127.0.0.1) or attached.

``start(ClusterSpec(...))`` connects to Ray (starting a local instance unless ``address`` is
given), gets or creates the controller (which creates the partition hosts and waits for them
to reopen their partitions from the data directory), then starts the gateways — one on the
given address in embedded mode, one per alive node when attached — and returns a
:class:`RunningCluster` with the URL. Starting again on the same data directory brings back
every queue and every acknowledged message.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

import ray

from raybus.actors import NAMESPACE, controller_options, gateway_options, host_name
from raybus.control.controller import Controller
from raybus.core.arns import check_identity

__all__ = ["ClusterSpec", "RunningCluster", "start"]

READY_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    data_dir: str = "./.raybus"
    host: str = "127.0.0.1"
    port: int = 8000
    partition_hosts: int = 1
    address: str | None = None
    test_clock: bool = False
    token: str | None = None
    allow_open: bool = False
    fsync: str = "always"
    idle_timeout_s: float = 75.0
    body_timeout_s: float = 30.0
    aws_account_id: str = "000000000000"
    aws_region: str = "us-east-1"
    aws_credentials: tuple[tuple[str, str], ...] = ()  # (access key id, secret) to verify

    def __post_init__(self) -> None:
        check_identity(self.aws_account_id, self.aws_region)

    def serve_options(self) -> dict[str, Any]:
        """The gateway's keyword arguments (ServeSpec's fields)."""
        return {
            "token": self.token,
            "allow_open": self.allow_open,
            "idle_timeout_s": self.idle_timeout_s,
            "body_timeout_s": self.body_timeout_s,
            "aws_credentials": self.aws_credentials,
        }


@dataclass(slots=True)
class RunningCluster:
    spec: ClusterSpec
    controller: Any
    gateways: list[Any]
    urls: list[str]
    started_ray: bool

    @property
    def url(self) -> str:
        return self.urls[0]

    def summary(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for part in ray.get([g.summary.remote() for g in self.gateways]):
            for key, value in part.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def stop(self, *, shutdown_ray: bool | None = None) -> None:
        """Stop the gateways, close every partition cleanly, remove raybus's actors."""
        try:
            for gateway in self.gateways:
                with contextlib.suppress(Exception):  # a gateway whose node is gone
                    ray.get(gateway.stop.remote(), timeout=30)
            ray.get(self.controller.shutdown_hosts.remote(), timeout=60)
        finally:
            hosts = []
            for index in range(self.spec.partition_hosts):
                with contextlib.suppress(ValueError):  # never started
                    hosts.append(ray.get_actor(host_name(index), namespace=NAMESPACE))
            for actor in [*self.gateways, self.controller, *hosts]:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(actor, no_restart=True)
            if self.started_ray if shutdown_ray is None else shutdown_ray:
                ray.shutdown()


def connect(address: str | None) -> bool:
    """Connect to Ray; returns True if this call started a local instance."""
    if ray.is_initialized():
        return False
    if address:
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
        return False
    ray.init(
        address="local",  # always a fresh instance: never join another local cluster
        namespace=NAMESPACE,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    return True


def start(spec: ClusterSpec, *, gateway: type, gateway_host: type | None = None) -> RunningCluster:
    """Start (or attach to) a cluster. ``gateway`` is the standalone gateway actor class and
    ``gateway_host`` the partition-host class that also serves a gateway
    (:class:`raybus.gateway.Gateway` / :class:`raybus.gateway.GatewayHost`), injected because
    the control plane sits below the gateway and must not import it.

    Embedded (no ``address``) with ``gateway_host``: host 0 serves the gateway itself, so
    requests to its partitions never cross Ray. Attached: one standalone gateway per node."""
    started_ray = connect(spec.address)
    data_dir = os.path.abspath(spec.data_dir)
    os.makedirs(data_dir, exist_ok=True)
    attached = spec.address is not None
    colocated = gateway_host is not None and not attached
    options: dict[str, Any] = {}
    if colocated:
        serve = {"host": spec.host, "port": spec.port, **spec.serve_options()}
        options = {"host_class": gateway_host, "host_zero_options": {"serve": serve}}
    controller: Any = (
        ray.remote(Controller)
        .options(**controller_options())
        .remote(
            data_dir,
            hosts=spec.partition_hosts,
            test_clock=spec.test_clock,
            fsync=spec.fsync,
            aws_account_id=spec.aws_account_id,
            aws_region=spec.aws_region,
            **options,
        )
    )
    ray.get(controller.ready.remote(), timeout=READY_TIMEOUT_S)
    if colocated:
        host_zero = ray.get_actor(host_name(0), namespace=NAMESPACE)
        url = str(ray.get(host_zero.url.remote(), timeout=READY_TIMEOUT_S))
        return RunningCluster(spec, controller, [host_zero], [url], started_ray)
    remote_gateway: Any = ray.remote(gateway)
    nodes: list[str | None] = [None]  # embedded: one gateway, on this node
    if attached:  # one gateway per alive node
        nodes = [n["NodeID"] for n in ray.nodes() if n.get("Alive")]  # type: ignore[no-untyped-call]
    gateways = [
        remote_gateway.options(**gateway_options(node, detached=attached)).remote(
            spec.host, spec.port, **spec.serve_options()
        )
        for node in nodes
    ]
    urls = ray.get([g.start.remote() for g in gateways], timeout=READY_TIMEOUT_S)
    return RunningCluster(spec, controller, gateways, urls, started_ray)
