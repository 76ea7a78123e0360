"""Publishing to a topic partition: SNS's validation, message ids, FIFO deduplication."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raybus.core import ManualClock
from raybus.core.attributes import validate_sqs_text
from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, PublishResult, TopicConfig
from raybus.engines import DEDUP_WINDOW_MS, Subscriber, TopicPartition, message_id_for
from raybus.engines.topic.records import text_is_valid
from raybus.storage import MemoryLog


def topic(name: str = "t", *, log: MemoryLog | None = None, **settings: Any) -> TopicPartition:
    config = TopicConfig(name, fifo=name.endswith(".fifo"), **settings)
    return TopicPartition(config, log if log is not None else MemoryLog(), tag=3)


def ok(results: list[PublishResult | RaybusError]) -> list[PublishResult]:
    for result in results:
        if isinstance(result, RaybusError):
            raise result
    return [r for r in results if isinstance(r, PublishResult)]


BIG = "x" * 262_144

INVALID = [
    ("empty body", PublishEntry(b""), "MissingParameter"),
    ("empty text body", PublishEntry(""), "MissingParameter"),
    ("body of another type", PublishEntry(42), "InvalidParameterValue"),  # type: ignore[arg-type]
    ("bytes that are not UTF-8", PublishEntry(b"\xff\xfe"), "InvalidMessageContents"),
    ("a control character in bytes", PublishEntry(b"a\x00b"), "InvalidMessageContents"),
    ("a control character in text", PublishEntry("a\x07b"), "InvalidMessageContents"),
    ("a lone surrogate", PublishEntry("a\ud800"), "InvalidMessageContents"),
    ("a body over 256 KiB", PublishEntry(BIG + "y"), "MessageTooLong"),
    (
        "body plus attributes over 256 KiB",
        PublishEntry(BIG[:-5], attributes={"k": ("String", "v")}),
        "MessageTooLong",
    ),
    (
        "eleven attributes",
        PublishEntry("b", attributes={f"a{i}": ("String", "v") for i in range(11)}),
        "InvalidParameterValue",
    ),
    ("a bad attribute name", PublishEntry("b", attributes={"a b": ("String", "v")}), None),
    ("an empty subject", PublishEntry("b", subject=""), "InvalidParameterValue"),
    ("a subject of 101 characters", PublishEntry("b", subject="s" * 101), "InvalidParameterValue"),
    ("a subject with a line break", PublishEntry("b", subject="a\nb"), "InvalidParameterValue"),
    ("a subject with non-ASCII", PublishEntry("b", subject="café"), "InvalidParameterValue"),
    ("a subject starting with a space", PublishEntry("b", subject=" a"), "InvalidParameterValue"),
    ("a dedup id on a standard topic", PublishEntry("b", dedup_id="d"), "InvalidParameterValue"),
    ("a malformed group id", PublishEntry("b", group_id="a b"), "InvalidParameterValue"),
]


@pytest.mark.parametrize(("case", "entry", "code"), INVALID, ids=[c[0] for c in INVALID])
def test_a_standard_topic_refuses(case: str, entry: PublishEntry, code: str | None) -> None:
    (result,) = topic().publish(0, [entry])
    assert isinstance(result, RaybusError)
    assert result.code == (code or "InvalidAttributeName")


VALID = [
    ("a body of exactly 256 KiB", PublishEntry(BIG)),
    ("UTF-8 bytes", PublishEntry("grüße ✓".encode())),
    ("text with tabs and line breaks", PublishEntry("a\tb\r\nc")),
    ("a subject of 100 characters", PublishEntry("b", subject="S" * 100)),
    ("a subject with punctuation and spaces", PublishEntry("b", subject="!Order 42: paid")),
    ("ten attributes", PublishEntry("b", attributes={f"a{i}": ("String", "v") for i in range(10)})),
    ("a group id on a standard topic", PublishEntry("b", group_id="g-1")),
]


@pytest.mark.parametrize(("case", "entry"), VALID, ids=[c[0] for c in VALID])
def test_a_standard_topic_accepts(case: str, entry: PublishEntry) -> None:
    (result,) = ok(topic().publish(0, [entry]))
    assert result.sequence_number is None and not result.duplicate


FIFO_INVALID = [
    ("no group id", PublishEntry("b", dedup_id="d"), "MissingParameter"),
    ("no dedup id without content-based dedup", PublishEntry("b", group_id="g"), None),
    ("a group id over 128 characters", PublishEntry("b", group_id="g" * 129, dedup_id="d"), None),
    ("a dedup id with a space", PublishEntry("b", group_id="g", dedup_id="d d"), None),
]


@pytest.mark.parametrize(("case", "entry", "code"), FIFO_INVALID, ids=[c[0] for c in FIFO_INVALID])
def test_a_fifo_topic_refuses(case: str, entry: PublishEntry, code: str | None) -> None:
    (result,) = topic("t.fifo").publish(0, [entry])
    assert isinstance(result, RaybusError)
    assert result.code == (code or "InvalidParameterValue")


def test_a_batch_reports_each_entry_and_only_valid_ones_take_a_seq() -> None:
    t = topic()
    t.set_subscriptions(0, [Subscriber("s")])
    first, bad, second = t.publish(0, [PublishEntry("a"), PublishEntry(""), PublishEntry("b")])
    assert isinstance(bad, RaybusError)
    assert isinstance(first, PublishResult) and isinstance(second, PublishResult)
    assert [first.message_id, second.message_id] == [message_id_for(3, 1), message_id_for(3, 2)]
    assert t.message_count == 2
    assert t.counters.published == 2 and t.counters.published_bytes == 2


def test_a_publish_appends_one_record_per_message_in_one_append() -> None:
    log = MemoryLog()
    t = topic(log=log)
    t.set_subscriptions(0, [Subscriber("s")])
    before = log.end_offset
    appends: list[int] = []
    original = log.append

    def counting(payloads: Any) -> list[int]:
        appends.append(len(payloads))
        return original(payloads)

    log.append = counting  # type: ignore[method-assign]
    t.publish(0, [PublishEntry(f"m{i}") for i in range(5)])
    assert appends == [5] and log.end_offset > before


def test_a_publish_without_subscribers_is_acknowledged_but_not_retained() -> None:
    t = topic()
    (result,) = ok(t.publish(0, [PublishEntry("lost on the floor")]))
    assert result.message_id == message_id_for(3, 1)
    assert t.message_count == 0 and t.live_offsets() == []
    t.set_subscriptions(0, [Subscriber("late")])
    assert t.take(0, "late", 10) == []  # a new subscriber gets only later publishes


def test_fifo_publishes_get_increasing_sequence_numbers() -> None:
    t = topic("t.fifo")
    results = ok(
        t.publish(0, [PublishEntry(f"m{i}", group_id="g", dedup_id=f"d{i}") for i in range(3)])
    )
    assert [r.sequence_number for r in results] == [f"{i:020d}" for i in (1, 2, 3)]


def test_a_fifo_duplicate_within_five_minutes_returns_the_original_and_appends_nothing(
    clock: ManualClock,
) -> None:
    log = MemoryLog()
    t = topic("t.fifo", log=log)
    (first,) = ok(t.publish(clock.now_ms(), [PublishEntry("a", group_id="g", dedup_id="d")]))
    end = log.end_offset
    clock.advance(DEDUP_WINDOW_MS / 1000 - 0.001)
    (again,) = ok(t.publish(clock.now_ms(), [PublishEntry("b", group_id="h", dedup_id="d")]))
    assert again == PublishResult(first.message_id, first.sequence_number, duplicate=True)
    assert log.end_offset == end and t.counters.duplicates == 1
    clock.advance(0.001)  # the window counts from the first publish
    (fresh,) = ok(t.publish(clock.now_ms(), [PublishEntry("c", group_id="g", dedup_id="d")]))
    assert not fresh.duplicate and fresh.message_id != first.message_id


def test_a_duplicate_inside_one_batch_is_caught() -> None:
    t = topic("t.fifo")
    results = ok(
        t.publish(
            0,
            [
                PublishEntry("a", group_id="g", dedup_id="d"),
                PublishEntry("b", group_id="g", dedup_id="d"),
            ],
        )
    )
    assert [r.duplicate for r in results] == [False, True]
    assert results[0].message_id == results[1].message_id


def test_content_based_dedup_hashes_the_body_and_an_explicit_id_wins() -> None:
    t = topic("t.fifo", content_based_dedup=True)
    a, same, other, explicit = ok(
        t.publish(
            0,
            [
                PublishEntry("body", group_id="g"),
                PublishEntry(b"body", group_id="h"),
                PublishEntry("other", group_id="g"),
                PublishEntry("body", group_id="g", dedup_id="x"),
            ],
        )
    )
    assert same.duplicate and same.message_id == a.message_id
    assert not other.duplicate and not explicit.duplicate


def test_the_message_a_subscriber_sees_carries_everything_published() -> None:
    t = topic("t.fifo")
    t.set_subscriptions(5, [Subscriber("s")])
    entry = PublishEntry(
        "héllo", attributes={"n": ("Number", "1")}, subject="Hi", group_id="g", dedup_id="d"
    )
    (result,) = ok(t.publish(7, [entry]))
    (delivery,) = t.take(7, "s", 10)
    message = delivery.message
    assert delivery.attempt == 1 and delivery.seq == message.seq == 1
    assert message.message_id == result.message_id
    assert message.body == "héllo".encode()
    assert message.attributes["n"] == ("Number", "1")
    assert (message.subject, message.group_id, message.dedup_id) == ("Hi", "g", "d")
    assert (message.sequence_number, message.published_ms) == (result.sequence_number, 7)


EDGE_CHARACTERS = "\x00\x08\t\n\x0b\x0c\r\x1f \x7f\x85\ud7ff\ue000\ufffd\ufffe\uffff\U00010000"


@given(
    st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(EDGE_CHARACTERS), max_size=12)
)
def test_the_fast_text_check_agrees_with_the_sqs_character_rule(text: str) -> None:
    try:
        validate_sqs_text(text, what="text")
    except RaybusError:
        assert not text_is_valid(text.encode())
    else:
        assert text_is_valid(text.encode())
