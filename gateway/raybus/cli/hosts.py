"""``raybus hosts``: the partition hosts of a cluster, and rebalancing partitions over them.

    raybus hosts list                   # one JSON line per host: name, up, partitions, pid...
    raybus hosts rebalance [--dry-run]  # even out partitions per host; one JSON line per move

A host added to a cluster (``raybus up --partition-hosts N`` again on the same data directory,
``N`` larger) takes the partitions of resources created from then on; ``rebalance`` moves
existing partitions onto it, online. Output, options and exit codes as ``raybus queue``: a
rebalance whose moves did not all succeed exits 2 after printing them (run it again).
"""

from __future__ import annotations

import argparse
from typing import Any

from raybus.cli._common import EXIT_ERROR, EXIT_OK, add_command, connection_options, print_json
from raybus.sdk import Client

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "hosts",
        help="list partition hosts, rebalance partitions over them",
        description="The partition hosts of a raybus cluster.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="hosts_verb", metavar="COMMAND", required=True)
    add_command(verbs, "list", run_list, "list the partition hosts as JSON lines")
    rebalance = add_command(
        verbs, "rebalance", run_rebalance, "even out the partitions over the hosts (online)"
    )
    rebalance.add_argument(
        "--dry-run", action="store_true", help="print the moves without making them"
    )


def run_list(client: Client, args: argparse.Namespace) -> int:
    for host in client.health().get("hosts", []):
        print_json(host)
    return EXIT_OK


def run_rebalance(client: Client, args: argparse.Namespace) -> int:
    result = client.rebalance_hosts(dry_run=args.dry_run)
    for move in result["moves"]:
        print_json(move)
    for move in result["failed"]:
        print_json(move)
    print_json({"hosts": result["hosts"], "repaired": result["repaired"]})
    return EXIT_ERROR if result["failed"] else EXIT_OK
