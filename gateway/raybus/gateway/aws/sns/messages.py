"""SNS's publish requests → raybus publish entries (message attributes in SNS's shape)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raybus.core.attributes import Attribute
from raybus.core.topics import PublishEntry
from raybus.gateway.aws.protocols import AwsError

__all__ = ["entry_from"]


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameter", f"Invalid parameter: {message}")


def attributes_from(raw: Mapping[str, Any] | None) -> dict[str, Attribute]:
    out: dict[str, Attribute] = {}
    for name, value in (raw or {}).items():
        data_type = value.get("DataType")
        if not data_type:
            raise AwsError(
                "ParameterValueInvalid",
                f"The message attribute '{name}' must contain non-empty message attribute type.",
            )
        if data_type.startswith("Binary"):
            binary = value.get("BinaryValue")
            if not isinstance(binary, bytes):
                raise AwsError(
                    "ParameterValueInvalid",
                    f"The message attribute '{name}' with type 'Binary' must use field 'Binary'.",
                )
            out[name] = Attribute(data_type, binary)
        else:
            text = value.get("StringValue")
            if not isinstance(text, str):
                raise AwsError(
                    "ParameterValueInvalid",
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    "value for message attribute type 'String'.",
                )
            out[name] = Attribute(data_type, text)
    return out


def entry_from(params: Mapping[str, Any]) -> PublishEntry:
    """One ``Publish`` (or batch entry) as a raybus publish entry."""
    message = params.get("Message")
    if not isinstance(message, str) or not message:
        raise _invalid("Message")
    return PublishEntry(
        body=message,
        attributes=attributes_from(params.get("MessageAttributes")) or None,
        subject=params.get("Subject"),
        group_id=params.get("MessageGroupId"),
        dedup_id=params.get("MessageDeduplicationId"),
        # "json": a JSON object of one message per protocol, checked by the topic (SNS's rules)
        structure=params.get("MessageStructure"),
    )
