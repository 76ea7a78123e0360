"""``raybus queue``: administer queues and move messages from the command line (via the SDK).

    raybus queue create orders --visibility-timeout-s 60 \\
        --dead-letter-queue orders-dlq --max-receive-count 5
    raybus queue list [--prefix PREFIX] [--limit N]
    raybus queue get orders                  # settings as JSON
    raybus queue stats orders                # visible / in_flight / delayed ... as JSON
    raybus queue send orders 'hello' --attribute kind=greeting --attribute n:Number=3
    printf 'a\\nb\\n' | raybus queue send orders -      # one message per non-empty line
    raybus queue send orders - --binary < lines.bin     # each line's bytes, not decoded
    raybus queue receive orders --max 10 --wait-s 5 --delete
    raybus queue purge orders
    raybus queue delete orders

``--url`` (default ``$RAYBUS_URL``, else ``http://127.0.0.1:8000``) and ``--token`` (default
``$RAYBUS_TOKEN``) go before or after the command. ``send`` and ``receive`` print one JSON
object per line; ``create``, ``get`` and ``stats`` print one JSON object.

``send -`` reads all of stdin before it sends anything. Lines end at ``\\n`` (a trailing
``\\r`` is dropped) and empty lines are skipped. Without ``--binary`` stdin must be UTF-8: a
line that is not is an error naming it, and then nothing is sent. With ``--binary`` each line
is sent as its bytes (received again, such a body prints as ``body_base64``).

Exit codes: 0 success; 2 on any error (printed to stderr as ``error: <code>: <message>``;
for a ``send -`` or ``receive --delete`` whose entries partly fail, after the others are done).
"""

from __future__ import annotations

import argparse
import base64
from itertools import islice
from typing import Any

from raybus.cli._common import (
    EXIT_ERROR,
    EXIT_OK,
    UsageError,
    add_command,
    connection_options,
    make_client,
    parse_attribute,
    print_json,
    report,
)
from raybus.cli._text import find_undecodable, read_stdin, stdin_lines
from raybus.core import RaybusError
from raybus.sdk import Client, Message, Queue, SendResult

__all__ = ["EXIT_ERROR", "EXIT_OK", "make_client", "register"]


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "queue",
        help="create, inspect and use queues",
        description="Administer queues and send/receive messages through a raybus gateway.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="queue_verb", metavar="COMMAND", required=True)

    def command(name: str, run: Any, help: str) -> argparse.ArgumentParser:
        return add_command(verbs, name, run, help)

    create = command("create", run_create, "create a queue (idempotent with equal settings)")
    create.add_argument("name")
    create.add_argument(
        "--fifo", action="store_true", default=None, help="FIFO (default: name ends in .fifo)"
    )
    for option in (
        "visibility-timeout-s",
        "delay-s",
        "retention-s",
        "max-message-bytes",
        "receive-wait-s",
        "partitions",
    ):
        create.add_argument(f"--{option}", type=int, metavar="N")
    create.add_argument("--dead-letter-queue", metavar="QUEUE")
    create.add_argument("--max-receive-count", type=int, metavar="N")
    create.add_argument("--content-based-dedup", action="store_true", default=None)
    create.add_argument("--dedup-scope", choices=("queue", "messageGroup"))
    create.add_argument("--throughput-limit", choices=("perQueue", "perMessageGroupId"))

    listing = command("list", run_list, "list queue names")
    listing.add_argument("--prefix")
    listing.add_argument("--limit", type=int, metavar="N")

    for name, run, text in (
        ("get", run_get, "print a queue's settings"),
        ("stats", run_stats, "print a queue's approximate counts"),
        ("purge", run_purge, "delete every message of a queue"),
        ("delete", run_delete, "delete a queue and its messages"),
    ):
        command(name, run, text).add_argument("name")

    send = command("send", run_send, "send a message (or one per stdin line with -)")
    send.add_argument("name")
    send.add_argument("body", help="the message body, or - to send each stdin line")
    send.add_argument("--group-id")
    send.add_argument("--dedup-id")
    send.add_argument("--delay-s", type=int, metavar="N")
    send.add_argument(
        "--attribute",
        action="append",
        default=[],
        metavar="NAME[:TYPE]=VALUE",
        help="message attribute; TYPE String (default), Number or Binary (base64 value), "
        "optionally with a label (Number.int)",
    )
    send.add_argument(
        "--batch-size", type=int, default=100, metavar="N", help="stdin lines per request"
    )
    send.add_argument(
        "--binary",
        action="store_true",
        help="with -, send each line's bytes as they are (default: lines must be UTF-8)",
    )

    receive = command("receive", run_receive, "receive messages and print them as JSON lines")
    receive.add_argument("name")
    receive.add_argument("--max", type=int, default=1, metavar="N", help="1-1000 (default 1)")
    receive.add_argument("--wait-s", type=int, metavar="N", help="long poll (default: queue's)")
    receive.add_argument("--visibility-timeout-s", type=int, metavar="N")
    receive.add_argument("--delete", action="store_true", help="delete what was printed")


