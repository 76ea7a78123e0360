"""SNS's topic actions over raybus's topics (docs/aws-sns.md): topics, attributes,
subscriptions to queues (``sqs``), functions (``lambda``) and HTTP(S) endpoints with their
confirmation, publish and publish batch, tags, permissions.

A subscription's ARN is ``<topic ARN>:<subscription id>``. Subscriptions to HTTP(S) endpoints
made here wait for the endpoint to confirm them, as SNS's do (:mod:`.confirm`); those made
through the native API are confirmed at once.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from raybus.control.tags import ListTags, TagResource, UntagResource
from raybus.control.topics import (
    AllSubscriptions,
    ConfirmSubscription,
    CreateTopic,
    DeleteTopic,
    GetSubscription,
    GetTopic,
    ListTopics,
    Subscribe,
    Unsubscribe,
    UpdateSubscription,
    UpdateTopic,
)
from raybus.core.errors import RaybusError
from raybus.core.topics import PublishEntry, SubscriptionConfig, TopicConfig
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call
from raybus.gateway.aws.sns.attributes import (
    invalid_parameter,
    subscription_attributes,
    subscription_settings,
    topic_attributes,
    topic_matches,
    topic_settings,
)
from raybus.gateway.aws.sns.confirm import new_token, send_confirmation
from raybus.gateway.aws.sns.errors import ERRORS
from raybus.gateway.aws.sns.messages import entry_from

__all__ = ["OPERATIONS"]

PAGE = 100  # SNS lists 100 topics or subscriptions per page
MAX_BATCH = 10
MAX_BATCH_BYTES = 262_144
_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_TOPIC = "topic"
_PROTOCOLS = {"sqs": "queue", "lambda": "function", "http": "http", "https": "https"}
_AWS_PROTOCOL = {native: aws for aws, native in _PROTOCOLS.items()}
_background: set[asyncio.Task[None]] = set()


def _not_found(what: str = "Topic does not exist") -> AwsError:
    return AwsError("NotFound", what, status=404)


# -- names and ARNs ---------------------------------------------------------------------------
def _arn_parts(call: Call, arn: object, what: str) -> list[str]:
    parts = arn.split(":") if isinstance(arn, str) else []
    if (
        len(parts) < 6
        or parts[0] != "arn"
        or parts[3:5]
        != [
            call.settings.region,
            call.settings.account_id,
        ]
    ):
        raise invalid_parameter(what)
    return parts


def topic_of(call: Call, arn: object, what: str = "TopicArn") -> str:
    parts = _arn_parts(call, arn, what)
    if parts[2] != "sns" or len(parts) != 6:
        raise invalid_parameter(what)
    return parts[5]


def subscription_of(call: Call, arn: object) -> str:
    parts = _arn_parts(call, arn, "SubscriptionArn")
    if parts[2] != "sns" or len(parts) != 7:
        raise invalid_parameter("SubscriptionArn")
    return parts[6]


def subscription_arn(call: Call, sub: SubscriptionConfig) -> str:
    return call.arn("sns", f"{sub.topic}:{sub.id}")


def _endpoint(call: Call, protocol: str, endpoint: object) -> str:
    """The native endpoint (queue or function name, or URL) of an SNS endpoint."""
    if not isinstance(endpoint, str) or not endpoint:
        raise invalid_parameter("Endpoint")
    if protocol == "sqs":
        parts = _arn_parts(call, endpoint, "SQS endpoint ARN")
        if parts[2] != "sqs" or len(parts) != 6:
            raise invalid_parameter("SQS endpoint ARN")
        return parts[5]
    if protocol == "lambda":
        parts = _arn_parts(call, endpoint, "Lambda endpoint ARN")
        if parts[2] != "lambda" or len(parts) not in (7, 8) or parts[5] != "function":
            raise invalid_parameter("Lambda endpoint ARN")
        return parts[6]
    return endpoint


def _aws_endpoint(call: Call, sub: SubscriptionConfig) -> str:
    if sub.protocol == "queue":
        return call.arn("sqs", sub.endpoint)
    if sub.protocol == "function":
        return call.arn("lambda", f"function:{sub.endpoint}")
    return sub.endpoint


def _listed(call: Call, sub: SubscriptionConfig) -> dict[str, str]:
    return {
        "SubscriptionArn": "PendingConfirmation"
        if sub.pending_token is not None
        else subscription_arn(call, sub),
        "Owner": call.settings.account_id,
        "Protocol": _AWS_PROTOCOL[sub.protocol],
        "Endpoint": _aws_endpoint(call, sub),
        "TopicArn": call.arn("sns", sub.topic),
    }


def _page(items: Sequence[Any], token: object) -> tuple[list[Any], str | None]:
    start = 0
    if token:
        if not isinstance(token, str) or not token.isdigit():
            raise invalid_parameter("NextToken")
        start = int(token)
    page = list(items[start : start + PAGE])
    more = start + PAGE < len(items)
    return page, (str(start + PAGE) if more else None)


async def _run(call: Call, control_call: Any) -> Any:
    try:
        return await call.gateway.control.run(control_call)
    except RaybusError as error:
        if error.code in ("ResourceNotFound",):
            raise _not_found(error.message) from None
        raise


# -- topics -------------------------------------------------------------------------------------
async def create_topic(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["Name"]
    settings = topic_settings(params.get("Attributes") or {}, creating=True)
    if name.endswith(".fifo") != bool(settings.get("fifo")):
        raise invalid_parameter(
            "Topic Name",
            "FIFO topic names end with .fifo and set FifoTopic to true; other names do not",
        )
    existing = call.gateway.router.table.route(_TOPIC, name)
    if existing is None:
        try:
            await call.gateway.control.run(CreateTopic({"name": name, **settings}))
        except RaybusError as error:
            if error.code != "ResourceConflict":
                raise
            existing = (await call.gateway.router.refresh()).route(_TOPIC, name)
    if existing is not None and not topic_matches(existing.config, settings):
        raise invalid_parameter("Attributes", "Topic already exists with different attributes")
    tags = params.get("Tags")
    if tags:
        await call.gateway.control.run(TagResource(_TOPIC, name, _tag_map(tags)))
    await call.gateway.changed()
    return {"TopicArn": call.arn("sns", name)}


async def delete_topic(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["TopicArn"])
    try:
        await call.gateway.control.run(DeleteTopic(name))
    except RaybusError as error:
        if error.code != "ResourceNotFound":  # deleting a missing topic succeeds (SNS)
            raise
    await call.gateway.changed()
    if call.gateway.topics is not None:
        call.gateway.topics.forget(name)
    return {}


async def _topic(call: Call, name: str) -> tuple[TopicConfig, list[SubscriptionConfig]]:
    described = await _run(call, GetTopic(name))
    subs = [SubscriptionConfig.from_dict(s) for s in described["subscriptions"]]
    return TopicConfig.from_dict(described["topic"]), subs


async def get_topic_attributes(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    config, subs = await _topic(call, topic_of(call, params["TopicArn"]))
    return {"Attributes": topic_attributes(config, subs, call.settings)}


async def set_topic_attributes(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["TopicArn"])
    attribute = params["AttributeName"]
    settings = topic_settings({attribute: params.get("AttributeValue") or ""}, creating=False)
    await _run(call, UpdateTopic(name, settings))
    await call.gateway.changed()
    return {}


async def list_topics(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    names = await call.gateway.control.run(ListTopics(None, 1_000_000))
    page, token = _page(sorted(names), params.get("NextToken"))
    out: dict[str, Any] = {"Topics": [{"TopicArn": call.arn("sns", n)} for n in page]}
    if token:
        out["NextToken"] = token
    return out


# -- subscriptions ------------------------------------------------------------------------------
async def subscribe(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    topic = topic_of(call, params["TopicArn"])
    protocol = params["Protocol"]
    native = _PROTOCOLS.get(protocol)
    if native is None:
        raise invalid_parameter(
            "Protocol", f"raybus delivers to sqs, lambda, http and https, not {protocol}"
        )
    endpoint = _endpoint(call, protocol, params.get("Endpoint"))
    settings = subscription_settings(params.get("Attributes") or {}, call.settings)
    pending = native in ("http", "https")
    request = {"protocol": native, "endpoint": endpoint, **settings}
    if pending:
        request["pending_token"] = new_token()
    try:
        answer, created = await call.gateway.control.run(Subscribe(topic, request))
    except RaybusError as error:
        if error.code == "QueueDoesNotExist":
            raise invalid_parameter("Endpoint", f"no queue {endpoint}") from None
        if error.code == "ResourceNotFound":
            raise _not_found(error.message) from None
        raise
    sub = SubscriptionConfig.from_dict(answer)
    await call.gateway.changed()
    if sub.pending_token is not None and created:
        task = asyncio.ensure_future(send_confirmation(call, sub))
        _background.add(task)
        task.add_done_callback(_background.discard)
    if sub.pending_token is not None and not params.get("ReturnSubscriptionArn"):
        return {"SubscriptionArn": "pending confirmation"}
    return {"SubscriptionArn": subscription_arn(call, sub)}


async def confirm_subscription(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    topic = topic_of(call, params["TopicArn"])
    answer = await _run(call, ConfirmSubscription(topic, params["Token"]))
    await call.gateway.changed()
    return {"SubscriptionArn": subscription_arn(call, SubscriptionConfig.from_dict(answer))}


async def _subscription(call: Call, arn: object) -> SubscriptionConfig:
    try:
        return SubscriptionConfig.from_dict(
            await call.gateway.control.run(GetSubscription(subscription_of(call, arn)))
        )
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise _not_found("Subscription does not exist") from None
        raise


async def unsubscribe(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    sub = await _subscription(call, params["SubscriptionArn"])
    await call.gateway.control.run(Unsubscribe(sub.id))
    await call.gateway.changed()
    return {}


async def get_subscription_attributes(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    sub = await _subscription(call, params["SubscriptionArn"])
    values = subscription_attributes(
        sub, _aws_endpoint(call, sub), _AWS_PROTOCOL[sub.protocol], call.settings
    )
    return {"Attributes": values}


async def set_subscription_attributes(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    sub = await _subscription(call, params["SubscriptionArn"])
    name = params["AttributeName"]
    changes = subscription_settings({name: params.get("AttributeValue") or ""}, call.settings)
    await call.gateway.control.run(UpdateSubscription(sub.id, changes))
    await call.gateway.changed()
    return {}


async def list_subscriptions(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    answer = await call.gateway.control.run(AllSubscriptions())
    subs = [SubscriptionConfig.from_dict(s) for s in answer]
    page, token = _page(subs, params.get("NextToken"))
    out: dict[str, Any] = {"Subscriptions": [_listed(call, s) for s in page]}
    if token:
        out["NextToken"] = token
    return out


async def list_subscriptions_by_topic(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    _, subs = await _topic(call, topic_of(call, params["TopicArn"]))
    page, token = _page(sorted(subs, key=lambda s: s.id), params.get("NextToken"))
    out: dict[str, Any] = {"Subscriptions": [_listed(call, s) for s in page]}
    if token:
        out["NextToken"] = token
    return out


# -- publish ------------------------------------------------------------------------------------
async def _publish(call: Call, topic: str, entries: list[PublishEntry]) -> list[Any]:
    publisher = call.gateway.topics
    if publisher is None:
        raise AwsError("InternalError", "This gateway has no topic data plane.", status=500)
    if call.gateway.router.table.route(_TOPIC, topic) is None:
        route = (await call.gateway.router.refresh()).route(_TOPIC, topic)
        if route is None:
            raise _not_found()
    return list(await publisher.publish(topic, entries))


def _target(call: Call, params: Mapping[str, Any]) -> str:
    if params.get("PhoneNumber"):
        raise invalid_parameter("PhoneNumber", "raybus does not send SMS")
    arn = params.get("TopicArn") or params.get("TargetArn")
    if arn is None:
        raise invalid_parameter("TopicArn or TargetArn", "one of them is required")
    return topic_of(call, arn, "TopicArn" if params.get("TopicArn") else "TargetArn")


async def publish(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    topic = _target(call, params)
    (result,) = await _publish(call, topic, [entry_from(params)])
    if isinstance(result, RaybusError):
        raise ERRORS(result)
    out: dict[str, Any] = {"MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


async def publish_batch(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    topic = topic_of(call, params["TopicArn"])
    items = params["PublishBatchRequestEntries"]
    if not items:
        raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(items) > MAX_BATCH:
        raise AwsError(
            "TooManyEntriesInBatchRequest",
            f"The batch request contains more entries than permissible ({MAX_BATCH}).",
        )
    ids = [item["Id"] for item in items]
    if any(not _ENTRY_ID.match(i) for i in ids):
        raise AwsError(
            "InvalidBatchEntryId",
            "The Id of a batch entry in a batch request doesn't abide by the specification.",
        )
    if len(set(ids)) != len(ids):
        raise AwsError(
            "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."
        )
    total = sum(len(str(item.get("Message", "")).encode("utf-8")) for item in items)
    if total > MAX_BATCH_BYTES:
        raise AwsError(
            "BatchRequestTooLong",
            f"The length of all the messages put together is more than the limit "
            f"({MAX_BATCH_BYTES} bytes).",
        )
    entries: list[PublishEntry | AwsError] = []
    for item in items:
        try:
            entries.append(entry_from(item))
        except AwsError as error:
            entries.append(error)
    valid = [e for e in entries if isinstance(e, PublishEntry)]
    results = iter(await _publish(call, topic, valid) if valid else [])
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item, entry in zip(items, entries, strict=True):
        result: Any = entry if isinstance(entry, AwsError) else next(results)
        if isinstance(result, RaybusError):
            result = ERRORS(result)
        if isinstance(result, AwsError):
            failed.append(
                {"Id": item["Id"], "Code": result.code, "Message": result.message,
                 "SenderFault": result.sender_fault}
            )  # fmt: skip
            continue
        ok: dict[str, Any] = {"Id": item["Id"], "MessageId": result.message_id}
        if result.sequence_number is not None:
            ok["SequenceNumber"] = result.sequence_number
        successful.append(ok)
    return {"Successful": successful, "Failed": failed}


# -- tags and permissions -----------------------------------------------------------------------
def _tag_map(tags: Sequence[Mapping[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


async def tag_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["ResourceArn"], "ResourceArn")
    await _tags(call, TagResource(_TOPIC, name, _tag_map(params["Tags"])))
    return {}


async def untag_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["ResourceArn"], "ResourceArn")
    await _tags(call, UntagResource(_TOPIC, name, list(params["TagKeys"])))
    return {}


async def list_tags_for_resource(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["ResourceArn"], "ResourceArn")
    tags = await _tags(call, ListTags(_TOPIC, name))
    return {"Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


async def _tags(call: Call, control_call: Any) -> dict[str, str]:
    try:
        tags: dict[str, str] = await call.gateway.control.run(control_call)
    except RaybusError as error:
        if error.code == "ResourceNotFound":
            raise AwsError("ResourceNotFound", "Resource does not exist", status=404) from None
        if error.code == "InvalidParameterValue" and "at most" in error.message:
            raise AwsError("TagLimitExceeded", error.message) from None
        raise
    return tags


async def add_permission(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["TopicArn"])
    config, _ = await _topic(call, name)
    policy: dict[str, Any] = (
        json.loads(config.policy) if config.policy else {"Version": "2008-10-17"}
    )
    statements: list[dict[str, Any]] = policy.setdefault("Statement", [])
    label = params["Label"]
    if any(s.get("Sid") == label for s in statements):
        raise invalid_parameter("Statement", f"Label {label} already exists")
    statements.append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in params["AWSAccountId"]]},
            "Action": [f"SNS:{a}" for a in params["ActionName"]],
            "Resource": call.arn("sns", name),
        }
    )
    await _run(call, UpdateTopic(name, {"policy": json.dumps(policy)}))
    return {}


async def remove_permission(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = topic_of(call, params["TopicArn"])
    config, _ = await _topic(call, name)
    policy = json.loads(config.policy) if config.policy else {}
    statements = policy.get("Statement", [])
    kept = [s for s in statements if s.get("Sid") != params["Label"]]
    policy["Statement"] = kept
    await _run(call, UpdateTopic(name, {"policy": json.dumps(policy) if kept else None}))
    return {}


OPERATIONS = {
    "CreateTopic": create_topic,
    "DeleteTopic": delete_topic,
    "GetTopicAttributes": get_topic_attributes,
    "SetTopicAttributes": set_topic_attributes,
    "ListTopics": list_topics,
    "Subscribe": subscribe,
    "ConfirmSubscription": confirm_subscription,
    "Unsubscribe": unsubscribe,
    "GetSubscriptionAttributes": get_subscription_attributes,
    "SetSubscriptionAttributes": set_subscription_attributes,
    "ListSubscriptions": list_subscriptions,
    "ListSubscriptionsByTopic": list_subscriptions_by_topic,
    "Publish": publish,
    "PublishBatch": publish_batch,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "AddPermission": add_permission,
    "RemovePermission": remove_permission,
}
