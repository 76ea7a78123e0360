"""``raybus.examples.images:resize``: a stand-in image resizer that accepts the events a function
gets from every source raybus has.

It resizes nothing: it answers ``{"resized": [key, ...]}``, the image keys it found, in order.
Keys come from

- a direct invocation: ``{"key": "a.png"}``;
- Lambda's SQS event (an event-source mapping on a queue): each record's ``body``;
- Lambda's SNS event (a topic's function subscription): each record's ``Sns.Message``.

Anything else contributes no key, so a mapping that feeds it any queue succeeds and deletes its
batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["resize"]


def _keys(event: Any) -> list[str]:
    if not isinstance(event, Mapping):
        return []
    keys = [event["key"]] if isinstance(event.get("key"), str) else []
    records = event.get("Records")
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, Mapping):
            continue
        if isinstance(record.get("body"), str):  # SQS
            keys.append(record["body"])
        elif isinstance(record.get("Sns"), Mapping) and isinstance(
            record["Sns"].get("Message"), str
        ):  # SNS
            keys.append(record["Sns"]["Message"])
    return keys


def resize(event: Any, context: Any) -> dict[str, list[str]]:
    """Lambda's signature; returns ``{"resized": [key, ...]}`` (see the module docstring)."""
    return {"resized": _keys(event)}
