"""Every action of SQS's current API, over raybus's queues (docs/aws-sqs.md).

Queue URLs have AWS's form for this endpoint: ``<scheme>://<host the client used>/<account
id>/<queue>``; a URL with another account names a queue that does not exist here. Data-plane
actions go through the gateway's queue service (the native API's lanes and typed operations),
admin actions through the same control calls as the native API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from raybus.control.moves import CancelMoveTask, ListMoveTasks, StartMoveTask
from raybus.control.queues import CreateQueue, DeleteQueue, ListQueues, UpdateQueue
from raybus.control.tags import DescribeResource, ListTags, TagResource, UntagResource
from raybus.core.errors import RaybusError
from raybus.core.queues import QueueConfig
from raybus.engines import SendEntry
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call
from raybus.gateway.aws.sqs.attributes import (
    attributes_of,
    matches,
    needs_stats,
    queue_of_arn,
    settings_from,
)
from raybus.gateway.aws.sqs.errors import ERRORS
from raybus.gateway.aws.sqs.messages import (
    SYSTEM_ATTRIBUTES,
    entry_from,
    message_to,
    send_result_to,
    trace_header,
)

__all__ = ["OPERATIONS"]

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 1_048_576  # SQS: a batch's messages total at most 1 MiB
MAX_WAIT_S = 20
_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_QUEUE = "queue"


def _error(code: str, message: str, query_code: str | None = None, status: int = 400) -> AwsError:
    return AwsError(code, message, status=status, query_code=query_code or code)


def _no_queue() -> AwsError:
    return _error(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        "AWS.SimpleQueueService.NonExistentQueue",
    )


# -- URLs ---------------------------------------------------------------------------------------
def queue_url(call: Call, name: str) -> str:
    return f"{call.base_url}/{call.settings.account_id}/{name}"


def queue_url_from_path(
    params: dict[str, Any], members: Collection[str], path: str, base_url: str
) -> None:
    """A query client that posted to a queue's URL (``/<account>/<queue>``) names that queue:
    its ``QueueUrl`` is the URL, unless the form gave one."""
    if (
        "QueueUrl" in members
        and "QueueUrl" not in params
        and path.count("/") == 2
        and len(path) > 2
    ):
        params["QueueUrl"] = base_url + path


def queue_name(call: Call, params: Mapping[str, Any]) -> str:
    """The queue a request names by its ``QueueUrl``."""
    url = params.get("QueueUrl")
    path = urlsplit(url).path if isinstance(url, str) else ""
    parts = [p for p in path.split("/") if p]
    if len(parts) != 2 or parts[0] != call.settings.account_id:
        raise _no_queue()
    return parts[1]


# -- queues -----------------------------------------------------------------------------------
async def _describe(call: Call, name: str) -> dict[str, Any]:
    try:
        return await call.gateway.control.run(DescribeResource(_QUEUE, name))
    except RaybusError as error:
        if error.code in ("QueueDoesNotExist", "ResourceNotFound"):
            raise _no_queue() from None
        raise


async def create_queue(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["QueueName"]
    attributes = params.get("Attributes") or {}
    settings = settings_from(attributes, call.settings, creating=True)
    fifo_name = name.endswith(".fifo")
    if settings.get("fifo") and not fifo_name:
        raise _error(
            "InvalidParameterValue",
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
            "underscores, must end with .fifo suffix and be 1 to 80 in length.",
        )
    if fifo_name and not settings.get("fifo"):
        raise _error(
            "InvalidParameterValue",
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
            "length. The .fifo suffix is reserved for FIFO queues (set FifoQueue to true).",
        )
    table = call.gateway.router.table
    existing = table.route(_QUEUE, name)
    if existing is not None:
        if not matches(existing.config, settings):
            raise _error(
                "QueueNameExists",
                f"A queue already exists with the same name and a different value for "
                f"attribute(s) {', '.join(sorted(attributes)) or '(none)'}.",
                "QueueAlreadyExists",
            )
        return {"QueueUrl": queue_url(call, name)}
    try:
        await call.gateway.control.run(CreateQueue({"name": name, **settings}))
    except RaybusError as error:
        if error.code == "QueueAlreadyExists":
            raise _error(
                "QueueNameExists",
                "A queue already exists with the same name and a different value for an attribute.",
                "QueueAlreadyExists",
            ) from None
        raise
    tags = params.get("tags")
    if tags:
        await call.gateway.control.run(TagResource(_QUEUE, name, dict(tags)))
    await call.gateway.changed()
    return {"QueueUrl": queue_url(call, name)}


async def get_queue_url(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = params["QueueName"]
    owner = params.get("QueueOwnerAWSAccountId")
    if owner not in (None, call.settings.account_id) or await _route(call, name) is None:
        raise _no_queue()
    return {"QueueUrl": queue_url(call, name)}


async def _route(call: Call, name: str) -> Any:
    router = call.gateway.router
    route = router.table.route(_QUEUE, name)
    if route is None:
        route = (await router.refresh()).route(_QUEUE, name)
    return route


def _page(names: Sequence[str], params: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """One page of sorted names: ``MaxResults`` (1–1,000) from ``NextToken`` (the last name
    of the previous page); without ``MaxResults``, the first 1,000 and no token (SQS)."""
    token = params.get("NextToken")
    start = 0
    if token:
        start = next((i for i, n in enumerate(names) if n > token), len(names))
    limit = params.get("MaxResults")
    if limit is None:
        return list(names[start : start + 1000]), None
    if not 1 <= limit <= 1000:
        raise _error("InvalidParameterValue", "MaxResults must be an integer between 1 and 1000.")
    page = list(names[start : start + limit])
    more = start + limit < len(names)
    return page, (page[-1] if more and page else None)


async def list_queues(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    prefix = params.get("QueueNamePrefix") or None
    names = await call.gateway.control.run(ListQueues(prefix, 1_000_000))
    page, token = _page(sorted(names), params)
    out: dict[str, Any] = {}
    if page:
        out["QueueUrls"] = [queue_url(call, n) for n in page]
    if token:
        out["NextToken"] = token
    return out


async def delete_queue(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    try:
        await call.gateway.control.run(DeleteQueue(name))
    except RaybusError as error:
        if error.code == "QueueDoesNotExist":
            raise _no_queue() from None
        raise
    await call.gateway.changed()
    call.gateway.queues.forget(name)
    call.gateway.metrics.forget(name)
    return {}


async def get_queue_attributes(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    names = params.get("AttributeNames") or []
    described = await _describe(call, name)
    config = QueueConfig.from_dict(described["config"])
    stats = await call.gateway.queues.stats(name) if needs_stats(names) else None
    attributes = attributes_of(config, described, stats, call.settings, names)
    return {"Attributes": attributes} if attributes else {}


async def set_queue_attributes(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    settings = settings_from(params["Attributes"], call.settings, creating=False)
    if settings:
        await call.gateway.control.run(UpdateQueue(name, settings))
        await call.gateway.changed()
    return {}


async def purge_queue(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    await call.gateway.queues.purge(queue_name(call, params))
    return {}


async def list_dead_letter_source_queues(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    if await _route(call, name) is None:
        raise _no_queue()
    sources = sorted(
        key
        for key, route in call.gateway.router.table.routes(_QUEUE).items()
        if route.config.redrive_policy is not None
        and route.config.redrive_policy.dead_letter_queue == name
    )
    page, token = _page(sources, params)
    out: dict[str, Any] = {"queueUrls": [queue_url(call, n) for n in page]}
    if token:
        out["NextToken"] = token
    return out


# -- tags ---------------------------------------------------------------------------------------
async def tag_queue(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    await call.gateway.control.run(TagResource(_QUEUE, queue_name(call, params), params["Tags"]))
    return {}


async def untag_queue(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    await call.gateway.control.run(UntagResource(_QUEUE, name, list(params["TagKeys"])))
    return {}


async def list_queue_tags(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    tags = await call.gateway.control.run(ListTags(_QUEUE, queue_name(call, params)))
    return {"Tags": tags} if tags else {}


# -- permissions (stored in the queue's policy, not enforced) ------------------------------------
async def add_permission(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    config = QueueConfig.from_dict((await _describe(call, name))["config"])
    policy: dict[str, Any] = (
        json.loads(config.policy) if config.policy else {"Version": "2012-10-17"}
    )
    statements: list[dict[str, Any]] = policy.setdefault("Statement", [])
    label = params["Label"]
    if any(s.get("Sid") == label for s in statements):
        raise _error(
            "InvalidParameterValue",
            f"Value {label} for parameter Label is invalid. Reason: Already exists.",
        )
    statements.append(
        {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in params["AWSAccountIds"]]},
            "Action": [f"SQS:{a}" for a in params["Actions"]],
            "Resource": call.arn("sqs", name),
        }
    )
    await call.gateway.control.run(UpdateQueue(name, {"policy": json.dumps(policy)}))
    return {}


async def remove_permission(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    config = QueueConfig.from_dict((await _describe(call, name))["config"])
    policy = json.loads(config.policy) if config.policy else {}
    statements = policy.get("Statement", [])
    kept = [s for s in statements if s.get("Sid") != params["Label"]]
    if len(kept) == len(statements):
        raise _error(
            "InvalidParameterValue",
            f"Value {params['Label']} for parameter Label is invalid. Reason: can't find label.",
        )
    policy["Statement"] = kept
    text = json.dumps(policy) if kept else None
    await call.gateway.control.run(UpdateQueue(name, {"policy": text}))
    return {}


# -- messages -----------------------------------------------------------------------------------
def _check_batch(entries: Sequence[Mapping[str, Any]]) -> None:
    if not entries:
        raise _error(
            "EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
            "AWS.SimpleQueueService.EmptyBatchRequest",
        )
    if len(entries) > MAX_ENTRIES:
        raise _error(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_ENTRIES}. "
            f"You have sent {len(entries)}.",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        )
    seen: set[str] = set()
    for entry in entries:
        entry_id = entry["Id"]
        if not _ENTRY_ID.match(entry_id):
            raise _error(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
                "AWS.SimpleQueueService.InvalidBatchEntryId",
            )
        if entry_id in seen:
            raise _error(
                "BatchEntryIdsNotDistinct",
                f"Id {entry_id} repeated.",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            )
        seen.add(entry_id)


def _failed(entry_id: str, error: AwsError) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": error.sender_fault,
        "Code": error.query_code or error.code,
        "Message": error.message,
    }


async def _send(
    call: Call, name: str, items: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any] | AwsError]:
    """Send ``items``; an entry SQS would refuse (its body's characters, its attributes) fails
    alone, as in a batch on AWS, and the others are sent."""
    out: list[Mapping[str, Any] | AwsError] = []
    entries: list[SendEntry] = []
    for item in items:
        try:
            entry = entry_from(item, call.caller)
        except RaybusError as error:
            out.append(ERRORS(error))
            continue
        except AwsError as error:
            out.append(error)
            continue
        out.append(item)
        entries.append(entry)
    results = iter(await call.gateway.queues.send(name, entries) if entries else [])
    sent = 0
    nbytes = 0
    for position, slot in enumerate(out):
        if isinstance(slot, AwsError):
            continue
        item = slot
        result = next(results)
        if isinstance(result, RaybusError):
            out[position] = ERRORS(result)
            continue
        sent += 1
        nbytes += len(item["MessageBody"].encode("utf-8"))
        out[position] = send_result_to(result, trace_header(item.get("MessageSystemAttributes")))
    call.gateway.metrics.count("sent", name, sent, nbytes)
    return out


async def send_message(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    (result,) = await _send(call, name, [params])
    if isinstance(result, AwsError):
        raise result
    return result


async def send_message_batch(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    entries = params["Entries"]
    _check_batch(entries)
    total = sum(len(e["MessageBody"].encode("utf-8")) for e in entries)
    if total > MAX_BATCH_BYTES:
        raise _error(
            "BatchRequestTooLong",
            f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
            f"You have sent {total} bytes.",
            "AWS.SimpleQueueService.BatchRequestTooLong",
        )
    results = await _send(call, name, entries)
    successful: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for entry, result in zip(entries, results, strict=True):
        if isinstance(result, AwsError):
            failed.append(_failed(entry["Id"], result))
        else:
            successful.append({"Id": entry["Id"], **result})
    return {"Successful": successful, "Failed": failed}


async def receive_message(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    count = params.get("MaxNumberOfMessages", 1)
    if not 1 <= count <= MAX_ENTRIES:
        raise _error(
            "InvalidParameterValue",
            f"Value {count} for parameter MaxNumberOfMessages is invalid. Reason: Must be "
            "between 1 and 10, if provided.",
        )
    wait = params.get("WaitTimeSeconds")
    if wait is not None and not 0 <= wait <= MAX_WAIT_S:
        raise _error(
            "InvalidParameterValue",
            f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
            "and <= 20, if provided.",
        )
    visibility = params.get("VisibilityTimeout")
    if visibility is not None and not 0 <= visibility <= 43_200:
        raise _error(
            "InvalidParameterValue",
            f"Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must be "
            "between 0 and 43200.",
        )
    system = [*params.get("AttributeNames", ()), *params.get("MessageSystemAttributeNames", ())]
    unknown = sorted(set(system) - set(SYSTEM_ATTRIBUTES) - {"All"})
    if unknown:
        raise _error("InvalidAttributeName", f"Unknown Attribute {unknown[0]}.")
    messages = await call.gateway.queues.receive(name, count, wait, visibility)
    call.gateway.metrics.count("received", name, len(messages))
    wanted = params.get("MessageAttributeNames", ())
    out = [message_to(m, call.settings, system, wanted) for m in messages]
    return {"Messages": out} if out else {}


async def delete_message(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    (result,) = await call.gateway.queues.delete(name, [params["ReceiptHandle"]])
    if result is not None:
        raise ERRORS(result)
    call.gateway.metrics.count("deleted", name, 1)
    return {}


async def delete_message_batch(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    entries = params["Entries"]
    _check_batch(entries)
    results = await call.gateway.queues.delete(name, [e["ReceiptHandle"] for e in entries])
    call.gateway.metrics.count("deleted", name, sum(1 for r in results if r is None))
    return _batch_answer(call, entries, results)


def _batch_answer(
    call: Call, entries: Sequence[Mapping[str, Any]], results: Sequence[RaybusError | None]
) -> dict[str, Any]:
    successful = [{"Id": e["Id"]} for e, r in zip(entries, results, strict=True) if r is None]
    failed = [
        _failed(e["Id"], ERRORS(r)) for e, r in zip(entries, results, strict=True) if r is not None
    ]
    return {"Successful": successful, "Failed": failed}


async def change_message_visibility(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    change = (params["ReceiptHandle"], params["VisibilityTimeout"])
    (result,) = await call.gateway.queues.change_visibility(name, [change])
    if result is not None:
        raise ERRORS(result)
    return {}


async def change_message_visibility_batch(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    name = queue_name(call, params)
    entries = params["Entries"]
    _check_batch(entries)
    changes = [(e["ReceiptHandle"], e.get("VisibilityTimeout", 0)) for e in entries]
    results = await call.gateway.queues.change_visibility(name, changes)
    return _batch_answer(call, entries, results)


# -- message move tasks ------------------------------------------------------------------------
def _task_to(call: Call, task: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "TaskHandle": task["handle"],
        "Status": task["status"],
        "SourceArn": call.arn("sqs", task["source"]),
        "ApproximateNumberOfMessagesMoved": task.get("moved", 0),
        "ApproximateNumberOfMessagesToMove": task.get("to_move", 0),
        "StartedTimestamp": task.get("started_ms", 0),
    }
    if task.get("destination"):
        out["DestinationArn"] = call.arn("sqs", task["destination"])
    if task.get("max_messages_per_s") is not None:
        out["MaxNumberOfMessagesPerSecond"] = task["max_messages_per_s"]
    if task.get("failure_reason"):
        out["FailureReason"] = task["failure_reason"]
    return out


async def start_message_move_task(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    source = queue_of_arn(params["SourceArn"], call.settings, "SourceArn", parameter=True)
    destination = params.get("DestinationArn")
    target = (
        queue_of_arn(destination, call.settings, "DestinationArn", parameter=True)
        if destination
        else None
    )
    task = await call.gateway.control.run(
        StartMoveTask(source, target, params.get("MaxNumberOfMessagesPerSecond"))
    )
    return {"TaskHandle": task["handle"]}


async def cancel_message_move_task(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    task = await call.gateway.control.run(CancelMoveTask(params["TaskHandle"]))
    return {"ApproximateNumberOfMessagesMoved": task.get("moved", 0)}


async def list_message_move_tasks(call: Call, params: dict[str, Any]) -> Mapping[str, Any]:
    source = queue_of_arn(params["SourceArn"], call.settings, "SourceArn", parameter=True)
    limit = params.get("MaxResults", 1)
    if not 1 <= limit <= 10:
        raise _error("InvalidParameterValue", "MaxResults must be between 1 and 10.")
    tasks = await call.gateway.control.run(ListMoveTasks(source))
    return {"Results": [_task_to(call, t) for t in tasks[:limit]]}


OPERATIONS = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "DeleteQueue": delete_queue,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "PurgeQueue": purge_queue,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
    "ListQueueTags": list_queue_tags,
    "AddPermission": add_permission,
    "RemovePermission": remove_permission,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "StartMessageMoveTask": start_message_move_task,
    "CancelMessageMoveTask": cancel_message_move_task,
    "ListMessageMoveTasks": list_message_move_tasks,
}
