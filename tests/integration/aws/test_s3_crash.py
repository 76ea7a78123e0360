"""S3 under a real SIGKILL: threads stream PutObject calls (boto3; small bodies and some of a
few MiB) into a bucket whose ``s3:ObjectCreated:*`` notifications go to a queue, while the
process hosting one of the bucket's partitions is killed mid-stream. After it restarts:

- every acknowledged object reads back with exactly its bytes (ETag = MD5);
- every acknowledged object's notification reaches the queue (repeats allowed, losses not:
  notifications commit with the change and leave through the outbox);
- an object whose PUT was not acknowledged is absent or whole, never half there (its body is
  written as a blob before its record commits, and a PUT the dying host committed but never
  answered keeps its blob: only a commit the partition refused deletes it).

A second, slow test kills the host three times under many concurrent small PUTs to its
partition, so that a kill lands between a commit and its answer."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import boto3
import pytest
import ray
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from raybus.actors import CONTROLLER_NAME, NAMESPACE
from raybus.core.hashing import partition_for
from raybus.sdk import Client
from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY
from tests.integration.test_crash import wait_restarted
from tests.integration.test_semantics import wait_for

MiB = 1 << 20
BIG_EVERY = 8  # in the mixed load every 8th object is a few MiB, the rest a few KiB
KILLED = 0  # the partition whose host is killed


def mixed_body(n: int) -> bytes:
    """Object ``n``'s bytes in the mixed load, the same on every call."""
    rng = random.Random(n)
    size = rng.randrange(2 * MiB, 4 * MiB) if n % BIG_EVERY == 0 else rng.randrange(1, 16_384)
    return rng.randbytes(size)


def small_body(n: int) -> bytes:
    rng = random.Random(-n - 1)
    return rng.randbytes(rng.randrange(1, 8192))


@dataclass
class Ledger:
    """What the putters tried, what is in flight and what S3 acknowledged, by object number;
    ``keys[n]`` and ``body(n)`` are object ``n``'s key and bytes."""

    keys: list[str]
    body: Callable[[int], bytes]
    lock: threading.Lock = field(default_factory=threading.Lock)
    tried: list[int] = field(default_factory=list)
    inflight: set[int] = field(default_factory=set)
    acked: dict[int, str] = field(default_factory=dict)  # → the ETag answered
    failed: dict[int, str] = field(default_factory=dict)  # → the error, for a failure's message

    def take(self) -> int:
        with self.lock:
            n = len(self.tried)
            self.tried.append(n)
            self.inflight.add(n)
            return n

    def settle(self, n: int, etag: str | None, error: str = "") -> None:
        with self.lock:
            self.inflight.discard(n)
            if etag is None:
                self.failed[n] = error
            else:
                self.acked[n] = etag

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def in_flight(self, wanted: Callable[[int], bool]) -> int:
        with self.lock:
            return sum(1 for n in self.inflight if wanted(n))

    def acked_since(self, first: int, wanted: Callable[[int], bool]) -> int:
        with self.lock:
            return sum(1 for n in self.acked if n >= first and wanted(n))

    def snapshot(self) -> tuple[list[int], dict[int, str], dict[int, str]]:
        with self.lock:
            return list(self.tried), dict(self.acked), dict(self.failed)


def bucket_hosts(bucket: str) -> list[str]:
    """The host of each of the bucket's partitions."""
    controller = ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)
    table: Any = ray.get(controller.routing.remote())
    return [p.host for p in table.route("bucket", bucket).partitions]


def put_stream(url: str, bucket: str, ledger: Ledger, stop: threading.Event) -> None:
    """PutObject one object after another over a client (a connection) of its own until
    ``stop``; one attempt each: a failed PUT is not retried, so an unacknowledged object is one
    the test can check."""
    s3 = boto3.session.Session(
        aws_access_key_id=AWS_ACCESS_KEY, aws_secret_access_key=AWS_SECRET_KEY, region_name=REGION
    ).client(
        "s3",
        endpoint_url=url,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )
    while not stop.is_set():
        n = ledger.take()
        if n >= len(ledger.keys):
            ledger.settle(n, None, "out of keys")
            return
        try:
            answer = s3.put_object(Bucket=bucket, Key=ledger.keys[n], Body=ledger.body(n))
        except ClientError as error:
            answered = error.response["Error"]
            ledger.settle(n, None, f"{answered.get('Code')}: {answered.get('Message')}")
            continue
        except BotoCoreError as error:
            ledger.settle(n, None, repr(error))
            continue
        ledger.settle(n, answer["ETag"])


@dataclass
class Putters:
    """``count`` threads running :func:`put_stream` for the duration of a ``with`` block."""

    url: str
    bucket: str
    ledger: Ledger
    count: int
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Putters:
        for _ in range(self.count):
            thread = threading.Thread(
                target=put_stream,
                args=(self.url, self.bucket, self.ledger, self.stopping),
                daemon=True,
            )
            thread.start()
            self.threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads)


def half_visible(s3: Any, bucket: str, ledger: Ledger, listed: set[str]) -> list[str]:
    """The unacknowledged objects that are there but not whole: each a line for a message.
    Every one of them must be absent (HEAD 404) or read back whole."""
    tried, acked, failed = ledger.snapshot()
    broken = []
    for n in tried:
        if n in acked or n >= len(ledger.keys):
            continue
        key, data = ledger.keys[n], ledger.body(n)
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 404
            assert key not in listed
            continue
        try:
            whole = s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
            problem = "other bytes"
        except (ClientError, BotoCoreError) as error:
            whole, problem = False, repr(error)[:120]
        if not whole or head["ContentLength"] != len(data):
            broken.append(f"{key} (HEAD {head['ContentLength']} bytes; GET: {problem}; the PUT "
                          f"answered {failed.get(n, '?')[:200]})")  # fmt: skip
    return broken


