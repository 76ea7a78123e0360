"""S3 bucket notifications: configurations checked as S3 checks them (AWS's tables of valid and
overlapping configurations are the vectors), which configuration an event reaches, and the
documents S3 sends — golden records and EventBridge details from AWS's pages."""

from __future__ import annotations

import base64
import itertools
import json
import uuid
from typing import Any

import botocore.session  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import raybus.core.bucket_events as be
from raybus.core.bucket_events import (
    CONFIGURABLE_EVENTS,
    EVENT_TYPES,
    EVENTBRIDGE_DETAIL_TYPES,
    NotificationConfig,
    NotificationTarget,
    ObjectEvent,
)
from raybus.core.errors import RaybusError

QUEUE = "arn:aws:sqs:us-west-2:444455556666:s3notificationqueue"
QUEUE_A = "arn:aws:sqs:us-west-2:444455556666:sqs-queue-A"
QUEUE_B = "arn:aws:sqs:us-west-2:444455556666:sqs-queue-B"
TOPIC_1 = "arn:aws:sns:us-west-2:444455556666:sns-topic-one"
TOPIC_2 = "arn:aws:sns:us-west-2:444455556666:sns-topic-two"
FUNCTION_A = "arn:aws:lambda:us-west-2:444455556666:function:cloud-function-A"
FUNCTION_B = "arn:aws:lambda:us-west-2:444455556666:function:cloud-function-B"
NOV_12_2021_MS = 1_636_675_200_000  # 2021-11-12T00:00:00Z


def error_of(make: Any) -> RaybusError:
    with pytest.raises(RaybusError) as raised:
        make()
    return raised.value


def rules(prefix: str | None = None, suffix: str | None = None) -> dict[str, Any]:
    found = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v]
    return {"Key": {"FilterRules": found}}


def queue(arn: str, *events: str, id: str | None = None, **filters: str) -> dict[str, Any]:
    config: dict[str, Any] = {"QueueArn": arn, "Events": list(events)}
    if id is not None:
        config["Id"] = id
    if filters:
        config["Filter"] = rules(**filters)
    return config


def topic(arn: str, *events: str, **filters: str) -> dict[str, Any]:
    config: dict[str, Any] = {"TopicArn": arn, "Events": list(events)}
    if filters:
        config["Filter"] = rules(**filters)
    return config


def function(arn: str, *events: str, **filters: str) -> dict[str, Any]:
    config: dict[str, Any] = {"LambdaFunctionArn": arn, "Events": list(events)}
    if filters:
        config["Filter"] = rules(**filters)
    return config


def target(events: tuple[str, ...], prefix: str = "", suffix: str = "", n: int = 0) -> Any:
    return NotificationTarget(
        id=f"t{n}", kind="queue", arn=f"arn:aws:sqs:us-east-1:000000000000:q{n}",
        events=events, prefix=prefix, suffix=suffix,
    )  # fmt: skip


# -- event types ---------------------------------------------------------------------------------
def test_configurable_events_are_the_service_models_event_enum() -> None:
    model = botocore.session.get_session().get_service_model("s3")
    assert set(model.shape_for("Event").enum) == CONFIGURABLE_EVENTS


@pytest.mark.parametrize(
    ("wildcard", "members"),
    [
        ("s3:ObjectCreated:*", {"Put", "Post", "Copy", "CompleteMultipartUpload"}),
        ("s3:ObjectRemoved:*", {"Delete", "DeleteMarkerCreated"}),
        ("s3:ObjectRestore:*", {"Post", "Completed", "Delete"}),
        ("s3:Replication:*", {"OperationFailedReplication", "OperationMissedThreshold",
                              "OperationReplicatedAfterThreshold", "OperationNotTracked"}),
        ("s3:LifecycleExpiration:*", {"Delete", "DeleteMarkerCreated"}),
        ("s3:ObjectTagging:*", {"Put", "Delete"}),
        ("s3:ObjectAnnotation:*", {"Put", "Delete"}),
    ],
)  # fmt: skip
def test_a_wildcard_stands_for_its_family(wildcard: str, members: set[str]) -> None:
    family = wildcard[3:-2]
    assert be.expand_event(wildcard) == {f"{family}:{m}" for m in members}
    for member in members:
        assert be.expand_event(f"s3:{family}:{member}") == {f"{family}:{member}"}


@pytest.mark.parametrize(
    "single",
    ["ReducedRedundancyLostObject", "LifecycleTransition", "IntelligentTiering", "ObjectAcl:Put",
     "ObjectRetention:Put"],
)  # fmt: skip
def test_single_event_types_have_no_wildcard(single: str) -> None:
    assert be.expand_event(f"s3:{single}") == {single}
    if ":" in single:
        with pytest.raises(RaybusError):
            be.expand_event(f"s3:{single.partition(':')[0]}:*")


@pytest.mark.parametrize(
    "event",
    ["s3:TestEvent", "s3:ObjectCreated", "ObjectCreated:Put", "s3:objectcreated:put", "s3:*",
     "s3:ObjectAcl:*", "s3:LifecycleTransition:*", ""],
)  # fmt: skip
def test_events_s3_does_not_publish_are_refused(event: str) -> None:
    error = error_of(lambda: NotificationConfig.from_s3({"QueueConfigurations": [
        queue(QUEUE, event)]}))  # fmt: skip
    assert error.code == "InvalidArgument"
    assert error.message == "The event is not supported for notifications"
    assert error.details == {"ArgumentName": "Event", "ArgumentValue": event}


def test_every_wildcard_matches_its_members_and_nothing_else() -> None:
    for wildcard in (e for e in CONFIGURABLE_EVENTS if e.endswith(":*")):
        config = NotificationConfig.from_s3({"QueueConfigurations": [queue(QUEUE, wildcard)]})
        family = wildcard[3:-1]
        for name in EVENT_TYPES:
            reached = config.targets_for(name, "k")
            assert bool(reached) == name.startswith(family), (wildcard, name)


