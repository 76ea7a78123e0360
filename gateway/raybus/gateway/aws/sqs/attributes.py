"""SQS queue attributes ↔ raybus queue settings.

SQS names queue settings with string attributes (``VisibilityTimeout`` = ``"30"``, policies as
JSON text, ARNs for queues); raybus keeps them typed (:class:`~raybus.core.queues.QueueConfig`).
:func:`settings_from` reads a request's attributes into settings (SQS's names, ranges and
errors: ``InvalidAttributeName`` for a name SQS does not know or that cannot be set,
``InvalidAttributeValue`` for a value out of range); :func:`attributes_of` answers
``GetQueueAttributes`` from a queue's settings, times and counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from raybus.core.queues import HARD_MAX_MESSAGE_BYTES, QueueConfig
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import AwsSettings

__all__ = [
    "ALL_ATTRIBUTES",
    "attributes_of",
    "matches",
    "settings_from",
]

READ_ONLY = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
)
FIFO_ONLY = ("FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")


def _invalid(name: str, reason: str = "") -> AwsError:
    detail = f" Reason: {reason}" if reason else ""
    return AwsError(
        "InvalidAttributeValue",
        f"Invalid value for the parameter {name}.{detail}",
        query_code="InvalidAttributeValue",
    )


def _integer(low: int, high: int) -> Callable[[str, str, AwsSettings], int]:
    def parse(name: str, text: str, settings: AwsSettings) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise _invalid(name) from None
        if not low <= value <= high:
            raise _invalid(name, f"Must be between {low} and {high}.")
        return value

    return parse


def _boolean(name: str, text: str, settings: AwsSettings) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise _invalid(name)
    return lowered == "true"


def _choice(*choices: str) -> Callable[[str, str, AwsSettings], str]:
    def parse(name: str, text: str, settings: AwsSettings) -> str:
        if text not in choices:
            raise _invalid(name, f"Must be one of {', '.join(choices)}.")
        return text

    return parse


def _text(name: str, text: str, settings: AwsSettings) -> str | None:
    return text or None


def queue_of_arn(arn: object, settings: AwsSettings, name: str, *, parameter: bool = False) -> str:
    """The queue named by an SQS ARN of this endpoint; else ``InvalidAttributeValue`` (in an
    attribute) or ``InvalidParameterValue`` (a request parameter)."""
    parts = arn.split(":") if isinstance(arn, str) else []
    if (
        len(parts) != 6
        or parts[:3] != ["arn", "aws", "sqs"]
        or parts[3] != settings.region
        or parts[4] != settings.account_id
        or not parts[5]
    ):
        reason = f"{arn!r} is not the ARN of a queue of this endpoint."
        if parameter:
            raise AwsError(
                "InvalidParameterValue",
                f"Value {arn} for parameter {name} is invalid. Reason: {reason}",
                query_code="InvalidParameterValue",
            )
        raise _invalid(name, reason)
    return parts[5]


def _json_object(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise _invalid(name, "The value is not valid JSON.") from None
    if not isinstance(value, dict):
        raise _invalid(name, "The value is a JSON object.")
    return value


def _redrive(name: str, text: str, settings: AwsSettings) -> dict[str, Any] | None:
    if not text:
        return None  # an empty policy removes it (SQS)
    policy = _json_object(name, text)
    unknown = sorted(set(policy) - {"deadLetterTargetArn", "maxReceiveCount"})
    if unknown or "deadLetterTargetArn" not in policy or "maxReceiveCount" not in policy:
        raise _invalid(name, "A redrive policy has deadLetterTargetArn and maxReceiveCount.")
    count = policy["maxReceiveCount"]
    try:
        receives = int(count) if not isinstance(count, bool) else None
    except (TypeError, ValueError):
        receives = None
    if receives is None or not 1 <= receives <= 1000:
        raise _invalid(name, "maxReceiveCount is an integer from 1 to 1000.")
    return {
        "dead_letter_queue": queue_of_arn(policy["deadLetterTargetArn"], settings, name),
        "max_receive_count": receives,
    }


def _redrive_allow(name: str, text: str, settings: AwsSettings) -> dict[str, Any]:
    if not text:
        return {"permission": "allowAll", "source_queues": []}
    policy = _json_object(name, text)
    unknown = sorted(set(policy) - {"redrivePermission", "sourceQueueArns"})
    if unknown or "redrivePermission" not in policy:
        raise _invalid(name, "A redrive allow policy has redrivePermission (and sourceQueueArns).")
    arns = policy.get("sourceQueueArns", [])
    if not isinstance(arns, list):
        raise _invalid(name, "sourceQueueArns is a list.")
    return {
        "permission": policy["redrivePermission"],
        "source_queues": [queue_of_arn(arn, settings, name) for arn in arns],
    }


# attribute → (setting, parse, settable after creation)
_SETTABLE: dict[str, tuple[str, Callable[[str, str, AwsSettings], Any], bool]] = {
    "DelaySeconds": ("delay_s", _integer(0, 900), True),
    "MaximumMessageSize": ("max_message_bytes", _integer(1024, HARD_MAX_MESSAGE_BYTES), True),
    "MessageRetentionPeriod": ("retention_s", _integer(60, 1_209_600), True),
    "ReceiveMessageWaitTimeSeconds": ("receive_wait_s", _integer(0, 20), True),
    "VisibilityTimeout": ("visibility_timeout_s", _integer(0, 43_200), True),
    "RedrivePolicy": ("redrive_policy", _redrive, True),
    "RedriveAllowPolicy": ("redrive_allow_policy", _redrive_allow, True),
    "Policy": ("policy", _text, True),
    "KmsMasterKeyId": ("kms_master_key_id", _text, True),
    "KmsDataKeyReusePeriodSeconds": ("kms_data_key_reuse_period_s", _integer(60, 86_400), True),
    "SqsManagedSseEnabled": ("sqs_managed_sse", _boolean, True),
    "FifoQueue": ("fifo", _boolean, False),
    "ContentBasedDeduplication": ("content_based_dedup", _boolean, True),
    "DeduplicationScope": ("dedup_scope", _choice("messageGroup", "queue"), True),
    "FifoThroughputLimit": ("throughput_limit", _choice("perQueue", "perMessageGroupId"), True),
}
ALL_ATTRIBUTES = (*_SETTABLE, *READ_ONLY)


def settings_from(
    attributes: Mapping[str, str], settings: AwsSettings, *, creating: bool
) -> dict[str, Any]:
    """Queue settings from a request's attributes (only those given)."""
    out: dict[str, Any] = {}
    for name, text in attributes.items():
        known = _SETTABLE.get(name)
        if known is None or (not creating and not known[2]):
            reason = "is read-only" if name in READ_ONLY or known else "is not a queue attribute"
            raise AwsError(
                "InvalidAttributeName",
                f"Unknown Attribute {name}."
                if not known and name not in READ_ONLY
                else f"Attribute {name} {reason}.",
                query_code="InvalidAttributeName",
            )
        setting, parse, _ = known
        if not isinstance(text, str):
            raise _invalid(name)
        out[setting] = parse(name, text, settings)
    if "kms_master_key_id" in out and out["kms_master_key_id"] and "sqs_managed_sse" not in out:
        out["sqs_managed_sse"] = False  # a customer key replaces SQS-managed encryption
    if out.get("kms_master_key_id") and out.get("sqs_managed_sse"):
        raise _invalid("SqsManagedSseEnabled", "A queue uses KMS or SQS-managed encryption.")
    return out


