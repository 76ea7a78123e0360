"""SNS's MessageStructure=json in the topic engine: the body is a JSON object of per-protocol
messages, checked at publish with SNS's errors, stored in the PUBLISH record, read back from
the log, and picked per subscription protocol (``Message.for_protocol``). Logs written before
the field existed still replay."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest

from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult, TopicConfig
from raybus.engines import Subscriber, TopicPartition
from raybus.engines.records import encode
from raybus.engines.topic.records import TopicRecordType, decode_topic_record
from raybus.storage import MemoryLog, PartitionLog

PARSE = "Invalid parameter: Message Structure - JSON message body failed to parse"
NO_DEFAULT = "Invalid parameter: Message Structure - No default entry in JSON message body"


def topic(log: PartitionLog | None = None, *, cache_bytes: int = 1 << 20) -> TopicPartition:
    t = TopicPartition(
        TopicConfig("t"), log if log is not None else MemoryLog(), tag=5, cache_bytes=cache_bytes
    )
    t.set_subscriptions(0, [Subscriber("s")])
    return t


def structured(body: Any) -> PublishEntry:
    return PublishEntry(body if isinstance(body, str) else json.dumps(body), structure="json")


def published(t: TopicPartition, *entries: PublishEntry) -> list[PublishResult]:
    results = t.publish(0, list(entries))
    for result in results:
        if isinstance(result, RaybusError):
            raise result
    return [r for r in results if isinstance(r, PublishResult)]


MESSAGES = {
    "default": "for everyone",
    "sqs": "for queues",
    "https": "for https",
    "lambda": 7,  # not a string: SNS ignores the key, so functions get the default
    "email": "ignored: raybus has no email endpoints",
}


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        ("sqs", "for queues"),
        ("https", "for https"),
        ("http", "for everyone"),
        ("lambda", "for everyone"),
    ],
)
def test_each_protocol_gets_its_message_or_the_default(protocol: str, expected: str) -> None:
    t = topic()
    published(t, structured(MESSAGES))
    (delivery,) = t.take(0, "s", 10)
    seen = delivery.message.for_protocol(protocol)
    assert seen.body == expected.encode()
    assert seen.bodies is None and seen.message_id == delivery.message.message_id
    assert json.loads(delivery.message.body) == MESSAGES  # the message as published


def test_a_plain_message_is_the_same_for_every_protocol() -> None:
    t = topic()
    published(t, PublishEntry('{"default": "not structured"}'))
    (delivery,) = t.take(0, "s", 10)
    assert delivery.message.bodies is None
    assert delivery.message.for_protocol("sqs") is delivery.message


INVALID = [
    ("not JSON", "{nope", PARSE),
    ("a JSON array", "[1, 2]", PARSE),
    ("a JSON string", '"default"', PARSE),
    ("a key given twice", '{"default": "a", "default": "b"}', PARSE),
    ("no default", '{"sqs": "only the queue"}', NO_DEFAULT),
    ("a default that is no string", '{"default": {"text": "x"}}', NO_DEFAULT),
    ("a null default", '{"default": null}', NO_DEFAULT),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_a_bad_structure_is_refused_with_sns_error_and_nothing_is_published(
    body: str, message: str
) -> None:
    log = MemoryLog()
    t = topic(log)
    before = (log.end_offset, t.next_seq)
    (error,) = t.publish(0, [structured(body)])
    assert isinstance(error, RaybusError)
    assert (error.code, error.message) == ("InvalidParameter", message)
    assert (log.end_offset, t.next_seq) == before
    assert t.take(0, "s", 10) == []


def test_a_protocol_message_must_be_text_sns_accepts() -> None:
    (error,) = topic().publish(0, [structured({"default": "ok", "sqs": "a\u0001b"})])
    assert isinstance(error, RaybusError) and error.code == "InvalidMessageContents"


def test_only_json_is_a_structure() -> None:
    entry = PublishEntry('{"default": "x"}', structure="xml")  # type: ignore[arg-type]
    (error,) = topic().publish(0, [entry])
    assert isinstance(error, RaybusError)
    assert (error.code, error.details.get("parameter")) == ("InvalidParameterValue", "structure")


def test_a_bad_entry_fails_alone_in_a_batch() -> None:
    t = topic()
    results = t.publish(0, [structured("{}"), structured({"default": "fine"}), PublishEntry("x")])
    assert isinstance(results[0], RaybusError)
    assert [type(r) for r in results[1:]] == [PublishResult, PublishResult]
    assert [d.message.for_protocol("sqs").body for d in t.take(0, "s", 10)] == [b"fine", b"x"]


def test_the_structure_is_in_the_record_and_read_back_from_the_log() -> None:
    log = MemoryLog()
    t = topic(log, cache_bytes=0)  # nothing cached: every delivery reads its record
    published(t, PublishEntry("plain"), structured({"default": "d", "sqs": "q"}))
    log.commit()
    records = [decode_topic_record(payload) for _, payload in log.scan(0)]
    publishes = [r for r in records if r[0] == TopicRecordType.PUBLISH]
    assert [len(r) for r in publishes] == [9, 10]  # a plain message's record is unchanged
    assert publishes[1][9] == "json"
    plain, rich = t.take(0, "s", 10)
    assert plain.message.bodies is None
    assert rich.message.bodies == {"default": b"d", "sqs": b"q"}


def recover(log: PartitionLog) -> TopicPartition:
    fresh = TopicPartition(TopicConfig("t"), log, tag=5, cache_bytes=0)
    for offset, payload in log.scan(0):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    fresh.set_subscriptions(0, [Subscriber("s")])
    return fresh


def test_a_structured_message_survives_recovery() -> None:
    log = MemoryLog()
    published(topic(log), structured({"default": "d", "lambda": "fn"}))
    log.commit()
    (delivery,) = recover(log).take(0, "s", 10)
    assert delivery.message.for_protocol("lambda").body == b"fn"
    assert delivery.message.for_protocol("sqs").body == b"d"


def test_a_log_written_before_structures_existed_still_recovers() -> None:
    """Records exactly as the engine wrote them before the structure field: SUBSCRIBE, then a
    PUBLISH of nine fields (one with attributes and a subject), then a SETTLE."""
    log = MemoryLog()
    attrs = [["k", "String", "v"]]
    log.append(
        [
            encode([TopicRecordType.SUBSCRIBE, 0, 1, "s", 1]),
            encode([TopicRecordType.PUBLISH, 1, 10, "id-1", b"old one", [], None, None, None]),
            encode([TopicRecordType.PUBLISH, 2, 11, "id-2", b"old two", attrs, "subj", None, None]),
            encode([TopicRecordType.SETTLE, 1, [1], []]),
        ]
    )
    log.commit()
    again = recover(log)
    assert again.next_seq == 3 and again.message_count == 1
    (delivery,) = again.take(0, "s", 10)
    message = delivery.message
    assert (message.message_id, message.body, message.subject) == ("id-2", b"old two", "subj")
    assert message.bodies is None and message.for_protocol("sqs") is message
    assert dict(message.attributes)["k"].value == "v"
    assert msgpack.unpackb(msgpack.packb(again.snapshot()))["next_seq"] == 3