# -- running ----------------------------------------------------------------------------------


def run_create(client: Client, args: argparse.Namespace) -> int:
    names = (
        "fifo",
        "visibility_timeout_s",
        "delay_s",
        "retention_s",
        "max_message_bytes",
        "receive_wait_s",
        "partitions",
        "dead_letter_queue",
        "max_receive_count",
        "content_based_dedup",
        "dedup_scope",
        "throughput_limit",
    )
    settings = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    queue = client.create_queue(args.name, **settings)
    print_json(queue.config)
    return EXIT_OK


def run_list(client: Client, args: argparse.Namespace) -> int:
    for name in client.list_queues(args.prefix, limit=args.limit):
        print(name)
    return EXIT_OK


def run_get(client: Client, args: argparse.Namespace) -> int:
    print_json(client.queue(args.name).config)
    return EXIT_OK


def run_stats(client: Client, args: argparse.Namespace) -> int:
    print_json(Queue(client, {"name": args.name}).stats())
    return EXIT_OK


def run_purge(client: Client, args: argparse.Namespace) -> int:
    Queue(client, {"name": args.name}).purge()
    return EXIT_OK


def run_delete(client: Client, args: argparse.Namespace) -> int:
    client.delete_queue(args.name)
    return EXIT_OK


def _send_result(result: SendResult) -> dict[str, Any]:
    out: dict[str, Any] = {"message_id": result.message_id, "md5_of_body": result.md5_of_body}
    if result.sequence_number is not None:
        out["sequence_number"] = result.sequence_number
    return out


def run_send(client: Client, args: argparse.Namespace) -> int:
    queue = Queue(client, {"name": args.name})
    attributes = dict(parse_attribute(text) for text in args.attribute)
    options: dict[str, Any] = {
        "attributes": attributes or None,
        "delay_s": args.delay_s,
        "group_id": args.group_id,
        "dedup_id": args.dedup_id,
    }
    if args.body != "-":
        if args.binary:
            raise UsageError("--binary applies to stdin lines (a body of -)")
        print_json(_send_result(queue.send(args.body, **options)))
        return EXIT_OK
    if args.dedup_id is not None:
        raise UsageError("--dedup-id names one message; with - use content-based deduplication")
    if args.batch_size < 1:
        raise UsageError("--batch-size is at least 1")
    options = {key: value for key, value in options.items() if value is not None}
    data = read_stdin()
    bad = None if args.binary else find_undecodable(data)
    if bad is not None:
        raise UsageError(
            f"stdin line {bad.line} is not valid UTF-8 (byte 0x{bad.byte:02x} at column "
            f"{bad.column}); nothing was sent (--binary sends each line's bytes as they are)"
        )
    status = EXIT_OK
    lines = stdin_lines(data)  # UTF-8 checked (or --binary): sent as the bytes they are
    while batch := list(islice(lines, args.batch_size)):
        for result in queue.send_batch([{"body": line, **options} for line in batch]):
            if isinstance(result, RaybusError):
                report(result.code, result.message)
                status = EXIT_ERROR
            else:
                print_json(_send_result(result))
    return status


def message_json(message: Message) -> dict[str, Any]:
    """A received message in the HTTP API's JSON form (binary as base64)."""
    out: dict[str, Any] = {"message_id": message.message_id, "receipt": message.receipt}
    try:
        out["body"] = message.text
    except UnicodeDecodeError:
        out["body_base64"] = base64.b64encode(message.body).decode("ascii")
    out["attributes"] = {
        name: [
            attribute.data_type,
            base64.b64encode(attribute.value).decode("ascii")
            if isinstance(attribute.value, bytes)
            else attribute.value,
        ]
        for name, attribute in message.typed_attributes.items()
    }
    out.update(
        md5_of_body=message.md5_of_body,
        sent_ms=message.sent_ms,
        receive_count=message.receive_count,
        first_receive_ms=message.first_receive_ms,
        group_id=message.group_id,
        dedup_id=message.dedup_id,
        sequence_number=message.sequence_number,
    )
    return out


def run_receive(client: Client, args: argparse.Namespace) -> int:
    queue = Queue(client, {"name": args.name})
    messages = queue.receive(
        args.max, wait_s=args.wait_s, visibility_timeout_s=args.visibility_timeout_s
    )
    for message in messages:
        print_json(message_json(message))
    status = EXIT_OK
    if args.delete and messages:
        for result in queue.delete_batch(messages):
            if result is not None:
                report(result.code, result.message)
                status = EXIT_ERROR
    return status