# -- AWS's tables: valid and overlapping configurations -----------------------------------------
VALID = {
    "prefix images/ and suffix jpg": {
        "QueueConfigurations": [queue(QUEUE, "s3:ObjectCreated:Put", id="1", prefix="images/",
                                      suffix="jpg")]},
    "non-overlapping prefixes": {
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:Put", id="1", prefix="images/"),
                                queue(QUEUE_B, "s3:ObjectCreated:Put", id="2", prefix="logs/")]},
    "non-overlapping suffixes": {
        "LambdaFunctionConfigurations": [
            function(FUNCTION_A, "s3:ObjectCreated:Put", suffix=".jpg"),
            function(FUNCTION_B, "s3:ObjectCreated:Put", suffix=".png")]},
    "common prefix, non-overlapping suffixes": {
        "LambdaFunctionConfigurations": [
            function(FUNCTION_A, "s3:ObjectCreated:Put", prefix="images", suffix=".jpg"),
            function(FUNCTION_B, "s3:ObjectCreated:Put", prefix="images", suffix=".png")]},
    "same prefix, different event types": {
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:Put", prefix="image/"),
                                queue(QUEUE_B, "s3:ObjectRemoved:*", prefix="image/")]},
}  # fmt: skip
OVERLAPPING = {
    "the root prefix overlaps any prefix": {
        "TopicConfigurations": [topic(TOPIC_1, "s3:ObjectCreated:*"),
                                topic(TOPIC_2, "s3:ObjectCreated:*", prefix="images")]},
    "the root suffix overlaps any suffix": {
        "TopicConfigurations": [topic(TOPIC_1, "s3:ObjectCreated:*"),
                                topic(TOPIC_2, "s3:ObjectCreated:*", suffix=".jpg")]},
    "suffixes jpg and pg": {
        "TopicConfigurations": [topic(TOPIC_1, "s3:ObjectCreated:*", suffix="jpg"),
                                topic(TOPIC_2, "s3:ObjectCreated:Put", suffix="pg")]},
    "prefix images and suffix jpg against suffix jpg": {
        "TopicConfigurations": [topic(TOPIC_1, "s3:ObjectCreated:*", prefix="images",
                                      suffix="jpg"),
                                topic(TOPIC_2, "s3:ObjectCreated:Put", suffix="jpg")]},
    "prefixes images and images/": {
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:Put", prefix="images"),
                                queue(QUEUE_B, "s3:ObjectCreated:Put", prefix="images/")]},
    "a prefix against a suffix (both match images/x.jpg)": {
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:Put", prefix="images/"),
                                queue(QUEUE_B, "s3:ObjectCreated:Put", suffix=".jpg")]},
    "different destination kinds": {
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectRemoved:Delete")],
        "LambdaFunctionConfigurations": [function(FUNCTION_A, "s3:ObjectRemoved:*")]},
    "the same destination twice": {
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:Put"),
                                queue(QUEUE_A, "s3:ObjectCreated:*")]},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(VALID))
def test_awss_valid_configurations_are_accepted(name: str) -> None:
    config = NotificationConfig.from_s3(VALID[name])
    assert len(config.targets) == sum(len(v) for v in VALID[name].values())


@pytest.mark.parametrize("name", sorted(OVERLAPPING))
def test_awss_overlapping_configurations_are_refused(name: str) -> None:
    error = error_of(lambda: NotificationConfig.from_s3(OVERLAPPING[name]))
    assert error.code == "InvalidArgument"
    assert error.message == (
        "Configurations overlap. Configurations on the same bucket cannot share a common "
        "event type."
    )


@pytest.mark.parametrize(
    ("events_a", "events_b", "overlap"),
    [
        (("s3:ObjectCreated:*",), ("s3:ObjectCreated:Put",), True),
        (("s3:ObjectCreated:Put",), ("s3:ObjectCreated:Copy",), False),
        (("s3:ObjectCreated:*",), ("s3:ObjectCreated:*",), True),
        (("s3:ObjectRestore:*",), ("s3:ObjectRestore:Delete",), True),
        (("s3:ObjectRemoved:*",), ("s3:LifecycleExpiration:*",), False),
        (("s3:Replication:*",), ("s3:Replication:OperationNotTracked",), True),
        (("s3:ObjectTagging:*",), ("s3:ObjectAcl:Put",), False),
        (("s3:ObjectTagging:Put", "s3:ObjectAcl:Put"), ("s3:ObjectAcl:Put",), True),
        (("s3:ObjectCreated:Put", "s3:ObjectRemoved:Delete"), ("s3:ObjectRemoved:*",), True),
        (("s3:IntelligentTiering",), ("s3:LifecycleTransition",), False),
    ],
)  # fmt: skip
def test_event_types_intersect_through_wildcards(
    events_a: tuple[str, ...], events_b: tuple[str, ...], overlap: bool
) -> None:
    a, b = target(events_a, n=1), target(events_b, n=2)
    assert a.overlaps(b) is overlap and b.overlaps(a) is overlap
    if overlap:
        assert error_of(lambda: NotificationConfig(queues=(a, b))).code == "InvalidArgument"
    else:
        NotificationConfig(queues=(a, b))


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (("", ""), ("", ""), True),
        (("images/", ""), ("", ""), True),  # no prefix matches every key
        (("", ".jpg"), ("", ".png"), False),
        (("", ".jpg"), ("", "jpg"), True),
        (("logs/", ".gz"), ("logs/", ".txt"), False),  # same prefix, different suffixes
        (("a/", ".gz"), ("b/", ".gz"), False),  # same suffix, different prefixes
        (("a", ""), ("ab", ""), True),
        (("ab", ""), ("ba", ""), False),
        (("x", ""), ("", "y"), True),  # "xy"
        (("abc", ""), ("", "c"), True),  # "abc" itself
    ],
)  # fmt: skip
def test_filters_overlap_when_one_key_can_match_both(
    a: tuple[str, str], b: tuple[str, str], overlap: bool
) -> None:
    first = target(("s3:ObjectCreated:Put",), *a, n=1)
    second = target(("s3:ObjectCreated:Put",), *b, n=2)
    assert first.overlaps(second) is overlap and second.overlaps(first) is overlap


