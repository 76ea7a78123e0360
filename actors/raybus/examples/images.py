"""``raybus.examples.images:resize``: a stand-in image resizer that accepts the events a function
gets from every source raybus has.

It resizes nothing: it answers ``{"resized": [key, ...]}``, the image keys it found, in order.
Keys come from

- a direct invocation: ``{"key": "a.png"}``;
- Lambda's SQS event (an event-source mapping on a queue): each record's ``body``;
- Lambda's SNS event (a topic's function subscription): each record's ``Sns.Message``.

A body or message that is a JSON object with a string ``"key"`` contributes that key; any other
text is the key itself. Anything else contributes no key, so a mapping that feeds it any queue
succeeds and deletes its batches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["resize"]


def _key_in(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value["key"] if isinstance(value, dict) and isinstance(value.get("key"), str) else text


def _keys(event: Any) -> list[str]:
    if not isinstance(event, Mapping):
        return []
    keys = [event["key"]] if isinstance(event.get("key"), str) else []
    records = event.get("Records")
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, Mapping):
            continue
        if isinstance(record.get("body"), str):  # SQS
            keys.append(_key_in(record["body"]))
        elif isinstance(record.get("Sns"), Mapping) and isinstance(
            record["Sns"].get("Message"), str
        ):  # SNS
            keys.append(_key_in(record["Sns"]["Message"]))
    return keys


def resize(event: Any, context: Any) -> dict[str, list[str]]:
    """Lambda's signature; returns ``{"resized": [key, ...]}`` (see the module docstring)."""
    return {"resized": _keys(event)}
