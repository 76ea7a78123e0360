"""``raybus topic``: administer topics and their subscriptions, and publish (via the SDK).

    raybus topic create alerts [--fifo] [--content-based-dedup] [--dedup-scope topic|messageGroup]
                               [--partitions N]
    raybus topic list [--prefix PREFIX] [--limit N]
    raybus topic get alerts                   # {"topic": {...}, "subscriptions": [...]}
    raybus topic stats alerts
    raybus topic publish alerts 'hello' --subject greeting --attribute kind=greeting
    printf 'a\\nb\\n' | raybus topic publish alerts -    # one message per non-empty line (UTF-8)
    raybus topic subscribe alerts queue:orders --raw --filter-policy '{"kind": ["order"]}'
    raybus topic subscribe alerts resize                 # a function
    raybus topic subscribe alerts https://example.com/hook
    raybus topic unsubscribe SUBSCRIPTION_ID
    raybus topic delete alerts

Output, options and exit codes as ``raybus queue``: JSON out, ``--url``/``--token`` before or
after the command, ``error: <code>: <message>`` on stderr and exit 2 on any error.
``publish -`` reads stdin as ``raybus queue send -`` does; a topic message is text, so a line
that is not UTF-8 is an error naming it, and then nothing is published.
"""

from __future__ import annotations

import argparse
from itertools import islice
from typing import Any

from raybus.cli._common import (
    EXIT_ERROR,
    EXIT_OK,
    UsageError,
    add_command,
    add_json_argument,
    connection_options,
    json_argument,
    parse_attribute,
    print_json,
    report,
)
from raybus.cli._text import find_undecodable, read_stdin, stdin_lines
from raybus.core import RaybusError
from raybus.sdk import Client, PublishResult, Subscription, Topic

__all__ = ["register"]

STDIN_LINES_PER_CALL = 100  # the SDK sends them as requests of 10, SNS's batch limit


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "topic",
        help="create topics, subscribe to them and publish",
        description="Administer topics and subscriptions and publish through a raybus gateway.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="topic_verb", metavar="COMMAND", required=True)

    create = add_command(verbs, "create", run_create, "create a topic (idempotent)")
    create.add_argument("name")
    create.add_argument(
        "--fifo", action="store_true", default=None, help="FIFO (default: name ends in .fifo)"
    )
    create.add_argument("--content-based-dedup", action="store_true")
    create.add_argument(
        "--dedup-scope",
        choices=("topic", "messageGroup"),
        default="topic",
        help="FIFO: deduplicate topic-wide (one partition) or per message group",
    )
    create.add_argument(
        "--partitions", type=int, default=None, help="partitions (default: one per host)"
    )

    listing = add_command(verbs, "list", run_list, "list topic names")
    listing.add_argument("--prefix")
    listing.add_argument("--limit", type=int, metavar="N")

    for name, run, text in (
        ("get", run_get, "print a topic's settings and subscriptions"),
        ("stats", run_stats, "print a topic's delivery counts per subscription"),
        ("delete", run_delete, "delete a topic and its subscriptions"),
    ):
        add_command(verbs, name, run, text).add_argument("name")

    publish = add_command(verbs, "publish", run_publish, "publish a message (or stdin lines)")
    publish.add_argument("name")
    publish.add_argument("body", help="the message, or - to publish each stdin line")
    publish.add_argument("--subject")
    publish.add_argument("--group-id")
    publish.add_argument("--dedup-id")
    publish.add_argument(
        "--structure",
        choices=["json"],
        help="json: the body is a JSON object of one message per protocol with a default "
        "(SNS's MessageStructure)",
    )
    publish.add_argument(
        "--attribute",
        action="append",
        default=[],
        metavar="NAME[:TYPE]=VALUE",
        help="message attribute; TYPE String (default), Number or Binary (base64 value)",
    )

    subscribe = add_command(verbs, "subscribe", run_subscribe, "subscribe an endpoint")
    subscribe.add_argument("name")
    subscribe.add_argument(
        "target", help="queue:<name>, function:<name> or a function name, or an http(s):// URL"
    )
    subscribe.add_argument("--raw", action="store_true", help="deliver without the envelope")
    add_json_argument(subscribe, "--filter-policy", metavar="JSON", help="inline, @file or -")
    subscribe.add_argument(
        "--filter-policy-scope",
        choices=("MessageAttributes", "MessageBody"),
        default="MessageAttributes",
    )
    subscribe.add_argument("--dead-letter-queue", metavar="QUEUE")
    add_json_argument(
        subscribe,
        "--delivery-policy",
        metavar="JSON",
        help="HTTP(S) retry policy (inline, @file or -)",
    )

    unsubscribe = add_command(verbs, "unsubscribe", run_unsubscribe, "delete a subscription")
    unsubscribe.add_argument("subscription_id")