AFFIX = st.text(alphabet="ab", max_size=3)


@settings(max_examples=300, deadline=None)
@given(AFFIX, AFFIX, AFFIX, AFFIX)
def test_overlap_is_exactly_a_shared_matching_key(p1: str, s1: str, p2: str, s2: str) -> None:
    """Brute force over every key short enough to hold the longer prefix and suffix."""
    first = target(("s3:ObjectCreated:*",), p1, s1, n=1)
    second = target(("s3:ObjectCreated:Put",), p2, s2, n=2)
    keys = (
        "".join(letters)
        for length in range(7)
        for letters in itertools.product("ab", repeat=length)
    )
    shared = any(
        first.matches("ObjectCreated:Put", k) and second.matches("ObjectCreated:Put", k)
        for k in keys
    )
    assert first.overlaps(second) is shared


# -- filters -------------------------------------------------------------------------------------
def test_filter_rule_names_are_case_insensitive_and_come_back_capitalised() -> None:
    config = NotificationConfig.from_s3({"QueueConfigurations": [{
        "Id": "id", "QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".txt"},
                                           {"Name": "PREFIX", "Value": "notif-"}]}},
    }]})  # fmt: skip
    assert config.queues[0].prefix == "notif-" and config.queues[0].suffix == ".txt"
    assert config.to_s3()["QueueConfigurations"][0]["Filter"] == {
        "Key": {"FilterRules": [{"Name": "Prefix", "Value": "notif-"},
                                {"Name": "Suffix", "Value": ".txt"}]}
    }  # fmt: skip


def filtered(*filter_rules: dict[str, Any]) -> Any:
    return lambda: NotificationConfig.from_s3({"QueueConfigurations": [{
        "QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": list(filter_rules)}},
    }]})  # fmt: skip


def test_a_filter_rule_name_other_than_prefix_or_suffix_is_refused() -> None:
    error = error_of(filtered({"Name": "INVALID", "Value": "does not matter"}))
    assert (error.code, error.message) == (
        "InvalidArgument",
        "filter rule name must be either prefix or suffix",
    )
    assert error.details == {"ArgumentName": "FilterRule.Name", "ArgumentValue": "INVALID"}


@pytest.mark.parametrize("names", [("prefix", "Prefix"), ("suffix", "SUFFIX")])
def test_at_most_one_rule_of_each_name(names: tuple[str, str]) -> None:
    error = error_of(filtered(*({"Name": n, "Value": "x"} for n in names)))
    assert error.code == "InvalidArgument"
    assert error.message == f"Cannot specify more than one {names[0]} rule in a filter."


def test_filter_values_are_at_most_1024_utf8_bytes() -> None:
    filtered({"Name": "prefix", "Value": "x" * 1024})()
    filtered({"Name": "prefix", "Value": "é" * 512})()
    for value in ("x" * 1025, "é" * 513):
        error = error_of(filtered({"Name": "suffix", "Value": value}))
        assert error.code == "InvalidArgument"
        assert error.message == (
            "Size of filter rule value cannot exceed 1024 bytes in UTF-8 representation"
        )


def test_an_empty_filter_value_means_no_filter() -> None:
    config = filtered({"Name": "prefix", "Value": ""}, {"Name": "suffix", "Value": ".txt"})()
    assert config.queues[0].prefix == ""
    assert config.to_s3()["QueueConfigurations"][0]["Filter"]["Key"]["FilterRules"] == [
        {"Name": "Suffix", "Value": ".txt"}
    ]
    assert config.targets_for("ObjectCreated:Put", "anything.txt")


@pytest.mark.parametrize(
    "bad_filter",
    [{}, {"Key": {}}, {"Key": {"FilterRules": []}}, {"Key": {"FilterRules": "prefix"}},
     {"Key": {"FilterRules": [{"Name": "prefix", "Value": 3}]}}, {"S3Key": {}}],
)  # fmt: skip
def test_a_filter_that_does_not_fit_s3s_schema_is_malformed(bad_filter: Any) -> None:
    error = error_of(
        lambda: NotificationConfig.from_s3(
            {
                "QueueConfigurations": [
                    {"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"], "Filter": bad_filter}
                ]
            }
        )
    )
    assert error.code == "MalformedXML"


# -- shapes, ARNs, ids ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"QueueConfigurations": [{"Events": ["s3:ObjectCreated:*"]}]},
        {"QueueConfigurations": [{"QueueArn": QUEUE}]},
        {"QueueConfigurations": [{"QueueArn": QUEUE, "Events": []}]},
        {"QueueConfigurations": [{"QueueArn": QUEUE, "Events": "s3:ObjectCreated:*"}]},
        {"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
                                  "Other": 1}]},
        {"QueueConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"],
                                  "Id": 7}]},
        {"QueueConfigurations": {"QueueArn": QUEUE}},
        {"TopicConfigurations": [{"QueueArn": QUEUE, "Events": ["s3:ObjectCreated:*"]}]},
        {"QueueConfiguration": []},
        {"EventBridgeConfiguration": {"Enabled": True}},
        {"EventBridgeConfiguration": []},
        "not a map",
    ],
)  # fmt: skip
def test_shapes_s3s_schema_refuses_are_malformed_xml(params: Any) -> None:
    assert error_of(lambda: NotificationConfig.from_s3(params)).code == "MalformedXML"


