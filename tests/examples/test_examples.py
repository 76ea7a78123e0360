"""The example handlers the docs register by import path answer the events raybus builds for
them: a direct payload, Lambda's SQS event and Lambda's SNS event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from raybus.core.attributes import Attribute
from raybus.engines.queue.messages import ReceivedMessage
from raybus.examples import echo, resize
from raybus.functions import sns_event, sqs_event


def _received(body: str) -> ReceivedMessage:
    return ReceivedMessage("id", "receipt", body.encode(), "md5", {}, "", 1, 1, 1)


@dataclass(frozen=True)
class _Published:
    body: bytes
    message_id: str = "m-1"
    attributes: Mapping[str, Attribute] = field(default_factory=dict)
    subject: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None
    published_ms: int = 0


@pytest.mark.parametrize(
    ("event", "keys"),
    [
        ({"key": "a.png"}, ["a.png"]),
        (
            sqs_event("images", [_received("a.png"), _received('{"key": "b.png"}')]),
            ["a.png", "b.png"],
        ),
        (
            sns_event("alerts", "sub-1", [_Published(b'{"kind": "image", "key": "c.png"}')]),
            ["c.png"],
        ),
        ({"Records": []}, []),
        ({"unrelated": 1}, []),
        ([1, 2], []),
    ],
)
def test_resize_answers_the_keys_it_finds_in_any_event(event: Any, keys: list[str]) -> None:
    assert resize(event, None) == {"resized": keys}


def test_echo_answers_its_event() -> None:
    assert echo({"n": 1}, None) == {"n": 1}
