"""S3 bucket notifications: a bucket's notification configuration, checked as S3 checks it,
which configuration an object event reaches, and the documents S3 sends — event messages to
queues, topics and functions, and ``aws.s3`` events to EventBridge's default bus.

Nothing here does I/O. The bucket engine keeps a :class:`NotificationConfig` per bucket
(``from_s3`` when PutBucketNotificationConfiguration arrives, ``to_s3`` for Get, ``to_dict`` /
``from_dict`` in the catalog), describes each change to an object as an :class:`ObjectEvent`,
asks :meth:`NotificationConfig.targets_for` where it goes, and renders it with
:func:`s3_record` (one record per configuration, wrapped by :func:`s3_message`) and, when the
bucket sends to EventBridge, :func:`eventbridge_event`. Checking that the destinations exist
(:meth:`NotificationConfig.destinations`, :func:`destination_error`) and sending
:func:`test_event` to each new queue or topic are the caller's.

Sources (AWS's S3 User Guide unless noted; quoted where the wording decides behaviour):

- "Event notification types and destinations"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html):
  the event types (``s3:ObjectCreated:*`` … ``s3:ObjectAcl:Put``); ``s3:TestEvent`` is what S3
  publishes "when a notification is enabled", not a type one configures. botocore's S3 model
  (``Event`` enum) adds ``s3:ObjectAnnotation:*|Put|Delete`` and ``s3:ObjectRetention:Put``,
  accepted here because S3 accepts them.
- "Configuring event notifications using object key name filtering"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html):
  "Two suffixes are considered overlapping if a given string can end with both suffixes" (the
  same for prefixes); "Any existing notification configuration rule is assumed to have a
  default prefix and suffix that match any other prefix and suffix"; "You can use overlapping
  object key name filters with different event types"; and "A wildcard character ("*") can't be
  used in filters as a prefix or suffix. If your prefix or suffix contains a space, you must
  replace it with the "+" character. If you use any other special characters in the value of
  the prefix or suffix, you must enter them in URL-encoded (percent-encoded) format." — so
  filters are compared with the key as the event message writes it (:func:`encode_key`), not
  with the raw key.
- "Event message structure"
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
  the record layout; "The object key name value is URL encoded. For example, "red flower.jpg"
  becomes "red+flower.jpg""; ``eventName`` "doesn't contain the ``s3:`` prefix"; the sequencer
  "with the greater ``sequencer`` hexadecimal value is the event that occurred later" and
  "to compare these values, first right pad the shorter value with zeros, and then do a
  lexicographical comparison"; S3 "uses version 2.2 for cross-Region replication event
  notifications. It uses version 2.3 for S3 Lifecycle, S3 Intelligent-Tiering, object ACL,
  object tagging, and object restoration delete events", 2.1 for the rest; ``glacierEventData``
  "is only visible for ``s3:ObjectRestore:Completed`` events"; the ``s3:TestEvent`` message.
- "Configuring S3 Lifecycle event notifications" (lifecycle-configure-notification.html): the
  ``LifecycleExpiration:Delete`` record (principal and source IP ``s3.amazonaws.com``, object
  key and sequencer only) and ``lifecycleEventData.transitionEventData.destinationStorageClass``;
  the Intelligent-Tiering page: ``intelligentTieringEventData.destinationAccessTier``.
- "Using EventBridge" (EventBridge.html), "EventBridge event message structure"
  (ev-events.html) and "Amazon EventBridge mapping and troubleshooting"
  (ev-mapping-troubleshooting.html): the detail types, the S3 event type each comes from, the
  detail fields ("source-ip-address — … Only present for events triggered by an S3 request";
  reason, deletion-type, restore-expiry-time, source-/destination-storage-class,
  destination-access-tier) and their examples. The mapping table has no row for
  ``Replication:*``, ``ReducedRedundancyLostObject``, ``ObjectAnnotation:*`` or
  ``ObjectRetention:Put``: S3 sends those to EventBridge not at all
  (:func:`eventbridge_event` answers ``None``).
- Error texts: S3's own, as recorded against AWS by LocalStack's snapshot tests
  (``tests/aws/services/s3/test_s3_notifications_*.snapshot.json``: "filter rule name must be
  either prefix or suffix" with ``ArgumentName`` ``FilterRule.Name``; "The ARN could not be
  parsed" with ``ArgumentName`` ``Queue``; "Unable to validate the following destination
  configurations" with numbered ``ArgumentName1``/``ArgumentValue1``; rule names come back as
  ``Prefix``/``Suffix``; delete records carry no size or eTag; tagging and ACL records carry an
  eTag but no size or sequencer; restore records carry size, eTag and sequencer, and the
  Completed one the principal ``AmazonCustomer:<owner>``; EventBridge's ACL, restore and tag
  details carry no reason, the restore ones no sequencer) and as MinIO and moto copy them
  ("Cannot specify more than one prefix rule in a filter.", "Size of filter rule value cannot
  exceed 1024 bytes in UTF-8 representation", "Configurations overlap. Configurations on the
  same bucket cannot share a common event type.", "The event is not supported for
  notifications").

Choices where AWS documents nothing: an ``Id`` S3 assigns is a random UUID, base64-encoded
(48 characters); raybus derives that UUID from the configuration's content, so putting the same
configuration again keeps its ids and the catalog stays deterministic. Empty filter values are
accepted and mean "no filter". FIFO queues and topics, which S3 refuses as destinations, are
refused as failed destinations. A configuration holds at most :data:`MAX_CONFIGURATIONS`
queue, topic and function configurations together (raybus's bound, not AWS's: the overlap
check is quadratic).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote_plus

from raybus.core.arns import PARTITION, parse_arn, region
from raybus.core.errors import RaybusError
from raybus.core.settings import bool_setting, field_names, invalid, known

__all__ = [
    "CONFIGURABLE_EVENTS",
    "DESTINATION_MISSING",
    "EVENTBRIDGE_DETAIL_TYPES",
    "EVENTBRIDGE_SOURCE",
    "EVENT_TYPES",
    "MAX_CONFIGURATIONS",
    "MAX_FILTER_VALUE_BYTES",
    "S3_SERVICE_PRINCIPAL",
    "SEQUENCER_DIGITS",
    "NotificationConfig",
    "NotificationTarget",
    "ObjectEvent",
    "TargetKind",
    "bucket_arn",
    "destination_error",
    "encode_key",
    "eventbridge_event",
    "eventbridge_resources",
    "expand_event",
    "s3_message",
    "s3_record",
    "sequencer",
    "test_event",
]

TargetKind = Literal["queue", "topic", "function"]

MAX_FILTER_VALUE_BYTES = 1024
MAX_CONFIGURATIONS = 1000  # raybus's bound (the overlap check compares every pair)
SEQUENCER_DIGITS = 18  # the width of S3's own ("0055AED6DCD90281E5")
S3_SERVICE_PRINCIPAL = "s3.amazonaws.com"
EVENTBRIDGE_SOURCE = "aws.s3"
_PREFIX = "s3:"
_MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)
_OVERLAP = (
    "Configurations overlap. Configurations on the same bucket cannot share a common event type."
)
_EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"  # a delete marker's ETag

# -- event types --------------------------------------------------------------------------------
# A family's wildcard ``s3:<family>:*`` stands for every member; single types have no wildcard.
_FAMILIES: dict[str, tuple[str, ...]] = {
    "ObjectCreated": ("Put", "Post", "Copy", "CompleteMultipartUpload"),
    "ObjectRemoved": ("Delete", "DeleteMarkerCreated"),
    "ObjectRestore": ("Post", "Completed", "Delete"),
    "Replication": (
        "OperationFailedReplication",
        "OperationMissedThreshold",
        "OperationReplicatedAfterThreshold",
        "OperationNotTracked",
    ),
    "LifecycleExpiration": ("Delete", "DeleteMarkerCreated"),
    "ObjectTagging": ("Put", "Delete"),
    "ObjectAnnotation": ("Put", "Delete"),
}
_SINGLES = (
    "ReducedRedundancyLostObject",
    "LifecycleTransition",
    "IntelligentTiering",
    "ObjectAcl:Put",
    "ObjectRetention:Put",
)

EVENT_TYPES: frozenset[str] = frozenset(
    [f"{family}:{member}" for family, members in _FAMILIES.items() for member in members]
    + list(_SINGLES)
)
"""Every concrete event name as S3 writes it in a record (no ``s3:``, no wildcard)."""

_EXPANSIONS: dict[str, frozenset[str]] = {
    **{f"{_PREFIX}{name}": frozenset({name}) for name in EVENT_TYPES},
    **{
        f"{_PREFIX}{family}:*": frozenset(f"{family}:{member}" for member in members)
        for family, members in _FAMILIES.items()
    },
}
CONFIGURABLE_EVENTS: frozenset[str] = frozenset(_EXPANSIONS)
"""Every event type a configuration may name (``s3:``-prefixed, wildcards included)."""


def expand_event(event: str) -> frozenset[str]:
    """The concrete event names an ``s3:`` event type stands for (``s3:ObjectRemoved:*`` →
    ``{"ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"}``); ``InvalidArgument``
    for a type S3 does not publish (``s3:TestEvent`` included)."""
    expansion = _EXPANSIONS.get(event) if isinstance(event, str) else None
    if expansion is None:
        raise RaybusError(
            "InvalidArgument", "The event is not supported for notifications",
            ArgumentName="Event", ArgumentValue=str(event),
        )  # fmt: skip
    return expansion


def _concrete(event_name: str) -> str:
    """``event_name`` without ``s3:``, checked to be one event S3 publishes."""
    name = event_name.removeprefix(_PREFIX) if isinstance(event_name, str) else event_name
    if name not in EVENT_TYPES:
        raise ValueError(f"not an S3 event name: {event_name!r}")
    return name


def _family(name: str) -> str:
    return name.partition(":")[0]


# -- keys, times, sequencers --------------------------------------------------------------------
def encode_key(key: str) -> str:
    """The object key as S3 writes it in event messages and compares it with filters:
    ``application/x-www-form-urlencoded`` (as Java's URLEncoder: letters, digits and ``.-*_``
    kept, a space as ``+``, every other UTF-8 byte as ``%XX`` — so ``+`` is ``%2B``, ``=``
    ``%3D``, ``@`` ``%40``, ``~`` ``%7E``) except that ``/`` is kept: ``"red flower.jpg"`` →
    ``"red+flower.jpg"``."""
    encoded = quote_plus(key, safe="/*", encoding="utf-8", errors="surrogatepass")
    return encoded.replace("~", "%7E")


def _iso_ms(ms: int) -> str:
    """ISO 8601 in UTC with milliseconds: ``1970-01-01T00:00:00.000Z``."""
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


def _iso_s(ms: int) -> str:
    """ISO 8601 in UTC to the second: ``2021-11-13T00:00:00Z``."""
    return f"{_second(ms // 1000)}Z"


@functools.lru_cache(maxsize=256)
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def sequencer(n: int) -> str:
    """S3's sequencer for the ``n``-th change of a partition: ``n`` in upper-case hexadecimal,
    zero-padded to :data:`SEQUENCER_DIGITS` digits (S3's own width). Every sequencer has the
    same length, so S3's rule — right-pad the shorter with zeros, compare as text — orders two
    of them as their ``n``; ``n`` must grow within the partition that owns the key."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < 16**SEQUENCER_DIGITS:
        raise ValueError(f"a sequencer counts from 0 to 16**{SEQUENCER_DIGITS} - 1, not {n!r}")
    return f"{n:0{SEQUENCER_DIGITS}X}"


def bucket_arn(bucket: str) -> str:
    """S3's bucket ARN, which names no region or account: ``arn:aws:s3:::<bucket>``."""
    return f"arn:{PARTITION}:s3:::{bucket}"


# -- configuration ------------------------------------------------------------------------------
_SERVICE: dict[str, str] = {"queue": "sqs", "topic": "sns", "function": "lambda"}
# (kind, list member, ARN member, the ARN's XML element name that S3's errors quote)
_SHAPES: tuple[tuple[TargetKind, str, str, str], ...] = (
    ("topic", "TopicConfigurations", "TopicArn", "Topic"),
    ("queue", "QueueConfigurations", "QueueArn", "Queue"),
    ("function", "LambdaFunctionConfigurations", "LambdaFunctionArn", "CloudFunction"),
)
_ARN_ELEMENT: dict[str, str] = {kind: element for kind, _, _, element in _SHAPES}
_ARN_MEMBER: dict[str, str] = {kind: member for kind, _, member, _ in _SHAPES}
DESTINATION_MISSING: dict[str, str] = {
    "queue": "The destination queue does not exist",
    "topic": "The destination topic does not exist",
    "function": "The destination Lambda does not exist",
}
"""The reason S3 gives, per kind, for a destination that does not exist (see
:func:`destination_error`)."""
_FIFO_REFUSED = "FIFO queues and topics are not supported as event notification destinations"


def destination_error(reasons: Mapping[str, str]) -> RaybusError:
    """S3's answer when destinations fail validation: ``InvalidArgument`` "Unable to validate
    the following destination configurations", with ``ArgumentName<i>`` the ARN and
    ``ArgumentValue<i>`` the reason (:data:`DESTINATION_MISSING`) for each, numbered from 1."""
    details: dict[str, str] = {}
    for number, (arn, reason) in enumerate(reasons.items(), start=1):
        details[f"ArgumentName{number}"] = arn
        details[f"ArgumentValue{number}"] = reason
    return RaybusError(
        "InvalidArgument", "Unable to validate the following destination configurations", **details
    )


def _malformed() -> RaybusError:
    return RaybusError("MalformedXML", _MALFORMED_XML)


def _check_arn(kind: str, arn: object) -> str:
    """A well-formed ARN of the kind's service (a Lambda ARN names ``function:<name>``,
    optionally qualified); S3's "The ARN could not be parsed" otherwise."""
    if isinstance(arn, str):
        try:
            parts = parse_arn(arn)
        except ValueError:
            parts = None
        resource = parts.resource if parts else ""
        if (
            parts is not None
            and parts.partition.startswith("aws")
            and parts.service == _SERVICE[kind]
            and parts.region
            and parts.account
            and (kind != "function" or (resource.startswith("function:") and len(resource) > 9))
        ):
            if kind != "function" and resource.endswith(".fifo"):
                raise destination_error({arn: _FIFO_REFUSED})
            return arn
    raise RaybusError(
        "InvalidArgument", "The ARN could not be parsed",
        ArgumentName=_ARN_ELEMENT[kind], ArgumentValue=str(arn),
    )  # fmt: skip


def _check_filter_value(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise invalid(name, f"{name} is a string.")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_FILTER_VALUE_BYTES:
        raise RaybusError(
            "InvalidArgument",
            "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation",
            ArgumentName="FilterRule.Value", ArgumentValue=value,
        )  # fmt: skip
    return value


def _generated_id(kind: str, arn: str, events: Sequence[str], prefix: str, suffix: str) -> str:
    """The id S3 would assign (a UUID, base64-encoded), derived from the content."""
    content = json.dumps([kind, arn, list(events), prefix, suffix], separators=(",", ":"))
    digest = hashlib.md5(content.encode("utf-8", "surrogatepass"), usedforsecurity=False)
    text = str(uuid.UUID(bytes=digest.digest(), version=4))
    return base64.b64encode(text.encode("ascii")).decode("ascii")


@dataclass(frozen=True, slots=True)
class NotificationTarget:
    """One queue, topic or function configuration of a bucket: the destination ``arn``, the
    ``s3:`` event types it takes (as given, wildcards included) and the key ``prefix`` and
    ``suffix`` it is limited to ("" for none), which are compared with the URL-encoded key
    (:func:`encode_key`), as S3 compares them."""

    id: str
    kind: TargetKind
    arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    _concrete: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise invalid("Id", "A configuration's Id is a non-empty string.", "InvalidArgument")
        if self.kind not in _SERVICE:
            raise invalid("kind", "A configuration's kind is queue, topic or function.")
        if not isinstance(self.events, tuple) or not self.events:
            raise _malformed()
        concrete: set[str] = set()
        for event in self.events:
            concrete |= expand_event(event)
        _check_arn(self.kind, self.arn)
        _check_filter_value("prefix", self.prefix)
        _check_filter_value("suffix", self.suffix)
        object.__setattr__(self, "_concrete", frozenset(concrete))

    @property
    def event_names(self) -> frozenset[str]:
        """The concrete event names (no ``s3:``) this configuration takes."""
        return self._concrete

    def matches(self, event_name: str, key: str) -> bool:
        """Whether an event ``event_name`` (``ObjectCreated:Put``, with or without ``s3:``) on
        the raw ``key`` reaches this configuration."""
        return self._matches(_concrete(event_name), encode_key(key))

    def _matches(self, name: str, encoded_key: str) -> bool:
        return (
            name in self._concrete
            and encoded_key.startswith(self.prefix)
            and encoded_key.endswith(self.suffix)
        )

    def overlaps(self, other: NotificationTarget) -> bool:
        """S3's overlap: a common event type and some key both filters accept. Two prefixes
        can both begin one key exactly when one starts the other (likewise suffixes), and a
        key can then have the longer prefix and the longer suffix (their concatenation)."""
        return (
            bool(self._concrete & other._concrete)
            and (self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix))
            and (self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix))
        )

    @classmethod
    def from_s3(cls, kind: TargetKind, params: Mapping[str, Any]) -> NotificationTarget:
        """One ``QueueConfiguration``/``TopicConfiguration``/``LambdaFunctionConfiguration``
        in botocore's shape; ``MalformedXML`` for a shape S3's schema refuses, S3's
        ``InvalidArgument`` for values it refuses. A missing ``Id`` is assigned."""
        arn_member = _ARN_MEMBER[kind]
        if not isinstance(params, Mapping) or set(params) - {"Id", arn_member, "Events", "Filter"}:
            raise _malformed()
        arn, events = params.get(arn_member), params.get("Events")
        if arn is None or not isinstance(events, Sequence) or isinstance(events, str):
            raise _malformed()
        if not events or not all(isinstance(event, str) for event in events):
            raise _malformed()
        prefix, suffix = _filter_from_s3(params.get("Filter"))
        given = params.get("Id")
        if given is not None and not isinstance(given, str):
            raise _malformed()
        checked = tuple(events)
        for event in checked:
            expand_event(event)
        _check_arn(kind, arn)
        target_id = given or _generated_id(kind, str(arn), checked, prefix, suffix)
        return cls(id=target_id, kind=kind, arn=str(arn), events=checked, prefix=prefix,
                   suffix=suffix)  # fmt: skip

    def to_s3(self) -> dict[str, Any]:
        """The configuration as GetBucketNotificationConfiguration answers it (rule names
        ``Prefix``/``Suffix``, no ``Filter`` when there is none)."""
        data: dict[str, Any] = {
            "Id": self.id,
            _ARN_MEMBER[self.kind]: self.arn,
            "Events": list(self.events),
        }
        rules = [
            {"Name": name, "Value": value}
            for name, value in (("Prefix", self.prefix), ("Suffix", self.suffix))
            if value
        ]
        if rules:
            data["Filter"] = {"Key": {"FilterRules": rules}}
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "arn": self.arn,
            "events": list(self.events),
            "prefix": self.prefix,
            "suffix": self.suffix,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotificationTarget:
        settings = known("notification target", data, _TARGET_FIELDS)
        for required in ("id", "kind", "arn", "events"):
            if required not in settings:
                raise RaybusError(
                    "MissingParameter", f"A notification target needs {required}.",
                    parameter=required,
                )  # fmt: skip
        events = settings["events"]
        if isinstance(events, list):
            settings["events"] = tuple(events)
        return cls(**settings)


