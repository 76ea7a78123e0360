"""``raybus bus``: administer event buses, their rules and targets, and put events (via the SDK).

    raybus bus create orders [--description TEXT]
    raybus bus list [--prefix PREFIX] [--limit N]
    raybus bus get orders                        # {"bus": {...}, "rules": [...]}
    raybus bus stats orders
    raybus bus put-event orders --source shop --detail-type 'order placed' --detail '{"total": 3}'
    raybus bus put-rule orders big --pattern '{"detail": {"total": [{"numeric": [">", 100]}]}}'
    raybus bus put-rule default hourly --schedule 'rate(1 hour)'
    raybus bus put-target orders big --id q --queue big-orders --input-path '$.detail'
    raybus bus remove-target orders big --id q
    raybus bus delete-rule orders big
    raybus bus test-pattern '{"source": ["shop"]}' @event.json
    raybus bus delete orders

Output, options and exit codes as ``raybus queue``: JSON out, ``--url``/``--token`` before or
after the command, ``error: <code>: <message>`` on stderr and exit 2 on any error. JSON
arguments are inline, ``@file`` or ``-`` (stdin).
"""

from __future__ import annotations

import argparse
from typing import Any

from raybus.cli._common import (
    EXIT_ERROR,
    EXIT_OK,
    UsageError,
    add_command,
    add_json_argument,
    connection_options,
    json_argument,
    print_json,
)
from raybus.sdk import Bus, Client

__all__ = ["register"]

_TARGET_KINDS = ("queue", "topic", "function", "bus", "api_destination")


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "bus",
        help="create event buses, route events with rules and put events",
        description="Administer event buses, rules and targets through a raybus gateway.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="bus_verb", metavar="COMMAND", required=True)

    create = add_command(verbs, "create", run_create, "create an event bus (idempotent)")
    create.add_argument("name")
    create.add_argument("--description")

    listing = add_command(verbs, "list", run_list, "list event bus names")
    listing.add_argument("--prefix")
    listing.add_argument("--limit", type=int, metavar="N")

    for name, run, text in (
        ("get", run_get, "print a bus's settings and rules"),
        ("stats", run_stats, "print a bus's counts per target"),
        ("delete", run_delete, "delete a custom bus, its rules and archives"),
    ):
        add_command(verbs, name, run, text).add_argument("name")

    put = add_command(verbs, "put-event", run_put_event, "put one event; prints its id")
    put.add_argument("name")
    put.add_argument("--source", required=True)
    put.add_argument("--detail-type", required=True)
    add_json_argument(put, "--detail", required=True, metavar="JSON", help="a JSON object")
    put.add_argument("--resource", action="append", default=[], metavar="ARN")

    rule = add_command(verbs, "put-rule", run_put_rule, "create or update a rule")
    rule.add_argument("name", help="the bus")
    rule.add_argument("rule")
    add_json_argument(rule, "--pattern", metavar="JSON", help="event pattern (inline, @file, -)")
    rule.add_argument("--schedule", help="rate(...) or cron(...), default bus only")
    rule.add_argument("--state", choices=("ENABLED", "DISABLED",
                      "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"))  # fmt: skip
    rule.add_argument("--description")

    delete_rule = add_command(verbs, "delete-rule", run_delete_rule, "delete a rule")
    delete_rule.add_argument("name", help="the bus")
    delete_rule.add_argument("rule")

    target = add_command(verbs, "put-target", run_put_target, "add or replace a rule's target")
    target.add_argument("name", help="the bus")
    target.add_argument("rule")
    target.add_argument("--id", required=True)
    where = target.add_mutually_exclusive_group(required=True)
    for kind in _TARGET_KINDS:
        where.add_argument(f"--{kind.replace('_', '-')}", metavar="NAME", dest=f"to_{kind}")
    target.add_argument("--input", metavar="JSON", help="a constant input (JSON text)")
    target.add_argument("--input-path", metavar="PATH", help="a JSON path into the event")
    target.add_argument("--message-group-id", help="for a FIFO queue")
    target.add_argument("--dead-letter-queue", metavar="QUEUE")
    target.add_argument("--max-retries", type=int, metavar="N", help="0-185 (default 185)")
    target.add_argument("--max-age", type=int, metavar="SECONDS", help="60-86400 (default)")

    remove = add_command(verbs, "remove-target", run_remove_target, "remove a rule's target")
    remove.add_argument("name", help="the bus")
    remove.add_argument("rule")
    remove.add_argument("--id", required=True, action="append", dest="ids")

    test = add_command(verbs, "test-pattern", run_test_pattern, "does a pattern match an event")
    add_json_argument(test, "pattern", help="the pattern (inline, @file or -)")
    add_json_argument(test, "event", help="the event (inline, @file or -)")


