"""SNS topic and subscription attributes ↔ raybus topic and subscription settings.

SNS names settings with string attributes (``DisplayName``, ``RawMessageDelivery`` =
``"true"``, policies as JSON text, ARNs for queues); raybus keeps them typed
(:class:`~raybus.core.topics.TopicConfig`, :class:`~raybus.core.topics.SubscriptionConfig`).
Unknown or read-only names are ``InvalidParameter`` (``Invalid parameter: AttributeName``), as
SNS answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from raybus.core.topics import SubscriptionConfig, TopicConfig
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import AwsSettings

__all__ = [
    "DEFAULT_DELIVERY_POLICY",
    "subscription_attributes",
    "subscription_settings",
    "topic_attributes",
    "topic_settings",
]

DEFAULT_DELIVERY_POLICY = {
    "http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20,
            "maxDelayTarget": 20,
            "numRetries": 3,
            "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "backoffFunction": "linear",
        },
        "disableSubscriptionOverrides": False,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"},
    }
}


def invalid_parameter(what: str, reason: str = "") -> AwsError:
    detail = f" Reason: {reason}" if reason else ""
    return AwsError("InvalidParameter", f"Invalid parameter: {what}{detail}")


def _boolean(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise invalid_parameter(f"Attributes Reason: {name}: invalid value {text!r}")
    return lowered == "true"


def _json(name: str, text: str) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise invalid_parameter(name, "the value is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid_parameter(name, "the value is a JSON object")
    return value


# -- topics -------------------------------------------------------------------------------------
_TOPIC_SETTABLE = {
    "DisplayName": "display_name",
    "Policy": "policy",
    "DeliveryPolicy": "delivery_policy",
    "KmsMasterKeyId": "kms_master_key_id",
    "SignatureVersion": "signature_version",
    "TracingConfig": "tracing_config",
    "ContentBasedDeduplication": "content_based_dedup",
    "FifoTopic": "fifo",
    "FifoThroughputScope": "dedup_scope",
}
_CREATE_ONLY = ("FifoTopic", "FifoThroughputScope")
_TOPIC_READ_ONLY = (
    "TopicArn",
    "Owner",
    "SubscriptionsConfirmed",
    "SubscriptionsPending",
    "SubscriptionsDeleted",
    "EffectiveDeliveryPolicy",
)


def topic_settings(attributes: Mapping[str, str], *, creating: bool) -> dict[str, Any]:
    """Topic settings from a request's attributes (only those given)."""
    out: dict[str, Any] = {}
    for name, text in attributes.items():
        setting = _TOPIC_SETTABLE.get(name)
        if setting is None or (not creating and name in _CREATE_ONLY):
            raise invalid_parameter(
                f"AttributeName {name}"
                if setting is None or name not in _CREATE_ONLY
                else f"{name} is fixed when the topic is created"
            )
        if name in ("ContentBasedDeduplication", "FifoTopic"):
            out[setting] = _boolean(name, text)
        elif name == "DeliveryPolicy":
            out[setting] = _json(name, text)
        elif name == "FifoThroughputScope":
            if text not in ("Topic", "MessageGroup"):
                raise invalid_parameter(name, "FifoThroughputScope is Topic or MessageGroup")
            out[setting] = "topic" if text == "Topic" else "messageGroup"
        elif name == "Policy":
            _json(name, text)
            out[setting] = text or None
        else:
            out[setting] = text or None
    if "signature_version" in out and out["signature_version"] is None:
        out["signature_version"] = "1"
    if "tracing_config" in out and out["tracing_config"] is None:
        out["tracing_config"] = "PassThrough"
    return out


def default_policy(arn: str, account: str) -> str:
    actions = [
        "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
        "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
        "SNS:Publish",
    ]  # fmt: skip
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": actions,
                    "Resource": arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
                }
            ],
        },
        separators=(",", ":"),
    )