_TARGET_FIELDS = field_names(NotificationTarget) - {"_concrete"}


def _filter_from_s3(value: object) -> tuple[str, str]:
    """``(prefix, suffix)`` of a ``Filter``: rule names case-insensitive, at most one of each;
    a ``Filter`` without rules does not fit S3's schema."""
    if value is None:
        return "", ""
    if not isinstance(value, Mapping) or set(value) != {"Key"}:
        raise _malformed()
    key = value["Key"]
    if not isinstance(key, Mapping) or set(key) != {"FilterRules"}:
        raise _malformed()
    rules = key["FilterRules"]
    if not isinstance(rules, Sequence) or isinstance(rules, str) or not rules:
        raise _malformed()
    found: dict[str, str] = {}
    for rule in rules:
        if not isinstance(rule, Mapping) or set(rule) - {"Name", "Value"}:
            raise _malformed()
        name, rule_value = rule.get("Name"), rule.get("Value", "")
        if not isinstance(name, str) or not isinstance(rule_value, str):
            raise _malformed()
        lowered = name.lower()
        if lowered not in ("prefix", "suffix"):
            raise RaybusError(
                "InvalidArgument", "filter rule name must be either prefix or suffix",
                ArgumentName="FilterRule.Name", ArgumentValue=name,
            )  # fmt: skip
        if lowered in found:
            raise RaybusError(
                "InvalidArgument", f"Cannot specify more than one {lowered} rule in a filter.",
                ArgumentName="FilterRule.Name", ArgumentValue=name,
            )  # fmt: skip
        found[lowered] = _check_filter_value(lowered, rule_value)
    return found.get("prefix", ""), found.get("suffix", "")