@pytest.mark.parametrize(
    ("member", "arn_member", "element", "arn"),
    [
        ("QueueConfigurations", "QueueArn", "Queue", "invalid-queue"),
        ("QueueConfigurations", "QueueArn", "Queue", TOPIC_1),
        ("QueueConfigurations", "QueueArn", "Queue", "arn:aws:sqs:::q"),
        ("TopicConfigurations", "TopicArn", "Topic", QUEUE),
        ("LambdaFunctionConfigurations", "LambdaFunctionArn", "CloudFunction",
         "arn:aws:lambda:us-east-1:000000000000:resize"),
        ("LambdaFunctionConfigurations", "LambdaFunctionArn", "CloudFunction", 42),
    ],
)  # fmt: skip
def test_an_arn_that_is_not_the_kinds_is_refused(
    member: str, arn_member: str, element: str, arn: Any
) -> None:
    error = error_of(lambda: NotificationConfig.from_s3(
        {member: [{arn_member: arn, "Events": ["s3:ObjectCreated:*"]}]}))  # fmt: skip
    assert (error.code, error.message) == ("InvalidArgument", "The ARN could not be parsed")
    assert error.details == {"ArgumentName": element, "ArgumentValue": str(arn)}


def test_qualified_function_arns_are_accepted() -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:resize:live"
    config = NotificationConfig.from_s3({"LambdaFunctionConfigurations": [
        function(arn, "s3:ObjectCreated:*")]})  # fmt: skip
    assert config.destinations() == (arn,)


@pytest.mark.parametrize(
    "params",
    [{"QueueConfigurations": [queue("arn:aws:sqs:us-east-1:000000000000:jobs.fifo",
                                    "s3:ObjectCreated:*")]},
     {"TopicConfigurations": [topic("arn:aws:sns:us-east-1:000000000000:news.fifo",
                                    "s3:ObjectCreated:*")]}],
)  # fmt: skip
def test_fifo_destinations_are_refused_as_failed_destinations(params: Any) -> None:
    error = error_of(lambda: NotificationConfig.from_s3(params))
    assert error.code == "InvalidArgument"
    assert error.message == "Unable to validate the following destination configurations"
    assert error.details["ArgumentName1"].endswith(".fifo")


def test_destination_error_numbers_each_failed_destination() -> None:
    error = be.destination_error({QUEUE_A: be.DESTINATION_MISSING["queue"],
                                  TOPIC_1: be.DESTINATION_MISSING["topic"]})  # fmt: skip
    assert error.code == "InvalidArgument"
    assert error.details == {
        "ArgumentName1": QUEUE_A, "ArgumentValue1": "The destination queue does not exist",
        "ArgumentName2": TOPIC_1, "ArgumentValue2": "The destination topic does not exist",
    }  # fmt: skip


def test_a_missing_id_is_assigned_from_the_content_in_s3s_format() -> None:
    params: dict[str, Any] = {
        "QueueConfigurations": [
            queue(QUEUE_A, "s3:ObjectCreated:*", prefix="a/"),
            queue(QUEUE_A, "s3:ObjectCreated:*", prefix="b/"),
        ]
    }
    first, again = NotificationConfig.from_s3(params), NotificationConfig.from_s3(params)
    assert first == again  # a re-put configuration keeps its ids
    ids = [t.id for t in first.targets]
    assert len(set(ids)) == 2
    for assigned in ids:
        assert len(assigned) == 48
        uuid.UUID(base64.b64decode(assigned).decode("ascii"))
    given_id = NotificationConfig.from_s3({"QueueConfigurations": [
        queue(QUEUE_A, "s3:ObjectCreated:*", id="mine")]})  # fmt: skip
    assert given_id.queues[0].id == "mine"


def test_ids_are_unique_across_kinds() -> None:
    error = error_of(lambda: NotificationConfig.from_s3({
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:*", id="same")],
        "TopicConfigurations": [dict(topic(TOPIC_1, "s3:ObjectRemoved:*"), Id="same")],
    }))  # fmt: skip
    assert error.code == "InvalidArgument"
    assert error.details == {"ArgumentName": "Id", "ArgumentValue": "same"}


def test_a_configuration_without_destinations_removes_notifications() -> None:
    empties: list[dict[str, Any] | None] = [None, {}, {"QueueConfigurations": []}]
    for params in empties:
        config = NotificationConfig.from_s3(params)
        assert config.empty and config == NotificationConfig()
        assert config.to_s3() == {} and config.destinations() == ()
        assert config.targets_for("ObjectCreated:Put", "k") == []
    eventbridge_only = NotificationConfig.from_s3({"EventBridgeConfiguration": {}})
    assert eventbridge_only.eventbridge and not eventbridge_only.empty
    assert eventbridge_only.to_s3() == {"EventBridgeConfiguration": {}}


def test_the_configuration_count_is_bounded() -> None:
    many = tuple(target(("s3:ObjectCreated:Put",), prefix=f"{n}/", n=n) for n in range(1001))
    assert error_of(lambda: NotificationConfig(queues=many)).code == "InvalidArgument"
    NotificationConfig(queues=many[:1000])