def topic_attributes(
    config: TopicConfig, subscriptions: list[SubscriptionConfig], settings: AwsSettings
) -> dict[str, str]:
    arn = settings.arn("sns", config.name)
    pending = sum(1 for s in subscriptions if s.pending_token is not None)
    delivery = config.delivery_policy
    values = {
        "TopicArn": arn,
        "Owner": settings.account_id,
        "Policy": config.policy or default_policy(arn, settings.account_id),
        "DisplayName": config.display_name or "",
        "SubscriptionsConfirmed": str(len(subscriptions) - pending),
        "SubscriptionsPending": str(pending),
        "SubscriptionsDeleted": "0",
        "EffectiveDeliveryPolicy": json.dumps(delivery or DEFAULT_DELIVERY_POLICY),
        "SignatureVersion": config.signature_version,
        "TracingConfig": config.tracing_config,
    }
    if delivery is not None:
        values["DeliveryPolicy"] = json.dumps(delivery)
    if config.kms_master_key_id:
        values["KmsMasterKeyId"] = config.kms_master_key_id
    if config.fifo:
        values["FifoTopic"] = "true"
        values["ContentBasedDeduplication"] = str(config.content_based_dedup).lower()
        values["FifoThroughputScope"] = "Topic" if config.dedup_scope == "topic" else "MessageGroup"
    return values


def topic_matches(config: TopicConfig, wanted: Mapping[str, Any]) -> bool:
    current = config.to_dict()
    return all(current.get(key) == value for key, value in wanted.items())


# -- subscriptions --------------------------------------------------------------------------
_SUB_SETTABLE = {
    "RawMessageDelivery": "raw",
    "FilterPolicy": "filter_policy",
    "FilterPolicyScope": "filter_policy_scope",
    "RedrivePolicy": "dead_letter_queue",
    "DeliveryPolicy": "delivery_policy",
}


def subscription_settings(attributes: Mapping[str, str], settings: AwsSettings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in attributes.items():
        setting = _SUB_SETTABLE.get(name)
        if setting is None:
            raise invalid_parameter(f"AttributeName {name}")
        if name == "RawMessageDelivery":
            out[setting] = _boolean(name, text)
        elif name == "FilterPolicy":
            out[setting] = _json(name, text)
        elif name == "FilterPolicyScope":
            if text not in ("MessageAttributes", "MessageBody"):
                raise invalid_parameter(name, "MessageAttributes or MessageBody")
            out[setting] = text
        elif name == "RedrivePolicy":
            policy = _json(name, text)
            if policy is None:
                out[setting] = None
                continue
            target = policy.get("deadLetterTargetArn")
            parts = target.split(":") if isinstance(target, str) else []
            if (
                len(parts) != 6
                or parts[:3] != ["arn", "aws", "sqs"]
                or parts[3:5] != [settings.region, settings.account_id]
            ):
                raise invalid_parameter(
                    "RedrivePolicy", "deadLetterTargetArn is the ARN of a queue of this endpoint"
                )
            out[setting] = parts[5]
        else:
            out[setting] = _json(name, text)
    return out


def subscription_attributes(
    sub: SubscriptionConfig, endpoint: str, protocol: str, settings: AwsSettings
) -> dict[str, str]:
    values = {
        "SubscriptionArn": settings.arn("sns", f"{sub.topic}:{sub.id}"),
        "TopicArn": settings.arn("sns", sub.topic),
        "Owner": settings.account_id,
        "Protocol": protocol,
        "Endpoint": endpoint,
        "ConfirmationWasAuthenticated": "true" if sub.pending_token is None else "false",
        "PendingConfirmation": "true" if sub.pending_token is not None else "false",
        "RawMessageDelivery": str(sub.raw).lower(),
        "FilterPolicyScope": sub.filter_policy_scope,
    }
    if sub.filter_policy is not None:
        values["FilterPolicy"] = json.dumps(sub.filter_policy)
    if sub.dead_letter_queue is not None:
        values["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": settings.arn("sqs", sub.dead_letter_queue)}
        )
    if sub.delivery_policy is not None:
        values["DeliveryPolicy"] = json.dumps(sub.delivery_policy)
    if sub.protocol in ("http", "https"):
        values["EffectiveDeliveryPolicy"] = json.dumps(
            sub.delivery_policy or DEFAULT_DELIVERY_POLICY["http"]
        )
    return values
