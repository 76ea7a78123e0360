"""Destination records and DLQ messages have Lambda's shapes."""

from __future__ import annotations

import json

import pytest

from raybus.core.attributes import Attribute, validate_attributes
from raybus.core.functions import FunctionConfig
from raybus.functions import InvocationResult, dead_letter, dlq_attributes, invocation_record

ARN = "arn:aws:lambda:us-east-1:000000000000:function:resize:$LATEST"
ERROR = {"errorType": "ValueError", "errorMessage": "bad", "stackTrace": []}
FAILED = InvocationResult("r-2", False, ERROR, 3.0, "Unhandled")


def test_a_success_record_carries_request_and_response() -> None:
    result = InvocationResult("r-1", True, None, 1.0)
    record = invocation_record(
        "resize", "r-1", {"Success": True}, result, "Success", 1, timestamp_ms=1_574_636_905_651
    )
    assert record == {
        "version": "1.0",
        "timestamp": "2019-11-24T23:08:25.651Z",
        "requestContext": {
            "requestId": "r-1",
            "functionArn": ARN,
            "condition": "Success",
            "approximateInvokeCount": 1,
        },
        "requestPayload": {"Success": True},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "responsePayload": None,
    }


def test_a_failure_record_names_the_function_error() -> None:
    config = FunctionConfig(name="resize", handler="m:f")
    record = invocation_record(config, "r-2", [1, 2], FAILED, "RetriesExhausted", 3)
    assert record["requestContext"]["functionArn"] == ARN
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"] == ERROR
    assert record["timestamp"].endswith("Z")  # defaults to now


def test_an_event_that_never_ran_has_no_response() -> None:
    record = invocation_record("f", "r", {}, None, "EventAgeExceeded", 0, timestamp_ms=0)
    assert "responseContext" not in record and "responsePayload" not in record


def test_an_unknown_condition_is_refused() -> None:
    with pytest.raises(ValueError):
        invocation_record("f", "r", {}, None, "Maybe", 1, timestamp_ms=0)


def test_a_dead_letter_carries_the_event_and_lambdas_attributes() -> None:
    letter = dead_letter({"order": 7}, request_id="r-1", error_message="boom")
    assert json.loads(letter.body) == {"order": 7}
    assert letter.attributes == {
        "RequestID": Attribute("String", "r-1"),
        "ErrorCode": Attribute("Number", "200"),
        "ErrorMessage": Attribute("String", "boom"),
    }
    assert validate_attributes(letter.attributes) == letter.attributes  # valid SQS attributes


def test_a_dead_letters_error_message_keeps_the_first_kilobyte() -> None:
    letter = dead_letter("e", request_id="r", error_message="é" * 1000, error_code=429)
    message = letter.attributes["ErrorMessage"].value
    assert isinstance(message, str)
    assert len(message.encode()) <= 1024 and message == "é" * 512
    assert letter.attributes["ErrorCode"] == Attribute("Number", "429")


def test_a_dead_letter_without_error_message_omits_the_attribute() -> None:
    assert "ErrorMessage" not in dead_letter(1, request_id="r", error_message="").attributes


def test_dlq_attributes_come_from_the_last_result_or_the_condition() -> None:
    assert dlq_attributes("r", FAILED, "RetriesExhausted") == {
        "RequestID": Attribute("String", "r"),
        "ErrorCode": Attribute("Number", "200"),
        "ErrorMessage": Attribute("String", "bad"),
    }
    expired = dlq_attributes("r", None, "EventAgeExceeded")
    assert expired["ErrorCode"] == Attribute("Number", "429")
    assert expired["ErrorMessage"] == Attribute("String", "Event dropped: EventAgeExceeded")
