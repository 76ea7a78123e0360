"""Resource tags: AWS's key-value labels, the same rules for every kind.

Tags are stored with a resource and listed; raybus never interprets them. The limits are the
ones SQS, SNS and Lambda document alike: at most 50 tags per resource, keys of 1–128 and values
of 0–256 characters, keys case-sensitive, the ``aws:`` prefix reserved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from raybus.core.errors import RaybusError

__all__ = ["MAX_TAGS", "merged_tags", "without_tags"]

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY:
        raise RaybusError(
            "InvalidParameterValue", f"A tag key has 1 to {MAX_KEY} characters.", parameter="tags"
        )
    if key.lower().startswith("aws:"):
        raise RaybusError(
            "InvalidParameterValue", "Tag keys starting with aws: are reserved.", parameter="tags"
        )
    return key


def merged_tags(current: Mapping[str, str], added: Mapping[str, object]) -> dict[str, str]:
    """``current`` with ``added`` set (a key given again takes the new value)."""
    if not isinstance(added, Mapping):
        raise RaybusError("InvalidParameterValue", "Tags are a map.", parameter="tags")
    out = dict(current)
    for key, value in added.items():
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise RaybusError(
                "InvalidParameterValue",
                f"A tag value has 0 to {MAX_VALUE} characters.",
                parameter="tags",
            )
        out[_check_key(key)] = value
    if len(out) > MAX_TAGS:
        raise RaybusError(
            "InvalidParameterValue",
            f"A resource has at most {MAX_TAGS} tags.",
            parameter="tags",
            limit=MAX_TAGS,
        )
    return out


def without_tags(current: Mapping[str, str], keys: Iterable[object]) -> dict[str, str]:
    """``current`` without ``keys`` (keys that are not there are ignored, as AWS does)."""
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Iterable):
        raise RaybusError("InvalidParameterValue", "Tag keys are a list.", parameter="tags")
    drop = {_check_key(key) for key in keys}
    return {key: value for key, value in current.items() if key not in drop}
