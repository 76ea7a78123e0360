"""The wire encoding of the native API (raybus.gateway.codec), without sockets or Ray.

The codec decides the encoding of a request, parses its body into a map, turns send requests
into engine entries (refusing fields only transfers may set) and applies the limits that belong
to a whole request; these tests pin each rule to docs/http-api.md.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import msgpack
import pytest

from raybus.core.attributes import Attribute
from raybus.core.errors import RaybusError
from raybus.engines import ReceivedMessage, SendEntry, SendResult
from raybus.gateway.codec import JSON, MSGPACK, Codec, error_body
from raybus.gateway.queue_wire import (
    MAX_BATCH,
    MAX_BATCH_BYTES,
    entries_from_wire,
    entry_from_wire,
    message_to_wire,
    result_to_wire,
)

# -- choosing the encoding ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "accept", "json_wanted"),
    [
        (MSGPACK, None, False),
        ("application/msgpack; charset=binary", None, False),
        ("application/x-msgpack", None, False),
        (JSON, None, True),
        ("application/json; charset=utf-8", MSGPACK, True),  # the body's type wins
        (None, MSGPACK, False),
        (None, "application/json, application/msgpack;q=0.5", False),
        (None, JSON, True),
        (None, None, True),
        ("", None, True),
    ],
)
def test_the_encoding_follows_the_content_type_else_the_accept_header(
    content_type: str | None, accept: str | None, json_wanted: bool
) -> None:
    codec = Codec.for_request(content_type, accept)
    assert codec.json is json_wanted
    assert codec.content_type == (JSON if json_wanted else MSGPACK)


# -- decoding bodies ---------------------------------------------------------------------------

PAYLOAD: dict[str, Any] = {"name": "orders", "visibility_timeout_s": 45, "nested": {"a": [1, 2]}}


@pytest.mark.parametrize("use_json", [True, False], ids=["json", "msgpack"])
def test_a_body_round_trips_through_encode_and_decode(use_json: bool) -> None:
    codec = Codec(json=use_json)
    assert codec.decode(codec.encode(PAYLOAD)) == PAYLOAD


@pytest.mark.parametrize("use_json", [True, False], ids=["json", "msgpack"])
def test_an_empty_body_is_an_empty_map(use_json: bool) -> None:
    assert Codec(json=use_json).decode(b"") == {}


def test_msgpack_bodies_come_back_as_bin_and_json_bodies_as_text() -> None:
    assert msgpack.unpackb(Codec(json=False).encode({"body": b"\x00\xff"})) == {"body": b"\x00\xff"}
    assert json.loads(Codec(json=True).encode({"body": "h\u00e9"})) == {"body": "h\u00e9"}


MALFORMED: list[tuple[str, bool, bytes]] = [
    ("json-garbage", True, b"{not json"),
    ("json-truncated", True, b'{"name": "orders"'),
    ("json-invalid-utf8", True, b'{"name": "\xff\xfe"}'),
    ("json-trailing-data", True, b'{"name": "a"} {"name": "b"}'),
    ("json-msgpack-bytes", True, msgpack.packb({"name": "orders"})),
    ("msgpack-reserved-byte", False, b"\xc1"),
    ("msgpack-truncated-map", False, b"\x81\xa4na"),
    ("msgpack-huge-array-header", False, b"\xdd\xff\xff\xff\xff"),
    ("msgpack-int-map-key", False, b"\x81\x01\x02"),
    ("msgpack-invalid-utf8-str", False, b"\x81\xa4name\xa2\xff\xfe"),
    ("msgpack-json-text", False, b'{"name": "orders"}'),
    ("msgpack-deep-nesting", False, b"\x91" * 100_000 + b"\xc0"),
    ("json-deep-nesting", True, b"[" * 100_000 + b"]" * 100_000),
]


@pytest.mark.parametrize(
    ("use_json", "raw"), [(j, r) for _, j, r in MALFORMED], ids=[i for i, _, _ in MALFORMED]
)
def test_a_body_that_does_not_parse_is_malformed_request(use_json: bool, raw: bytes) -> None:
    with pytest.raises(RaybusError) as info:
        Codec(json=use_json).decode(raw)
    assert info.value.code == "MalformedRequest"
    assert info.value.http_status == 400


NOT_MAPS: list[Any] = [[1, 2], "orders", 7, None, True, 1.5]


@pytest.mark.parametrize("use_json", [True, False], ids=["json", "msgpack"])
@pytest.mark.parametrize("value", NOT_MAPS, ids=[type(v).__name__ for v in NOT_MAPS])
def test_a_body_that_is_not_a_map_is_malformed_request(use_json: bool, value: Any) -> None:
    raw = json.dumps(value).encode() if use_json else msgpack.packb(value)
    with pytest.raises(RaybusError) as info:
        Codec(json=use_json).decode(raw)
    assert info.value.code == "MalformedRequest"


# -- send entries ------------------------------------------------------------------------------


def _error(call: Any, *args: Any, **kwargs: Any) -> RaybusError:
    with pytest.raises(RaybusError) as info:
        call(*args, **kwargs)
    return info.value


def test_a_text_body_becomes_its_utf8_bytes_once() -> None:
    assert entry_from_wire({"body": "h\u00e9"}, json=False) == SendEntry(body=b"h\xc3\xa9")
    assert entry_from_wire({"body": b"\x00\xff"}, json=False) == SendEntry(body=b"\x00\xff")
    with pytest.raises(RaybusError) as refused:  # the boundary refuses it first; never a 500
        entry_from_wire({"body": "\ud800"}, json=True)
    assert refused.value.code == "InvalidParameterValue"
    with pytest.raises(RaybusError):  # a body that is neither text nor bytes: still refused
        entry_from_wire({"body": None}, json=False)


def test_an_entry_keeps_every_field_a_client_may_set() -> None:
    entry = entry_from_wire(
        {
            "body": "hello",
            "attributes": {"kind": ["String", "order"]},
            "delay_s": 5,
            "group_id": "g",
            "dedup_id": "d",
        },
        json=False,
    )
    assert entry == SendEntry(
        body=b"hello",  # text arrives as its UTF-8 bytes (what the engine stores)
        attributes={"kind": ["String", "order"]},
        delay_s=5,
        group_id="g",
        dedup_id="d",
    )


@pytest.mark.parametrize("use_json", [True, False], ids=["json", "msgpack"])
def test_body_base64_carries_binary_bodies(use_json: bool) -> None:
    raw = b"\x00\xff\x10"
    entry = entry_from_wire({"body_base64": base64.b64encode(raw).decode()}, json=use_json)
    assert entry.body == raw


def test_json_binary_attributes_are_base64_and_other_attributes_pass_through() -> None:
    entry = entry_from_wire(
        {
            "body": "x",
            "attributes": {
                "raw": ["Binary.gif", base64.b64encode(b"\x01\x02").decode()],
                "n": ["Number", "3"],
            },
        },
        json=True,
    )
    assert entry.attributes == {"raw": ["Binary.gif", b"\x01\x02"], "n": ["Number", "3"]}


def test_msgpack_binary_attributes_stay_bytes() -> None:
    entry = entry_from_wire({"body": "x", "attributes": {"raw": ["Binary", b"\x01"]}}, json=False)
    assert entry.attributes == {"raw": ["Binary", b"\x01"]}


BAD_ENTRIES: list[tuple[str, Any, str, str | None]] = [
    ("not-a-map", ["body", "x"], "InvalidParameterValue", None),
    (
        "transfer-message-id",
        {"body": "x", "message_id": "m"},
        "InvalidParameterValue",
        "message_id",
    ),
    ("transfer-sent-ms", {"body": "x", "sent_ms": 1}, "InvalidParameterValue", "sent_ms"),
    ("transfer-system", {"body": "x", "system": {}}, "InvalidParameterValue", "system"),
    ("typo-field", {"body": "x", "delay": 3}, "InvalidParameterValue", "delay"),
    ("no-body", {"attributes": {}}, "MissingParameter", "body"),
    ("null-body", {"body": None}, "MissingParameter", "body"),
    ("body-and-base64", {"body": "x", "body_base64": "eA=="}, "InvalidParameterValue", "body"),
    ("base64-not-base64", {"body_base64": "***"}, "InvalidParameterValue", "body_base64"),
    ("base64-not-text", {"body_base64": 12}, "InvalidParameterValue", "body_base64"),
]


@pytest.mark.parametrize(
    ("data", "code", "parameter"),
    [(d, c, p) for _, d, c, p in BAD_ENTRIES],
    ids=[i for i, _, _, _ in BAD_ENTRIES],
)
def test_a_malformed_entry_is_refused_with_its_code(
    data: Any, code: str, parameter: str | None
) -> None:
    for use_json in (True, False):
        error = _error(entry_from_wire, data, json=use_json)
        assert error.code == code
        if parameter is not None:
            assert error.details["parameter"] == parameter


def test_json_binary_attribute_values_must_be_base64() -> None:
    error = _error(
        entry_from_wire, {"body": "x", "attributes": {"raw": ["Binary", "***"]}}, json=True
    )
    assert (error.code, error.details["parameter"]) == ("InvalidParameterValue", "attributes.raw")


def test_a_request_without_entries_is_one_message_and_not_a_batch() -> None:
    entries, batch = entries_from_wire({"body": "x"}, json=True)
    assert batch is False
    assert entries == [SendEntry(body=b"x")]


def test_a_single_malformed_message_raises_rather_than_failing_in_place() -> None:
    error = _error(entries_from_wire, {"body": "x", "message_id": "forged"}, json=True)
    assert error.code == "InvalidParameterValue"


def test_a_malformed_batch_entry_fails_in_place_and_the_others_stay() -> None:
    entries, batch = entries_from_wire(
        {"entries": [{"body": "a"}, {"body": "b", "message_id": "forged"}, {"body": "c"}]},
        json=True,
    )
    assert batch is True
    first, bad, last = entries
    assert first == SendEntry(body=b"a") and last == SendEntry(body=b"c")
    assert isinstance(bad, RaybusError) and bad.code == "InvalidParameterValue"


BATCH_LIMITS: list[tuple[str, Any, str]] = [
    ("entries-not-a-list", {"entries": {"body": "x"}}, "InvalidParameterValue"),
    ("entries-a-string", {"entries": "x"}, "InvalidParameterValue"),
    ("empty", {"entries": []}, "EmptyBatchRequest"),
    ("too-many", {"entries": [{"body": "x"}] * (MAX_BATCH + 1)}, "TooManyEntriesInBatchRequest"),
    (
        "bodies-over-1-mib",
        {
            "entries": [
                {"body": "x" * (MAX_BATCH_BYTES // 2)},
                {"body": "y" * (MAX_BATCH_BYTES // 2 + 1)},
            ]
        },
        "BatchRequestTooLong",
    ),
    (
        "utf8-bytes-over-1-mib",  # 2 bytes per character: over the limit in bytes, not in chars
        {"entries": [{"body": "\u00e9" * (MAX_BATCH_BYTES // 4 + 1)}] * 2},
        "BatchRequestTooLong",
    ),
    (
        "attributes-count",
        {
            "entries": [
                {"body": "x" * (MAX_BATCH_BYTES - 10), "attributes": {"kind": ["String", "order"]}}
            ]
        },
        "BatchRequestTooLong",
    ),
    (
        "non-ascii-attribute-values-count-in-bytes",  # 2 x 300,000 chars = 1.2 MB of UTF-8
        {"entries": [{"body": "x", "attributes": {"a": ["String", "\u00e9" * 300_000]}}] * 2},
        "BatchRequestTooLong",
    ),
]


@pytest.mark.parametrize(
    ("data", "code"), [(d, c) for _, d, c in BATCH_LIMITS], ids=[i for i, _, _ in BATCH_LIMITS]
)
def test_a_batch_past_a_request_limit_is_refused_whole(data: Any, code: str) -> None:
    error = _error(entries_from_wire, data, json=False)
    assert error.code == code
    assert error.http_status == 400


def test_a_batch_at_the_limits_is_accepted() -> None:
    entries, batch = entries_from_wire({"entries": [{"body": "x"}] * MAX_BATCH}, json=False)
    assert batch and len(entries) == MAX_BATCH
    half = MAX_BATCH_BYTES // 2
    entries, _ = entries_from_wire(
        {"entries": [{"body": "x" * half}, {"body": b"y" * half}]}, json=False
    )
    assert [len(e.body) for e in entries if isinstance(e, SendEntry)] == [half, half]


def test_the_batch_size_counts_json_binary_attributes_decoded() -> None:
    raw = b"\x00" * (MAX_BATCH_BYTES * 2 // 5)  # two are under 1 MiB; as base64 text, over
    value = base64.b64encode(raw).decode()
    assert 2 * len(value) > MAX_BATCH_BYTES > 2 * len(raw) + 100
    entry = {"body": "x", "attributes": {"raw": ["Binary", value]}}
    entries, _ = entries_from_wire({"entries": [entry, entry]}, json=True)
    assert all(isinstance(e, SendEntry) for e in entries)


# -- answers -----------------------------------------------------------------------------------


def test_a_send_result_names_only_what_applies() -> None:
    standard = result_to_wire(SendResult("id-1", "md5b", ""))
    assert standard == {"message_id": "id-1", "md5_of_body": "md5b"}
    fifo = result_to_wire(SendResult("id-2", "md5b", "md5a", sequence_number="00042"))
    assert fifo == {
        "message_id": "id-2",
        "md5_of_body": "md5b",
        "md5_of_attributes": "md5a",
        "sequence_number": "00042",
    }


def _message(body: bytes, **attributes: Attribute) -> ReceivedMessage:
    return ReceivedMessage(
        message_id="id",
        receipt="r",
        body=body,
        md5_of_body="mb",
        attributes=attributes,
        md5_of_attributes="ma",
        sent_ms=1,
        receive_count=2,
        first_receive_ms=3,
    )


def test_a_received_standard_message_leaves_out_the_fields_that_do_not_apply() -> None:
    wire = message_to_wire(_message(b"hi"), json=True)
    assert wire == {
        "message_id": "id",
        "receipt": "r",
        "body": "hi",
        "md5_of_body": "mb",
        "sent_ms": 1,
        "receive_count": 2,
        "first_receive_ms": 3,
    }


def test_a_received_fifo_message_with_attributes_has_every_documented_field() -> None:
    message = _message(b"hi", kind=Attribute("String", "o"))
    message.group_id, message.dedup_id, message.sequence_number = "g", "d", "00042"
    wire = message_to_wire(message, json=False)
    assert wire == {
        "message_id": "id",
        "receipt": "r",
        "body": b"hi",
        "md5_of_body": "mb",
        "sent_ms": 1,
        "receive_count": 2,
        "first_receive_ms": 3,
        "attributes": {"kind": ["String", "o"]},
        "md5_of_attributes": "ma",
        "group_id": "g",
        "dedup_id": "d",
        "sequence_number": "00042",
    }


@pytest.mark.parametrize(
    ("body", "use_json", "expected"),
    [
        (b"h\xc3\xa9", True, {"body": "h\u00e9"}),
        (b"\xff\x00", True, {"body_base64": base64.b64encode(b"\xff\x00").decode()}),
        (b"h\xc3\xa9", False, {"body": b"h\xc3\xa9"}),
        (b"\xff\x00", False, {"body": b"\xff\x00"}),
    ],
    ids=["json-utf8", "json-binary", "msgpack-utf8", "msgpack-binary"],
)
def test_a_received_body_is_text_or_base64_in_json_and_bin_in_msgpack(
    body: bytes, use_json: bool, expected: dict[str, Any]
) -> None:
    wire = message_to_wire(_message(body), json=use_json)
    assert {k: wire[k] for k in ("body", "body_base64") if k in wire} == expected


@pytest.mark.parametrize("use_json", [True, False], ids=["json", "msgpack"])
def test_received_binary_attributes_are_base64_in_json_and_bytes_in_msgpack(
    use_json: bool,
) -> None:
    message = _message(b"x", raw=Attribute("Binary", b"\x01"), kind=Attribute("String", "o"))
    wire = message_to_wire(message, json=use_json)
    raw = base64.b64encode(b"\x01").decode() if use_json else b"\x01"
    assert wire["attributes"] == {"raw": ["Binary", raw], "kind": ["String", "o"]}
    Codec(json=use_json).encode(wire)  # and the answer is encodable as it stands


def test_an_error_body_carries_code_message_and_details() -> None:
    error = RaybusError("MessageTooLong", "too long", size=5, limit=4)
    assert error_body(error) == {
        "error": {
            "code": "MessageTooLong",
            "message": "too long",
            "details": {"size": 5, "limit": 4},
        }
    }
