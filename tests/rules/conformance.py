"""Loading the AWS-recorded conformance vectors in tests/data/conformance (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from raybus.rules import PatternError

DATA = Path(__file__).resolve().parent.parent / "data" / "conformance"
EVENTBRIDGE_FILE = "localstack_eventbridge_test_event_pattern.json"
SNS_FILE = "localstack_sns_filter_policy.json"
SNS_UNIT_FILE = "localstack_sns_filter_policy_unit_NOT_AWS_VALIDATED.json"


def load(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((DATA / name).read_text())
    return cases


def case_id(case: dict[str, Any]) -> str:
    return str(case["name"])


def pattern_of(case: dict[str, Any]) -> Any:
    """The pattern or policy exactly as sent to AWS (wire text wins: duplicates, bad JSON)."""
    for key in ("wire_pattern", "wire_policy"):
        if case.get(key) is not None:
            return case[key]
    return case["pattern_or_policy"]


def event_of(case: dict[str, Any]) -> Any:
    if case.get("wire_event_file"):
        return (DATA / case["wire_event_file"]).read_text()
    if case.get("wire_event") is not None:
        return case["wire_event"]
    return case["event_or_message"]


def message_of(case: dict[str, Any]) -> tuple[Any, Any]:
    message = case["event_or_message"]
    if message.get("Message_file"):
        return (DATA / message["Message_file"]).read_text(), message.get("MessageAttributes")
    return message["Message"], message.get("MessageAttributes")


def put_events_envelope(entry: dict[str, Any]) -> dict[str, Any]:
    """The event EventBridge builds from a PutEvents entry."""
    return {
        "version": "0",
        "id": "5b2a2f4c-9c1a-4b7e-8a35-0f4c1d2e3f40",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2024-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": entry.get("Resources", []),
        "detail": json.loads(entry["Detail"]),
    }


def first_line(error: PatternError) -> str:
    return error.message.split("\n", 1)[0]
