"""Message attributes follow SQS's rules, and their digests match SQS's byte for byte."""

from __future__ import annotations

import re

import pytest

from raybus.core import Attribute, RaybusError, md5_of_attributes, md5_of_body, validate_attributes
from raybus.core.attributes import attributes_size, validate_sqs_text


def test_the_body_digest_is_the_md5_of_the_body_bytes() -> None:
    assert md5_of_body(b"hello") == "5d41402abc4b2a76b9719d911017c592"


def test_the_attribute_digest_matches_the_sqs_algorithm() -> None:
    # Vector computed with moto's independent implementation of SQS's MD5OfMessageAttributes.
    attributes = {
        "a": Attribute("String", "x"),
        "n": Attribute("Number", "1.5"),
        "b": Attribute("Binary.gif", b"\x00\x01"),
    }
    assert md5_of_attributes(attributes) == "9d16224c5cea16f34d94fe3ecf109da3"


def test_no_attributes_have_an_empty_digest() -> None:
    assert md5_of_attributes({}) == ""


def test_the_digest_does_not_depend_on_insertion_order() -> None:
    one = {"x": Attribute("String", "1"), "y": Attribute("Number", "2")}
    two = {"y": Attribute("Number", "2"), "x": Attribute("String", "1")}
    assert md5_of_attributes(one) == md5_of_attributes(two)


def test_valid_attributes_are_normalised_to_attribute_tuples() -> None:
    result = validate_attributes({"k": ("String.custom", "v"), "b": ["Binary", bytearray(b"1")]})
    assert result == {"k": Attribute("String.custom", "v"), "b": Attribute("Binary", b"1")}


def test_eleven_attributes_are_one_too_many() -> None:
    with pytest.raises(RaybusError) as info:
        validate_attributes({f"a{i}": ("String", "v") for i in range(11)})
    assert info.value.code == "InvalidParameterValue"
    validate_attributes({f"a{i}": ("String", "v") for i in range(10)})


@pytest.mark.parametrize(
    "name",
    ["", "has space", "AWS.thing", "amazon.x", ".lead", "trail.", "two..dots", "x" * 257, "ü"],
)
def test_invalid_attribute_names_are_rejected(name: str) -> None:
    with pytest.raises(RaybusError) as info:
        validate_attributes({name: ("String", "v")})
    assert info.value.code == "InvalidAttributeName"


@pytest.mark.parametrize(
    ("item", "why"),
    [
        (("Text", "v"), "unknown base type"),
        (("String", b"v"), "String needs str"),
        (("Binary", "v"), "Binary needs bytes"),
        (("Number", "ten"), "not numeric"),
        (("Number", "1" * 39), "more than 38 digits"),
        (("Number", "1e127"), "above 10^126"),
        (("Number", "-1e129"), "below -10^128"),
        (("Number", "NaN"), "not finite"),
        (("String", ""), "empty value"),
        (("String", "bad\x00char"), "character SQS rejects"),
        (("String.x" + "y" * 256, "v"), "data type over 256 characters"),
        ("String", "not a pair"),
    ],
)
def test_invalid_attribute_values_are_rejected(item: object, why: str) -> None:
    with pytest.raises(RaybusError) as info:
        validate_attributes({"name": item})
    assert info.value.code in {"InvalidParameterValue", "InvalidMessageContents"}, why


@pytest.mark.parametrize("value", ["0", "-1.25", "12345678901234567890123456789012345678", "1e126"])
def test_numbers_within_sqs_range_and_precision_are_accepted(value: str) -> None:
    assert validate_attributes({"n": ("Number", value)})["n"].value == value


def test_attribute_size_counts_name_type_and_value_bytes() -> None:
    assert attributes_size({"ab": Attribute("String", "é")}) == 2 + 6 + 2


@pytest.mark.parametrize("text", ["\t\n\r ok", "\ud7ff", "\U0001f600"])
def test_text_in_the_sqs_character_ranges_passes(text: str) -> None:
    validate_sqs_text(text, what="body")


@pytest.mark.parametrize("text", ["\x00", "\x08", "\ufffe", "\x1f"])
def test_text_outside_the_sqs_character_ranges_fails(text: str) -> None:
    with pytest.raises(RaybusError) as info:
        validate_sqs_text(text, what="body")
    assert info.value.code == "InvalidMessageContents"


@pytest.mark.parametrize("code", range(0x80))
def test_the_ascii_fast_path_rejects_exactly_the_characters_the_full_check_rejects(
    code: int,
) -> None:
    text = f"ok{chr(code)}ok"
    rejected = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
    if rejected.search(text):
        with pytest.raises(RaybusError) as caught:
            validate_sqs_text(text, what="The message body")
        assert caught.value.code == "InvalidMessageContents"
        assert f"U+{code:04X}" in caught.value.message
    else:
        validate_sqs_text(text, what="The message body")