def _topic(client: Client, name: str) -> Topic:
    return Topic(client, {"name": name})


def run_create(client: Client, args: argparse.Namespace) -> int:
    topic = client.create_topic(
        args.name,
        fifo=args.fifo,
        content_based_dedup=args.content_based_dedup,
        dedup_scope=args.dedup_scope,
        partitions=args.partitions,
    )
    print_json(topic.config)
    return EXIT_OK


def run_list(client: Client, args: argparse.Namespace) -> int:
    for name in client.list_topics(args.prefix, limit=args.limit):
        print(name)
    return EXIT_OK


def run_get(client: Client, args: argparse.Namespace) -> int:
    topic = client.topic(args.name)
    subscriptions = [s.config for s in topic.subscriptions()]
    print_json({"topic": topic.config, "subscriptions": subscriptions})
    return EXIT_OK


def run_stats(client: Client, args: argparse.Namespace) -> int:
    print_json(_topic(client, args.name).stats())
    return EXIT_OK


def run_delete(client: Client, args: argparse.Namespace) -> int:
    client.delete_topic(args.name)
    return EXIT_OK


def _result(result: PublishResult) -> dict[str, Any]:
    out: dict[str, Any] = {"message_id": result.message_id}
    if result.sequence_number is not None:
        out["sequence_number"] = result.sequence_number
    if result.duplicate:
        out["duplicate"] = True
    return out


def run_publish(client: Client, args: argparse.Namespace) -> int:
    topic = _topic(client, args.name)
    attributes = dict(parse_attribute(text) for text in args.attribute)
    options: dict[str, Any] = {
        "attributes": attributes or None,
        "subject": args.subject,
        "group_id": args.group_id,
        "dedup_id": args.dedup_id,
        "structure": args.structure,
    }
    if args.body != "-":
        print_json(_result(topic.publish(args.body, **options)))
        return EXIT_OK
    if args.dedup_id is not None:
        raise UsageError("--dedup-id names one message; with - use content-based deduplication")
    options = {key: value for key, value in options.items() if value is not None}
    data = read_stdin()
    bad = find_undecodable(data)
    if bad is not None:
        raise UsageError(
            f"stdin line {bad.line} is not valid UTF-8 (byte 0x{bad.byte:02x} at column "
            f"{bad.column}); nothing was published (a topic message is text)"
        )
    status = EXIT_OK
    lines = stdin_lines(data)
    while batch := list(islice(lines, STDIN_LINES_PER_CALL)):
        for result in topic.publish_batch([{"body": line, **options} for line in batch]):
            if isinstance(result, RaybusError):
                report(result.code, result.message)
                status = EXIT_ERROR
            else:
                print_json(_result(result))
    return status


def run_subscribe(client: Client, args: argparse.Namespace) -> int:
    policy = None
    if args.filter_policy is not None:
        policy = json_argument(args.filter_policy, "--filter-policy")
    delivery = None
    if args.delivery_policy is not None:
        delivery = json_argument(args.delivery_policy, "--delivery-policy")
    subscription = _topic(client, args.name).subscribe(
        args.target,
        raw=args.raw,
        filter_policy=policy,
        filter_policy_scope=args.filter_policy_scope,
        dead_letter_queue=args.dead_letter_queue,
        delivery_policy=delivery,
    )
    print_json(subscription.config)
    return EXIT_OK


def run_unsubscribe(client: Client, args: argparse.Namespace) -> int:
    Subscription(client, {"id": args.subscription_id}).delete()
    return EXIT_OK
