"""Core vocabulary: error catalog, names, stable hashing, receipts, clocks."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raybus.core import (
    CATALOG,
    ManualClock,
    RaybusError,
    Receipt,
    SystemClock,
    decode_receipt,
    encode_receipt,
    error_from_wire,
    hash_key,
    partition_for,
    validate_queue_name,
)

# A conditional GET whose object has not changed is answered 304 (no body) through the error
# path, as S3 does; it is the catalog's one answer that is not an error status.
NOT_ERRORS = {"NotModified": 304}


def test_every_catalog_entry_has_a_valid_status_and_a_meaning() -> None:
    for code, spec in CATALOG.items():
        assert spec.code == code
        assert 400 <= spec.http_status < 600 or NOT_ERRORS.get(code) == spec.http_status
        assert spec.meaning


def test_only_transient_conditions_are_retriable() -> None:
    retriable = {code for code, spec in CATALOG.items() if spec.retriable}
    assert retriable == {
        "StaleEpoch",
        "PartitionUnavailable",
        "Throttled",
        "InternalError",
        "TooManyRequestsException",
        "RequestTimeout",  # the body arrived too slowly: the same request may make it later
    }


def test_an_error_survives_the_wire_and_pickling() -> None:
    error = RaybusError("MessageTooLong", "too big", size=3, limit=2)
    again = error_from_wire(error.to_wire())
    assert (again.code, again.message, again.details) == (
        "MessageTooLong",
        "too big",
        {"size": 3, "limit": 2},
    )
    pickled = pickle.loads(pickle.dumps(error))
    assert (pickled.code, pickled.details, pickled.http_status) == (
        "MessageTooLong",
        {"size": 3, "limit": 2},
        400,
    )


def test_an_unknown_wire_code_becomes_an_internal_error() -> None:
    assert error_from_wire({"code": "Nope", "message": "m"}).code == "InternalError"


def test_an_error_code_must_be_in_the_catalog() -> None:
    with pytest.raises(ValueError):
        RaybusError("NotACode", "x")


@pytest.mark.parametrize(
    ("name", "fifo"),
    [
        ("orders", False),
        ("a" * 80, False),
        ("a-b_C9", False),
        ("jobs.fifo", True),
        ("a" * 75 + ".fifo", True),
    ],
)
def test_valid_queue_names_pass(name: str, fifo: bool) -> None:
    assert validate_queue_name(name, fifo=fifo) == name


@pytest.mark.parametrize(
    ("name", "fifo"),
    [
        ("", False),
        ("a" * 81, False),
        ("has space", False),
        ("dot.name", False),
        ("jobs", True),
        ("jobs.fifo", False),
        ("a" * 76 + ".fifo", True),
        (".fifo", True),
        (None, False),
        ("ünï", False),
    ],
)
def test_invalid_queue_names_fail_with_invalid_parameter_value(name: object, fifo: bool) -> None:
    with pytest.raises(RaybusError) as info:
        validate_queue_name(name, fifo=fifo)
    assert info.value.code == "InvalidParameterValue"


def test_hash_keys_are_kinesis_md5_keys() -> None:
    assert hash_key("a") == int("0cc175b9c0f1b6a831c399e269772661", 16)
    assert hash_key(b"a") == hash_key("a")


@given(st.text(), st.integers(min_value=1, max_value=64))
def test_partition_for_is_in_range_and_follows_the_hash_ranges(key: str, n: int) -> None:
    index = partition_for(key, n)
    assert 0 <= index < n
    assert index * (1 << 128) // n <= hash_key(key) < (index + 1) * (1 << 128) // n + 1


def test_partition_for_is_stable_across_processes() -> None:
    # Fixed expectations: a salted hash() would differ between runs.
    assert [partition_for(k, 8) for k in ("order-1", "order-2", "customer-42")] == [
        partition_for(k, 8) for k in ("order-1", "order-2", "customer-42")
    ]
    assert partition_for("a", 4) == 0  # 0x0cc1... lies in the first quarter


U32, U64 = st.integers(0, 2**32 - 1), st.integers(0, 2**64 - 1)


@given(U32, U64, U64, U64, U32)
def test_receipts_round_trip(partition: int, epoch: int, tag: int, seq: int, nonce: int) -> None:
    receipt = Receipt(partition, epoch, tag, seq, nonce)
    handle = encode_receipt(receipt)
    assert decode_receipt(handle) == receipt and len(handle) == 50


@pytest.mark.parametrize("handle", ["", "x", "not-base64!!", 42, None, "A" * 2000])
def test_malformed_receipts_are_invalid(handle: object) -> None:
    with pytest.raises(RaybusError) as info:
        decode_receipt(handle)
    assert info.value.code == "ReceiptHandleIsInvalid"


def test_a_receipt_with_one_character_changed_is_invalid() -> None:
    handle = encode_receipt(Receipt(1, 2, 3, 4, 5))
    for i in range(len(handle)):
        swapped = "B" if handle[i] != "B" else "C"
        mangled = handle[:i] + swapped + handle[i + 1 :]
        try:
            decoded = decode_receipt(mangled)
        except RaybusError as error:
            assert error.code == "ReceiptHandleIsInvalid"
        else:  # only padding bits of the last character may change without notice
            assert decoded == Receipt(1, 2, 3, 4, 5) and i == len(handle) - 1


def test_the_manual_clock_moves_only_forward_and_tells_listeners() -> None:
    clock = ManualClock(start_ms=1_000)
    seen: list[int] = []
    clock.on_advance(seen.append)
    assert clock.advance(1.5) == 2_500
    assert clock.now_ms() == 2_500
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(100)
    assert seen == [2_500]


def test_the_system_clock_never_goes_backwards() -> None:
    clock = SystemClock()
    readings = [clock.now_ms() for _ in range(1000)]
    assert readings == sorted(readings)
