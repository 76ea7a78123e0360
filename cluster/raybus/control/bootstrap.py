"""Starting and stopping a raybus cluster: embedded (a local Ray on 127.0.0.1) or attached.

``start(ClusterSpec(...))`` connects to Ray (starting a local instance unless ``address`` is
given), gets or creates the controller (which creates the partition hosts and waits for them
to reopen their partitions from the data directory), then starts the gateways — every
partition host serves the given address on its node (embedded: the one node) — and returns a
:class:`RunningCluster` with the URLs. Starting again on the same data directory
brings back every queue and every acknowledged message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from dataclasses import dataclass
from typing import Any

import ray

from raybus.actors import HOST_NAME_PREFIX, NAMESPACE, controller_options, gateway_options
from raybus.control.controller import Controller
from raybus.core.arns import check_identity

__all__ = ["AddressUnavailable", "ClusterSpec", "RunningCluster", "reserve_port", "start"]

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
    # services whose data-plane calls also become API-call events (CloudTrail's data events)
    data_events: tuple[str, ...] = ()

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
            "data_events": self.data_events,
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
            for name in _host_names():
                with contextlib.suppress(ValueError):  # gone meanwhile
                    hosts.append(ray.get_actor(name, namespace=NAMESPACE))
            for actor in [*self.gateways, self.controller, *hosts]:
                with contextlib.suppress(Exception):  # already gone
                    ray.kill(actor, no_restart=True)
            if self.started_ray if shutdown_ray is None else shutdown_ray:
                ray.shutdown()


def _host_names() -> list[str]:
    """The partition hosts that exist now: the catalog's, which may be more than this start
    asked for (a cluster started before with more hosts keeps them)."""
    names = ray.util.list_named_actors(all_namespaces=True)
    return sorted(
        item["name"]
        for item in names
        if item["namespace"] == NAMESPACE and item["name"].startswith(HOST_NAME_PREFIX)
    )


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


class AddressUnavailable(OSError):
    """The gateway's address cannot be served: in use by another process, or not this
    machine's."""


def reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """A socket bound (not listening) to ``host:port`` with ``SO_REUSEPORT``, and its port: the
    partition hosts then all bind that port (``0`` picks a free one first), and the kernel
    spreads connections over their listening sockets. Close it once they listen.

    A port another process listens on is refused (``OSError``, address in use) even when that
    process set ``SO_REUSEPORT`` too — another raybus: the kernel would otherwise split the
    connections between two clusters. A probe without ``SO_REUSEPORT`` binds it first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no owner
            probe.bind((host, port))
            port = int(probe.getsockname()[1])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        message = f"cannot serve {host}:{port}: {error.strerror}"
        raise AddressUnavailable(error.errno, message) from error
    return sock, port


def _start_controller(spec: ClusterSpec, data_dir: str, options: dict[str, Any]) -> Any:
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
    return controller


def _start_serving_hosts(
    spec: ClusterSpec, gateway_host: type, port: int, started_ray: bool
) -> RunningCluster:
    """Every partition host serves the gateway on ``port`` of its node (SO_REUSEPORT); the
    URLs are those of the nodes with a host (one, embedded)."""
    serve = {"host": spec.host, "port": port, "shared": True, **spec.serve_options()}
    options = {"host_class": gateway_host, "host_extra": {"serve": serve}}
    controller = _start_controller(spec, os.path.abspath(spec.data_dir), options)
    names = [
        host["name"]
        for host in ray.get(controller.health.remote(), timeout=READY_TIMEOUT_S)["hosts"]
    ]
    hosts = [ray.get_actor(name, namespace=NAMESPACE) for name in names]
    urls: list[str] = ray.get([h.url.remote() for h in hosts], timeout=READY_TIMEOUT_S)
    return RunningCluster(spec, controller, hosts, list(dict.fromkeys(urls)), started_ray)


def start(spec: ClusterSpec, *, gateway: type, gateway_host: type | None = None) -> RunningCluster:
    """Start (or attach to) a cluster. ``gateway`` is the standalone gateway actor class and
    ``gateway_host`` the partition-host class that also serves a gateway
    (:class:`raybus.gateway.Gateway` / :class:`raybus.gateway.GatewayHost`), injected because
    the control plane sits below the gateway and must not import it.

    With ``gateway_host``, every partition host serves the gateway on the one address of its
    node (``SO_REUSEPORT``: the kernel spreads connections over their listening sockets), and a
    request uses the partitions of the process that received it first. Embedded (no
    ``address``) the port is reserved before Ray starts (``0`` picks one); attached, every node
    with a host serves ``spec.port`` (a fixed port: a host restarted on another node serves it
    there). Without ``gateway_host``: one standalone gateway per node."""
    attached = spec.address is not None
    if gateway_host is not None and attached:
        if spec.port == 0:
            raise AddressUnavailable(
                errno.EINVAL, "attached, every node serves one port: give a port other than 0"
            )
        started_ray = connect(spec.address)
        os.makedirs(spec.data_dir, exist_ok=True)
        return _start_serving_hosts(spec, gateway_host, spec.port, started_ray)
    if gateway_host is not None:
        reserved, port = reserve_port(spec.host, spec.port)  # before Ray: a taken port fails fast
        with reserved:  # held until every host listens on the port
            started_ray = connect(spec.address)
            os.makedirs(spec.data_dir, exist_ok=True)
            return _start_serving_hosts(spec, gateway_host, port, started_ray)
    started_ray = connect(spec.address)
    data_dir = os.path.abspath(spec.data_dir)
    os.makedirs(data_dir, exist_ok=True)
    controller = _start_controller(spec, data_dir, {})
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