@dataclass(frozen=True, slots=True)
class NotificationConfig:
    """A bucket's notification configuration: its queue, topic and function configurations
    and whether it sends every event to EventBridge. Valid as S3 requires: ids unique, and no
    two configurations overlapping (:meth:`NotificationTarget.overlaps`), whatever their
    destinations — so an event on a key reaches at most one configuration. The empty
    configuration (the default) sends nothing."""

    queues: tuple[NotificationTarget, ...] = ()
    topics: tuple[NotificationTarget, ...] = ()
    functions: tuple[NotificationTarget, ...] = ()
    eventbridge: bool = False

    def __post_init__(self) -> None:
        for name, kind in (("queues", "queue"), ("topics", "topic"), ("functions", "function")):
            targets = getattr(self, name)
            if not isinstance(targets, tuple) or not all(
                isinstance(target, NotificationTarget) and target.kind == kind for target in targets
            ):
                raise invalid(name, f"{name} is a list of {kind} configurations.")
        bool_setting("eventbridge", self.eventbridge)
        targets = self.targets
        if len(targets) > MAX_CONFIGURATIONS:
            raise RaybusError(
                "InvalidArgument",
                f"A bucket holds at most {MAX_CONFIGURATIONS} notification configurations.",
            )
        seen: set[str] = set()
        for target in targets:
            if target.id in seen:
                raise RaybusError(
                    "InvalidArgument", "Configuration Ids must be unique.",
                    ArgumentName="Id", ArgumentValue=target.id,
                )  # fmt: skip
            seen.add(target.id)
        for index, target in enumerate(targets):
            for other in targets[index + 1 :]:
                if target.overlaps(other):
                    raise RaybusError("InvalidArgument", _OVERLAP)

    @property
    def targets(self) -> tuple[NotificationTarget, ...]:
        """Every configuration: queues, then topics, then functions."""
        return self.queues + self.topics + self.functions

    @property
    def empty(self) -> bool:
        """True when the bucket sends no notification at all."""
        return not self.eventbridge and not self.targets

    def destinations(self) -> tuple[str, ...]:
        """The destination ARNs, each once, in configuration order (for the caller to check
        they exist; see :func:`destination_error`)."""
        return tuple(dict.fromkeys(target.arn for target in self.targets))

    def targets_for(self, event_name: str, key: str) -> list[NotificationTarget]:
        """The configurations an event ``event_name`` (``ObjectCreated:Put``, with or without
        ``s3:``; ``ValueError`` for a name S3 does not publish) on the raw object ``key``
        reaches; at most one, since configurations never overlap."""
        name = _concrete(event_name)
        encoded = encode_key(key)
        return [target for target in self.targets if target._matches(name, encoded)]

    @classmethod
    def from_s3(cls, params: Mapping[str, Any] | None) -> NotificationConfig:
        """PutBucketNotificationConfiguration's ``NotificationConfiguration`` in botocore's
        shape. A configuration without destinations is valid: it removes every
        notification."""
        if params is None:
            return cls()
        allowed = {member for _, member, _, _ in _SHAPES} | {"EventBridgeConfiguration"}
        if not isinstance(params, Mapping) or set(params) - allowed:
            raise _malformed()
        lists: dict[str, tuple[NotificationTarget, ...]] = {}
        for kind, member, _, _ in _SHAPES:
            configurations = params.get(member)
            if configurations is None:
                configurations = []
            if not isinstance(configurations, Sequence) or isinstance(configurations, str):
                raise _malformed()
            lists[kind] = tuple(NotificationTarget.from_s3(kind, c) for c in configurations)
        eventbridge = params.get("EventBridgeConfiguration")
        if eventbridge is not None and (not isinstance(eventbridge, Mapping) or eventbridge):
            raise _malformed()
        return cls(
            queues=lists["queue"],
            topics=lists["topic"],
            functions=lists["function"],
            eventbridge=eventbridge is not None,
        )

    def to_s3(self) -> dict[str, Any]:
        """The configuration as GetBucketNotificationConfiguration answers it (empty lists
        left out, ``EventBridgeConfiguration: {}`` when enabled)."""
        data: dict[str, Any] = {}
        for kind, member, _, _ in _SHAPES:
            targets = [target.to_s3() for target in self.targets if target.kind == kind]
            if targets:
                data[member] = targets
        if self.eventbridge:
            data["EventBridgeConfiguration"] = {}
        return data

    def to_dict(self) -> dict[str, Any]:
        return {
            "queues": [target.to_dict() for target in self.queues],
            "topics": [target.to_dict() for target in self.topics],
            "functions": [target.to_dict() for target in self.functions],
            "eventbridge": self.eventbridge,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotificationConfig:
        settings = known("notification", data, field_names(cls))
        for name in ("queues", "topics", "functions"):
            value = settings.get(name, [])
            if not isinstance(value, (list, tuple)):
                raise invalid(name, f"{name} is a list of configurations.")
            settings[name] = tuple(
                item if isinstance(item, NotificationTarget) else NotificationTarget.from_dict(item)
                for item in value
            )
        return cls(**settings)


# -- events -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ObjectEvent:
    """One change to an object, as the bucket engine knows it; rendered for each destination
    by :func:`s3_record` and for EventBridge by :func:`eventbridge_event`, which keep only the
    fields S3 writes for the event's type.

    ``name`` is the concrete event (``ObjectCreated:Put``; an ``s3:`` prefix is dropped),
    ``key`` the raw key, ``time_ms`` when S3 finished the request. ``requester`` is who asked
    (an account id); ``None`` when S3 itself acted (lifecycle, Intelligent-Tiering, a restore
    completing or expiring, replication) — the documents then name ``s3.amazonaws.com`` (or,
    for a completed restore's record, ``AmazonCustomer:<owner_id>``). ``principal_id`` is the
    record's ``userIdentity.principalId`` when it differs from ``requester``. ``source_ip`` is
    the client's address, ``None`` for events no request triggered. ``storage_class`` is the
    class a restore reads from; ``restore_expiry_ms`` when a restored copy expires;
    ``destination_storage_class`` a lifecycle transition's target; ``access_tier`` an
    Intelligent-Tiering archive tier; ``replication`` a replication event's
    ``replicationEventData`` members."""

    name: str
    bucket: str
    key: str
    time_ms: int
    request_id: str
    owner_id: str
    host_id: str = ""
    requester: str | None = None
    principal_id: str | None = None
    source_ip: str | None = None
    size: int | None = None
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    storage_class: str | None = None
    restore_expiry_ms: int | None = None
    destination_storage_class: str | None = None
    access_tier: str | None = None
    replication: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _concrete(self.name))
        for name in ("bucket", "key", "request_id", "owner_id", "host_id"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} is a string")
        for name in ("time_ms", "size", "restore_expiry_ms"):
            value = getattr(self, name)
            if value is None and name != "time_ms":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} is a non-negative integer, not {value!r}")


