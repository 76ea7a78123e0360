"""``raybus bucket``: administer buckets and move objects in and out of them (via the SDK).

    raybus bucket create photos [--region R] [--versioning Enabled]
    raybus bucket list [--prefix P]               # one name per line
    raybus bucket describe photos                 # {"bucket": {...}, "stats": {...}}
    raybus bucket put photos 2024/cat.jpg ./cat.jpg [--content-type T] [--metadata K=V ...]
    raybus bucket put photos notes.txt -          # the object is stdin
    raybus bucket get photos 2024/cat.jpg ./copy.jpg [--version-id V]
    raybus bucket get photos notes.txt -          # the object goes to stdout
    raybus bucket ls photos [--prefix 2024/] [--delimiter /]   # one JSON line per key or prefix
    raybus bucket rm photos 2024/cat.jpg [--version-id V]
    raybus bucket delete photos

Bodies stream: ``put`` reads the file (or stdin) as it sends it, ``get`` writes the file (or
stdout) as the bytes arrive, so objects of any size pass through little memory; a file's
content type is guessed from its name unless ``--content-type`` is given. Output, options and
exit codes as ``raybus queue``: JSON out, ``--url``/``--token`` before or after the command,
``error: <code>: <message>`` on stderr and exit 2 on any error.
"""

from __future__ import annotations

import argparse
import dataclasses
import mimetypes
import sys
from typing import Any

from raybus.cli._common import (
    EXIT_OK,
    UsageError,
    add_command,
    connection_options,
    print_json,
)
from raybus.sdk import Client
from raybus.sdk.buckets import CommonPrefix

__all__ = ["register"]

STDIO = "-"


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "bucket",
        help="create buckets and put, get, list and remove objects",
        description="Administer buckets and their objects through a raybus gateway.",
    )
    connection_options(parser)
    verbs = parser.add_subparsers(dest="bucket_verb", metavar="COMMAND", required=True)

    create = add_command(verbs, "create", run_create, "create a bucket")
    create.add_argument("name")
    create.add_argument("--region", help="its LocationConstraint (kept, not enforced)")
    create.add_argument("--versioning", choices=("Enabled", "Suspended"))

    listing = add_command(verbs, "list", run_list, "list bucket names")
    listing.add_argument("--prefix")

    for name, run, text in (
        ("describe", run_describe, "print a bucket's settings and counts"),
        ("delete", run_delete, "delete an empty bucket"),
    ):
        add_command(verbs, name, run, text).add_argument("name")

    put = add_command(verbs, "put", run_put, "store a file (or stdin) as an object")
    put.add_argument("name", help="the bucket")
    put.add_argument("key")
    put.add_argument("file", help="the file to send, or - for stdin")
    put.add_argument("--content-type", help="default: guessed from the file's name")
    put.add_argument("--metadata", action="append", default=[], metavar="NAME=VALUE")
    put.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE")

    get = add_command(verbs, "get", run_get, "write an object to a file (or stdout)")
    get.add_argument("name", help="the bucket")
    get.add_argument("key")
    get.add_argument("file", help="the file to write, or - for stdout")
    get.add_argument("--version-id")

    ls = add_command(verbs, "ls", run_ls, "list a bucket's keys (every page)")
    ls.add_argument("name", help="the bucket")
    ls.add_argument("--prefix", default="")
    ls.add_argument("--delimiter", default="", help="roll keys up into common prefixes")

    rm = add_command(verbs, "rm", run_rm, "delete an object (or one version of it)")
    rm.add_argument("name", help="the bucket")
    rm.add_argument("key")
    rm.add_argument("--version-id")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"{option} {item!r} is not NAME=VALUE")
        pairs[name] = value
    return pairs


def run_create(client: Client, args: argparse.Namespace) -> int:
    bucket = client.bucket(args.name).create(region=args.region, versioning=args.versioning)
    print_json(bucket.config)
    return EXIT_OK


def run_list(client: Client, args: argparse.Namespace) -> int:
    for bucket in client.buckets(args.prefix):
        print(bucket.name)
    return EXIT_OK


def run_describe(client: Client, args: argparse.Namespace) -> int:
    described = client.bucket(args.name).describe()
    print_json({"bucket": described.config, "stats": described.stats})
    return EXIT_OK


def run_delete(client: Client, args: argparse.Namespace) -> int:
    client.bucket(args.name).delete()
    return EXIT_OK


def run_put(client: Client, args: argparse.Namespace) -> int:
    metadata = _pairs(args.metadata, "--metadata")
    tags = _pairs(args.tag, "--tag")
    bucket = client.bucket(args.name)
    if args.file == STDIO:
        result = bucket.put(args.key, sys.stdin.buffer, content_type=args.content_type,
                            metadata=metadata, tags=tags)  # fmt: skip
    else:
        content_type = args.content_type or mimetypes.guess_type(args.file)[0]
        try:
            with open(args.file, "rb") as file:
                result = bucket.put(args.key, file, content_type=content_type,
                                    metadata=metadata, tags=tags)  # fmt: skip
        except OSError as exc:
            raise UsageError(f"cannot read {args.file!r}: {exc.strerror}") from exc
    print_json(dataclasses.asdict(result))
    return EXIT_OK


def run_get(client: Client, args: argparse.Namespace) -> int:
    bucket = client.bucket(args.name)
    if args.file == STDIO:
        out = sys.stdout.buffer
        for chunk in bucket.stream(args.key, version_id=args.version_id):
            out.write(chunk)
        out.flush()
        return EXIT_OK
    try:
        info = bucket.download(args.key, args.file, version_id=args.version_id)
    except OSError as exc:
        raise UsageError(f"cannot write {args.file!r}: {exc.strerror}") from exc
    print_json(dataclasses.asdict(info))
    return EXIT_OK


def run_ls(client: Client, args: argparse.Namespace) -> int:
    for item in client.bucket(args.name).list(args.prefix, args.delimiter):
        if isinstance(item, CommonPrefix):
            print_json({"prefix": item.prefix})
        else:
            print_json(dataclasses.asdict(item))
    return EXIT_OK


def run_rm(client: Client, args: argparse.Namespace) -> int:
    result = client.bucket(args.name).delete_object(args.key, version_id=args.version_id)
    print_json(dataclasses.asdict(result))
    return EXIT_OK
