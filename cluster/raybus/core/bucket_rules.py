"""Three of a bucket's configurations (S3's): storage classes and the restore of archived
objects, lifecycle rules, and replication rules. Pure values and functions: the bucket engine
parses a configuration here when it is set (``from_s3``, raising the error S3 answers), keeps
it (``to_dict``/``from_dict``), answers it back (``to_s3``, as S3's Get... call returns it) and
asks, for one object at a time, what the rules say (over plain values: a key, its tags, its
size, times in epoch milliseconds). Nothing here reads a clock or does I/O.

Sources (AWS's; read 2026 from the S3 User Guide and API Reference, and botocore 1.44's S3
model for the shapes):

- *Understanding and managing Amazon S3 storage classes* (storage-class-intro): the classes and
  their minimum storage durations (STANDARD_IA, ONEZONE_IA 30 days; GLACIER_IR, GLACIER 90;
  DEEP_ARCHIVE 180; INTELLIGENT_TIERING none).
- *Working with archived objects* (archived-objects) and *Understanding archive retrieval
  options* (restoring-objects-retrieval-options): "Amazon S3 calculates the expiration time of
  the restored object copy by adding the number of days specified in the restoration request to
  the time when the requested restoration is completed. Amazon S3 then rounds the resulting time
  to the next day at midnight Universal Coordinated Time (UTC)" (October 15, 2012, 10:30 AM UTC
  plus 3 days expires October 19, 2012, 00:00 UTC); GLACIER: Expedited 1–5 minutes, Standard
  3–5 hours, Bulk 5–12 hours; DEEP_ARCHIVE: Standard within 12 hours, Bulk within 48 hours,
  Expedited not available. *GetObject*: an archived object answers 403 ``InvalidObjectState``.
  *HeadObject*: ``x-amz-restore: ongoing-request="false", expiry-date="Fri, 21 Dec 2012
  00:00:00 GMT"``. *RestoreObject*: "Amazon S3 Select is no longer available to new customers".
- *Lifecycle configuration elements* (intro-lifecycle-rules): "Amazon S3 calculates the time by
  adding the number of days specified in the rule to the object creation time and rounding up
  the resulting time to the next day midnight UTC. For example, if an object was created on
  1/15/2014 at 10:30 AM UTC and you specify 3 days in a transition rule, then the transition
  date of the object would be calculated as 1/19/2014 00:00 UTC" — noncurrent days count the
  same way from the time the version became noncurrent (its successor's creation).
- *Examples of S3 Lifecycle configurations* (lifecycle-configuration-examples): the precedence
  of conflicting actions ("Permanent deletion takes precedence over transition"; GLACIER over
  STANDARD_IA), ``ExpiredObjectDeleteMarker`` and ``AbortIncompleteMultipartUpload`` "cannot
  specify a tag-based filter", size filters "exclude the specified values", objects smaller than
  128 KB not transitioned by default unless a size filter says otherwise ("Custom filters always
  take precedence over the default transition behavior").
- *Transitioning objects using Amazon S3 Lifecycle* (lifecycle-transition-general-
  considerations): the waterfall of supported transitions, 30 days before STANDARD_IA or
  ONEZONE_IA, and "You can't create a single Lifecycle rule that transitions objects from one
  storage class to another before the minimum storage duration period has passed" (GLACIER_IR
  after 4 days, then DEEP_ARCHIVE "after at least 94 days").
- *Replication configuration file elements* (replication-add-config): V1 (a rule's own
  ``Prefix``, or neither Prefix nor Filter) and V2 (``Filter``, which needs ``Priority`` and
  ``DeleteMarkerReplication``); "if there are two or more rules with the same destination
  bucket, then objects are replicated according to the rule with the highest priority. The
  higher the number, the higher the priority"; V1 replicates delete markers from user actions
  only, and "Delete markers created by lifecycle rules are not replicated"; delete marker
  replication is not supported for tag-based rules.

Error texts are S3's where S3 was seen answering them (in SDK and Terraform reports, and in
other S3 implementations' recordings of S3); where none was found the text follows S3's
nearest wording and the module says so beside it.

Times: every ``..._ms`` is epoch milliseconds UTC. "Rounding up to midnight" is a ceiling: a
time already at midnight is its own midnight (the documented examples never land on one).
"""

from __future__ import annotations

import base64
import itertools
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, NamedTuple, cast
from urllib.parse import quote

from raybus.core.errors import RaybusError

__all__ = [
    "ARCHIVED_STORAGE_CLASSES",
    "DAY_MS",
    "DEEP_ARCHIVE_BULK_MS",
    "DEEP_ARCHIVE_STANDARD_MS",
    "DESTINATION_NOT_FOUND",
    "DESTINATION_VERSIONING_REQUIRED",
    "GLACIER_BULK_MS",
    "GLACIER_EXPEDITED_MS",
    "GLACIER_STANDARD_MS",
    "MALFORMED_XML",
    "MAX_RULES",
    "MIN_STORAGE_DAYS",
    "RESTORE_DELAYS_MS",
    "SMALL_OBJECT_BYTES",
    "STORAGE_CLASSES",
    "TRANSITION_STORAGE_CLASSES",
    "VERSIONING_REQUIRED",
    "Due",
    "LifecycleConfig",
    "LifecycleRule",
    "NoncurrentTransition",
    "ReplicationConfig",
    "ReplicationDestination",
    "ReplicationRule",
    "RestoreRequest",
    "RuleFilter",
    "Transition",
    "abort_multipart_ms",
    "abort_rule",
    "archived_error",
    "check_storage_class",
    "delete_marker_expiration_ms",
    "destination_bucket",
    "expiration_header",
    "expiration_ms",
    "expired_delete_marker_applies",
    "http_date",
    "is_archived",
    "new_rule_id",
    "next_midnight_ms",
    "noncurrent_expiration_due",
    "noncurrent_expiration_ms",
    "noncurrent_transition_for",
    "replicates_delete_markers",
    "replication_rule_for",
    "replication_rules_for",
    "restore_delay_ms",
    "restore_expiry_ms",
    "restore_header",
    "rule_applies",
    "transition_for",
    "transition_rank",
]

# -- storage classes ------------------------------------------------------------------------------

STORAGE_CLASSES: Final = (
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
)
"""The classes S3 accepts for an object (botocore's ``StorageClass`` also lists FSx and AWS
Backup values, which name storage outside S3 buckets; they are refused here)."""

ARCHIVED_STORAGE_CLASSES: Final = frozenset({"GLACIER", "DEEP_ARCHIVE"})
"""Classes whose objects are not readable until restored ("Objects stored in the S3 Glacier
Instant Retrieval storage class are not archived")."""

TRANSITION_STORAGE_CLASSES: Final = (
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)
"""The classes a lifecycle transition may name (``TransitionStorageClass``), in the order of
S3's waterfall: an object only ever moves to a class later in this tuple."""

MIN_STORAGE_DAYS: Final[Mapping[str, int]] = {
    "STANDARD_IA": 30,
    "ONEZONE_IA": 30,
    "INTELLIGENT_TIERING": 0,
    "GLACIER_IR": 90,
    "GLACIER": 90,
    "DEEP_ARCHIVE": 180,
}
"""Each transition class's minimum storage duration, in days (the storage-class comparison)."""

SMALL_OBJECT_BYTES: Final = 128 * 1024
"""Objects smaller than this are not transitioned by default (since September 2024)."""

_ALL_128K = "all_storage_classes_128K"
_BY_CLASS = "varies_by_storage_class"
_MINIMUM_SIZES = (_ALL_128K, _BY_CLASS)
_DEEP_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})  # small objects may go there by class

DAY_MS: Final = 86_400_000
_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000
_LAST_MS = 253_402_214_400_000  # 9999-12-31T00:00:00Z: the last midnight an HTTP date holds

MALFORMED_XML: Final = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)


def check_storage_class(name: object, parameter: str = "x-amz-storage-class") -> str:
    """``name`` if it is a storage class S3 accepts (:data:`STORAGE_CLASSES`), else S3's
    ``InvalidStorageClass``. Which class a given bucket accepts (OUTPOSTS only on Outposts,
    EXPRESS_ONEZONE only in directory buckets) is the caller's to decide."""
    if not isinstance(name, str) or name not in STORAGE_CLASSES:
        raise RaybusError(
            "InvalidStorageClass",
            "The storage class you specified is not valid",
            parameter=parameter,
            storage_class_requested=str(name),
        )
    return name


def is_archived(storage_class: str) -> bool:
    """Whether an object of this class must be restored before a GET (GLACIER, DEEP_ARCHIVE)."""
    return storage_class in ARCHIVED_STORAGE_CLASSES


def archived_error(storage_class: str) -> RaybusError:
    """What S3 answers a GET (or a copy from) an archived object that is not restored: 403
    ``InvalidObjectState`` with GetObject's documented message."""
    return RaybusError(
        "InvalidObjectState",
        "The operation is not valid for the object's storage class",
        storage_class=storage_class,
    )


def transition_rank(storage_class: str) -> int:
    """Where a class stands in S3's transition waterfall: -1 for a class lifecycle never moves an
    object into (STANDARD, ...), else its index in :data:`TRANSITION_STORAGE_CLASSES`. A
    lifecycle transition moves an object only to a class of a higher rank than its own."""
    try:
        return TRANSITION_STORAGE_CLASSES.index(storage_class)
    except ValueError:
        return -1


