"""Errors can always be reported: printable text, and actor methods that answer every failure
as a catalog error with no chained cause (Ray kills a worker whose exception text it cannot
encode as UTF-8)."""

from __future__ import annotations

import asyncio
import pickle

import pytest

from raybus.core.errors import RaybusError, printable, replies_with_errors


def test_printable_escapes_lone_surrogates_and_leaves_valid_text_alone() -> None:
    assert printable("queue \ud800 x") == "queue \\ud800 x"
    valid = "caf\u00e9 \U0001f600"
    assert printable(valid) is valid
    printable("\udfff\ud800").encode("utf-8")


def test_an_error_quoting_bad_input_holds_only_encodable_text() -> None:
    error = RaybusError(
        "QueueDoesNotExist",
        "Queue \ud800 does not exist.",
        queue="\ud800",
        nested={"k\udc80": ["\ud800"]},
    )
    error.message.encode("utf-8")
    assert error.details == {"queue": "\\ud800", "nested": {"k\\udc80": ["\\ud800"]}}
    assert pickle.loads(pickle.dumps(error)).to_wire() == error.to_wire()


@replies_with_errors
class Actorish:
    def sync_fails(self) -> None:
        raise ValueError("bad \ud800")

    async def async_fails(self) -> None:
        try:
            "\ud800".encode()
        except UnicodeEncodeError as error:
            raise RaybusError("InvalidParameterValue", "wrapped") from error

    async def ok(self) -> int:
        return 7

    def _private(self) -> None:
        raise ValueError("not wrapped")


def test_an_unexpected_exception_becomes_an_internal_error_without_its_cause() -> None:
    with pytest.raises(RaybusError) as caught:
        Actorish().sync_fails()
    assert caught.value.code == "InternalError"
    assert "ValueError" in caught.value.message
    caught.value.message.encode("utf-8")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_catalog_error_keeps_its_code_and_loses_its_chained_cause() -> None:
    with pytest.raises(RaybusError) as caught:
        asyncio.run(Actorish().async_fails())
    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_results_and_private_methods_are_untouched() -> None:
    assert asyncio.run(Actorish().ok()) == 7
    with pytest.raises(ValueError):
        Actorish()._private()