# Which object fields S3 writes, per event family (each only when the event has it).
_RECORD_OBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "ObjectCreated": ("size", "eTag", "versionId", "sequencer"),
    "ObjectRemoved": ("versionId", "sequencer"),
    "LifecycleExpiration": ("versionId", "sequencer"),
    "ObjectRestore": ("size", "eTag", "versionId", "sequencer"),
    "ObjectTagging": ("eTag", "versionId"),
    "ObjectAcl": ("eTag", "versionId"),
    "ObjectAnnotation": ("eTag", "versionId"),
    "ObjectRetention": ("eTag", "versionId"),
    "IntelligentTiering": ("size", "eTag", "versionId"),
    "LifecycleTransition": ("size", "eTag", "versionId"),
    "Replication": ("size", "eTag", "versionId"),
    "ReducedRedundancyLostObject": ("size", "eTag", "versionId"),
}
_VERSION_2_3 = frozenset(
    {
        "LifecycleExpiration",
        "LifecycleTransition",
        "IntelligentTiering",
        "ObjectAcl",
        "ObjectTagging",
        "ObjectAnnotation",
        "ObjectRetention",
    }
)


def _event_version(name: str) -> str:
    family = _family(name)
    if family == "Replication":
        return "2.2"
    if family in _VERSION_2_3 or name == "ObjectRestore:Delete":
        return "2.3"
    return "2.1"


