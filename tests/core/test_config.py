"""Queue settings carry SQS's defaults and ranges."""

from __future__ import annotations

import pytest

from raybus.core import QueueConfig, RaybusError, RedriveAllowPolicy, RedrivePolicy


def test_defaults_are_those_of_sqs() -> None:
    config = QueueConfig.create("q")
    assert (
        config.visibility_timeout_s,
        config.delay_s,
        config.retention_s,
        config.max_message_bytes,
        config.receive_wait_s,
    ) == (30, 0, 345_600, 262_144, 0)
    assert config.fifo is False and config.redrive_policy is None
    assert config.redrive_allow_policy == RedriveAllowPolicy("allowAll")


def test_a_fifo_suffix_makes_a_fifo_queue() -> None:
    assert QueueConfig.create("q.fifo").fifo is True


@pytest.mark.parametrize(
    ("setting", "low", "high"),
    [
        ("visibility_timeout_s", 0, 43_200),
        ("delay_s", 0, 900),
        ("retention_s", 60, 1_209_600),
        ("max_message_bytes", 1024, 1_048_576),
        ("receive_wait_s", 0, 20),
    ],
)
def test_each_range_is_inclusive_and_enforced(setting: str, low: int, high: int) -> None:
    QueueConfig.create("q", **{setting: low})
    QueueConfig.create("q", **{setting: high})
    for bad in (low - 1, high + 1, "10", 1.5, True):
        with pytest.raises(RaybusError) as info:
            QueueConfig.create("q", **{setting: bad})
        assert info.value.code == "InvalidAttributeValue"


@pytest.mark.parametrize(
    "setting",
    [
        {"content_based_dedup": True},
        {"dedup_scope": "messageGroup"},
        {"throughput_limit": "perMessageGroupId"},
    ],
)
def test_fifo_only_settings_are_refused_on_standard_queues(setting: dict[str, object]) -> None:
    with pytest.raises(RaybusError) as info:
        QueueConfig.create("q", **setting)
    assert info.value.code == "InvalidAttributeName"


def test_high_throughput_fifo_needs_group_scoped_dedup() -> None:
    with pytest.raises(RaybusError):
        QueueConfig.create("q.fifo", throughput_limit="perMessageGroupId")
    QueueConfig.create("q.fifo", dedup_scope="messageGroup", throughput_limit="perMessageGroupId")


def test_a_queue_scoped_fifo_queue_has_one_partition() -> None:
    with pytest.raises(RaybusError) as info:
        QueueConfig.create("q.fifo", partitions=4)
    assert info.value.code == "UnsupportedOperation"
    assert QueueConfig.create("q.fifo", dedup_scope="messageGroup", partitions=4).partitions == 4


@pytest.mark.parametrize("count", [0, 1001, "3"])
def test_max_receive_count_is_1_to_1000(count: object) -> None:
    with pytest.raises(RaybusError) as info:
        QueueConfig.create(
            "q", redrive_policy={"dead_letter_queue": "dlq", "max_receive_count": count}
        )
    assert info.value.code == "InvalidRedrivePolicy"


def test_a_queue_cannot_be_its_own_dead_letter_queue() -> None:
    with pytest.raises(RaybusError):
        QueueConfig.create("q", redrive_policy=RedrivePolicy("q", 3))


def test_redrive_allow_policies_say_who_may_send_dead_letters() -> None:
    assert RedriveAllowPolicy("allowAll").allows("any")
    assert not RedriveAllowPolicy("denyAll").allows("any")
    by_queue = RedriveAllowPolicy("byQueue", ("a", "b"))
    assert by_queue.allows("a") and not by_queue.allows("c")
    with pytest.raises(RaybusError):
        RedriveAllowPolicy("byQueue", ())
    with pytest.raises(RaybusError):
        RedriveAllowPolicy("byQueue", tuple(f"q{i}" for i in range(11)))
    with pytest.raises(RaybusError):
        RedriveAllowPolicy("allowAll", ("a",))


def test_unknown_settings_are_named_in_the_error() -> None:
    with pytest.raises(RaybusError) as info:
        QueueConfig.create("q", visibility=3)
    assert info.value.code == "InvalidAttributeName" and "visibility" in info.value.message


def test_the_wire_form_round_trips() -> None:
    config = QueueConfig.create(
        "q",
        redrive_policy={"dead_letter_queue": "d", "max_receive_count": 5},
        redrive_allow_policy={"permission": "byQueue", "source_queues": ["x"]},
    )
    assert QueueConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "change",
    [
        {"fifo": False},
        {"name": "other.fifo"},
        {"dedup_scope": "messageGroup"},
        {"throughput_limit": "perMessageGroupId"},
        {"partitions": 2},
    ],
)
def test_name_type_partitioning_and_dedup_scope_are_fixed_at_creation(
    change: dict[str, object],
) -> None:
    config = QueueConfig.create("q.fifo")
    assert config.updated(visibility_timeout_s=5).visibility_timeout_s == 5
    with pytest.raises(RaybusError) as info:
        config.updated(**change)
    assert info.value.code == "UnsupportedOperation"


def test_updates_are_validated_like_creation() -> None:
    config = QueueConfig.create(
        "q", redrive_policy={"dead_letter_queue": "d", "max_receive_count": 5}
    )
    assert config.updated(name="q", delay_s=3).delay_s == 3
    assert config.updated(redrive_policy=None).redrive_policy is None
    with pytest.raises(RaybusError) as info:
        config.updated(delay_s=901)
    assert info.value.code == "InvalidAttributeValue"
    with pytest.raises(RaybusError) as info:
        config.updated(colour="red")
    assert info.value.code == "InvalidAttributeName"
