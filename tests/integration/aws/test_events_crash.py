"""Reliable bus delivery under a real SIGKILL: a rule routes a bus's events to three queues
while the process hosting one of the bus's partitions is killed in the middle of a stream of
PutEvents calls (boto3). After recovery every queue holds every acknowledged event (repeats
allowed, losses not)."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

import boto3
import ray
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from raybus.actors import CONTROLLER_NAME, NAMESPACE
from raybus.sdk import Client
from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY
from tests.integration.test_crash import wait_restarted
from tests.integration.test_semantics import wait_for


def _bus_host(bus: str) -> str:
    controller = ray.get_actor(CONTROLLER_NAME, namespace=NAMESPACE)
    table = ray.get(controller.routing.remote())
    host: str = table.route("bus", bus).partitions[0].host
    return host


def _drain_until(sqs: Any, client: Client, url: str, wanted: set[str]) -> set[str]:
    seen: set[str] = set()

    def complete() -> bool:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        for message in messages:
            seen.add(json.loads(message["Body"])["detail"]["n"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if not messages and not wanted <= seen:
            client.advance_clock(20)  # deliveries that failed during the restart are retried
        return wanted <= seen

    wait_for(complete, timeout_s=120)
    return seen


def test_every_acknowledged_event_reaches_every_target_across_a_sigkill(
    aws: Callable[[str], Any], client: Client, name: str, url: str
) -> None:
    events, sqs = aws("events"), aws("sqs")
    events.create_event_bus(Name=name)
    events.put_rule(Name="all", EventBusName=name, EventPattern=json.dumps({"source": ["load"]}))
    urls = []
    targets = []
    for i in range(3):
        urls.append(sqs.create_queue(QueueName=f"{name}-q{i}")["QueueUrl"])
        targets.append({"Id": f"q{i}", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-q{i}"})
    assert (
        events.put_targets(Rule="all", EventBusName=name, Targets=targets)["FailedEntryCount"] == 0
    )
    victim_name = _bus_host(name)
    victim = {h["name"]: h for h in client.health()["hosts"]}[victim_name]

    acked: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def putter() -> None:
        own = boto3.session.Session(
            aws_access_key_id=AWS_ACCESS_KEY,
            aws_secret_access_key=AWS_SECRET_KEY,
            region_name=REGION,
        ).client(
            "events",
            endpoint_url=url,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
        )
        for batch in range(100_000):
            if stop.is_set():
                return
            ns = [f"e-{batch}-{i}" for i in range(10)]
            entries = [
                {
                    "EventBusName": name,
                    "Source": "load",
                    "DetailType": "n",
                    "Detail": json.dumps({"n": n}),
                }
                for n in ns
            ]
            try:
                answer = own.put_events(Entries=entries)
            except (ClientError, BotoCoreError):
                continue
            with lock:
                acked.update(
                    n for n, e in zip(ns, answer["Entries"], strict=True) if "EventId" in e
                )

    thread = threading.Thread(target=putter)
    thread.start()
    try:
        wait_for(lambda: len(acked) >= 300, timeout_s=60)
        os.kill(victim["pid"], signal.SIGKILL)
        acked_at_kill = len(acked)

        wait_restarted(client, victim)
        wait_for(lambda: len(acked) >= acked_at_kill + 300, timeout_s=60)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()
    with lock:
        wanted = set(acked)
    for queue_url in urls:
        seen = _drain_until(sqs, client, queue_url, wanted)
        lost = wanted - seen
        assert not lost, f"{queue_url} lost {len(lost)} acknowledged events"