# -- round trips ---------------------------------------------------------------------------------
FULL = {
    "TopicConfigurations": [{"Id": "t", "TopicArn": TOPIC_1, "Events": ["s3:ObjectRemoved:*"]}],
    "QueueConfigurations": [
        {"Id": "q1", "QueueArn": QUEUE_A, "Events": ["s3:ObjectCreated:Put", "s3:ObjectTagging:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "images/"},
                                            {"Name": "Suffix", "Value": ".jpg"}]}}},
        {"Id": "q2", "QueueArn": QUEUE_B, "Events": ["s3:ObjectCreated:Put"],
         "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "logs/"}]}}},
    ],
    "LambdaFunctionConfigurations": [
        {"Id": "f", "LambdaFunctionArn": FUNCTION_A, "Events": ["s3:ObjectRestore:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "Suffix", "Value": ".zip"}]}}}],
    "EventBridgeConfiguration": {},
}  # fmt: skip


def test_from_s3_to_s3_round_trips() -> None:
    config = NotificationConfig.from_s3(FULL)
    assert config.to_s3() == FULL
    assert NotificationConfig.from_s3(config.to_s3()) == config


def test_to_dict_from_dict_round_trips_through_json() -> None:
    config = NotificationConfig.from_s3(FULL)
    stored = json.loads(json.dumps(config.to_dict()))
    assert NotificationConfig.from_dict(stored) == config
    assert NotificationConfig.from_dict({}) == NotificationConfig()
    assert NotificationTarget.from_dict(config.queues[0].to_dict()) == config.queues[0]


def test_from_dict_validates_what_it_loads() -> None:
    stored = NotificationConfig.from_s3(FULL).to_dict()
    stored["queues"][1]["prefix"] = "images/"  # now overlaps q1 on ObjectCreated:Put
    assert error_of(lambda: NotificationConfig.from_dict(stored)).code == "InvalidArgument"
    assert error_of(lambda: NotificationConfig.from_dict({"lambdas": []})).code == (
        "InvalidParameterValue"
    )
    wrong_kind = NotificationConfig.from_s3(FULL).to_dict()
    wrong_kind["queues"].append(wrong_kind["topics"][0])
    assert error_of(lambda: NotificationConfig.from_dict(wrong_kind)).code == (
        "InvalidParameterValue"
    )


def test_destinations_are_each_arn_once_in_order() -> None:
    config = NotificationConfig.from_s3({
        "QueueConfigurations": [queue(QUEUE_A, "s3:ObjectCreated:*", prefix="a/"),
                                queue(QUEUE_A, "s3:ObjectCreated:*", prefix="b/")],
        "TopicConfigurations": [topic(TOPIC_1, "s3:ObjectRemoved:*")],
    })  # fmt: skip
    assert config.destinations() == (QUEUE_A, TOPIC_1)


# -- matching ------------------------------------------------------------------------------------
def test_targets_for_reaches_the_configuration_whose_events_and_filters_match() -> None:
    config = NotificationConfig.from_s3(FULL)
    assert [t.id for t in config.targets_for("ObjectCreated:Put", "images/a.jpg")] == ["q1"]
    assert [t.id for t in config.targets_for("s3:ObjectCreated:Put", "logs/x")] == ["q2"]
    assert config.targets_for("ObjectCreated:Copy", "images/a.jpg") == []
    assert config.targets_for("ObjectCreated:Put", "images/a.png") == []
    assert [t.id for t in config.targets_for("ObjectTagging:Delete", "images/b.jpg")] == ["q1"]
    assert [t.id for t in config.targets_for("ObjectRemoved:DeleteMarkerCreated", "x")] == ["t"]
    assert [t.id for t in config.targets_for("ObjectRestore:Completed", "a.zip")] == ["f"]
    assert config.targets_for("LifecycleExpiration:Delete", "images/a.jpg") == []


@pytest.mark.parametrize("name", ["ObjectCreated:*", "s3:TestEvent", "ObjectCreated", "Put"])
def test_targets_for_wants_an_event_s3_publishes(name: str) -> None:
    with pytest.raises(ValueError):
        NotificationConfig().targets_for(name, "k")


def test_filters_compare_with_the_key_as_the_message_encodes_it() -> None:
    config = NotificationConfig.from_s3({"QueueConfigurations": [
        queue(QUEUE_A, "s3:ObjectCreated:*", prefix="my+photos/", suffix="%281%29.jpg"),
        queue(QUEUE_B, "s3:ObjectCreated:*", prefix="my photos/"),
    ]})  # fmt: skip
    assert [t.arn for t in config.targets_for("ObjectCreated:Put", "my photos/x (1).jpg")] == [
        QUEUE_A
    ]
    # a raw space never begins an encoded key
    assert config.targets_for("ObjectCreated:Put", "my photos/y.png") == []
    assert config.targets_for("ObjectCreated:Put", "my+photos/x (1).jpg") == []  # "+" is %2B


KEYS = st.text(alphabet="ab/ .", max_size=6)
EVENT_SETS = st.lists(st.sampled_from(sorted(CONFIGURABLE_EVENTS)), min_size=1, max_size=3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(EVENT_SETS, AFFIX, AFFIX), min_size=1, max_size=5),
    st.sampled_from(sorted(EVENT_TYPES)),
    KEYS,
)
def test_an_event_reaches_at_most_one_configuration(
    specs: list[tuple[list[str], str, str]], name: str, key: str
) -> None:
    targets = tuple(target(tuple(events), p, s, n=n) for n, (events, p, s) in enumerate(specs))
    try:
        config = NotificationConfig(queues=targets)
    except RaybusError:
        return
    reached = config.targets_for(name, key)
    assert len(reached) <= 1
    assert reached == [t for t in targets if t.matches(name, key)]


# -- records -------------------------------------------------------------------------------------
def event(name: str, **fields: Any) -> ObjectEvent:
    base: dict[str, Any] = dict(
        bucket="mybucket", key="HappyFace.jpg", time_ms=0, request_id="C3D13FE58DE4C810",
        host_id="FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        owner_id="A3NL1KOZZKExample", requester="AIDAJDPLRKLG7UEXAMPLE", source_ip="127.0.0.1",
    )  # fmt: skip
    return ObjectEvent(name=name, **{**base, **fields})


def envelope(name: str, obj: dict[str, Any], version: str = "2.1", **extra: Any) -> Any:
    return {
        "eventVersion": version,
        "eventSource": "aws:s3",
        "awsRegion": "us-west-2",
        "eventTime": "1970-01-01T00:00:00.000Z",
        "eventName": name,
        "userIdentity": {"principalId": extra.pop("principal", "AIDAJDPLRKLG7UEXAMPLE")},
        "requestParameters": {"sourceIPAddress": extra.pop("source_ip", "127.0.0.1")},
        "responseElements": {
            "x-amz-request-id": "C3D13FE58DE4C810",
            "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "testConfigRule",
            "bucket": {
                "name": "mybucket",
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": "arn:aws:s3:::mybucket",
            },
            "object": obj,
        },
        **extra,
    }


def record(e: ObjectEvent) -> dict[str, Any]:
    return be.s3_record(e, "testConfigRule", aws_region="us-west-2")


def test_the_put_record_is_awss_example() -> None:
    """AWS's "Example message when an object is created using a PUT request", exactly."""
    put = event(
        "s3:ObjectCreated:Put",
        size=1024,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version_id="096fKKXTRTtl3on89fVO.nfljtsv6qko",
        sequencer="0055AED6DCD90281E5",
    )
    assert record(put) == envelope(
        "ObjectCreated:Put",
        {
            "key": "HappyFace.jpg",
            "size": 1024,
            "eTag": "d41d8cd98f00b204e9800998ecf8427e",
            "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko",
            "sequencer": "0055AED6DCD90281E5",
        },
    )
    assert be.s3_message([record(put)]) == {"Records": [record(put)]}


def test_the_complete_multipart_upload_record() -> None:
    done = event(
        "ObjectCreated:CompleteMultipartUpload",
        key="big file.bin",
        size=6144,
        etag='"8eabe9d6b43316e840b079170916c079-1"',
        sequencer="000000000000000007",
    )
    assert record(done) == envelope(
        "ObjectCreated:CompleteMultipartUpload",
        {
            "key": "big+file.bin",
            "size": 6144,
            "eTag": "8eabe9d6b43316e840b079170916c079-1",
            "sequencer": "000000000000000007",
        },
    )  # no versionId in an unversioned bucket


def test_the_delete_record_has_no_size_or_etag() -> None:
    deleted = event("ObjectRemoved:Delete", size=9, etag="abc", sequencer="000000000000000008")
    assert record(deleted) == envelope(
        "ObjectRemoved:Delete", {"key": "HappyFace.jpg", "sequencer": "000000000000000008"}
    )


def test_the_delete_marker_record() -> None:
    marker = event(
        "ObjectRemoved:DeleteMarkerCreated", version_id="marker-1", sequencer="000000000000000009"
    )
    assert record(marker) == envelope(
        "ObjectRemoved:DeleteMarkerCreated",
        {"key": "HappyFace.jpg", "versionId": "marker-1", "sequencer": "000000000000000009"},
    )


def test_the_restore_completed_record() -> None:
    done = event(
        "ObjectRestore:Completed",
        requester=None,
        source_ip=None,
        size=9,
        etag="437b930db84b8079c2dd804a71936b5f",
        sequencer="00000000000000000A",
        storage_class="GLACIER",
        restore_expiry_ms=NOV_12_2021_MS + 89,
    )
    assert record(done) == envelope(
        "ObjectRestore:Completed",
        {"key": "HappyFace.jpg", "size": 9, "eTag": "437b930db84b8079c2dd804a71936b5f",
         "sequencer": "00000000000000000A"},
        principal="AmazonCustomer:A3NL1KOZZKExample", source_ip="s3.amazonaws.com",
        glacierEventData={"restoreEventData": {
            "lifecycleRestorationExpiryTime": "2021-11-12T00:00:00.089Z",
            "lifecycleRestoreStorageClass": "GLACIER"}},
    )  # fmt: skip


def test_the_lifecycle_expiration_record_is_awss_example() -> None:
    expired = event(
        "LifecycleExpiration:Delete",
        key="expiration/delete",
        requester=None,
        source_ip=None,
        sequencer="0055AED6DCD90281E5",
        size=3,
        etag="x",
    )
    assert record(expired) == envelope(
        "LifecycleExpiration:Delete",
        {"key": "expiration/delete", "sequencer": "0055AED6DCD90281E5"},
        version="2.3",
        principal="s3.amazonaws.com",
        source_ip="s3.amazonaws.com",
    )


def test_tagging_and_acl_records_carry_an_etag_but_no_size_or_sequencer() -> None:
    for name in ("ObjectTagging:Put", "ObjectTagging:Delete", "ObjectAcl:Put"):
        changed = event(name, size=9, etag="f3e6", sequencer="00000000000000000B")
        assert record(changed) == envelope(
            name, {"key": "HappyFace.jpg", "eTag": "f3e6"}, version="2.3"
        )


def test_transition_and_tiering_records_carry_their_extra_data() -> None:
    moved = event(
        "LifecycleTransition",
        requester=None,
        source_ip=None,
        size=1,
        etag="e",
        destination_storage_class="GLACIER_IR",
    )
    assert record(moved)["lifecycleEventData"] == {
        "transitionEventData": {"destinationStorageClass": "GLACIER_IR"}
    }
    assert record(moved)["eventVersion"] == "2.3"
    tiered = event(
        "IntelligentTiering",
        requester=None,
        source_ip=None,
        size=1024,
        etag="e",
        access_tier="ARCHIVE_ACCESS",
        sequencer="00000000000000000C",
    )
    assert record(tiered) == envelope(
        "IntelligentTiering",
        {"key": "HappyFace.jpg", "size": 1024, "eTag": "e"},
        version="2.3",
        principal="s3.amazonaws.com",
        source_ip="s3.amazonaws.com",
        intelligentTieringEventData={"destinationAccessTier": "ARCHIVE_ACCESS"},
    )
    replicated = event(
        "Replication:OperationFailedReplication",
        requester=None,
        replication=(("replicationRuleId", "r1"), ("s3Operation", "OBJECT_PUT")),
    )
    assert record(replicated)["eventVersion"] == "2.2"
    assert record(replicated)["replicationEventData"] == {
        "replicationRuleId": "r1",
        "s3Operation": "OBJECT_PUT",
    }


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_type_renders_a_record(name: str) -> None:
    rendered = be.s3_record(event(name, size=1, etag="e", sequencer="0"), "c")
    assert rendered["eventName"] == name and rendered["awsRegion"] == "us-east-1"
    assert rendered["eventVersion"] in ("2.1", "2.2", "2.3")
    assert json.loads(json.dumps(rendered)) == rendered


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("red flower.jpg", "red+flower.jpg"),
        ("a@b", "a%40b"),
        ("photos/2024/a.jpg", "photos/2024/a.jpg"),
        ("c++/x+y", "c%2B%2B/x%2By"),
        ("year=2024/month=01/", "year%3D2024/month%3D01/"),
        ("10:47:07.log", "10%3A47%3A07.log"),
        ("file (1).png", "file+%281%29.png"),
        ("50%", "50%25"),
        ("~user/*.txt", "%7Euser/*.txt"),
        ("a-b_c.d", "a-b_c.d"),
        ("café/ü", "caf%C3%A9/%C3%BC"),
        ("日本", "%E6%97%A5%E6%9C%AC"),
        ("a?b&c#d", "a%3Fb%26c%23d"),
    ],
)  # fmt: skip
def test_keys_are_form_encoded_with_slashes_kept(key: str, encoded: str) -> None:
    assert be.encode_key(key) == encoded
    assert record(event("ObjectCreated:Put", key=key))["s3"]["object"]["key"] == encoded


