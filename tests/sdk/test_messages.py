"""Received messages: fields parsed from the wire, attributes in three views, bound actions."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from raybus.core import Attribute
from raybus.sdk import AsyncMessage, Client, Message, Queue, errors
from raybus.sdk._wire import encode_attributes
from tests.sdk.conftest import Api, ait
from tests.sdk.fakes import answer

WIRE_MESSAGE = {
    "message_id": "id-1",
    "receipt": "r-1",
    "body": b"\xff\x00binary",
    "md5_of_body": "b" * 32,
    "attributes": {
        "kind": ["String", "order"],
        "price": ["Number.float", "1.5"],
        "blob": ["Binary", b"\x01\x02"],
    },
    "md5_of_attributes": "a" * 32,
    "sent_ms": 1_700_000_000_123,
    "receive_count": 2,
    "first_receive_ms": 1_700_000_000_200,
    "group_id": "g1",
    "dedup_id": "d1",
    "sequence_number": "18",
}


def test_a_received_message_carries_every_field_of_the_wire_form(api: Api) -> None:
    api.gateway.add_queue("orders.fifo")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders.fifo"))
        api.gateway.script(answer({"messages": [WIRE_MESSAGE]}))
        return await ait(queue.receive(5))

    (message,) = api.run(scenario)
    assert isinstance(message, AsyncMessage if api.is_async else Message)
    assert message.queue_name == "orders.fifo"
    assert (message.message_id, message.receipt, message.body) == ("id-1", "r-1", b"\xff\x00binary")
    assert (message.md5_of_body, message.md5_of_attributes) == ("b" * 32, "a" * 32)
    assert (message.sent_ms, message.first_receive_ms, message.receive_count) == (
        1_700_000_000_123,
        1_700_000_000_200,
        2,
    )
    assert (message.group_id, message.dedup_id, message.sequence_number) == ("g1", "d1", "18")
    assert message.attributes == {"kind": "order", "price": "1.5", "blob": b"\x01\x02"}
    assert message.attribute_types == {"kind": "String", "price": "Number.float", "blob": "Binary"}
    assert message.typed_attributes["price"] == Attribute("Number.float", "1.5")


def test_text_decodes_utf8_and_refuses_a_binary_body(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", "grüße".encode(), b"\xff")

    async def scenario(client: Any) -> Any:
        return await ait((await ait(client.queue("orders"))).receive(2))

    text, binary = api.run(scenario)
    assert text.text == "grüße"
    with pytest.raises(UnicodeDecodeError):
        _ = binary.text


def test_a_standard_queue_message_has_no_fifo_fields(api: Api) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"x")

    async def scenario(client: Any) -> Any:
        return await ait((await ait(client.queue("orders"))).receive())

    (message,) = api.run(scenario)
    assert (message.group_id, message.dedup_id, message.sequence_number) == (None, None, None)
    assert message.attributes == {} and message.md5_of_attributes == ""


def test_a_json_answer_with_a_base64_body_is_read_too() -> None:
    payload = {"messages": [{**WIRE_MESSAGE, "body": None, "body_base64": "AAE="}]}
    payload["messages"][0]["attributes"] = {}
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, content=json.dumps(payload), headers={"content-type": "application/json"}
        )
    )
    with Client("http://gw", transport=transport) as client:
        (message,) = Queue(client, {"name": "orders"}).receive()
    assert message.body == base64.b64decode("AAE=")


def test_message_delete_and_change_visibility_act_on_its_queue_with_its_receipt(
    api: Api,
) -> None:
    api.gateway.add_queue("orders")
    api.gateway.put("orders", b"a", b"b")

    async def scenario(client: Any) -> None:
        first, second = await ait((await ait(client.queue("orders"))).receive(2))
        await ait(first.delete())
        await ait(second.change_visibility(0))

    api.run(scenario)
    assert api.gateway.calls("/orders/delete")[0].body == {"receipt": "orders:m1:1"}
    assert api.gateway.calls("/orders/visibility")[0].body == {
        "receipt": "orders:m2:1",
        "visibility_timeout_s": 0,
    }
    assert api.gateway.bodies("orders", visible=True) == [b"b"]


def test_typed_attributes_resend_a_message_with_the_same_types(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> None:
        queue = await ait(client.queue("orders"))
        api.gateway.script(answer({"messages": [WIRE_MESSAGE]}))
        (message,) = await ait(queue.receive())
        await ait(queue.send(message.body, attributes=message.typed_attributes))

    api.run(scenario)
    assert api.gateway.calls("/messages")[0].body["attributes"] == WIRE_MESSAGE["attributes"]


def test_messages_compare_by_identity_each_delivery_being_distinct(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> Any:
        queue = await ait(client.queue("orders"))
        api.gateway.script(answer({"messages": [WIRE_MESSAGE, WIRE_MESSAGE]}))
        return await ait(queue.receive(2))

    first, second = api.run(scenario)
    assert first != second and len({first, second}) == 2


# -- attribute inference ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("text", ("String", "text")),
        ("", ("String", "")),
        (3, ("Number", "3")),
        (-12345678901234567890, ("Number", "-12345678901234567890")),
        (1.5, ("Number", "1.5")),
        (Decimal("2.50"), ("Number", "2.50")),
        (b"\x00", ("Binary", b"\x00")),
        (bytearray(b"ab"), ("Binary", b"ab")),
        (memoryview(b"cd"), ("Binary", b"cd")),
        (("Number.float", "1.5"), ("Number.float", "1.5")),
        (("Binary.gif", bytearray(b"GIF")), ("Binary.gif", b"GIF")),
        (Attribute("String.id", "x"), ("String.id", "x")),
    ],
)
def test_attribute_values_map_to_sqs_data_types(value: object, wire: tuple[str, Any]) -> None:
    assert encode_attributes({"k": value}) == {"k": Attribute(*wire)}


@pytest.mark.parametrize(
    "value",
    [True, False, None, [1, 2], {"a": 1}, ("Number",), ("String", 3), object()],
    ids=["true", "false", "none", "list", "dict", "one-tuple", "tuple-non-str", "object"],
)
def test_attribute_values_of_no_sqs_type_are_refused(value: object) -> None:
    with pytest.raises(errors.InvalidParameterValue) as raised:
        encode_attributes({"k": value})
    assert raised.value.details["attribute"] == "k"


def test_attributes_go_on_the_wire_as_type_value_pairs(api: Api) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> None:
        queue = await ait(client.queue("orders"))
        await ait(queue.send("x", attributes={"s": "v", "n": 3, "b": b"\x01"}))

    api.run(scenario)
    assert api.gateway.calls("/messages")[0].body["attributes"] == {
        "s": ["String", "v"],
        "n": ["Number", "3"],
        "b": ["Binary", b"\x01"],
    }


@pytest.mark.parametrize("body", [None, 3, {"a": 1}, ["x"]])
def test_a_body_that_is_not_bytes_or_str_is_refused_before_sending(api: Api, body: Any) -> None:
    api.gateway.add_queue("orders")

    async def scenario(client: Any) -> None:
        queue = await ait(client.queue("orders"))
        await ait(queue.send(body))

    with pytest.raises(errors.InvalidParameterValue):
        api.run(scenario)
    assert api.gateway.calls("/messages") == []