def _bus(client: Client, name: str) -> Bus:
    return Bus(client, {"name": name})


def run_create(client: Client, args: argparse.Namespace) -> int:
    print_json(client.create_bus(args.name, description=args.description).config)
    return EXIT_OK


def run_list(client: Client, args: argparse.Namespace) -> int:
    for name in client.list_buses(args.prefix, limit=args.limit):
        print(name)
    return EXIT_OK


def run_get(client: Client, args: argparse.Namespace) -> int:
    bus = client.bus(args.name)
    print_json({"bus": bus.config, "rules": bus.rules()})
    return EXIT_OK


def run_stats(client: Client, args: argparse.Namespace) -> int:
    print_json(_bus(client, args.name).stats())
    return EXIT_OK


def run_delete(client: Client, args: argparse.Namespace) -> int:
    client.delete_bus(args.name)
    return EXIT_OK


def run_put_event(client: Client, args: argparse.Namespace) -> int:
    detail = json_argument(args.detail, "--detail")
    if not isinstance(detail, dict):
        raise UsageError("--detail must be a JSON object")
    event_id = _bus(client, args.name).put_event(
        args.source, args.detail_type, detail, resources=args.resource
    )
    print_json({"event_id": event_id})
    return EXIT_OK


def run_put_rule(client: Client, args: argparse.Namespace) -> int:
    pattern = None if args.pattern is None else json_argument(args.pattern, "--pattern")
    if pattern is None and args.schedule is None and args.state is None:
        raise UsageError("give --pattern, --schedule or --state")
    rule = _bus(client, args.name).put_rule(
        args.rule,
        event_pattern=pattern,
        schedule_expression=args.schedule,
        state=args.state,
        description=args.description,
    )
    print_json(rule)
    return EXIT_OK


def run_delete_rule(client: Client, args: argparse.Namespace) -> int:
    _bus(client, args.name).delete_rule(args.rule)
    return EXIT_OK


def run_put_target(client: Client, args: argparse.Namespace) -> int:
    kind = next(k for k in _TARGET_KINDS if getattr(args, f"to_{k}") is not None)
    target: dict[str, Any] = {"id": args.id, "kind": kind, "name": getattr(args, f"to_{kind}")}
    for key in ("input", "input_path", "message_group_id", "dead_letter_queue"):
        if getattr(args, key) is not None:
            target[key] = getattr(args, key)
    policy = {}
    if args.max_retries is not None:
        policy["maximum_retry_attempts"] = args.max_retries
    if args.max_age is not None:
        policy["maximum_event_age_s"] = args.max_age
    if policy:
        target["retry_policy"] = policy
    failed = _bus(client, args.name).put_targets(args.rule, [target])
    print_json({"failed": failed})
    return EXIT_OK if not failed else EXIT_ERROR


def run_remove_target(client: Client, args: argparse.Namespace) -> int:
    _bus(client, args.name).remove_targets(args.rule, args.ids)
    return EXIT_OK


def run_test_pattern(client: Client, args: argparse.Namespace) -> int:
    pattern = json_argument(args.pattern, "pattern")
    event = json_argument(args.event, "event")
    print_json({"result": client.test_event_pattern(pattern, event)})
    return EXIT_OK