def test_the_test_event_is_awss_example() -> None:
    assert be.test_event(
        "bucketname", request_id="5582815E1AEA5ADF",
        host_id="8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        time_ms=1_413_215_822_089,
    ) == {
        "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2014-10-13T15:57:02.089Z",
        "Bucket": "bucketname", "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [{"name": "ObjectCreated:*"}, {"name": "TestEvent"}, {"size": -1}, {"time_ms": None},
     {"size": True}, {"key": None}],
)  # fmt: skip
def test_object_events_are_checked(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        event(**{"name": "ObjectCreated:Put", **fields})


# -- sequencers ----------------------------------------------------------------------------------
def s3_order(a: str, b: str) -> int:
    """S3's comparison: right-pad the shorter with zeros, then compare as text."""
    width = max(len(a), len(b))
    left, right = a.ljust(width, "0"), b.ljust(width, "0")
    return (left > right) - (left < right)


def test_sequencers_have_s3s_width_and_form() -> None:
    assert be.sequencer(0) == "000000000000000000"
    assert be.sequencer(0x55AED6DCD90281E5) == "0055AED6DCD90281E5"
    assert be.sequencer(16**18 - 1) == "F" * 18
    for bad in (-1, 16**18, True, 1.0):
        with pytest.raises(ValueError):
            be.sequencer(bad)  # type: ignore[arg-type]


@settings(max_examples=300)
@given(st.integers(0, 16**18 - 1), st.integers(0, 16**18 - 1))
def test_sequencers_order_as_their_counters_under_s3s_rule(a: int, b: int) -> None:
    assert s3_order(be.sequencer(a), be.sequencer(b)) == (a > b) - (a < b)
    assert int(be.sequencer(a), 16) == a


# -- EventBridge ---------------------------------------------------------------------------------
NOT_SENT = {
    "ReducedRedundancyLostObject", "ObjectAnnotation:Put", "ObjectAnnotation:Delete",
    "ObjectRetention:Put", "Replication:OperationFailedReplication",
    "Replication:OperationMissedThreshold", "Replication:OperationReplicatedAfterThreshold",
    "Replication:OperationNotTracked",
}  # fmt: skip
DETAIL_TYPES = {
    "ObjectCreated:Put": "Object Created", "ObjectCreated:Post": "Object Created",
    "ObjectCreated:Copy": "Object Created",
    "ObjectCreated:CompleteMultipartUpload": "Object Created",
    "ObjectRemoved:Delete": "Object Deleted", "ObjectRemoved:DeleteMarkerCreated": "Object Deleted",
    "LifecycleExpiration:Delete": "Object Deleted",
    "LifecycleExpiration:DeleteMarkerCreated": "Object Deleted",
    "ObjectRestore:Post": "Object Restore Initiated",
    "ObjectRestore:Completed": "Object Restore Completed",
    "ObjectRestore:Delete": "Object Restore Expired",
    "LifecycleTransition": "Object Storage Class Changed",
    "IntelligentTiering": "Object Access Tier Changed",
    "ObjectTagging:Put": "Object Tags Added", "ObjectTagging:Delete": "Object Tags Deleted",
    "ObjectAcl:Put": "Object ACL Updated",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EVENT_TYPES))