def listing(s3: Any, bucket: str) -> dict[str, Any]:
    return {
        o["Key"]: o
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }


def notified_keys(sqs: Any, client: Client, queue_url: str, wanted: set[str]) -> set[str]:
    """Drain the queue until it has told of every key in ``wanted``; the keys it told of."""
    seen: set[str] = set()

    def complete() -> bool:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        for message in messages:
            for record in json.loads(message["Body"]).get("Records", []):  # not s3:TestEvent
                assert record["eventName"] == "ObjectCreated:Put"
                seen.add(record["s3"]["object"]["key"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and not wanted <= seen:
            client.advance_clock(30)  # notes whose delivery failed during the restart retry
        return wanted <= seen

    wait_for(complete, timeout_s=120)
    return seen


@pytest.fixture
def bucket(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50].rstrip("-")


def test_acknowledged_objects_and_their_notifications_survive_a_sigkill(
    aws: Callable[[str], Any], client: Client, bucket: str, url: str
) -> None:
    s3, sqs = aws("s3"), aws("sqs")
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=f"{bucket}-created")["QueueUrl"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{bucket}-created",
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
    )
    hosts = bucket_hosts(bucket)
    assert len(hosts) == 2  # one partition per host: the load reaches both, one is killed
    victim: dict[str, Any] = dict({h["name"]: h for h in client.health()["hosts"]}[hosts[KILLED]])
    keys = [f"load/{n:05d}" for n in range(100_000)]

    def on_killed(n: int) -> bool:
        return partition_for(keys[n], len(hosts)) == KILLED

    ledger = Ledger(keys, mixed_body)
    with Putters(url, bucket, ledger, 3):
        # killed while a multi-MiB body for the killed partition is on its way
        wait_for(
            lambda: (
                ledger.count() >= 40
                and ledger.in_flight(lambda n: on_killed(n) and n % BIG_EVERY == 0) > 0
            ),
            timeout_s=60,
        )
        os.kill(victim["pid"], signal.SIGKILL)
        tried_at_kill = len(ledger.snapshot()[0])
        acked_at_kill = ledger.count()

        wait_restarted(client, victim)
        # more load, some of it taken by the restarted partition
        wait_for(
            lambda: (
                ledger.count() >= acked_at_kill + 40
                and ledger.acked_since(tried_at_kill, on_killed) >= 5
            ),
            timeout_s=60,
        )
    tried, acked, _ = ledger.snapshot()
    assert any(on_killed(n) for n in acked if n < tried_at_kill)
    assert any(n % BIG_EVERY == 0 for n in acked)

    for n, etag in acked.items():
        data = mixed_body(n)
        assert etag == f'"{hashlib.md5(data).hexdigest()}"'
        got = s3.get_object(Bucket=bucket, Key=keys[n])
        assert got["ETag"] == etag, f"{keys[n]}: another version answers"
        assert got["Body"].read() == data, f"{keys[n]}: acknowledged bytes differ"
    listed = listing(s3, bucket)
    assert {keys[n] for n in acked} <= set(listed)
    assert set(listed) <= {keys[n] for n in tried}

    wanted = {keys[n] for n in acked}
    seen = notified_keys(sqs, client, queue_url, wanted)
    assert not wanted - seen, f"lost the notifications of {sorted(wanted - seen)}"
    assert seen <= {keys[n] for n in tried}

    broken = half_visible(s3, bucket, ledger, set(listed))
    assert not broken, f"half-visible after the kill: {broken}"


def _busy(ledger: Ledger) -> bool:
    """Enough acknowledged and most putters waiting for an answer."""
    return ledger.count() >= 30 and ledger.in_flight(lambda n: True) >= 14


@pytest.mark.slow  # three kills; the test above covers one in the default tier
def test_a_put_committed_but_not_answered_is_whole_after_a_sigkill(
    aws: Callable[[str], Any], client: Client, bucket: str, url: str
) -> None:
    """Many small PUTs to the killed partition at once, so that the kill often lands between a
    commit and its answer; up to three kills, stopping at the first half-visible object."""
    s3 = aws("s3")
    s3.create_bucket(Bucket=bucket)
    hosts = bucket_hosts(bucket)
    for cycle in range(3):
        keys = [
            key
            for key in (f"c{cycle}/{i:05d}" for i in range(4_000))
            if partition_for(key, len(hosts)) == KILLED
        ]
        victim: dict[str, Any] = dict(
            {h["name"]: h for h in client.health()["hosts"]}[hosts[KILLED]]
        )
        ledger = Ledger(keys, small_body)
        with Putters(url, bucket, ledger, 16):
            wait_for(partial(_busy, ledger), timeout_s=60)
            os.kill(victim["pid"], signal.SIGKILL)
        wait_restarted(client, victim)
        listed = listing(s3, bucket)
        _, acked, _ = ledger.snapshot()
        for n in acked:
            assert s3.get_object(Bucket=bucket, Key=keys[n])["Body"].read() == small_body(n)
        broken = half_visible(s3, bucket, ledger, set(listed))
        assert not broken, f"half-visible after kill {cycle + 1}: {broken}"
