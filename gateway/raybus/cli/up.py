"""``raybus up``: start an embedded cluster (or attach to one) and serve until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from typing import Any

__all__ = ["register", "run"]


#: The default host count's cap: measured only up to 2 cores (docs/configuration.md).
MAX_DEFAULT_HOSTS = 8


def default_hosts() -> int:
    """One partition host per core this process may run on, less one core for the clients and
    Ray's own processes: at least 1, at most :data:`MAX_DEFAULT_HOSTS`. A host is one Python
    process that saturates one core; on 2 cores with the benchmark's client beside it, one
    host moved ×10 batches 6–33 % faster than two (the second host gets little more CPU and
    pays Ray calls for the receipts and receives that land on the other host), while two moved
    ×1,000 batches -7 % to +44 % faster than one (docs/configuration.md)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores - 1, MAX_DEFAULT_HOSTS))


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up",
        help="start raybus (embedded Ray, controller, partition hosts, gateway)",
        description="Start raybus and serve until Ctrl-C. Starting again on the same data "
        "directory brings back every queue and message.",
    )
    parser.add_argument("--data-dir", default="./.raybus", help="where logs live (./.raybus)")
    parser.add_argument("--host", default="127.0.0.1", help="gateway bind address (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="gateway port (8000; 0 = any)")
    hosts = default_hosts()
    parser.add_argument(
        "--partition-hosts",
        type=int,
        default=hosts,
        metavar="N",
        help=f"partition host actors, each serving the gateway (one per core but one, at "
        f"least 1, at most {MAX_DEFAULT_HOSTS}: {hosts} here)",
    )
    parser.add_argument("--address", default=None, help="attach to a running Ray cluster")
    parser.add_argument(
        "--test-clock", action="store_true", help="run on a virtual clock (POST /v1/clock/advance)"
    )
    parser.add_argument(
        "--token", default=os.environ.get("RAYBUS_TOKEN"), help="bearer token (env RAYBUS_TOKEN)"
    )
    parser.add_argument(
        "--allow-open", action="store_true", help="serve a non-loopback address without a token"
    )
    parser.add_argument(
        "--fsync",
        choices=("always", "interval", "never"),
        default="always",
        help="when the log fsyncs (always: per group commit)",
    )
    parser.add_argument(
        "--idle-timeout-s",
        type=float,
        default=75.0,
        metavar="S",
        help="close a connection that sends no whole request head for S seconds (75)",
    )
    parser.add_argument(
        "--body-timeout-s",
        type=float,
        default=30.0,
        metavar="S",
        help="answer 408 when a request body takes longer than S seconds (30)",
    )
    parser.add_argument(
        "--aws-account-id",
        default=os.environ.get("RAYBUS_AWS_ACCOUNT_ID", "000000000000"),
        metavar="ID",
        help="the account AWS clients see in ARNs and queue URLs (000000000000; env "
        "RAYBUS_AWS_ACCOUNT_ID)",
    )
    parser.add_argument(
        "--aws-region",
        default=os.environ.get("RAYBUS_AWS_REGION", "us-east-1"),
        metavar="REGION",
        help="the region in ARNs (us-east-1; env RAYBUS_AWS_REGION)",
    )
    parser.add_argument(
        "--aws-credentials",
        default=os.environ.get("RAYBUS_AWS_CREDENTIALS", ""),
        metavar="KEY:SECRET[,...]",
        help="verify AWS signatures against these access keys (default: accept any; env "
        "RAYBUS_AWS_CREDENTIALS)",
    )
    parser.add_argument(
        "--data-events",
        default="",
        metavar="SERVICE[,SERVICE...]",
        help="also emit API-call events for the data-plane calls of these services (sqs, sns, "
        "lambda, events; CloudTrail's data events, off by default)",
    )
    parser.add_argument("--quiet", action="store_true", help="no live rate line")
    parser.set_defaults(func=run)


def _rate_line(previous: dict[str, int], current: dict[str, int], seconds: float) -> str:
    def rate(key: str) -> float:
        return (current.get(key, 0) - previous.get(key, 0)) / max(seconds, 1e-9)

    return (
        f"sent {rate('sent'):>9,.0f}/s   received {rate('received'):>9,.0f}/s   "
        f"deleted {rate('deleted'):>9,.0f}/s   total sent {current.get('sent', 0):,}"
    )


def _argument_error(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot start a cluster, checked before anything starts: ``--host``,
    ``--address`` and ``--token`` must be UTF-8 (``--data-dir`` is a path: any bytes), and
    the token printable ASCII, as clients send it in an HTTP header."""
    from raybus.cli._text import non_utf8

    if args.partition_hosts < 1:
        return "--partition-hosts must be at least 1"
    for option in ("idle_timeout_s", "body_timeout_s"):
        if not 0 < getattr(args, option) <= 3600:
            return f"--{option.replace('_', '-')} must be above 0 and at most 3600"
    for option in ("host", "address", "token"):
        value = getattr(args, option)
        problem = None if value is None else non_utf8(value)
        if problem is not None:
            return f"--{option} is not valid UTF-8 ({problem})"
    if args.token is not None and not (args.token.isascii() and args.token.isprintable()):
        return "--token must be printable ASCII (clients send it in an HTTP header)"
    from raybus.core.arns import check_identity

    try:
        check_identity(args.aws_account_id, args.aws_region)
        aws_credentials(args.aws_credentials)
        data_events(args.data_events)
    except ValueError as error:
        return str(error)
    return None


DATA_EVENT_SERVICES = ("sqs", "sns", "lambda", "events")


def data_events(text: str) -> tuple[str, ...]:
    """``sqs,sns`` → the services whose data-plane calls are audited (empty: none)."""
    chosen = tuple(dict.fromkeys(filter(None, (part.strip() for part in text.split(",")))))
    unknown = [name for name in chosen if name not in DATA_EVENT_SERVICES]
    if unknown:
        raise ValueError(
            f"--data-events names {unknown[0]!r}; choose from {', '.join(DATA_EVENT_SERVICES)}"
        )
    return chosen


def aws_credentials(text: str) -> tuple[tuple[str, str], ...]:
    """``KEY:SECRET[,KEY:SECRET...]`` → pairs (empty: none)."""
    pairs: list[tuple[str, str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, secret = item.partition(":")
        if not sep or not key or not secret:
            raise ValueError("--aws-credentials is KEY:SECRET[,KEY:SECRET...]")
        pairs.append((key, secret))
    return tuple(pairs)


def run(args: argparse.Namespace) -> int:
    problem = _argument_error(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from raybus.control import AddressUnavailable, ClusterSpec, start
    from raybus.core.errors import RaybusError
    from raybus.gateway import Gateway, GatewayHost

    spec = ClusterSpec(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        partition_hosts=args.partition_hosts,
        address=args.address,
        test_clock=args.test_clock,
        token=args.token,
        allow_open=args.allow_open,
        fsync=args.fsync,
        idle_timeout_s=args.idle_timeout_s,
        body_timeout_s=args.body_timeout_s,
        aws_account_id=args.aws_account_id,
        aws_region=args.aws_region,
        aws_credentials=aws_credentials(args.aws_credentials),
        data_events=data_events(args.data_events),
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    started = time.perf_counter()
    try:
        cluster = start(spec, gateway=Gateway, gateway_host=GatewayHost)
    except RaybusError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        return 2
    except AddressUnavailable as error:
        print(f"error: {error.strerror}", file=sys.stderr)
        return 2
    mode = "test clock" if args.test_clock else "system clock"
    print(
        f"raybus is up at {cluster.url}  ({', '.join(cluster.urls[1:]) or 'one gateway'}; "
        f"data in {os.path.abspath(args.data_dir)}; {args.partition_hosts} partition host(s); "
        f"{mode}; started in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    if args.token is None:
        print("the gateway runs open (no token) on loopback", flush=True)
    try:
        previous, last = cluster.summary(), time.perf_counter()
        while not stop.wait(1.0):
            if args.quiet:
                continue
            current, now = cluster.summary(), time.perf_counter()
            if sys.stdout.isatty():
                print("\r" + _rate_line(previous, current, now - last), end="", flush=True)
            previous, last = current, now
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping raybus ...", flush=True)
        cluster.stop()
        print("stopped", flush=True)
    return 0