def test_every_event_type_maps_to_its_detail_type_or_is_not_sent(name: str) -> None:
    sent = be.eventbridge_event(event(name, size=1, etag="e", sequencer="0", version_id="v"))
    if name in NOT_SENT:
        assert sent is None and name not in EVENTBRIDGE_DETAIL_TYPES
        return
    assert sent is not None
    detail_type, detail = sent
    assert detail_type == DETAIL_TYPES[name] == EVENTBRIDGE_DETAIL_TYPES[name]
    assert detail["version"] == "0" and detail["bucket"] == {"name": "mybucket"}
    assert detail["object"]["key"] == "HappyFace.jpg"
    assert json.loads(json.dumps(detail)) == detail
    assert set(EVENT_TYPES) == NOT_SENT | set(DETAIL_TYPES)


def aws_event(name: str, **fields: Any) -> ObjectEvent:
    base: dict[str, Any] = dict(
        bucket="DOC-EXAMPLE-BUCKET1", key="example-key", time_ms=NOV_12_2021_MS,
        owner_id="111122223333", requester="123456789012", source_ip="1.2.3.4",
    )  # fmt: skip
    return ObjectEvent(name=name, **{**base, **fields})


def test_object_created_is_awss_example() -> None:
    created = aws_event(
        "ObjectCreated:Put",
        request_id="N4N7GDK58NMKJ12R",
        size=5,
        etag="b1946ac92492d2347c6235b4d2611184",
        version_id="IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
        sequencer="617f08299329d189",
    )
    assert be.eventbridge_event(created) == (
        "Object Created",
        {
            "version": "0",
            "bucket": {"name": "DOC-EXAMPLE-BUCKET1"},
            "object": {
                "key": "example-key",
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "617f08299329d189",
            },
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "PutObject",
        },
    )
    assert be.eventbridge_resources("DOC-EXAMPLE-BUCKET1") == ["arn:aws:s3:::DOC-EXAMPLE-BUCKET1"]
    assert be.EVENTBRIDGE_SOURCE == "aws.s3"


