"""``raybus mapping``: event-source mappings that feed functions from queues and topics.

    raybus mapping create queue:orders resize --batch-size 10 --report-batch-item-failures \\
        --filter '{"body": {"kind": ["order"]}}'
    raybus mapping create topic:alerts notify
    raybus mapping list [--function resize] [--source queue:orders]   # one JSON line each
    raybus mapping get ID
    raybus mapping disable ID        # stop polling; messages wait in the source
    raybus mapping enable ID
    raybus mapping stats ID
    raybus mapping delete ID

Output, options and exit codes as ``raybus queue``.
"""

from __future__ import annotations

import argparse
from typing import Any

from raybus.cli._common import (
    EXIT_OK,
    add_command,
    add_json_argument,
    connection_options,
    json_argument,
    print_json,
)
from raybus.sdk import Client, EventSourceMapping

__all__ = ["register"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "mapping",
        help="feed functions from queues and topics",
        description="Administer event-source mappings through a raybus gateway.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="mapping_verb", metavar="COMMAND", required=True)

    create = add_command(verbs, "create", run_create, "create an event-source mapping")
    create.add_argument("source", help="queue:<name> (or a bare queue name) or topic:<name>")
    create.add_argument("function")
    create.add_argument("--batch-size", type=int, default=10, metavar="N", help="default 10")
    create.add_argument("--batching-window-s", type=int, default=0, metavar="N")
    create.add_argument("--max-concurrency", type=int, metavar="N", help="2-1000")
    create.add_argument("--report-batch-item-failures", action="store_true")
    add_json_argument(
        create,
        "--filter",
        action="append",
        default=[],
        metavar="PATTERN",
        help="an event pattern (JSON inline, @file or -); up to 5",
    )
    create.add_argument("--disabled", action="store_true", help="create it disabled")

    listing = add_command(verbs, "list", run_list, "list mappings as JSON lines")
    listing.add_argument("--function")
    listing.add_argument("--source")

    for name, run, text in (
        ("get", run_get, "print a mapping"),
        ("enable", run_enable, "resume a mapping"),
        ("disable", run_disable, "pause a mapping"),
        ("stats", run_stats, "print a mapping's counts"),
        ("delete", run_delete, "delete a mapping"),
    ):
        add_command(verbs, name, run, text).add_argument("id")


def _mapping(client: Client, mapping_id: str) -> EventSourceMapping:
    return EventSourceMapping(client, {"id": mapping_id})


def run_create(client: Client, args: argparse.Namespace) -> int:
    filters = [json_argument(text, "--filter") for text in args.filter]
    mapping = client.create_event_source_mapping(
        args.source,
        args.function,
        batch_size=args.batch_size,
        batching_window_s=args.batching_window_s,
        max_concurrency=args.max_concurrency,
        report_batch_item_failures=args.report_batch_item_failures,
        filter_criteria=filters or None,
        enabled=not args.disabled,
    )
    print_json(mapping.config)
    return EXIT_OK


def run_list(client: Client, args: argparse.Namespace) -> int:
    for mapping in client.list_event_source_mappings(args.function, args.source):
        print_json(mapping.config)
    return EXIT_OK


def run_get(client: Client, args: argparse.Namespace) -> int:
    print_json(client.event_source_mapping(args.id).config)
    return EXIT_OK


def run_enable(client: Client, args: argparse.Namespace) -> int:
    mapping = _mapping(client, args.id)
    mapping.enable()
    print_json(mapping.config)
    return EXIT_OK


def run_disable(client: Client, args: argparse.Namespace) -> int:
    mapping = _mapping(client, args.id)
    mapping.disable()
    print_json(mapping.config)
    return EXIT_OK


def run_stats(client: Client, args: argparse.Namespace) -> int:
    print_json(_mapping(client, args.id).stats())
    return EXIT_OK


def run_delete(client: Client, args: argparse.Namespace) -> int:
    _mapping(client, args.id).delete()
    return EXIT_OK