def _etag(value: str | None) -> str | None:
    return None if value is None else value.strip('"')


def _object_values(event: ObjectEvent) -> dict[str, Any]:
    return {
        "size": event.size,
        "eTag": _etag(event.etag),
        "versionId": event.version_id,
        "sequencer": event.sequencer,
    }


def s3_record(
    event: ObjectEvent, configuration_id: str, *, aws_region: str | None = None
) -> dict[str, Any]:
    """One record of S3's event message for the configuration ``configuration_id``: the
    version S3 uses for the event's type (2.1; 2.2 for replication; 2.3 for lifecycle,
    Intelligent-Tiering, ACL, tagging and restore-expiry events), the key URL-encoded, the
    object fields S3 writes for the type, and the type's extra data (``glacierEventData`` for
    ``ObjectRestore:Completed``, ``lifecycleEventData``, ``intelligentTieringEventData``,
    ``replicationEventData``). ``aws_region`` defaults to the cluster's region."""
    name = event.name
    if event.requester is not None:
        principal = event.principal_id or event.requester
    elif name == "ObjectRestore:Completed":
        principal = f"AmazonCustomer:{event.owner_id}"
    else:
        principal = event.principal_id or S3_SERVICE_PRINCIPAL
    values = _object_values(event)
    obj: dict[str, Any] = {"key": encode_key(event.key)}
    for member in _RECORD_OBJECT_FIELDS[_family(name)]:
        if values[member] is not None:
            obj[member] = values[member]
    record: dict[str, Any] = {
        "eventVersion": _event_version(name),
        "eventSource": "aws:s3",
        "awsRegion": aws_region or region(),
        "eventTime": _iso_ms(event.time_ms),
        "eventName": name,
        "userIdentity": {"principalId": principal},
        "requestParameters": {"sourceIPAddress": event.source_ip or S3_SERVICE_PRINCIPAL},
        "responseElements": {"x-amz-request-id": event.request_id, "x-amz-id-2": event.host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": event.bucket,
                "ownerIdentity": {"principalId": event.owner_id},
                "arn": bucket_arn(event.bucket),
            },
            "object": obj,
        },
    }
    if name == "ObjectRestore:Completed":
        restore: dict[str, str] = {}
        if event.restore_expiry_ms is not None:
            restore["lifecycleRestorationExpiryTime"] = _iso_ms(event.restore_expiry_ms)
        if event.storage_class is not None:
            restore["lifecycleRestoreStorageClass"] = event.storage_class
        record["glacierEventData"] = {"restoreEventData": restore}
    elif name == "LifecycleTransition" and event.destination_storage_class is not None:
        record["lifecycleEventData"] = {
            "transitionEventData": {"destinationStorageClass": event.destination_storage_class}
        }
    elif name == "IntelligentTiering" and event.access_tier is not None:
        record["intelligentTieringEventData"] = {"destinationAccessTier": event.access_tier}
    elif _family(name) == "Replication" and event.replication:
        record["replicationEventData"] = dict(event.replication)
    return record


