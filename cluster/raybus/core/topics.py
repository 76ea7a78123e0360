"""Topic settings (SNS's), subscription settings and the publish value types; the topic and
subscription kinds (:mod:`raybus.core.kinds`)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.names import FIFO_SUFFIX, validate_queue_name
from raybus.core.settings import (
    MAX_TOPIC_NAME_CHARS,
    NAME_PATTERN,
    Target,
    bool_setting,
    field_names,
    int_in,
    invalid,
    known,
    validate_function_name,
    validate_topic_name,
)

__all__ = [
    "MAX_SUBJECT_CHARS",
    "SNS_PROTOCOLS",
    "SUBSCRIPTION",
    "TOPIC",
    "MessageStructure",
    "PublishEntry",
    "PublishResult",
    "SubscriptionConfig",
    "TopicConfig",
]

MAX_SUBJECT_CHARS = 100
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)
TopicDedupScope = Literal["topic", "messageGroup"]
SignatureVersion = Literal["1", "2"]
TracingConfig = Literal["PassThrough", "Active"]
MAX_DISPLAY_NAME = 100
MAX_TOPIC_POLICY = 30_720  # SNS: a topic policy is at most 30 KiB
Protocol = Literal["queue", "function", "http", "https"]
MessageStructure = Literal["json"]
# The key of a MessageStructure=json message that each subscription protocol reads (SNS's
# protocol names); a protocol without its key in the message gets "default".
SNS_PROTOCOLS: dict[str, str] = {
    "queue": "sqs",
    "function": "lambda",
    "http": "http",
    "https": "https",
}


@dataclass(frozen=True, slots=True)
class TopicConfig:
    """A topic. Partitions: a standard topic spreads publishes over its partitions (one per
    host unless ``partitions`` says), as SNS promises no order; a FIFO topic deduplicating
    topic-wide (``dedup_scope="topic"``, SNS's default) has one partition, and one
    deduplicating per message group (``"messageGroup"``, SNS's ``FifoThroughputScope``
    ``MessageGroup``) is partitioned by message group like a high-throughput FIFO queue."""

    name: str = field(
        metadata={"schema_extra": {"maxLength": MAX_TOPIC_NAME_CHARS, "pattern": NAME_PATTERN}}
    )
    fifo: bool = False
    content_based_dedup: bool = False
    dedup_scope: TopicDedupScope = "topic"
    partitions: int | None = bounded(1, 1024, default=None)
    # SNS's topic attributes that raybus stores and reports; delivery_policy is the default of
    # the topic's HTTP(S) subscriptions; the others are not enforced (docs/topics.md).
    display_name: str | None = None
    delivery_policy: dict[str, Any] | None = None
    policy: str | None = None
    kms_master_key_id: str | None = None
    signature_version: SignatureVersion = "1"
    tracing_config: TracingConfig = "PassThrough"

    def __post_init__(self) -> None:
        bool_setting("fifo", self.fifo)
        bool_setting("content_based_dedup", self.content_based_dedup)
        for name, limit in (
            ("display_name", MAX_DISPLAY_NAME),
            ("policy", MAX_TOPIC_POLICY),
            ("kms_master_key_id", 2048),
        ):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise invalid(name, f"{name} is a string of at most {limit} characters.")
        if self.delivery_policy is not None and not isinstance(self.delivery_policy, dict):
            raise invalid("delivery_policy", "A delivery policy is a JSON object.")
        if self.signature_version not in ("1", "2"):
            raise invalid("signature_version", "signature_version is 1 or 2.")
        if self.tracing_config not in ("PassThrough", "Active"):
            raise invalid("tracing_config", "tracing_config is PassThrough or Active.")
        validate_topic_name(self.name, fifo=self.fifo)
        check_bounds(self, int_in)
        if self.content_based_dedup and not self.fifo:
            raise invalid("content_based_dedup", "content_based_dedup applies to FIFO topics.")
        if self.dedup_scope not in ("topic", "messageGroup"):
            raise invalid("dedup_scope", "dedup_scope must be topic or messageGroup.")
        if self.dedup_scope != "topic" and not self.fifo:
            raise invalid("dedup_scope", "dedup_scope applies to FIFO topics.")
        if self.fifo and self.dedup_scope == "topic" and self.partitions not in (None, 1):
            raise RaybusError(
                "UnsupportedOperation",
                "A FIFO topic with dedup_scope topic has exactly one partition.",
                parameter="partitions",
            )

    @property
    def default_partitions(self) -> int | None:
        """The partitions this topic must have whatever the hosts (None: one per host)."""
        if self.fifo and self.dedup_scope == "topic":
            return 1
        return self.partitions

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TopicConfig:
        settings = known("topic", data, field_names(cls))
        if "name" not in settings:
            raise RaybusError("MissingParameter", "A topic needs a name.", parameter="name")
        name = settings["name"]
        settings.setdefault("fifo", isinstance(name, str) and name.endswith(FIFO_SUFFIX))
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> TopicConfig:
        """A copy with ``changes``; the name, type, deduplication scope and partitions are
        fixed when the topic is created."""
        changes = known("topic", changes, _TOPIC_MUTABLE)
        return TopicConfig.from_dict({**self.to_dict(), **changes})


_TOPIC_MUTABLE = frozenset(
    {
        "content_based_dedup",
        "display_name",
        "delivery_policy",
        "policy",
        "kms_master_key_id",
        "signature_version",
        "tracing_config",
    }
)


@dataclass(frozen=True, slots=True)
class SubscriptionConfig:
    """One subscription of one topic. ``endpoint`` is a queue name (protocol ``queue``), a
    function name (``function``) or a URL (``http``/``https``). ``filter_policy`` is the
    policy's JSON object (checked by the controller with :mod:`raybus.rules`);
    ``delivery_policy`` is SNS's ``{"healthyRetryPolicy": {...}}`` (HTTP/S only)."""

    id: str
    topic: str
    protocol: Protocol
    endpoint: str
    raw: bool = False
    filter_policy: dict[str, Any] | None = None
    filter_policy_scope: str = "MessageAttributes"
    dead_letter_queue: str | None = None
    delivery_policy: dict[str, Any] | None = None
    enabled: bool = True
    # Set while an HTTP(S) subscription made through SNS's API waits for its endpoint to
    # confirm it (ConfirmSubscription with this token); it gets no messages until then.
    pending_token: str | None = None

    def __post_init__(self) -> None:
        if self.pending_token is not None and not isinstance(self.pending_token, str):
            raise invalid("pending_token", "pending_token is a string.")
        if self.protocol not in ("queue", "function", "http", "https"):
            raise invalid("protocol", "protocol must be queue, function, http or https.")
        if self.protocol == "queue":
            validate_queue_name(self.endpoint, fifo=str(self.endpoint).endswith(FIFO_SUFFIX))
        elif self.protocol == "function":
            validate_function_name(self.endpoint)
        elif not isinstance(self.endpoint, str) or not _URL.fullmatch(self.endpoint):
            raise invalid("endpoint", "An HTTP(S) endpoint is an http:// or https:// URL.")
        elif not self.endpoint.lower().startswith(self.protocol + "://"):
            raise invalid("endpoint", f"A {self.protocol} endpoint starts with {self.protocol}://")
        bool_setting("raw", self.raw)
        bool_setting("enabled", self.enabled)
        if self.raw and self.protocol == "function":
            raise invalid("raw", "Raw delivery applies to queue and HTTP(S) subscriptions.")
        if self.filter_policy is not None and not isinstance(self.filter_policy, dict):
            raise invalid("filter_policy", "A filter policy is a JSON object.", "InvalidParameter")
        if self.filter_policy_scope not in ("MessageAttributes", "MessageBody"):
            raise invalid(
                "filter_policy_scope",
                "filter_policy_scope must be MessageAttributes or MessageBody.",
                "InvalidParameter",
            )
        if self.dead_letter_queue is not None:
            Target.parse(self.dead_letter_queue, "dead_letter_queue")
        if self.delivery_policy is not None:
            if self.protocol not in ("http", "https"):
                raise invalid(
                    "delivery_policy",
                    "A delivery policy applies to HTTP(S) subscriptions; queue and function "
                    "endpoints use AWS's managed retry policy.",
                    "InvalidParameter",
                )
            if not isinstance(self.delivery_policy, dict):
                raise invalid("delivery_policy", "A delivery policy is a JSON object.")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SubscriptionConfig:
        settings = known("subscription", data, field_names(cls))
        for required in ("topic", "protocol", "endpoint"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A subscription needs {required}.", parameter=required
                )
        settings.setdefault("id", str(uuid.uuid4()))
        dlq = settings.get("dead_letter_queue")
        if dlq is not None:
            settings["dead_letter_queue"] = Target.parse(dlq, "dead_letter_queue").name
        return cls(**settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def updated(self, changes: Mapping[str, Any]) -> SubscriptionConfig:
        changes = known("subscription", changes, _SUBSCRIPTION_MUTABLE)
        return SubscriptionConfig.from_dict({**self.to_dict(), **changes})

    def same_endpoint(self, other: SubscriptionConfig) -> bool:
        return (self.topic, self.protocol, self.endpoint) == (
            other.topic,
            other.protocol,
            other.endpoint,
        )


_SUBSCRIPTION_MUTABLE = frozenset(
    {
        "raw",
        "filter_policy",
        "filter_policy_scope",
        "dead_letter_queue",
        "delivery_policy",
        "enabled",
    }
)


@dataclass(frozen=True, slots=True)
class PublishEntry:
    """One message to publish. ``subject`` goes into the SNS envelope (≤ 100 printable ASCII
    characters, no line breaks); ``group_id`` / ``dedup_id`` are for FIFO topics.
    ``structure="json"`` is SNS's ``MessageStructure=json``: the body is a JSON object whose
    ``"default"`` string every subscription gets unless the object has a string for its
    protocol (``SNS_PROTOCOLS``); the topic engine checks it."""

    body: bytes | str
    attributes: Any = None
    subject: str | None = None
    group_id: str | None = None
    dedup_id: str | None = None
    structure: MessageStructure | None = None


@dataclass(frozen=True, slots=True)
class PublishResult:
    message_id: str
    sequence_number: str | None = None
    duplicate: bool = False  # FIFO: the 5-minute dedup window swallowed this publish


def _topic_partitions(config: TopicConfig, hosts: int) -> int:
    return config.default_partitions or max(1, hosts)


TOPIC = Kind(
    name="topic",
    plural="topics",
    config=TopicConfig.from_dict,
    key=lambda config: str(config.name),
    partitions=_topic_partitions,
)
SUBSCRIPTION = Kind(
    name="subscription",
    plural="subscriptions",
    config=SubscriptionConfig.from_dict,
    key=lambda config: str(config.id),
    parent="topic",
    parent_of=lambda config: str(config.topic),
    active=lambda config: config.pending_token is None,
)