# -- times ---------------------------------------------------------------------------------------


def next_midnight_ms(ms: int) -> int:
    """The first midnight UTC at or after ``ms`` (S3's "rounding up to the next day midnight")."""
    return -(-ms // DAY_MS) * DAY_MS


def _days_after(from_ms: int, days: int) -> int:
    return next_midnight_ms(from_ms + days * DAY_MS)


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(ms: int) -> str:
    """An HTTP date (``Fri, 21 Dec 2012 00:00:00 GMT``), as S3's headers carry dates. Times past
    9999-12-31 (a rule of a million days) are written as that day, the last an HTTP date holds;
    times before 1970 as 1970-01-01."""
    when = datetime.fromtimestamp(min(max(ms, 0), _LAST_MS) // 1000, UTC)
    return (
        f"{_WEEKDAYS[when.weekday()]}, {when.day:02d} {_MONTHS[when.month - 1]} {when.year:04d} "
        f"{when.hour:02d}:{when.minute:02d}:{when.second:02d} GMT"
    )


# -- restore -------------------------------------------------------------------------------------

RestoreTier = Literal["Standard", "Bulk", "Expedited"]
_TIERS: tuple[RestoreTier, ...] = ("Standard", "Bulk", "Expedited")

GLACIER_EXPEDITED_MS: Final = 5 * _MINUTE_MS
GLACIER_STANDARD_MS: Final = 5 * _HOUR_MS
GLACIER_BULK_MS: Final = 12 * _HOUR_MS
DEEP_ARCHIVE_STANDARD_MS: Final = 12 * _HOUR_MS
DEEP_ARCHIVE_BULK_MS: Final = 48 * _HOUR_MS

RESTORE_DELAYS_MS: Final[Mapping[tuple[str, str], int]] = {
    ("GLACIER", "Expedited"): GLACIER_EXPEDITED_MS,
    ("GLACIER", "Standard"): GLACIER_STANDARD_MS,
    ("GLACIER", "Bulk"): GLACIER_BULK_MS,
    ("DEEP_ARCHIVE", "Standard"): DEEP_ARCHIVE_STANDARD_MS,
    ("DEEP_ARCHIVE", "Bulk"): DEEP_ARCHIVE_BULK_MS,
}
"""How long a restore takes, by class and tier: the documented bound of each range (GLACIER
Expedited 1–5 minutes, Standard 3–5 hours, Bulk 5–12 hours; DEEP_ARCHIVE Standard within 12
hours, Bulk within 48 hours), so a client that waits the documented time finds its copy."""

_RESTORE_MEMBERS = frozenset(
    {
        "Days",
        "GlacierJobParameters",
        "Type",
        "Tier",
        "Description",
        "SelectParameters",
        "OutputLocation",
    }
)
_MAX_RESTORE_DAYS = 2_147_483_647  # the shape's integer


@dataclass(frozen=True, slots=True)
class RestoreRequest:
    """A RestoreObject's regular restore: a temporary copy for ``days`` days, fetched at
    ``tier`` (``GlacierJobParameters.Tier``, Standard when absent)."""

    days: int
    tier: RestoreTier = "Standard"
    description: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            raise _malformed("RestoreRequest.Days")
        if not 1 <= self.days <= _MAX_RESTORE_DAYS:
            # No recorded S3 answer found; S3's wording for a day count elsewhere.
            raise RaybusError(
                "InvalidArgument", "Days must be a positive integer", parameter="Days"
            )
        if self.tier not in _TIERS:
            raise _malformed("RestoreRequest.GlacierJobParameters.Tier")
        if self.description is not None and not isinstance(self.description, str):
            raise _malformed("RestoreRequest.Description")

    @classmethod
    def from_s3(cls, params: Mapping[str, Any] | None) -> RestoreRequest:
        """The botocore-shaped ``RestoreRequest``. A SELECT restore (``Type``,
        ``SelectParameters``, ``OutputLocation``) is refused with ``InvalidRequest``: S3 Select
        "is no longer available to new customers", and raybus has none. A top-level ``Tier``
        belongs to SELECT restores: S3 answers ``MalformedXML`` to one beside a regular
        restore. ``Days`` is required ("The Days element is required for regular restores")."""
        if not isinstance(params, Mapping) or set(params) - _RESTORE_MEMBERS:
            raise _malformed("RestoreRequest")
        if any(
            params.get(name) is not None for name in ("Type", "SelectParameters", "OutputLocation")
        ):
            if params.get("Type") not in (None, "SELECT"):
                raise _malformed("RestoreRequest.Type")
            raise RaybusError(
                "InvalidRequest",
                "Amazon S3 Select is no longer available to new customers.",
                parameter="RestoreRequest.Type",
            )
        if params.get("Tier") is not None:
            raise _malformed("RestoreRequest.Tier")
        if params.get("Days") is None:
            raise _malformed("RestoreRequest.Days")
        tier: Any = "Standard"
        job = params.get("GlacierJobParameters")
        if job is not None:
            if not isinstance(job, Mapping) or set(job) != {"Tier"}:
                raise _malformed("RestoreRequest.GlacierJobParameters")
            tier = job["Tier"]
        return cls(days=params["Days"], tier=tier, description=params.get("Description"))

    def to_dict(self) -> dict[str, Any]:
        return {"days": self.days, "tier": self.tier, "description": self.description}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RestoreRequest:
        return cls(
            days=data["days"],
            tier=data.get("tier", "Standard"),
            description=data.get("description"),
        )


def restore_delay_ms(storage_class: str, tier: str) -> int:
    """How long a restore of an object of ``storage_class`` at ``tier`` takes
    (:data:`RESTORE_DELAYS_MS`). DEEP_ARCHIVE has no Expedited tier: ``InvalidArgument`` (S3's
    exact answer was not found recorded; its documentation says "Expedited retrievals and
    provisioned capacity are not available for the DEEP_ARCHIVE storage class"). An object that
    is not archived has nothing to restore: ``InvalidObjectState``, "Restore is not allowed for
    the object's current storage class", as S3 answers a RestoreObject of a STANDARD object."""
    if not is_archived(storage_class):
        raise RaybusError(
            "InvalidObjectState",
            "Restore is not allowed for the object's current storage class",
            storage_class=storage_class,
        )
    delay = RESTORE_DELAYS_MS.get((storage_class, tier))
    if delay is None:
        if tier in _TIERS:
            raise RaybusError(
                "InvalidArgument",
                f"{tier} retrieval is not available for the {storage_class} storage class",
                parameter="GlacierJobParameters.Tier",
            )
        raise _malformed("RestoreRequest.GlacierJobParameters.Tier")
    return delay


def restore_expiry_ms(completed_ms: int, days: int) -> int:
    """When a restored copy goes away: ``days`` after the restore completed, rounded up to the
    next midnight UTC (10:30 on October 15 plus 3 days is October 19, 00:00)."""
    return _days_after(completed_ms, days)


def restore_header(ongoing: bool, expiry_ms: int | None = None) -> str:
    """``x-amz-restore``: ``ongoing-request="true"`` while the restore runs, then
    ``ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"``."""
    if ongoing or expiry_ms is None:
        return 'ongoing-request="true"' if ongoing else 'ongoing-request="false"'
    return f'ongoing-request="false", expiry-date="{http_date(expiry_ms)}"'


# -- parsing helpers -----------------------------------------------------------------------------

MAX_RULES: Final = 1000
_MAX_ID = 255
_MAX_PREFIX_BYTES = 1024
_MAX_TAG_KEY = 128
_MAX_TAG_VALUE = 256
_MAX_SIZE = 1_099_511_627_776_000  # S3: "should be between 0 and 1099511627776000"
_MAX_INT = 2_147_483_647
_STATUSES = ("Enabled", "Disabled")
Status = Literal["Enabled", "Disabled"]


def _malformed(parameter: str) -> RaybusError:
    return RaybusError("MalformedXML", MALFORMED_XML, parameter=parameter)


def _invalid_argument(message: str, parameter: str) -> RaybusError:
    return RaybusError("InvalidArgument", message, parameter=parameter)


def _invalid_request(message: str, parameter: str) -> RaybusError:
    return RaybusError("InvalidRequest", message, parameter=parameter)


def _members(value: object, where: str, allowed: frozenset[str]) -> Mapping[str, Any]:
    """``value`` as a structure holding only ``allowed`` members (absent ones may be None)."""
    if not isinstance(value, Mapping) or set(value) - allowed:
        raise _malformed(where)
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise _malformed(where)
    return value


def _integer(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(where)
    return value


def _status(value: object, where: str) -> Status:
    if value not in _STATUSES:
        raise _malformed(where)
    return cast(Status, value)


def _items(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, (list, tuple)):
        raise _malformed(where)
    return value


def _date_ms(value: object, where: str) -> int:
    """A ``Date``: an aware ``datetime`` (a naive one is UTC) or ISO-8601 text, which must be a
    midnight UTC ("The time is always midnight UTC")."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _malformed(where) from None
    if not isinstance(value, datetime):
        raise _malformed(where)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    since = value - _EPOCH
    if since.seconds or since.microseconds:
        raise _invalid_argument("'Date' must be at midnight GMT", where)
    return since.days * DAY_MS


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _datetime(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def new_rule_id() -> str:
    """An ID for a rule given none, in the form S3 makes them: the base64 text of a random UUID
    (48 characters)."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


# -- filters -------------------------------------------------------------------------------------

Tag = tuple[str, str]


@dataclass(frozen=True, slots=True)
class RuleFilter:
    """Which objects a rule selects. ``prefix`` (None: any key; ``""`` matches every key too, but
    is answered back), ``tags`` (each must be on the object with that exact value),
    ``size_greater_than``/``size_less_than`` (bytes, bounds excluded; lifecycle only),
    ``excluded_prefixes``/``excluded_tags`` (replication's ``Not``: an object with any of them is
    left out).

    The rest records how the filter was written, so GetBucket...Configuration answers it as it
    was put: ``legacy`` (the rule's own ``Prefix``, V1; for replication also a rule with neither
    Prefix nor Filter), ``combined`` (an ``And``), ``excluded_any`` (``Not`` held an ``Or``)."""

    prefix: str | None = None
    tags: tuple[Tag, ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None
    excluded_prefixes: tuple[str, ...] = ()
    excluded_tags: tuple[Tag, ...] = ()
    legacy: bool = False
    combined: bool = False
    excluded_any: bool = False

    def matches(self, key: str, tags: Mapping[str, str], size: int) -> bool:
        """Whether the object ``key`` with ``tags`` and ``size`` bytes is selected. A delete
        marker or an upload has no tags and size 0."""
        if self.prefix is not None and not key.startswith(self.prefix):
            return False
        if any(tags.get(name) != value for name, value in self.tags):
            return False
        if self.size_greater_than is not None and not size > self.size_greater_than:
            return False
        if self.size_less_than is not None and not size < self.size_less_than:
            return False
        if any(key.startswith(prefix) for prefix in self.excluded_prefixes):
            return False
        return not any(tags.get(name) == value for name, value in self.excluded_tags)

    @property
    def uses_tags(self) -> bool:
        return bool(self.tags or self.excluded_tags)

    @property
    def uses_size(self) -> bool:
        return self.size_greater_than is not None or self.size_less_than is not None

    def describe(self) -> str:
        """The filter as S3's messages name it: ``(prefix=logs/)``."""
        return f"(prefix={self.prefix or ''})"

    def to_s3(self) -> dict[str, Any]:
        """The ``Filter`` structure (not for a legacy filter, whose prefix is the rule's)."""
        if self.combined:
            both: dict[str, Any] = {}
            if self.prefix is not None:
                both["Prefix"] = self.prefix
            if self.tags:
                both["Tags"] = [_tag_s3(tag) for tag in self.tags]
            if self.size_greater_than is not None:
                both["ObjectSizeGreaterThan"] = self.size_greater_than
            if self.size_less_than is not None:
                both["ObjectSizeLessThan"] = self.size_less_than
            if self.excluded_prefixes or self.excluded_tags:
                both["Not"] = self._not_s3()
            return {"And": both}
        if self.prefix is not None:
            return {"Prefix": self.prefix}
        if self.tags:
            return {"Tag": _tag_s3(self.tags[0])}
        if self.size_greater_than is not None:
            return {"ObjectSizeGreaterThan": self.size_greater_than}
        if self.size_less_than is not None:
            return {"ObjectSizeLessThan": self.size_less_than}
        if self.excluded_prefixes or self.excluded_tags:
            return {"Not": self._not_s3()}
        return {}

    def _not_s3(self) -> dict[str, Any]:
        if self.excluded_any:
            either: dict[str, Any] = {}
            if self.excluded_prefixes:
                either["Prefixes"] = list(self.excluded_prefixes)
            if self.excluded_tags:
                either["Tags"] = [_tag_s3(tag) for tag in self.excluded_tags]
            return {"Or": either}
        if self.excluded_prefixes:
            return {"Prefix": self.excluded_prefixes[0]}
        return {"Tag": _tag_s3(self.excluded_tags[0])}


def _tag_s3(tag: Tag) -> dict[str, str]:
    return {"Key": tag[0], "Value": tag[1]}


def _prefix(value: object, where: str) -> str:
    prefix = _text(value, where)
    if len(prefix.encode("utf-8", "surrogatepass")) > _MAX_PREFIX_BYTES:
        # S3 keys are at most 1,024 bytes, so a longer prefix selects nothing; S3's answer to one
        # was not found recorded.
        raise _invalid_argument("The maximum size of a prefix is 1024", where)
    return prefix


_TAG_MEMBERS = frozenset({"Key", "Value"})


def _tag(value: object, where: str) -> Tag:
    tag = _members(value, where, _TAG_MEMBERS)
    key, text = tag.get("Key"), tag.get("Value")
    if not isinstance(key, str) or not key or not isinstance(text, str):
        raise _malformed(where)  # both are required members; a key has at least one character
    if len(key) > _MAX_TAG_KEY:
        raise RaybusError("InvalidTag", "The TagKey you have provided is invalid", parameter=where)
    if len(text) > _MAX_TAG_VALUE:
        raise RaybusError(
            "InvalidTag", "The TagValue you have provided is invalid", parameter=where
        )
    return key, text


def _tags(value: object, where: str) -> tuple[Tag, ...]:
    tags = tuple(_tag(item, f"{where}[{i}]") for i, item in enumerate(_items(value, where)))
    keys = [key for key, _ in tags]
    if len(set(keys)) != len(keys):
        raise _invalid_request("Duplicate Tag Keys are not allowed.", where)
    return tags


def _size(value: object, where: str, name: str, low: int) -> int:
    size = _integer(value, where)
    if not low <= size <= _MAX_SIZE:
        raise _invalid_request(f"'{name}' should be between {low} and {_MAX_SIZE}.", where)
    return size


def _present(data: Mapping[str, Any]) -> list[str]:
    return [name for name, value in data.items() if value is not None]


_LIFECYCLE_FILTER = frozenset(
    {"Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And"}
)
_LIFECYCLE_AND = frozenset({"Prefix", "Tags", "ObjectSizeGreaterThan", "ObjectSizeLessThan"})
_REPLICATION_FILTER = frozenset({"Prefix", "Tag", "And", "Not"})
_REPLICATION_AND = frozenset({"Prefix", "Tags", "Not"})
_NOT = frozenset({"Prefix", "Tag", "Or"})
_OR = frozenset({"Prefixes", "Tags"})


def _filter(value: object, where: str, *, replication: bool) -> RuleFilter:
    """A ``Filter``: empty (every object) or exactly one predicate; several go in an ``And``."""
    allowed = _REPLICATION_FILTER if replication else _LIFECYCLE_FILTER
    given = _members(value, where, allowed)
    present = _present(given)
    if len(present) > 1:
        raise _malformed(where)
    if not present:
        return RuleFilter()
    name = present[0]
    item = given[name]
    here = f"{where}.{name}"
    if name == "Prefix":
        return RuleFilter(prefix=_prefix(item, here))
    if name == "Tag":
        return RuleFilter(tags=(_tag(item, here),))
    if name == "ObjectSizeGreaterThan":
        return RuleFilter(size_greater_than=_size(item, here, name, 0))
    if name == "ObjectSizeLessThan":
        return RuleFilter(size_less_than=_size(item, here, name, 1))
    if name == "Not":
        return _not(item, here)
    return _and(item, here, replication=replication)


def _and(value: object, where: str, *, replication: bool) -> RuleFilter:
    given = _members(value, where, _REPLICATION_AND if replication else _LIFECYCLE_AND)
    present = _present(given)
    tags = _tags(given["Tags"], f"{where}.Tags") if given.get("Tags") is not None else ()
    predicates = len(present) - ("Tags" in present) + len(tags)
    if predicates < (1 if replication else 2):
        # Lifecycle: "a logical AND to two or more predicates". Replication writers (Terraform,
        # the console) send an And around a single predicate, which S3 takes.
        raise _malformed(where)
    prefix = _prefix(given["Prefix"], f"{where}.Prefix") if "Prefix" in present else None
    greater = less = None
    if "ObjectSizeGreaterThan" in present:
        greater = _size(
            given["ObjectSizeGreaterThan"],
            f"{where}.ObjectSizeGreaterThan",
            "ObjectSizeGreaterThan",
            0,
        )
    if "ObjectSizeLessThan" in present:
        less = _size(
            given["ObjectSizeLessThan"], f"{where}.ObjectSizeLessThan", "ObjectSizeLessThan", 1
        )
    if greater is not None and less is not None and greater >= less:
        raise _invalid_request(
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.", where
        )
    excluded = _not(given["Not"], f"{where}.Not") if "Not" in present else RuleFilter()
    return RuleFilter(
        prefix=prefix,
        tags=tags,
        size_greater_than=greater,
        size_less_than=less,
        excluded_prefixes=excluded.excluded_prefixes,
        excluded_tags=excluded.excluded_tags,
        excluded_any=excluded.excluded_any,
        combined=True,
    )


def _not(value: object, where: str) -> RuleFilter:
    """Replication's ``Not``: exactly one of ``Prefix``, ``Tag`` or ``Or`` (prefixes and tags,
    any of which excludes an object)."""
    given = _members(value, where, _NOT)
    present = _present(given)
    if len(present) != 1:
        raise _malformed(where)
    name = present[0]
    here = f"{where}.{name}"
    if name == "Prefix":
        return RuleFilter(excluded_prefixes=(_prefix(given[name], here),))
    if name == "Tag":
        return RuleFilter(excluded_tags=(_tag(given[name], here),))
    either = _members(given[name], here, _OR)
    prefixes = tuple(
        _prefix(item, f"{here}.Prefixes[{i}]")
        for i, item in enumerate(_items(either.get("Prefixes") or [], f"{here}.Prefixes"))
    )
    tags = _tags(either.get("Tags") or [], f"{here}.Tags")
    if not prefixes and not tags:
        raise _malformed(here)
    return RuleFilter(excluded_prefixes=prefixes, excluded_tags=tags, excluded_any=True)


def _check_ids(rules: Sequence[Mapping[str, Any]], duplicate: str) -> None:
    """IDs given: at most 255 characters, each once (``duplicate`` is the service's text)."""
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        given = rule.get("ID")
        if given is None or given == "":
            continue
        rule_id = _text(given, f"Rules[{i}].ID")
        if len(rule_id) > _MAX_ID:
            raise _invalid_argument(
                f"ID length should not exceed allowed limit of {_MAX_ID}", f"Rules[{i}].ID"
            )
        if rule_id in seen:
            raise _invalid_argument(duplicate, f"Rules[{i}].ID")
        seen.add(rule_id)


def _rule_list(params: object, where: str, top: frozenset[str]) -> Sequence[Mapping[str, Any]]:
    given = _members(params, where, top)
    rules = _items(given.get("Rules"), f"{where}.Rules")
    if not rules:
        raise _malformed(f"{where}.Rules")
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            raise _malformed(f"{where}.Rules[{i}]")
    return rules


def _given_id(rule: Mapping[str, Any], new_id: Callable[[], str]) -> str:
    given = rule.get("ID")
    return given if isinstance(given, str) and given else new_id()


# -- lifecycle -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """A ``Transition``: to ``storage_class`` ``days`` after creation, or on ``date_ms``."""

    storage_class: str
    days: int | None = None
    date_ms: int | None = None

    def due_ms(self, created_ms: int) -> int:
        if self.date_ms is not None:
            return self.date_ms
        assert self.days is not None
        return _days_after(created_ms, self.days)

    def to_s3(self) -> dict[str, Any]:
        out: dict[str, Any] = {"StorageClass": self.storage_class}
        if self.days is not None:
            out["Days"] = self.days
        if self.date_ms is not None:
            out["Date"] = _datetime(self.date_ms)
        return out


@dataclass(frozen=True, slots=True)
class NoncurrentTransition:
    """A ``NoncurrentVersionTransition``: to ``storage_class`` ``days`` after a version became
    noncurrent, once ``newer_noncurrent_versions`` newer noncurrent versions exist (if given)."""

    storage_class: str
    days: int
    newer_noncurrent_versions: int | None = None

    def to_s3(self) -> dict[str, Any]:
        out: dict[str, Any] = {"NoncurrentDays": self.days, "StorageClass": self.storage_class}
        if self.newer_noncurrent_versions is not None:
            out["NewerNoncurrentVersions"] = self.newer_noncurrent_versions
        return out


@dataclass(frozen=True, slots=True)
class LifecycleRule:
    """One lifecycle rule, checked. ``expiration_days``/``expiration_date_ms``/
    ``expired_object_delete_marker`` are the ``Expiration``'s one element;
    ``noncurrent_days``/``newer_noncurrent_versions`` the ``NoncurrentVersionExpiration``;
    ``abort_days`` the ``AbortIncompleteMultipartUpload``'s ``DaysAfterInitiation``."""

    id: str
    status: Status
    filter: RuleFilter
    expiration_days: int | None = None
    expiration_date_ms: int | None = None
    expired_object_delete_marker: bool | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_days: int | None = None
    transitions: tuple[Transition, ...] = ()
    noncurrent_transitions: tuple[NoncurrentTransition, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.status == "Enabled"

    @property
    def has_expiration(self) -> bool:
        return (
            self.expiration_days is not None
            or self.expiration_date_ms is not None
            or self.expired_object_delete_marker is not None
        )

    def to_s3(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ID": self.id}
        if self.filter.legacy:
            out["Prefix"] = self.filter.prefix
        else:
            out["Filter"] = self.filter.to_s3()
        out["Status"] = self.status
        if self.has_expiration:
            expiration: dict[str, Any] = {}
            if self.expiration_days is not None:
                expiration["Days"] = self.expiration_days
            if self.expiration_date_ms is not None:
                expiration["Date"] = _datetime(self.expiration_date_ms)
            if self.expired_object_delete_marker is not None:
                expiration["ExpiredObjectDeleteMarker"] = self.expired_object_delete_marker
            out["Expiration"] = expiration
        if self.transitions:
            out["Transitions"] = [transition.to_s3() for transition in self.transitions]
        if self.noncurrent_transitions:
            out["NoncurrentVersionTransitions"] = [t.to_s3() for t in self.noncurrent_transitions]
        if self.noncurrent_days is not None:
            noncurrent: dict[str, Any] = {"NoncurrentDays": self.noncurrent_days}
            if self.newer_noncurrent_versions is not None:
                noncurrent["NewerNoncurrentVersions"] = self.newer_noncurrent_versions
            out["NoncurrentVersionExpiration"] = noncurrent
        if self.abort_days is not None:
            out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": self.abort_days}
        return out


_LIFECYCLE_TOP = frozenset({"Rules"})
_LIFECYCLE_RULE = frozenset(
    {
        "ID",
        "Prefix",
        "Filter",
        "Status",
        "Expiration",
        "Transitions",
        "NoncurrentVersionTransitions",
        "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    }
)
_EXPIRATION = frozenset({"Date", "Days", "ExpiredObjectDeleteMarker"})
_NONCURRENT_EXPIRATION = frozenset({"NoncurrentDays", "NewerNoncurrentVersions"})
_ABORT = frozenset({"DaysAfterInitiation"})
_TRANSITION = frozenset({"Date", "Days", "StorageClass"})
_NONCURRENT_TRANSITION = frozenset({"NoncurrentDays", "StorageClass", "NewerNoncurrentVersions"})
_ACTIONS = ("Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload")
_TRANSITION_LISTS = ("Transitions", "NoncurrentVersionTransitions")


def _positive(value: object, where: str, name: str, action: str) -> int:
    days = _integer(value, where)
    if not 1 <= days <= _MAX_INT:
        raise _invalid_argument(f"'{name}' for {action} action must be a positive integer", where)
    return days


def _transition_class(value: object, where: str) -> str:
    if value not in TRANSITION_STORAGE_CLASSES:
        raise _malformed(where)  # an enumeration of the schema's
    return str(value)


def _lifecycle_rule(
    rule: Mapping[str, Any], i: int, *, v2: bool, new_id: Callable[[], str]
) -> LifecycleRule:
    where = f"Rules[{i}]"
    _members(rule, where, _LIFECYCLE_RULE)
    status = _status(rule.get("Status"), f"{where}.Status")
    has_prefix, has_filter = rule.get("Prefix") is not None, rule.get("Filter") is not None
    if not has_prefix and not has_filter:
        raise _malformed(f"{where}.Filter")
    if has_prefix and v2:
        raise _invalid_request(
            "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in "
            "the Filter.",
            f"{where}.Prefix",
        )
    if has_filter and not v2:
        raise _invalid_request(
            "Filter element can only be used in Lifecycle V2.", f"{where}.Filter"
        )
    if has_prefix:
        chosen = RuleFilter(prefix=_prefix(rule["Prefix"], f"{where}.Prefix"), legacy=True)
    else:
        chosen = _filter(rule["Filter"], f"{where}.Filter", replication=False)
    if not any(rule.get(name) for name in _TRANSITION_LISTS) and all(
        rule.get(name) is None for name in _ACTIONS
    ):
        raise _invalid_request("At least one action needs to be specified in a rule", where)

    days = date = marker = None
    if rule.get("Expiration") is not None:
        here = f"{where}.Expiration"
        expiration = _members(rule["Expiration"], here, _EXPIRATION)
        if len(_present(expiration)) != 1:
            raise _malformed(here)  # "cannot be specified with Days or Date"
        if expiration.get("Days") is not None:
            days = _positive(expiration["Days"], f"{here}.Days", "Days", "Expiration")
        elif expiration.get("Date") is not None:
            date = _date_ms(expiration["Date"], f"{here}.Date")
        else:
            marker = expiration["ExpiredObjectDeleteMarker"]
            if not isinstance(marker, bool):
                raise _malformed(f"{here}.ExpiredObjectDeleteMarker")

    noncurrent_days = newer = None
    if rule.get("NoncurrentVersionExpiration") is not None:
        here = f"{where}.NoncurrentVersionExpiration"
        given = _members(rule["NoncurrentVersionExpiration"], here, _NONCURRENT_EXPIRATION)
        if given.get("NoncurrentDays") is None:
            raise _malformed(here)  # S3 finds one without NoncurrentDays malformed
        noncurrent_days = _positive(
            given["NoncurrentDays"],
            f"{here}.NoncurrentDays",
            "NoncurrentDays",
            "NoncurrentVersionExpiration",
        )
        newer = _newer(
            given.get("NewerNoncurrentVersions"),
            f"{here}.NewerNoncurrentVersions",
            "NoncurrentVersionExpiration",
            v2=v2,
        )

    abort = None
    if rule.get("AbortIncompleteMultipartUpload") is not None:
        here = f"{where}.AbortIncompleteMultipartUpload"
        given = _members(rule["AbortIncompleteMultipartUpload"], here, _ABORT)
        if given.get("DaysAfterInitiation") is None:
            raise _malformed(here)
        abort = _positive(
            given["DaysAfterInitiation"],
            f"{here}.DaysAfterInitiation",
            "DaysAfterInitiation",
            "AbortIncompleteMultipartUpload",
        )

    for action, used in (
        ("ExpiredObjectDeleteMarker", marker is not None),
        ("AbortIncompleteMultipartUpload", abort is not None),
    ):
        if used and chosen.uses_tags:
            raise _invalid_request(f"{action} cannot be specified with Tags.", where)
        if used and chosen.uses_size:
            raise _invalid_request(f"{action} cannot be specified with Object Size.", where)

    transitions = _transitions(rule.get("Transitions"), where, chosen)
    dated = date is not None or any(t.date_ms is not None for t in transitions)
    counted = days is not None or any(t.days is not None for t in transitions)
    if dated and counted:
        raise _mixed(where)
    for transition in transitions:
        if days is not None and transition.days is not None and days <= transition.days:
            raise _invalid_argument(
                f"'Days' in the Expiration action for filter '{chosen.describe()}' must be "
                "greater than 'Days' in the Transition action",
                f"{where}.Expiration.Days",
            )
        if date is not None and transition.date_ms is not None and date <= transition.date_ms:
            # S3's Days wording, for Dates.
            raise _invalid_argument(
                f"'Date' in the Expiration action for filter '{chosen.describe()}' must be "
                "greater than 'Date' in the Transition action",
                f"{where}.Expiration.Date",
            )
    noncurrent_transitions = _noncurrent_transitions(
        rule.get("NoncurrentVersionTransitions"), where, chosen, v2=v2
    )
    for later in noncurrent_transitions:
        if noncurrent_days is not None and noncurrent_days <= later.days:
            # S3's wording for current versions, for noncurrent ones.
            raise _invalid_argument(
                f"'NoncurrentDays' in the NoncurrentVersionExpiration action for filter "
                f"'{chosen.describe()}' must be greater than 'NoncurrentDays' in the "
                "NoncurrentVersionTransition action",
                f"{where}.NoncurrentVersionExpiration.NoncurrentDays",
            )
    return LifecycleRule(
        id=_given_id(rule, new_id),
        status=status,
        filter=chosen,
        expiration_days=days,
        expiration_date_ms=date,
        expired_object_delete_marker=marker,
        noncurrent_days=noncurrent_days,
        newer_noncurrent_versions=newer,
        abort_days=abort,
        transitions=transitions,
        noncurrent_transitions=noncurrent_transitions,
    )


def _mixed(where: str) -> RaybusError:
    return _invalid_request(
        "Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle rule",
        where,
    )


def _newer(value: object, where: str, action: str, *, v2: bool) -> int | None:
    """``NewerNoncurrentVersions``: at least 1, in Lifecycle V2 only (the documented maximum of
    100 is not enforced: S3 was recorded accepting 500)."""
    if value is None:
        return None
    if not v2:
        raise _invalid_request(
            "NewerNoncurrentVersions element can only be used in Lifecycle V2.", where
        )
    return _positive(value, where, "NewerNoncurrentVersions", action)


def _transitions(value: object, where: str, chosen: RuleFilter) -> tuple[Transition, ...]:
    if value is None:
        return ()
    out: list[Transition] = []
    for i, item in enumerate(_items(value, f"{where}.Transitions")):
        here = f"{where}.Transitions[{i}]"
        given = _members(item, here, _TRANSITION)
        storage_class = _transition_class(given.get("StorageClass"), f"{here}.StorageClass")
        if (given.get("Days") is None) == (given.get("Date") is None):
            raise _malformed(here)
        if given.get("Date") is not None:
            out.append(Transition(storage_class, date_ms=_date_ms(given["Date"], f"{here}.Date")))
        else:
            days = _integer(given["Days"], f"{here}.Days")
            if not 0 <= days <= _MAX_INT:
                raise _invalid_argument(
                    "'Days' in Transition action must be nonnegative", f"{here}.Days"
                )
            if days < MIN_STORAGE_DAYS["STANDARD_IA"] and storage_class in (
                "STANDARD_IA",
                "ONEZONE_IA",
            ):
                raise _invalid_argument(
                    "'Days' in Transition action must be greater than or equal to 30 for "
                    f"storageClass '{storage_class}'",
                    f"{here}.Days",
                )
            out.append(Transition(storage_class, days=days))
    _distinct_classes([t.storage_class for t in out], "Transition", where)
    if len({t.date_ms is None for t in out}) > 1:
        raise _mixed(where)
    _waterfall(
        [
            (t.storage_class, t.days if t.days is not None else (t.date_ms or 0) // DAY_MS)
            for t in out
        ],
        "Date" if any(t.date_ms is not None for t in out) else "Days",
        "Transition",
        chosen,
        where,
    )
    return tuple(out)


def _noncurrent_transitions(
    value: object, where: str, chosen: RuleFilter, *, v2: bool
) -> tuple[NoncurrentTransition, ...]:
    if value is None:
        return ()
    out: list[NoncurrentTransition] = []
    action = "NoncurrentVersionTransition"
    for i, item in enumerate(_items(value, f"{where}.NoncurrentVersionTransitions")):
        here = f"{where}.NoncurrentVersionTransitions[{i}]"
        given = _members(item, here, _NONCURRENT_TRANSITION)
        storage_class = _transition_class(given.get("StorageClass"), f"{here}.StorageClass")
        if given.get("NoncurrentDays") is None:
            raise _malformed(here)
        days = _integer(given["NoncurrentDays"], f"{here}.NoncurrentDays")
        if not 0 <= days <= _MAX_INT:
            raise _invalid_argument(
                f"'NoncurrentDays' in {action} action must be nonnegative", f"{here}.NoncurrentDays"
            )
        if days < MIN_STORAGE_DAYS["STANDARD_IA"] and storage_class in (
            "STANDARD_IA",
            "ONEZONE_IA",
        ):
            raise _invalid_argument(
                f"'NoncurrentDays' in {action} action must be greater than or equal to 30 for "
                f"storageClass '{storage_class}'",
                f"{here}.NoncurrentDays",
            )
        newer = _newer(
            given.get("NewerNoncurrentVersions"), f"{here}.NewerNoncurrentVersions", action, v2=v2
        )
        out.append(NoncurrentTransition(storage_class, days, newer))
    _distinct_classes([t.storage_class for t in out], action, where)
    _waterfall([(t.storage_class, t.days) for t in out], "NoncurrentDays", action, chosen, where)
    return tuple(out)


def _distinct_classes(classes: list[str], action: str, where: str) -> None:
    if len(set(classes)) != len(classes):
        raise _invalid_request(
            f"'StorageClass' must be different for '{action}' actions in same 'Rule'", where
        )


def _waterfall(
    steps: list[tuple[str, int]], unit: str, action: str, chosen: RuleFilter, where: str
) -> None:
    """A rule's transitions, taken in waterfall order, must each come after the one before by
    at least that class's minimum storage duration (and by a day at least): "the S3 Glacier
    Deep Archive transition must occur after at least 94 days" after GLACIER_IR at 4. S3's exact
    text for this refusal was not found recorded; this follows its wording for the 30-day rule.
    """
    ordered = sorted(steps, key=lambda step: transition_rank(step[0]))
    for (before, start), (after, when) in itertools.pairwise(ordered):
        gap = max(MIN_STORAGE_DAYS[before], 1)
        if when - start < gap:
            raise _invalid_argument(
                f"'{unit}' in the {action} action for StorageClass '{after}' for filter "
                f"'{chosen.describe()}' must be {gap} days more than '{unit}' in the {action} "
                f"action for StorageClass '{before}' for filter '{chosen.describe()}'",
                where,
            )


def _overlapping(rules: Sequence[LifecycleRule]) -> None:
    """Lifecycle V1 (rule-level prefixes): no two rules whose prefixes overlap may take the same
    kind of action ("Found overlapping prefixes '' and 'a' for same action type
    'Expiration'")."""
    kinds: tuple[tuple[str, Callable[[LifecycleRule], bool]], ...] = (
        ("Expiration", lambda rule: rule.has_expiration),
        ("Transition", lambda rule: bool(rule.transitions)),
        ("NoncurrentVersionTransition", lambda rule: bool(rule.noncurrent_transitions)),
        ("NoncurrentVersionExpiration", lambda rule: rule.noncurrent_days is not None),
        ("AbortIncompleteMultipartUpload", lambda rule: rule.abort_days is not None),
    )
    for kind, takes in kinds:
        prefixes = sorted(rule.filter.prefix or "" for rule in rules if takes(rule))
        for first, second in itertools.pairwise(prefixes):
            if second.startswith(first):
                raise _invalid_request(
                    f"Found overlapping prefixes '{first}' and '{second}' for same action type "
                    f"'{kind}'",
                    "Rules",
                )


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """A bucket's lifecycle configuration: its rules, in the order given, and
    ``transition_default_minimum_object_size`` (the ``x-amz-transition-default-minimum-object-
    size`` header of the PUT; ``all_storage_classes_128K`` when it had none)."""

    rules: tuple[LifecycleRule, ...]
    transition_default_minimum_object_size: str = _ALL_128K

    @property
    def v2(self) -> bool:
        """Whether the rules use ``Filter`` (Lifecycle V2) rather than their own ``Prefix``."""
        return bool(self.rules) and not self.rules[0].filter.legacy

    @classmethod
    def from_s3(
        cls,
        params: Mapping[str, Any],
        *,
        transition_default_minimum_object_size: str | None = None,
        new_id: Callable[[], str] = new_rule_id,
    ) -> LifecycleConfig:
        """The ``LifecycleConfiguration`` of a PutBucketLifecycleConfiguration, checked as S3
        checks it (the first fault found is the answer): 1–1,000 rules, their IDs, then each
        rule in order, then (V1) overlapping prefixes. A configuration is V2 when its first rule
        has a ``Filter``; every rule must then have one. A rule given no ID gets
        ``new_id()``."""
        rules = _rule_list(params, "LifecycleConfiguration", _LIFECYCLE_TOP)
        if len(rules) > MAX_RULES:
            raise _invalid_request(
                f"The number of lifecycle rules must not exceed the allowed limit of {MAX_RULES} "
                "rules.",
                "LifecycleConfiguration.Rules",
            )
        _check_ids(rules, "Rule ID must be unique. Found same ID for more than one rule")
        v2 = rules[0].get("Filter") is not None
        checked = tuple(
            _lifecycle_rule(rule, i, v2=v2, new_id=new_id) for i, rule in enumerate(rules)
        )
        if not v2:
            _overlapping(checked)
        minimum = transition_default_minimum_object_size or _ALL_128K
        if minimum not in _MINIMUM_SIZES:
            raise _invalid_request(
                "Invalid TransitionDefaultMinimumObjectSize found",
                "x-amz-transition-default-minimum-object-size",
            )
        return cls(checked, minimum)

    def to_s3(self) -> dict[str, Any]:
        """GetBucketLifecycleConfiguration's answer: ``Rules`` as they were put (Dates as aware
        ``datetime``) and ``TransitionDefaultMinimumObjectSize``."""
        return {
            "Rules": [rule.to_s3() for rule in self.rules],
            "TransitionDefaultMinimumObjectSize": self.transition_default_minimum_object_size,
        }

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the S3 shape, Dates as ISO-8601 text (plain JSON/msgpack)."""
        stored: dict[str, Any] = _dates_as_text(self.to_s3())
        return stored

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LifecycleConfig:
        """The configuration :meth:`to_dict` stored, checked again (every rule has its ID)."""
        return cls.from_s3(
            {"Rules": data.get("Rules")},
            transition_default_minimum_object_size=data.get("TransitionDefaultMinimumObjectSize"),
        )


def _dates_as_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, Mapping):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    return value


# -- lifecycle: what the rules say about an object -----------------------------------------------


class Due(NamedTuple):
    """When an action falls due (epoch ms, a midnight UTC for day counts) and under which rule."""

    at_ms: int
    rule_id: str


def rule_applies(rule: LifecycleRule, key: str, tags: Mapping[str, str], size: int) -> bool:
    """Whether ``rule`` is enabled and its filter selects the object (a delete marker or an
    upload: no tags, size 0)."""
    return rule.enabled and rule.filter.matches(key, tags, size)


def _applying(
    config: LifecycleConfig, key: str, tags: Mapping[str, str], size: int
) -> Iterator[LifecycleRule]:
    return (rule for rule in config.rules if rule_applies(rule, key, tags, size))


def _earliest(candidates: Iterable[Due]) -> Due | None:
    """The first due; on a tie the earlier rule ("the shorter expiration policy is honored")."""
    best: Due | None = None
    for due in candidates:
        if best is None or due.at_ms < best.at_ms:
            best = due
    return best


def expiration_ms(
    config: LifecycleConfig, key: str, tags: Mapping[str, str], size: int, created_ms: int
) -> Due | None:
    """When the current version ``key`` (created at ``created_ms``) expires, and the rule that
    expires it: ``Days`` after creation rounded up to midnight UTC, or the rule's ``Date`` (a
    date already past means due now). The earliest of the enabled rules that select it; None if
    none does. The same ``Due`` makes ``x-amz-expiration`` (:func:`expiration_header`)."""
    candidates: list[Due] = []
    for rule in _applying(config, key, tags, size):
        if rule.expiration_days is not None:
            candidates.append(Due(_days_after(created_ms, rule.expiration_days), rule.id))
        elif rule.expiration_date_ms is not None:
            candidates.append(Due(rule.expiration_date_ms, rule.id))
    return _earliest(candidates)


def expiration_header(due: Due) -> str:
    """``x-amz-expiration``: ``expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", rule-id="r"``. The
    rule ID is sent as it is when a header can carry it, else URL-encoded whole."""
    return f'expiry-date="{http_date(due.at_ms)}", rule-id="{_header_id(due.rule_id)}"'


_PLAIN_ID = re.compile(r"[ -~]*")


def _header_id(rule_id: str) -> str:
    plain = (
        _PLAIN_ID.fullmatch(rule_id) is not None
        and '"' not in rule_id
        and "\\" not in rule_id
        and rule_id == rule_id.strip(" ")
    )
    return rule_id if plain else quote(rule_id, safe="")


def noncurrent_expiration_due(
    config: LifecycleConfig,
    key: str,
    tags: Mapping[str, str],
    size: int,
    noncurrent_since_ms: int,
    newer_noncurrent_count: int,
) -> Due | None:
    """When a noncurrent version is deleted, and under which rule: ``NoncurrentDays`` after it
    became noncurrent (its successor's creation), rounded up to midnight UTC. A rule with
    ``NewerNoncurrentVersions`` N keeps the N newest noncurrent versions whatever their age:
    the version is eligible only once ``newer_noncurrent_count`` (the noncurrent versions of
    its key newer than it, delete markers included) reaches N ("For the deletion to occur, both
    the NoncurrentDays and the NewerNoncurrentVersions values must be exceeded"; of ten
    versions with five retained, six remain)."""
    candidates: list[Due] = []
    for rule in _applying(config, key, tags, size):
        if rule.noncurrent_days is None:
            continue
        kept = rule.newer_noncurrent_versions
        if kept is not None and newer_noncurrent_count < kept:
            continue
        candidates.append(Due(_days_after(noncurrent_since_ms, rule.noncurrent_days), rule.id))
    return _earliest(candidates)


def noncurrent_expiration_ms(
    config: LifecycleConfig,
    key: str,
    tags: Mapping[str, str],
    size: int,
    noncurrent_since_ms: int,
    newer_noncurrent_count: int,
) -> int | None:
    """:func:`noncurrent_expiration_due`'s time alone."""
    due = noncurrent_expiration_due(
        config, key, tags, size, noncurrent_since_ms, newer_noncurrent_count
    )
    return None if due is None else due.at_ms


def expired_delete_marker_applies(config: LifecycleConfig, key: str) -> bool:
    """Whether an enabled rule with ``ExpiredObjectDeleteMarker`` true selects ``key``: a delete
    marker left with no noncurrent version beneath it is then removed."""
    return any(rule.expired_object_delete_marker is True for rule in _applying(config, key, {}, 0))


def delete_marker_expiration_ms(config: LifecycleConfig, key: str, created_ms: int) -> int | None:
    """When a delete marker with no noncurrent version beneath it (created at ``created_ms``)
    is removed: at the first midnight after it was made under ``ExpiredObjectDeleteMarker``, and
    under an ``Expiration`` of ``Days`` once it is that old ("When you specify the Days tag,
    Amazon S3 automatically performs ExpiredObjectDeleteMarker cleanup when the delete markers
    are old enough to satisfy the age criteria"). The earliest; None if no rule removes it."""
    candidates: list[Due] = []
    for rule in _applying(config, key, {}, 0):
        if rule.expired_object_delete_marker is True:
            candidates.append(Due(next_midnight_ms(created_ms), rule.id))
        elif rule.expiration_days is not None:
            candidates.append(Due(_days_after(created_ms, rule.expiration_days), rule.id))
    due = _earliest(candidates)
    return None if due is None else due.at_ms


def abort_rule(config: LifecycleConfig, key: str, initiated_ms: int) -> Due | None:
    """When an incomplete multipart upload of ``key`` (initiated at ``initiated_ms``) is
    aborted, and the rule (``x-amz-abort-date``, ``x-amz-abort-rule-id``): ``DaysAfterInitiation``
    later, rounded up to midnight UTC. Such rules select by prefix only (S3 refuses tags and
    sizes beside this action)."""
    candidates = [
        Due(_days_after(initiated_ms, rule.abort_days), rule.id)
        for rule in _applying(config, key, {}, 0)
        if rule.abort_days is not None
    ]
    return _earliest(candidates)


def abort_multipart_ms(config: LifecycleConfig, key: str, initiated_ms: int) -> int | None:
    """:func:`abort_rule`'s time alone."""
    due = abort_rule(config, key, initiated_ms)
    return None if due is None else due.at_ms


def _small_object_blocked(
    config: LifecycleConfig, rule: LifecycleRule, storage_class: str, size: int
) -> bool:
    """Objects under 128 KB are not transitioned by default (``all_storage_classes_128K``), or
    only to GLACIER and DEEP_ARCHIVE (``varies_by_storage_class``); a rule with a size filter
    decides for itself ("Custom filters always take precedence")."""
    if size >= SMALL_OBJECT_BYTES or rule.filter.uses_size:
        return False
    minimum = config.transition_default_minimum_object_size
    return minimum == _ALL_128K or storage_class not in _DEEP_CLASSES


def _coldest(classes: Iterable[str]) -> str | None:
    return max(classes, key=transition_rank, default=None)


def transition_for(
    config: LifecycleConfig,
    key: str,
    tags: Mapping[str, str],
    size: int,
    created_ms: int,
    now_ms: int,
) -> str | None:
    """The storage class the current version ``key`` should be in at ``now_ms``: the coldest
    (latest in the waterfall) of the transitions due by then among the enabled rules that select
    it; None if none is due, or if the version's expiration is due by then ("Permanent deletion
    takes precedence over transition"). The engine moves an object only to a class of a higher
    :func:`transition_rank` than its own."""
    expiry = expiration_ms(config, key, tags, size, created_ms)
    if expiry is not None and expiry.at_ms <= now_ms:
        return None
    return _coldest(
        transition.storage_class
        for rule in _applying(config, key, tags, size)
        for transition in rule.transitions
        if transition.due_ms(created_ms) <= now_ms
        and not _small_object_blocked(config, rule, transition.storage_class, size)
    )


def noncurrent_transition_for(
    config: LifecycleConfig,
    key: str,
    tags: Mapping[str, str],
    size: int,
    noncurrent_since_ms: int,
    newer_noncurrent_count: int,
    now_ms: int,
) -> str | None:
    """:func:`transition_for` for a noncurrent version: ``NoncurrentDays`` after it became
    noncurrent, once ``NewerNoncurrentVersions`` newer noncurrent versions exist; None when its
    deletion is due by then."""
    expiry = noncurrent_expiration_ms(
        config, key, tags, size, noncurrent_since_ms, newer_noncurrent_count
    )
    if expiry is not None and expiry <= now_ms:
        return None
    return _coldest(
        transition.storage_class
        for rule in _applying(config, key, tags, size)
        for transition in rule.noncurrent_transitions
        if _days_after(noncurrent_since_ms, transition.days) <= now_ms
        and (
            transition.newer_noncurrent_versions is None
            or newer_noncurrent_count >= transition.newer_noncurrent_versions
        )
        and not _small_object_blocked(config, rule, transition.storage_class, size)
    )


# -- replication ---------------------------------------------------------------------------------

VERSIONING_REQUIRED: Final = (
    "Versioning must be 'Enabled' on the bucket to apply a replication configuration"
)
"""S3's ``InvalidRequest`` text for a PutBucketReplication on a bucket without versioning
enabled (the caller checks versioning; this module has no bucket state)."""
DESTINATION_VERSIONING_REQUIRED: Final = "Destination bucket must have versioning enabled."
DESTINATION_NOT_FOUND: Final = "Destination bucket must exist."

_BUCKET_ARN = re.compile(r"arn:aws[a-z-]*:s3:::([A-Za-z0-9._-]{1,255})")
_MINUTES = 15  # "Only a value of <Minutes>15</Minutes> is accepted"


@dataclass(frozen=True, slots=True)
class ReplicationDestination:
    """Where a rule's replicas go: ``bucket`` (the ARN as given, ``arn:aws:s3:::<name>``),
    ``storage_class`` (None: the source object's), ``account``, and the options stored and
    answered back but not acted on (``AccessControlTranslation``, ``EncryptionConfiguration``,
    ``ReplicationTime``, ``Metrics``, in their S3 shapes)."""

    bucket: str
    storage_class: str | None = None
    account: str | None = None
    options: Mapping[str, Any] | None = None

    def to_s3(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Bucket": self.bucket}
        if self.account is not None:
            out["Account"] = self.account
        if self.storage_class is not None:
            out["StorageClass"] = self.storage_class
        out.update(_copy(self.options or {}))
        return out


@dataclass(frozen=True, slots=True)
class ReplicationRule:
    """One replication rule, checked. ``priority`` and ``delete_marker_replication`` are None
    for a V1 rule (its own ``Prefix``, or no filter at all), which has neither;
    ``existing_object_replication`` and ``source_selection_criteria`` are stored and answered
    back."""

    id: str
    status: Status
    filter: RuleFilter
    destination: ReplicationDestination
    priority: int | None = None
    delete_marker_replication: bool | None = None
    existing_object_replication: bool | None = None
    source_selection_criteria: Mapping[str, Any] | None = None

    @property
    def enabled(self) -> bool:
        return self.status == "Enabled"

    @property
    def v2(self) -> bool:
        return not self.filter.legacy

    def to_s3(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ID": self.id}
        if self.priority is not None:
            out["Priority"] = self.priority
        if self.filter.legacy:
            if self.filter.prefix is not None:
                out["Prefix"] = self.filter.prefix
        else:
            out["Filter"] = self.filter.to_s3()
        out["Status"] = self.status
        if self.source_selection_criteria is not None:
            out["SourceSelectionCriteria"] = _copy(self.source_selection_criteria)
        if self.existing_object_replication is not None:
            out["ExistingObjectReplication"] = {
                "Status": "Enabled" if self.existing_object_replication else "Disabled"
            }
        out["Destination"] = self.destination.to_s3()
        if self.delete_marker_replication is not None:
            out["DeleteMarkerReplication"] = {
                "Status": "Enabled" if self.delete_marker_replication else "Disabled"
            }
        return out


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_copy(item) for item in value]
    return value


_REPLICATION_TOP = frozenset({"Role", "Rules"})
_REPLICATION_RULE = frozenset(
    {
        "ID",
        "Priority",
        "Prefix",
        "Filter",
        "Status",
        "SourceSelectionCriteria",
        "ExistingObjectReplication",
        "Destination",
        "DeleteMarkerReplication",
    }
)
_DESTINATION = frozenset(
    {
        "Bucket",
        "Account",
        "StorageClass",
        "AccessControlTranslation",
        "EncryptionConfiguration",
        "ReplicationTime",
        "Metrics",
    }
)
_STATUS_ONLY = frozenset({"Status"})
_CRITERIA = frozenset({"SseKmsEncryptedObjects", "ReplicaModifications"})
_SCHEMA = "for this version of Cross Region Replication configuration schema."


def _status_member(value: object, where: str, *, required: bool = True) -> bool:
    given = _members(value, where, _STATUS_ONLY)
    if given.get("Status") is None and not required:
        return False
    return _status(given.get("Status"), f"{where}.Status") == "Enabled"


def _destination(value: object, where: str) -> ReplicationDestination:
    given = _members(value, where, _DESTINATION)
    bucket = _text(given.get("Bucket"), f"{where}.Bucket")
    if _BUCKET_ARN.fullmatch(bucket) is None:
        raise _invalid_argument("Invalid bucket ARN.", f"{where}.Bucket")
    storage_class = None
    if given.get("StorageClass") is not None:
        storage_class = check_storage_class(given["StorageClass"], f"{where}.StorageClass")
    account = None
    if given.get("Account") is not None:
        account = _text(given["Account"], f"{where}.Account")
    options: dict[str, Any] = {}
    if given.get("AccessControlTranslation") is not None:
        here = f"{where}.AccessControlTranslation"
        owner = _members(given["AccessControlTranslation"], here, frozenset({"Owner"}))
        if owner.get("Owner") != "Destination":
            raise _malformed(f"{here}.Owner")
        options["AccessControlTranslation"] = {"Owner": "Destination"}
    if given.get("EncryptionConfiguration") is not None:
        here = f"{where}.EncryptionConfiguration"
        encryption = _members(
            given["EncryptionConfiguration"],
            here,
            frozenset({"ReplicaKmsKeyID", "UseSourceMultiRegionKey"}),
        )
        if encryption.get("ReplicaKmsKeyID") is not None:
            _text(encryption["ReplicaKmsKeyID"], f"{here}.ReplicaKmsKeyID")
        if encryption.get("UseSourceMultiRegionKey") is not None:
            _status_member(encryption["UseSourceMultiRegionKey"], f"{here}.UseSourceMultiRegionKey")
        options["EncryptionConfiguration"] = _copy(encryption)
    timed = metered = False
    for name, minutes_in in (("ReplicationTime", "Time"), ("Metrics", "EventThreshold")):
        if given.get(name) is None:
            continue
        here = f"{where}.{name}"
        block = _members(given[name], here, frozenset({"Status", minutes_in}))
        enabled = _status(block.get("Status"), f"{here}.Status") == "Enabled"
        if block.get(minutes_in) is None and name == "ReplicationTime":
            raise _malformed(f"{here}.Time")  # a required member
        if block.get(minutes_in) is not None:
            time = _members(block[minutes_in], f"{here}.{minutes_in}", frozenset({"Minutes"}))
            if time.get("Minutes") is not None and time["Minutes"] != _MINUTES:
                # "Only a value of <Minutes>15</Minutes> is accepted" (S3's text not recorded).
                raise _invalid_argument(
                    f"Only a value of {_MINUTES} is accepted for Minutes",
                    f"{here}.{minutes_in}.Minutes",
                )
        if name == "ReplicationTime":
            timed = enabled
        else:
            metered = enabled
        options[name] = _copy(block)
    if timed and not metered:
        # ReplicationTime "Must be specified together with a Metrics block".
        raise _invalid_request(
            "Replication Time Control must be used with Metrics enabled", f"{where}.Metrics"
        )
    return ReplicationDestination(bucket, storage_class, account, options or None)


def _criteria(value: object, where: str) -> dict[str, Any]:
    given = _members(value, where, _CRITERIA)
    out: dict[str, Any] = {}
    for name in ("SseKmsEncryptedObjects", "ReplicaModifications"):
        if given.get(name) is not None:
            enabled = _status_member(given[name], f"{where}.{name}")
            out[name] = {"Status": "Enabled" if enabled else "Disabled"}
    return out


def _replication_rule(
    rule: Mapping[str, Any], i: int, *, v2: bool, new_id: Callable[[], str]
) -> ReplicationRule:
    where = f"Rules[{i}]"
    _members(rule, where, _REPLICATION_RULE)
    status = _status(rule.get("Status"), f"{where}.Status")
    has_filter = rule.get("Filter") is not None
    if has_filter != v2 or (has_filter and rule.get("Prefix") is not None):
        raise _malformed(where)  # every rule V1, or every rule V2
    if has_filter:
        chosen = _filter(rule["Filter"], f"{where}.Filter", replication=True)
        if rule.get("Priority") is None:
            raise _invalid_request(f"Priority must be specified {_SCHEMA}", f"{where}.Priority")
        if rule.get("DeleteMarkerReplication") is None:
            raise _invalid_request(
                f"DeleteMarkerReplication must be specified {_SCHEMA}",
                f"{where}.DeleteMarkerReplication",
            )
    else:
        prefix = rule.get("Prefix")
        chosen = RuleFilter(
            prefix=None if prefix is None else _prefix(prefix, f"{where}.Prefix"), legacy=True
        )
        if rule.get("Priority") is not None:
            raise _invalid_request(f"Priority cannot be used {_SCHEMA}", f"{where}.Priority")
        if rule.get("DeleteMarkerReplication") is not None:
            # S3's wording for Priority, for the other V2 element.
            raise _invalid_request(
                f"DeleteMarkerReplication cannot be used {_SCHEMA}",
                f"{where}.DeleteMarkerReplication",
            )
    priority = None
    if rule.get("Priority") is not None:
        priority = _integer(rule["Priority"], f"{where}.Priority")
        if not 0 <= priority <= _MAX_INT:
            raise _invalid_argument(
                "Priority must be zero or a positive integer", f"{where}.Priority"
            )
    markers = None
    if rule.get("DeleteMarkerReplication") is not None:
        markers = _status_member(
            rule["DeleteMarkerReplication"], f"{where}.DeleteMarkerReplication", required=False
        )
        if markers and chosen.uses_tags:
            raise _invalid_request(
                "Delete marker replication is not supported if any Tag filter is specified. "
                "Please refer to S3 Developer Guide for more information.",
                f"{where}.DeleteMarkerReplication",
            )
    existing = None
    if rule.get("ExistingObjectReplication") is not None:
        existing = _status_member(
            rule["ExistingObjectReplication"], f"{where}.ExistingObjectReplication"
        )
    destination = _destination(rule.get("Destination"), f"{where}.Destination")
    criteria = None
    if rule.get("SourceSelectionCriteria") is not None:
        criteria = _criteria(rule["SourceSelectionCriteria"], f"{where}.SourceSelectionCriteria")
        kms = criteria.get("SseKmsEncryptedObjects", {}).get("Status") == "Enabled"
        key = (destination.options or {}).get("EncryptionConfiguration", {}).get("ReplicaKmsKeyID")
        if kms and key is None:
            raise _invalid_request(
                "ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present.",
                f"{where}.Destination.EncryptionConfiguration",
            )
    return ReplicationRule(
        id=_given_id(rule, new_id),
        status=status,
        filter=chosen,
        destination=destination,
        priority=priority,
        delete_marker_replication=markers,
        existing_object_replication=existing,
        source_selection_criteria=criteria,
    )


@dataclass(frozen=True, slots=True)
class ReplicationConfig:
    """A bucket's replication configuration: ``role`` (an IAM role ARN, stored and answered
    back, never assumed) and its rules, in the order given."""

    role: str
    rules: tuple[ReplicationRule, ...]

    @property
    def v2(self) -> bool:
        """Whether the rules use ``Filter`` (XML V2) rather than V1's rule-level ``Prefix``."""
        return bool(self.rules) and self.rules[0].v2

    @classmethod
    def from_s3(
        cls, params: Mapping[str, Any], *, new_id: Callable[[], str] = new_rule_id
    ) -> ReplicationConfig:
        """The ``ReplicationConfiguration`` of a PutBucketReplication, checked as S3 checks it:
        1–1,000 rules, their IDs, each rule in order (V2 rules — with ``Filter`` — need
        ``Priority`` and ``DeleteMarkerReplication``; V1 rules may have neither; a configuration
        does not mix them), then V2 priorities each used once. Whether the source and
        destination buckets exist and keep versions is the caller's to check
        (:data:`VERSIONING_REQUIRED`)."""
        rules = _rule_list(params, "ReplicationConfiguration", _REPLICATION_TOP)
        role = _text(params.get("Role"), "ReplicationConfiguration.Role")
        if len(rules) > MAX_RULES:
            raise _invalid_request(
                "The number of replication rules must not exceed the allowed limit of "
                f"{MAX_RULES} rules.",
                "ReplicationConfiguration.Rules",
            )
        _check_ids(rules, "Rule Id must be unique")
        v2 = rules[0].get("Filter") is not None
        checked = tuple(
            _replication_rule(rule, i, v2=v2, new_id=new_id) for i, rule in enumerate(rules)
        )
        priorities = [rule.priority for rule in checked if rule.priority is not None]
        if len(set(priorities)) != len(priorities):
            # S3's exact text was not found recorded.
            raise _invalid_request(
                "Found duplicate priority. Rule priorities must be unique",
                "ReplicationConfiguration.Rules",
            )
        return cls(role, checked)

    def to_s3(self) -> dict[str, Any]:
        """GetBucketReplication's ``ReplicationConfiguration``, as it was put."""
        return {"Role": self.role, "Rules": [rule.to_s3() for rule in self.rules]}

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the S3 shape."""
        return self.to_s3()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplicationConfig:
        return cls.from_s3(data)


def destination_bucket(rule: ReplicationRule) -> str:
    """The destination bucket's name, from its ARN (``arn:aws:s3:::<name>``)."""
    match = _BUCKET_ARN.fullmatch(rule.destination.bucket)
    if match is None:  # from_s3 refused it; a hand-made rule may not have been
        raise _invalid_argument("Invalid bucket ARN.", "Destination.Bucket")
    return match.group(1)


def _replicating(
    config: ReplicationConfig, key: str, tags: Mapping[str, str]
) -> list[ReplicationRule]:
    return [rule for rule in config.rules if rule.enabled and rule.filter.matches(key, tags, 0)]


def _priority(rule: ReplicationRule) -> int:
    return -1 if rule.priority is None else rule.priority


def replication_rule_for(
    config: ReplicationConfig, key: str, tags: Mapping[str, str]
) -> ReplicationRule | None:
    """The enabled rule of the highest priority that selects the object (on a tie, or for V1
    rules, which have none, the first given); None if no rule does."""
    best: ReplicationRule | None = None
    for rule in _replicating(config, key, tags):
        if best is None or _priority(rule) > _priority(best):
            best = rule
    return best


def replication_rules_for(
    config: ReplicationConfig, key: str, tags: Mapping[str, str]
) -> tuple[ReplicationRule, ...]:
    """One rule per destination bucket the object goes to: "Amazon S3 attempts to replicate
    objects according to all replication rules. However, if there are two or more rules with the
    same destination bucket, then objects are replicated according to the rule with the highest
    priority." In the order the destinations first appear."""
    chosen: dict[str, ReplicationRule] = {}
    for rule in _replicating(config, key, tags):
        bucket = destination_bucket(rule)
        held = chosen.get(bucket)
        if held is None or _priority(rule) > _priority(held):
            chosen[bucket] = rule
    return tuple(chosen.values())


def replicates_delete_markers(rule: ReplicationRule, *, by_lifecycle: bool = False) -> bool:
    """Whether a delete marker the rule selects is replicated: a V2 rule's
    ``DeleteMarkerReplication``; a V1 rule replicates those from user actions. Neither replicates
    a marker a lifecycle expiration made (``by_lifecycle``)."""
    if by_lifecycle:
        return False
    if rule.delete_marker_replication is None:
        return True
    return rule.delete_marker_replication
