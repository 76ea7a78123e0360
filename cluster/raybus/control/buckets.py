"""The control calls of buckets (see :mod:`raybus.control.plane`).

A bucket's settings hold its sub-configurations (versioning, notifications, lifecycle,
replication, tags) in S3's own shapes; :class:`UpdateBucket` changes any of them with S3's
checks and pushes the new settings to every partition before it answers, so a change
acknowledged after it sees the new configuration.

Checks are S3's: versioning never returns to unversioned, and may not be suspended while
replication is configured; replication needs versioning enabled here and on each destination;
notification configurations are validated (:mod:`raybus.core.bucket_events`) and their
destinations must exist (``InvalidArgument`` "Unable to validate the following destination
configurations"), a destination whose policy does not let S3 send to it is refused the same
way (raybus enforces no IAM: a destination without a policy is taken), and each new queue or
topic destination receives S3's ``s3:TestEvent``. A
bucket is deleted only when it holds no object, version or delete marker (``BucketNotEmpty``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from raybus.actors.dispatch import RouterDispatcher
from raybus.control.plane import ControlCall, ControlPlane
from raybus.core.arns import bucket_arn
from raybus.core.bucket_events import (
    DESTINATION_MISSING,
    NotificationConfig,
    destination_error,
    test_event,
)
from raybus.core.bucket_rules import (
    DESTINATION_VERSIONING_REQUIRED,
    VERSIONING_REQUIRED,
    LifecycleConfig,
    ReplicationConfig,
    destination_bucket,
)
from raybus.core.buckets import BucketConfig, check_tags, validate_bucket_name
from raybus.core.errors import RaybusError
from raybus.core.policies import grants
from raybus.engines.bucket.ops import BucketStats

__all__ = [
    "BUCKET_FIELDS",
    "BucketStatsCall",
    "CreateBucket",
    "DeleteBucket",
    "DescribeBucket",
    "ListBuckets",
    "UpdateBucket",
]

_BUCKET = "bucket"
BUCKET_FIELDS = frozenset(
    {"versioning", "notification", "lifecycle", "replication", "tags", "documents"}
)
_DESTINATION_KINDS = {"queue": "queue", "topic": "topic", "function": "function"}


@dataclass(frozen=True, slots=True)
class CreateBucket(ControlCall[tuple[dict[str, Any], bool]]):
    """Create a bucket. Creating one that exists answers ``BucketAlreadyOwnedByYou``, except in
    us-east-1 (no LocationConstraint), where S3 answers success for its owner."""

    settings: dict[str, Any]

    async def run(self, plane: ControlPlane) -> tuple[dict[str, Any], bool]:
        if not isinstance(self.settings, dict):
            raise RaybusError("MalformedRequest", "Bucket settings are a map.")
        validate_bucket_name(self.settings.get("name"))
        config = BucketConfig.from_dict({**self.settings, "created_ms": plane.now_ms()})
        async with plane.change() as catalog:
            existing = catalog.find(_BUCKET, config.name)
            if existing is not None:
                if config.region in ("", "us-east-1"):
                    return existing.config.to_dict(), False
                raise RaybusError(
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you "
                    "already own it.",
                    bucket=config.name,
                )
            record, created = catalog.add(_BUCKET, config)
        if created:
            await plane.open_partitions(_BUCKET, config.name)
        return record.config.to_dict(), created


@dataclass(frozen=True, slots=True)
class DescribeBucket(ControlCall[dict[str, Any]]):
    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        config: dict[str, Any] = plane.catalog.config(_BUCKET, self.name).to_dict()
        return config


@dataclass(frozen=True, slots=True)
class ListBuckets(ControlCall[list[dict[str, Any]]]):
    prefix: str | None = None

    async def run(self, plane: ControlPlane) -> list[dict[str, Any]]:
        buckets = sorted(plane.catalog.of(_BUCKET).values(), key=lambda r: r.key)
        return [
            r.config.to_dict()
            for r in buckets
            if self.prefix is None or r.key.startswith(self.prefix)
        ]


@dataclass(frozen=True, slots=True)
class BucketStatsCall(ControlCall[dict[str, Any]]):
    """Counts summed over the bucket's partitions (objects, bytes, keys, uploads, requests,
    notifications)."""

    name: str

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        parts = await plane.partition_stats(_BUCKET, self.name, BucketStats())
        total: dict[str, Any] = {}
        for part in parts:
            for counter, value in part.items():
                if counter != "epoch":
                    total[counter] = total.get(counter, 0) + value
        total["partitions"] = len(parts)
        return total


@dataclass(frozen=True, slots=True)
class DeleteBucket(ControlCall[None]):
    name: str

    async def run(self, plane: ControlPlane) -> None:
        stats = await BucketStatsCall(self.name).run(plane)
        if stats.get("keys", 0):
            raise RaybusError(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
                bucket=self.name,
            )
        async with plane.change() as catalog:
            record = catalog.remove(_BUCKET, self.name)
        await plane.close_partitions(record)


@dataclass(frozen=True, slots=True)
class UpdateBucket(ControlCall[dict[str, Any]]):
    """Change one or more of a bucket's sub-configurations (``BUCKET_FIELDS``); None removes
    lifecycle or replication rules, ``{}`` removes notifications or tags."""

    name: str
    changes: dict[str, Any]

    async def run(self, plane: ControlPlane) -> dict[str, Any]:
        unknown = set(self.changes) - BUCKET_FIELDS
        if unknown:
            raise RaybusError(
                "InvalidArgument",
                f"Unknown bucket setting(s): {', '.join(sorted(unknown))}.",
                parameter=sorted(unknown)[0],
            )
        added: list[tuple[str, str]] = []
        async with plane.change() as catalog:
            config: BucketConfig = catalog.config(_BUCKET, self.name)
            changes = dict(self.changes)
            versioning = changes.get("versioning", config.versioning)
            if "versioning" in changes:
                if versioning not in ("Enabled", "Suspended"):
                    raise RaybusError(
                        "MalformedXML",
                        "The XML you provided was not well-formed or did not validate against "
                        "our published schema",
                    )
                if versioning == "Suspended" and config.replication is not None:
                    raise RaybusError(
                        "InvalidRequest",
                        "A replication configuration is present on this bucket, so the "
                        "versioning state cannot be changed.",
                    )
            if "notification" in changes:
                notification = NotificationConfig.from_s3(changes["notification"] or {})
                missing = {
                    arn: DESTINATION_MISSING[kind]
                    for kind, name, arn in _destinations(notification)
                    if catalog.find(kind, name) is None
                }
                if missing:
                    raise destination_error(missing)
                refused = {
                    arn: _REFUSED[kind]
                    for kind, name, arn in _destinations(notification)
                    if not _allows(catalog.config(kind, name), kind, arn, config.name)
                }
                if refused:
                    raise destination_error(refused)
                before = NotificationConfig.from_s3(config.notification)
                old = {(k, n) for k, n, _ in _destinations(before)}
                added = [
                    (k, n)
                    for k, n, _ in _destinations(notification)
                    if (k, n) not in old and k in ("queue", "topic")
                ]
                changes["notification"] = notification.to_s3()
            if changes.get("lifecycle") is not None:
                changes["lifecycle"] = LifecycleConfig.from_s3(changes["lifecycle"]).to_dict()
            if changes.get("replication") is not None:
                if versioning != "Enabled":
                    raise RaybusError("InvalidRequest", VERSIONING_REQUIRED)
                replication = ReplicationConfig.from_s3(changes["replication"])
                for rule in replication.rules:
                    target = destination_bucket(rule)
                    found = catalog.find(_BUCKET, target)
                    if found is None:
                        raise RaybusError(
                            "InvalidRequest",
                            f"Destination bucket must exist: {target}",
                            bucket=target,
                        )
                    if found.config.versioning != "Enabled":
                        raise RaybusError(
                            "InvalidRequest",
                            DESTINATION_VERSIONING_REQUIRED,
                            bucket=target,
                        )
                changes["replication"] = replication.to_dict()
            if "documents" in changes:  # a partial update: None removes a document
                documents = dict(config.documents)
                for document, value in (changes["documents"] or {}).items():
                    if value is None:
                        documents.pop(document, None)
                    else:
                        documents[document] = value
                changes["documents"] = documents
            if "tags" in changes:
                changes["tags"] = check_tags(changes["tags"] or {}, limit=50)
            updated = config.updated(**changes)
            catalog.put(_BUCKET, updated)
        await plane.configure(_BUCKET, self.name)
        if added:
            await _send_test_events(plane, updated, added)
        answer: dict[str, Any] = updated.to_dict()
        return answer


_ACTIONS = {"queue": "sqs:SendMessage", "topic": "sns:Publish", "function": "lambda:InvokeFunction"}
_REFUSED = {
    "queue": "Permissions on the destination queue do not allow S3 to publish notifications "
    "from this bucket",
    "topic": "Permissions on the destination topic do not allow S3 to publish notifications "
    "from this bucket",
    "function": "Permissions on the destination Lambda function do not allow S3 to invoke it",
}


def _allows(destination: Any, kind: str, arn: str, bucket: str) -> bool:
    """S3 checks that a destination's policy lets it send there. raybus enforces no IAM, so a
    destination without a policy is taken (AWS would refuse it); one whose policy does not
    grant S3 the action — or denies it — is refused, as on AWS."""
    policy = getattr(destination, "policy", None)
    if not policy:
        return True
    return grants(
        policy,
        service="s3.amazonaws.com",
        action=_ACTIONS[kind],
        resource=arn,
        source_arn=bucket_arn(bucket),
        source_account=arn.split(":")[4] if arn.count(":") >= 5 else "",
    )


def _destinations(config: NotificationConfig) -> list[tuple[str, str, str]]:
    """(kind, name, ARN) of every destination of ``config``."""
    out = []
    for target in (*config.queues, *config.topics, *config.functions):
        out.append((_DESTINATION_KINDS[target.kind], target.arn.rsplit(":", 1)[-1], target.arn))
    return out


async def _send_test_events(
    plane: ControlPlane, config: BucketConfig, destinations: list[tuple[str, str]]
) -> None:
    """S3's ``s3:TestEvent`` to each queue and topic just configured (best effort: the
    configuration stands even if a test message cannot be delivered, as on S3 once
    validated)."""
    dispatcher = RouterDispatcher(plane.router)
    now = plane.now_ms()
    text = json.dumps(
        test_event(config.name, request_id=f"{now:016X}", host_id="raybus", time_ms=now)
    )
    for kind, name in destinations:
        try:
            await dispatcher.deliver(f"{kind}:{name}", text)
        except RaybusError:
            continue