def test_object_deleted_by_delete_object_is_awss_example() -> None:
    marker = aws_event(
        "ObjectRemoved:DeleteMarkerCreated",
        request_id="0BH729840619AG5K",
        version_id="1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
        sequencer="617f0837b476e463",
        size=5,
    )
    assert be.eventbridge_event(marker) == (
        "Object Deleted",
        {
            "version": "0",
            "bucket": {"name": "DOC-EXAMPLE-BUCKET1"},
            "object": {
                "key": "example-key",
                "etag": "d41d8cd98f00b204e9800998ecf8427e",
                "version-id": "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
                "sequencer": "617f0837b476e463",
            },
            "request-id": "0BH729840619AG5K",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "DeleteObject",
            "deletion-type": "Delete Marker Created",
        },
    )


def test_a_permanent_delete_has_no_etag() -> None:
    gone = aws_event("ObjectRemoved:Delete", request_id="r", etag="abc", size=5, sequencer="1")
    assert be.eventbridge_event(gone) == (
        "Object Deleted",
        {
            "version": "0",
            "bucket": {"name": "DOC-EXAMPLE-BUCKET1"},
            "object": {"key": "example-key", "sequencer": "1"},
            "request-id": "r",
            "requester": "123456789012",
            "source-ip-address": "1.2.3.4",
            "reason": "DeleteObject",
            "deletion-type": "Permanently Deleted",
        },
    )


def test_object_deleted_by_lifecycle_is_awss_example() -> None:
    expired = aws_event(
        "LifecycleExpiration:DeleteMarkerCreated",
        request_id="20EB74C14654DC47",
        requester=None,
        source_ip=None,
        etag="d41d8cd98f00b204e9800998ecf8427e",
        version_id="mtB0cV.jejK63XkRNceanNMC.qXPWLeK",
        sequencer="617b398000000000",
    )
    assert be.eventbridge_event(expired) == (
        "Object Deleted",
        {
            "version": "0",
            "bucket": {"name": "DOC-EXAMPLE-BUCKET1"},
            "object": {
                "key": "example-key",
                "etag": "d41d8cd98f00b204e9800998ecf8427e",
                "version-id": "mtB0cV.jejK63XkRNceanNMC.qXPWLeK",
                "sequencer": "617b398000000000",
            },
            "request-id": "20EB74C14654DC47",
            "requester": "s3.amazonaws.com",
            "reason": "Lifecycle Expiration",
            "deletion-type": "Delete Marker Created",
        },
    )


def test_object_restore_completed_is_awss_example() -> None:
    restored = aws_event(
        "ObjectRestore:Completed",
        request_id="189F19CB7FB1B6A4",
        requester=None,
        source_ip=None,
        size=5,
        etag="b1946ac92492d2347c6235b4d2611184",
        version_id="KKsjUC1.6gIjqtvhfg5AdMI0eCePIiT3",
        sequencer="9",
        restore_expiry_ms=NOV_12_2021_MS + 86_400_000,
        storage_class="GLACIER",
    )
    assert be.eventbridge_event(restored) == (
        "Object Restore Completed",
        {
            "version": "0",
            "bucket": {"name": "DOC-EXAMPLE-BUCKET1"},
            "object": {
                "key": "example-key",
                "size": 5,
                "etag": "b1946ac92492d2347c6235b4d2611184",
                "version-id": "KKsjUC1.6gIjqtvhfg5AdMI0eCePIiT3",
            },
            "request-id": "189F19CB7FB1B6A4",
            "requester": "s3.amazonaws.com",
            "restore-expiry-time": "2021-11-13T00:00:00Z",
            "source-storage-class": "GLACIER",
        },
    )


def test_the_other_detail_types() -> None:
    common = {"version": "0", "bucket": {"name": "DOC-EXAMPLE-BUCKET1"}, "request-id": "r"}
    fields = dict(request_id="r", size=9, etag="e", version_id="v", sequencer="5")
    by_request = {"requester": "123456789012", "source-ip-address": "1.2.3.4"}
    by_s3 = {"requester": "s3.amazonaws.com"}
    small = {"key": "example-key", "etag": "e", "version-id": "v"}
    full = {**small, "size": 9}
    cases = [
        (aws_event("ObjectRestore:Post", storage_class="GLACIER", **fields),
         "Object Restore Initiated", {**by_request, "object": full,
                                      "source-storage-class": "GLACIER"}),
        (aws_event("ObjectRestore:Delete", requester=None, source_ip=None, **fields),
         "Object Restore Expired", {**by_s3, "object": small}),
        (aws_event("LifecycleTransition", requester=None, source_ip=None,
                   destination_storage_class="GLACIER_IR", **fields),
         "Object Storage Class Changed", {**by_s3, "object": full,
                                          "destination-storage-class": "GLACIER_IR"}),
        (aws_event("IntelligentTiering", requester=None, source_ip=None,
                   access_tier="ARCHIVE_ACCESS", **fields),
         "Object Access Tier Changed", {**by_s3, "object": full,
                                        "destination-access-tier": "ARCHIVE_ACCESS"}),
        (aws_event("ObjectTagging:Put", **fields), "Object Tags Added",
         {**by_request, "object": small}),
        (aws_event("ObjectTagging:Delete", **fields), "Object Tags Deleted",
         {**by_request, "object": small}),
        (aws_event("ObjectAcl:Put", **fields), "Object ACL Updated",
         {**by_request, "object": small}),
    ]  # fmt: skip
    for sent, detail_type, detail in cases:
        assert be.eventbridge_event(sent) == (detail_type, {**common, **detail}), detail_type


@pytest.mark.parametrize(
    ("name", "reason"),
    [("ObjectCreated:Put", "PutObject"), ("ObjectCreated:Post", "PostObject"),
     ("ObjectCreated:Copy", "CopyObject"),
     ("ObjectCreated:CompleteMultipartUpload", "CompleteMultipartUpload")],
)  # fmt: skip
def test_object_created_names_the_api_as_its_reason(name: str, reason: str) -> None:
    sent = be.eventbridge_event(aws_event(name, request_id="r", key="a b/c+d"))
    assert sent is not None
    assert sent[1]["reason"] == reason
    assert sent[1]["object"]["key"] == "a b/c+d"  # not URL-encoded


def test_bucket_arns_name_no_region_or_account() -> None:
    assert be.bucket_arn("photos") == "arn:aws:s3:::photos"