def matches(config: QueueConfig, wanted: Mapping[str, Any]) -> bool:
    """Whether an existing queue already has every setting a create asks for (SQS answers the
    existing queue then, and ``QueueNameExists`` otherwise)."""
    current = config.to_dict()
    for setting, value in wanted.items():
        have = current.get(setting)
        if setting == "redrive_allow_policy" and have is not None:
            have = {
                "permission": have["permission"],
                "source_queues": list(have["source_queues"]),
            }
        if have != value:
            return False
    return True


def _policy_json(config: QueueConfig, settings: AwsSettings) -> dict[str, str]:
    out: dict[str, str] = {}
    redrive = config.redrive_policy
    if redrive is not None:
        out["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": settings.arn("sqs", redrive.dead_letter_queue),
                "maxReceiveCount": redrive.max_receive_count,
            },
            separators=(",", ":"),
        )
    allow = config.redrive_allow_policy
    if allow.permission != "allowAll" or allow.source_queues:
        body: dict[str, Any] = {"redrivePermission": allow.permission}
        if allow.source_queues:
            body["sourceQueueArns"] = [settings.arn("sqs", q) for q in allow.source_queues]
        out["RedriveAllowPolicy"] = json.dumps(body, separators=(",", ":"))
    return out


def attributes_of(
    config: QueueConfig,
    described: Mapping[str, Any],
    stats: Mapping[str, Any] | None,
    settings: AwsSettings,
    names: Iterable[str],
) -> dict[str, str]:
    """``GetQueueAttributes``: the attributes ``names`` asks for (``All`` for every one)."""
    wanted = set(names)
    unknown = sorted(wanted - set(ALL_ATTRIBUTES) - {"All"})
    if unknown:
        raise AwsError(
            "InvalidAttributeName",
            f"Unknown Attribute {unknown[0]}.",
            query_code="InvalidAttributeName",
        )
    every = "All" in wanted
    values: dict[str, str] = {
        "DelaySeconds": str(config.delay_s),
        "MaximumMessageSize": str(config.max_message_bytes),
        "MessageRetentionPeriod": str(config.retention_s),
        "ReceiveMessageWaitTimeSeconds": str(config.receive_wait_s),
        "VisibilityTimeout": str(config.visibility_timeout_s),
        "QueueArn": settings.arn("sqs", config.name),
        "CreatedTimestamp": str(int(described.get("created_ms", 0)) // 1000),
        "LastModifiedTimestamp": str(int(described.get("modified_ms", 0)) // 1000),
        "SqsManagedSseEnabled": str(
            config.sqs_managed_sse and not config.kms_master_key_id
        ).lower(),
        **_policy_json(config, settings),
    }
    if config.policy:
        values["Policy"] = config.policy
    if config.kms_master_key_id:
        values["KmsMasterKeyId"] = config.kms_master_key_id
        values["KmsDataKeyReusePeriodSeconds"] = str(config.kms_data_key_reuse_period_s)
    if config.fifo:
        values["FifoQueue"] = "true"
        values["ContentBasedDeduplication"] = str(config.content_based_dedup).lower()
        values["DeduplicationScope"] = config.dedup_scope
        values["FifoThroughputLimit"] = config.throughput_limit
    if stats is not None:
        values["ApproximateNumberOfMessages"] = str(stats.get("visible", 0))
        values["ApproximateNumberOfMessagesNotVisible"] = str(stats.get("in_flight", 0))
        values["ApproximateNumberOfMessagesDelayed"] = str(stats.get("delayed", 0))
    return {name: value for name, value in values.items() if every or name in wanted}


def needs_stats(names: Iterable[str]) -> bool:
    wanted = set(names)
    return "All" in wanted or any(name.startswith("Approximate") for name in wanted)