def s3_message(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The message S3 sends: ``{"Records": [...]}`` (S3 sends one record per message)."""
    return {"Records": [dict(record) for record in records]}


def test_event(bucket: str, *, request_id: str, host_id: str, time_ms: int) -> dict[str, str]:
    """The message S3 sends to a queue or topic when a configuration naming it is put."""
    return {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": _iso_ms(time_ms),
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": host_id,
    }


test_event.__test__ = False  # type: ignore[attr-defined]  # not a pytest test

# -- EventBridge --------------------------------------------------------------------------------
EVENTBRIDGE_DETAIL_TYPES: dict[str, str] = {
    "ObjectCreated:Put": "Object Created",
    "ObjectCreated:Post": "Object Created",
    "ObjectCreated:Copy": "Object Created",
    "ObjectCreated:CompleteMultipartUpload": "Object Created",
    "ObjectRemoved:Delete": "Object Deleted",
    "ObjectRemoved:DeleteMarkerCreated": "Object Deleted",
    "LifecycleExpiration:Delete": "Object Deleted",
    "LifecycleExpiration:DeleteMarkerCreated": "Object Deleted",
    "ObjectRestore:Post": "Object Restore Initiated",
    "ObjectRestore:Completed": "Object Restore Completed",
    "ObjectRestore:Delete": "Object Restore Expired",
    "LifecycleTransition": "Object Storage Class Changed",
    "IntelligentTiering": "Object Access Tier Changed",
    "ObjectTagging:Put": "Object Tags Added",
    "ObjectTagging:Delete": "Object Tags Deleted",
    "ObjectAcl:Put": "Object ACL Updated",
}
"""The detail type of the ``aws.s3`` event for each event S3 sends to EventBridge; the event
names missing here (replication, ``ReducedRedundancyLostObject``, ``ObjectAnnotation:*``,
``ObjectRetention:Put``) are not sent there."""

_REASONS: dict[str, str] = {
    "ObjectCreated:Put": "PutObject",
    "ObjectCreated:Post": "PostObject",
    "ObjectCreated:Copy": "CopyObject",
    "ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "ObjectRemoved:Delete": "DeleteObject",
    "ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
    "LifecycleExpiration:Delete": "Lifecycle Expiration",
    "LifecycleExpiration:DeleteMarkerCreated": "Lifecycle Expiration",
}
_DETAIL_OBJECT_FIELDS: dict[str, tuple[str, ...]] = {
    "Object Created": ("size", "etag", "version-id", "sequencer"),
    "Object Deleted": ("etag", "version-id", "sequencer"),
    "Object Restore Initiated": ("size", "etag", "version-id"),
    "Object Restore Completed": ("size", "etag", "version-id"),
    "Object Restore Expired": ("etag", "version-id"),
    "Object Storage Class Changed": ("size", "etag", "version-id"),
    "Object Access Tier Changed": ("size", "etag", "version-id"),
    "Object Tags Added": ("etag", "version-id"),
    "Object Tags Deleted": ("etag", "version-id"),
    "Object ACL Updated": ("etag", "version-id"),
}


def eventbridge_resources(bucket: str) -> list[str]:
    """The ``resources`` of an ``aws.s3`` event: the bucket's ARN."""
    return [bucket_arn(bucket)]


def eventbridge_event(event: ObjectEvent) -> tuple[str, dict[str, Any]] | None:
    """``(detail_type, detail)`` of the event S3 puts on the default bus (source
    :data:`EVENTBRIDGE_SOURCE`, resources :func:`eventbridge_resources`, time the event's), or
    ``None`` for an event S3 does not send to EventBridge. The key is not URL-encoded;
    ``source-ip-address`` appears only for events a request triggered; a permanent delete has
    no ETag, a delete marker its own (the empty MD5 when none is given)."""
    detail_type = EVENTBRIDGE_DETAIL_TYPES.get(event.name)
    if detail_type is None:
        return None
    name = event.name
    marker = name.endswith(":DeleteMarkerCreated")
    values: dict[str, Any] = {
        "size": event.size,
        "etag": _etag(event.etag),
        "version-id": event.version_id,
        "sequencer": event.sequencer,
    }
    if detail_type == "Object Deleted":
        values["etag"] = (values["etag"] or _EMPTY_MD5) if marker else None
    obj: dict[str, Any] = {"key": event.key}
    for member in _DETAIL_OBJECT_FIELDS[detail_type]:
        if values[member] is not None:
            obj[member] = values[member]
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": event.bucket},
        "object": obj,
        "request-id": event.request_id,
        "requester": event.requester if event.requester is not None else S3_SERVICE_PRINCIPAL,
    }
    if event.source_ip is not None:
        detail["source-ip-address"] = event.source_ip
    if name in _REASONS:
        detail["reason"] = _REASONS[name]
    if detail_type == "Object Deleted":
        detail["deletion-type"] = "Delete Marker Created" if marker else "Permanently Deleted"
    if name == "ObjectRestore:Completed" and event.restore_expiry_ms is not None:
        detail["restore-expiry-time"] = _iso_s(event.restore_expiry_ms)
    if name in ("ObjectRestore:Post", "ObjectRestore:Completed") and event.storage_class:
        detail["source-storage-class"] = event.storage_class
    if name == "LifecycleTransition" and event.destination_storage_class is not None:
        detail["destination-storage-class"] = event.destination_storage_class
    if name == "IntelligentTiering" and event.access_tier is not None:
        detail["destination-access-tier"] = event.access_tier
    return detail_type, detail
