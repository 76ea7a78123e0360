"""Bus, rule, target, archive, replay, connection and API-destination settings, and the
PutEvents entry checks: AWS's limits, refused with stable codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from raybus.core.buses import (
    MAX_ENTRY_BYTES,
    ApiDestinationConfig,
    ArchiveConfig,
    BusConfig,
    ConnectionConfig,
    EventEntry,
    ReplayConfig,
    RetryPolicy,
    RuleConfig,
    TargetConfig,
    check_entry,
    entry_size,
    event_time,
    rule_key,
    split_rule_key,
)
from raybus.core.errors import RaybusError


def code_of(make: Any) -> str:
    with pytest.raises(RaybusError) as raised:
        make()
    return raised.value.code


@pytest.mark.parametrize(
    ("name", "ok"),
    [("orders", True), ("a.b-c_d", True), ("x" * 256, True), ("", False), ("x" * 257, False),
     ("bad name", False), ("partner/ok", True)],
)  # fmt: skip
def test_bus_names(name: str, ok: bool) -> None:
    if ok:
        assert BusConfig(name).name == name
    else:
        assert code_of(lambda: BusConfig(name)) == "InvalidParameterValue"


def test_a_bus_refuses_unknown_settings_and_is_never_fifo() -> None:
    assert code_of(lambda: BusConfig.from_dict({"name": "b", "colour": "red"})) == (
        "InvalidParameterValue"
    )
    assert code_of(lambda: BusConfig.from_dict({})) == "MissingParameter"
    assert BusConfig("b").fifo is False
    assert BusConfig("b").updated({"description": "d"}).description == "d"
    assert code_of(lambda: BusConfig("b").updated({"name": "c"})) == "InvalidParameterValue"


def test_rules_need_a_pattern_or_a_schedule_and_schedules_live_on_the_default_bus() -> None:
    assert code_of(lambda: RuleConfig("r")) == "ValidationException"
    assert RuleConfig("r", schedule_expression="rate(1 hour)").bus == "default"
    assert (
        code_of(lambda: RuleConfig("r", bus="b", schedule_expression="rate(1 hour)"))
        == "ValidationException"
    )
    assert code_of(lambda: RuleConfig("r/x", event_pattern="{}")) == "InvalidParameterValue"
    assert code_of(lambda: RuleConfig("r", event_pattern="{}", state="ON")) == (  # type: ignore[arg-type]
        "InvalidParameterValue"
    )


def test_a_rule_has_at_most_five_targets_with_distinct_ids() -> None:
    targets = [{"id": f"t{i}", "kind": "queue", "name": "q"} for i in range(6)]
    assert (
        code_of(
            lambda: RuleConfig.from_dict({"name": "r", "event_pattern": "{}", "targets": targets})
        )
        == "LimitExceededException"
    )
    twice = [{"id": "t", "kind": "queue", "name": "q"}] * 2
    assert (
        code_of(
            lambda: RuleConfig.from_dict({"name": "r", "event_pattern": "{}", "targets": twice})
        )
        == "InvalidParameterValue"
    )
    rule = RuleConfig.from_dict(
        {"name": "r", "event_pattern": {"source": ["a"]}, "targets": targets[:5]}
    )
    assert json.loads(rule.event_pattern or "") == {"source": ["a"]}
    assert RuleConfig.from_dict(rule.to_dict()) == rule  # the catalog's round trip
    assert rule.key == "default/r" and split_rule_key(rule_key("partner/bus", "r")) == (
        "partner/bus",
        "r",
    )


@pytest.mark.parametrize(
    ("policy", "ok"),
    [({}, True), ({"maximum_retry_attempts": 0}, True), ({"maximum_retry_attempts": 186}, False),
     ({"maximum_event_age_s": 59}, False), ({"maximum_event_age_s": 86_400}, True),
     ({"maximum_event_age_s": 86_401}, False)],
)  # fmt: skip
def test_retry_policies_have_eventbridges_bounds(policy: dict[str, int], ok: bool) -> None:
    def make() -> TargetConfig:
        return TargetConfig.from_dict({"id": "t", "kind": "queue", "name": "q",
                                       "retry_policy": policy})  # fmt: skip

    if ok:
        assert isinstance(make().retry_policy, RetryPolicy)
    else:
        assert code_of(make) == "InvalidParameterValue"


def test_targets_check_their_kind_name_and_shaping() -> None:
    assert code_of(lambda: TargetConfig("t", "stream", "s")) == "InvalidParameterValue"  # type: ignore[arg-type]
    assert code_of(lambda: TargetConfig("t", "queue", "bad name")) == "InvalidParameterValue"
    assert (
        code_of(lambda: TargetConfig("t", "queue", "q", input_paths_map={"a": "$.a"}))
        == "InvalidParameterValue"
    )  # a transformer needs its template
    assert code_of(lambda: TargetConfig("t", "queue", "q", retention_days=1)) == (
        "InvalidParameterValue"
    )
    target = TargetConfig("t", "api_destination", "hook", http_path=("a",),
                          http_headers={"x": "y"})  # fmt: skip
    assert TargetConfig.from_dict(target.to_dict()) == target


def test_archives_replays_connections_and_destinations() -> None:
    archive = ArchiveConfig.from_dict({"name": "a", "bus": "b",
                                       "event_pattern": {"source": ["x"]}})  # fmt: skip
    assert archive.rule_name == "Events-Archive-a"
    pattern = json.loads(archive.rule_pattern())
    assert pattern == {"source": ["x"], "replay-name": [{"exists": False}]}
    assert ArchiveConfig.from_dict(archive.to_dict()) == archive
    assert code_of(lambda: ReplayConfig("r", "b", "a", 10, 10)) == "ValidationException"
    replay = ReplayConfig.from_dict({"name": "r", "bus": "b", "archive": "a", "start_ms": 1,
                                     "end_ms": 2, "rules": ["x"]})  # fmt: skip
    assert replay.rules == ("x",) and ReplayConfig.from_dict(replay.to_dict()) == replay
    assert code_of(lambda: ConnectionConfig("c", "BASIC", username="u")) == "ValidationException"
    assert code_of(lambda: ConnectionConfig("c", "OAUTH_CLIENT_CREDENTIALS")) == (
        "ValidationException"
    )
    connection = ConnectionConfig("c", "API_KEY", api_key_name="k", api_key_value="secret")
    assert "secret" not in json.dumps(connection.public())
    assert code_of(lambda: ApiDestinationConfig("d", "c", "ftp://x")) == "InvalidParameterValue"
    assert ApiDestinationConfig("d", "c", "https://example.com/*").rate_per_s == 300


def _entry(**fields: Any) -> EventEntry:
    return EventEntry(**{"source": "s", "detail_type": "t", "detail": "{}", **fields})


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"source": None}, "InvalidArgument"), ({"detail_type": ""}, "InvalidArgument"),
     ({"detail": "[]"}, "MalformedDetail"), ({"detail": "{"}, "MalformedDetail"),
     ({"detail": "[" * 5000}, "MalformedDetail"), ({"source": "aws.ec2"},
     "NotAuthorizedForSourceException"), ({"source": "s" * 257}, "InvalidArgument")],
)  # fmt: skip
def test_put_events_entries_get_aws_per_entry_errors(fields: dict[str, Any], code: str) -> None:
    assert code_of(lambda: check_entry(_entry(**fields))) == code


def test_internal_events_may_use_aws_sources_and_sizes_count_as_aws_counts() -> None:
    assert check_entry(_entry(source="aws.sqs"), internal=True) == {}
    entry = _entry(detail='{"é": 1}', resources=("arn",), time_ms=0)
    assert entry_size(entry) == 14 + 1 + 1 + len('{"é": 1}'.encode()) + 3
    assert MAX_ENTRY_BYTES == 262_144
    assert event_time(1_796_000_000_999) == "2026-11-30T00:53:20Z"
