"""Partial batch responses follow Lambda's success and failure conditions."""

from __future__ import annotations

import pytest

from raybus.functions import failed_items

IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"statusCode": 200}],
)
def test_an_empty_or_null_response_means_every_message_succeeded(response: object) -> None:
    assert failed_items(response, IDS) == set()


@pytest.mark.parametrize(
    ("response", "failed"),
    [
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}, {"m1", "m3"}),
        ({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m1"}]}, {"m1"}),
        ({"batchItemFailures": [{"itemIdentifier": i} for i in IDS]}, set(IDS)),
    ],
)
def test_listed_messages_are_exactly_those_that_failed(response: object, failed: set[str]) -> None:
    assert failed_items(response, IDS) == failed


@pytest.mark.parametrize(
    "response",
    [
        "ok",
        ["m1"],
        42,
        {"batchItemFailures": "m1"},
        {"batchItemFailures": {"itemIdentifier": "m1"}},
        {"batchItemFailures": ["m1"]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemidentifier": "m1"}]},
        {"batchItemFailures": [{"itemIdentifier": "unknown"}]},
        {"batchItemFailures": [{"itemIdentifier": 1}]},
        {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "nope"}]},
    ],
)
def test_a_malformed_response_fails_the_whole_batch(response: object) -> None:
    assert failed_items(response, IDS) is None
