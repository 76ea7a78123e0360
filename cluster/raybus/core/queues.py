"""Typed, validated queue settings with SQS's ranges and defaults.

:class:`QueueConfig` is immutable; build it with :meth:`QueueConfig.create` (keyword
arguments, validated) or :meth:`QueueConfig.from_dict` (wire form, validated) and change it
with :meth:`QueueConfig.updated`. Validation raises :class:`RaybusError` with the codes the
gateway returns; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from raybus.core.bounds import bounded, check_bounds
from raybus.core.errors import RaybusError
from raybus.core.kinds import Kind
from raybus.core.names import FIFO_SUFFIX, validate_queue_name

__all__ = [
    "HARD_MAX_MESSAGE_BYTES",
    "QUEUE",
    "QueueConfig",
    "RedriveAllowPolicy",
    "RedrivePolicy",
]

HARD_MAX_MESSAGE_BYTES = 1_048_576
MAX_REDRIVE_SOURCES = 10
MAX_POLICY = 20_480  # characters of a stored access policy (raybus's bound; SQS does not state one)
MAX_KMS_KEY_ID = 2048

DedupScope = Literal["queue", "messageGroup"]
ThroughputLimit = Literal["perQueue", "perMessageGroupId"]
Permission = Literal["allowAll", "denyAll", "byQueue"]


def _invalid(parameter: str, message: str) -> RaybusError:
    return RaybusError("InvalidAttributeValue", message, parameter=parameter)


def _text_or_none(parameter: str, value: object, limit: int) -> None:
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= limit):
        raise _invalid(parameter, f"{parameter} is a string of 1 to {limit} characters.")


def _int_in(parameter: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(parameter, f"{parameter} must be an integer, not {type(value).__name__}.")
    if not low <= value <= high:
        raise _invalid(parameter, f"{parameter} must be between {low} and {high}, not {value}.")
    return value


@dataclass(frozen=True, slots=True)
class RedrivePolicy:
    """Where messages go after ``max_receive_count`` receives (1–1,000)."""

    dead_letter_queue: str
    max_receive_count: int = bounded(1, 1000)

    def __post_init__(self) -> None:
        if not isinstance(self.dead_letter_queue, str) or not self.dead_letter_queue:
            raise RaybusError(
                "InvalidRedrivePolicy", "A redrive policy names its dead-letter queue."
            )
        try:
            validate_queue_name(
                self.dead_letter_queue, fifo=self.dead_letter_queue.endswith(FIFO_SUFFIX)
            )
        except RaybusError as error:
            raise RaybusError(
                "InvalidRedrivePolicy", f"dead_letter_queue: {error.message}"
            ) from None
        try:
            _int_in("maxReceiveCount", self.max_receive_count, 1, 1000)
        except RaybusError as exc:
            raise RaybusError("InvalidRedrivePolicy", exc.message) from exc


@dataclass(frozen=True, slots=True)
class RedriveAllowPolicy:
    """Which source queues may use this queue as their dead-letter queue."""

    permission: Permission = "allowAll"
    source_queues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.permission not in ("allowAll", "denyAll", "byQueue"):
            raise RaybusError(
                "InvalidRedrivePolicy", "redrivePermission must be allowAll, denyAll or byQueue."
            )
        if self.permission == "byQueue":
            if not 1 <= len(self.source_queues) <= MAX_REDRIVE_SOURCES:
                raise RaybusError("InvalidRedrivePolicy", "byQueue needs 1 to 10 source queues.")
        elif self.source_queues:
            raise RaybusError(
                "InvalidRedrivePolicy",
                "sourceQueues may be given only with redrivePermission byQueue.",
            )

    def allows(self, source_queue: str) -> bool:
        if self.permission == "allowAll":
            return True
        if self.permission == "denyAll":
            return False
        return source_queue in self.source_queues


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue's settings. Times in seconds, sizes in bytes, as the names say."""

    name: str = field(
        metadata={"schema_extra": {"maxLength": 80, "pattern": r"^[A-Za-z0-9_-]+(\.fifo)?$"}}
    )
    fifo: bool = False
    visibility_timeout_s: int = bounded(0, 43_200, default=30)
    delay_s: int = bounded(0, 900, default=0)
    retention_s: int = bounded(60, 1_209_600, default=345_600)
    max_message_bytes: int = bounded(1024, HARD_MAX_MESSAGE_BYTES, default=262_144)
    receive_wait_s: int = bounded(0, 20, default=0)
    content_based_dedup: bool = False
    dedup_scope: DedupScope = "queue"
    throughput_limit: ThroughputLimit = "perQueue"
    redrive_policy: RedrivePolicy | None = None
    redrive_allow_policy: RedriveAllowPolicy = field(default_factory=RedriveAllowPolicy)
    partitions: int | None = bounded(1, 1024, default=None)
    # Stored and reported, never enforced (docs/queues.md): SQS's access policy and encryption.
    policy: str | None = field(default=None, metadata={"schema_extra": {"maxLength": MAX_POLICY}})
    kms_master_key_id: str | None = field(
        default=None, metadata={"schema_extra": {"maxLength": MAX_KMS_KEY_ID}}
    )
    kms_data_key_reuse_period_s: int = bounded(60, 86_400, default=300)
    sqs_managed_sse: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.fifo, bool):
            raise _invalid("fifo", "fifo must be true or false.")
        _text_or_none("policy", self.policy, MAX_POLICY)
        _text_or_none("kms_master_key_id", self.kms_master_key_id, MAX_KMS_KEY_ID)
        if not isinstance(self.sqs_managed_sse, bool):
            raise _invalid("sqs_managed_sse", "sqs_managed_sse must be true or false.")
        validate_queue_name(self.name, fifo=self.fifo)
        check_bounds(self, _int_in)
        if self.dedup_scope not in ("queue", "messageGroup"):
            raise _invalid("dedup_scope", "dedup_scope must be queue or messageGroup.")
        if self.throughput_limit not in ("perQueue", "perMessageGroupId"):
            raise _invalid(
                "throughput_limit", "throughput_limit must be perQueue or perMessageGroupId."
            )
        if not self.fifo:
            for name, default in (
                ("content_based_dedup", False),
                ("dedup_scope", "queue"),
                ("throughput_limit", "perQueue"),
            ):
                if getattr(self, name) != default:
                    raise RaybusError(
                        "InvalidAttributeName",
                        f"{name} applies only to FIFO queues.",
                        parameter=name,
                    )
        if not isinstance(self.content_based_dedup, bool):
            raise _invalid("content_based_dedup", "content_based_dedup must be true or false.")
        if self.throughput_limit == "perMessageGroupId" and self.dedup_scope != "messageGroup":
            raise _invalid(
                "throughput_limit",
                "throughput_limit perMessageGroupId needs dedup_scope messageGroup.",
            )
        if self.fifo and self.dedup_scope == "queue" and self.partitions not in (None, 1):
            raise RaybusError(
                "UnsupportedOperation",
                "A FIFO queue with dedup_scope queue has exactly one partition.",
                parameter="partitions",
            )
        if self.redrive_policy is not None and self.redrive_policy.dead_letter_queue == self.name:
            raise RaybusError(
                "InvalidRedrivePolicy", "A queue cannot be its own dead-letter queue."
            )

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def create(cls, name: str, **settings: Any) -> QueueConfig:
        """Validated construction; accepts the wire forms of the nested policies too."""
        _check_known(settings)
        redrive = settings.pop("redrive_policy", None)
        allow = settings.pop("redrive_allow_policy", None)
        if "fifo" not in settings and isinstance(name, str):
            settings["fifo"] = name.endswith(".fifo")
        return cls(
            name=name,
            redrive_policy=_redrive(redrive),
            redrive_allow_policy=_allow(allow),
            **settings,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueueConfig:
        if not isinstance(data, Mapping) or "name" not in data:
            raise RaybusError("MissingParameter", "A queue needs a name.", parameter="name")
        settings = dict(data)
        return cls.create(settings.pop("name"), **settings)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["redrive_allow_policy"]["source_queues"] = list(
            self.redrive_allow_policy.source_queues
        )
        return data

    def updated(self, **changes: Any) -> QueueConfig:
        """A copy with ``changes`` applied. The name, the type, the partitioning and the
        deduplication scope are fixed at creation: changing them would re-route message groups
        and dedup ids that live messages and the 5-minute window already depend on."""
        for frozen in _FIXED_AT_CREATION:
            if frozen in changes and changes.pop(frozen) != getattr(self, frozen):
                raise RaybusError(
                    "UnsupportedOperation",
                    f"{frozen} is fixed when the queue is created.",
                    parameter=frozen,
                )
        _check_known(changes)
        current = {name: getattr(self, name) for name in _FIELDS}
        return QueueConfig.create(self.name, **{**current, **changes})


_FIELDS = frozenset(QueueConfig.__dataclass_fields__) - {"name"}
_FIXED_AT_CREATION = ("name", "fifo", "dedup_scope", "throughput_limit", "partitions")


def _check_known(settings: Mapping[str, Any]) -> None:
    unknown = sorted(set(settings) - _FIELDS)
    if unknown:
        raise RaybusError(
            "InvalidAttributeName",
            f"Unknown queue setting(s): {', '.join(unknown)}.",
            parameter=unknown[0],
        )


def _redrive(value: object) -> RedrivePolicy | None:
    if value is None or isinstance(value, RedrivePolicy):
        return value
    if isinstance(value, Mapping):
        try:
            return RedrivePolicy(value["dead_letter_queue"], value["max_receive_count"])
        except KeyError as exc:
            raise RaybusError(
                "InvalidRedrivePolicy", f"A redrive policy needs {exc.args[0]}."
            ) from exc
    raise RaybusError("InvalidRedrivePolicy", "A redrive policy is a map.")


def _allow(value: object) -> RedriveAllowPolicy:
    if value is None:
        return RedriveAllowPolicy()
    if isinstance(value, RedriveAllowPolicy):
        return value
    if isinstance(value, Mapping):
        sources = value.get("source_queues", ())
        if not isinstance(sources, (list, tuple)) or not all(isinstance(s, str) for s in sources):
            raise RaybusError("InvalidRedrivePolicy", "source_queues is a list of queue names.")
        for source in sources:
            try:
                validate_queue_name(source, fifo=source.endswith(FIFO_SUFFIX))
            except RaybusError as error:
                raise RaybusError(
                    "InvalidRedrivePolicy", f"source_queues: {error.message}"
                ) from None
        return RedriveAllowPolicy(value.get("permission", "allowAll"), tuple(sources))
    raise RaybusError("InvalidRedrivePolicy", "A redrive-allow policy is a map.")


def _queue_partitions(config: QueueConfig, hosts: int) -> int:
    """A FIFO queue deduplicating queue-wide has one partition (SQS's normal mode); any other
    queue has the partitions it asks for, else one per host."""
    if config.fifo and config.dedup_scope == "queue":
        return 1
    return config.partitions or max(1, hosts)


def _no_queue(name: str) -> RaybusError:
    return RaybusError("QueueDoesNotExist", f"Queue {name} does not exist.", queue=name)


QUEUE = Kind(
    name="queue",
    plural="queues",
    config=QueueConfig.from_dict,
    key=lambda config: str(config.name),
    partitions=_queue_partitions,
    missing=_no_queue,
    exists=lambda name: RaybusError(
        "QueueAlreadyExists", f"Queue {name} already exists with different settings.", queue=name
    ),
)
