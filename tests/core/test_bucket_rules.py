"""Storage classes and restores, lifecycle rules and replication rules (S3's): the configurations
of AWS's documented examples, the refusals S3 answers, and what the rules say about an object,
boundary times included."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

import pytest

from raybus.core.bucket_rules import (
    DAY_MS,
    DEEP_ARCHIVE_BULK_MS,
    DEEP_ARCHIVE_STANDARD_MS,
    GLACIER_BULK_MS,
    GLACIER_EXPEDITED_MS,
    GLACIER_STANDARD_MS,
    MAX_RULES,
    STORAGE_CLASSES,
    VERSIONING_REQUIRED,
    Due,
    LifecycleConfig,
    ReplicationConfig,
    RestoreRequest,
    abort_multipart_ms,
    abort_rule,
    archived_error,
    check_storage_class,
    delete_marker_expiration_ms,
    destination_bucket,
    expiration_header,
    expiration_ms,
    expired_delete_marker_applies,
    http_date,
    is_archived,
    new_rule_id,
    next_midnight_ms,
    noncurrent_expiration_due,
    noncurrent_expiration_ms,
    noncurrent_transition_for,
    replicates_delete_markers,
    replication_rule_for,
    replication_rules_for,
    restore_delay_ms,
    restore_expiry_ms,
    restore_header,
    rule_applies,
    transition_for,
    transition_rank,
)
from raybus.core.errors import RaybusError

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Epoch milliseconds of a UTC time: ``at(2014, 1, 15, 10, 30)``."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def refused(make: Callable[[], object]) -> RaybusError:
    with pytest.raises(RaybusError) as raised:
        make()
    return raised.value


def ids(*names: str) -> Callable[[], str]:
    """A rule-ID generator handing out ``names`` in turn."""
    queue = list(names)
    return lambda: queue.pop(0)


def lifecycle(*rules: dict[str, Any], **options: Any) -> LifecycleConfig:
    return LifecycleConfig.from_s3({"Rules": list(rules)}, **options)


def rule(rule_id: str = "r", **members: Any) -> dict[str, Any]:
    """A V2 lifecycle rule over every object, enabled, with ``members`` added."""
    return {"ID": rule_id, "Filter": {}, "Status": "Enabled", **members}


def lifecycle_code(*rules: dict[str, Any], **options: Any) -> str:
    return refused(lambda: lifecycle(*rules, **options)).code


def with_s3_default(params: dict[str, Any]) -> dict[str, Any]:
    """What GetBucketLifecycleConfiguration answers for ``params`` PUT without the header."""
    return {**params, "TransitionDefaultMinimumObjectSize": "all_storage_classes_128K"}


def round_trips(config: LifecycleConfig | ReplicationConfig) -> None:
    again = type(config).from_dict(config.to_dict())
    assert again == config
    assert again.to_s3() == config.to_s3()


# -- storage classes ------------------------------------------------------------------------------


def test_every_class_s3_accepts_is_accepted_and_others_are_refused() -> None:
    assert set(STORAGE_CLASSES) == {
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
    }
    for name in STORAGE_CLASSES:
        assert check_storage_class(name) == name
    bad: tuple[object, ...] = ("glacier", "FSX_OPENZFS", "", None, 3)
    for wrong in bad:
        error = refused(partial(check_storage_class, wrong))
        assert (error.code, error.http_status) == ("InvalidStorageClass", 400)
        assert error.message == "The storage class you specified is not valid"


def test_only_glacier_and_deep_archive_are_archived() -> None:
    assert {name for name in STORAGE_CLASSES if is_archived(name)} == {"GLACIER", "DEEP_ARCHIVE"}
    error = archived_error("GLACIER")
    assert (error.code, error.http_status, error.details["storage_class"]) == (
        "InvalidObjectState",
        403,
        "GLACIER",
    )


def test_the_waterfall_orders_transition_classes() -> None:
    order = [
        "STANDARD_IA",
        "INTELLIGENT_TIERING",
        "ONEZONE_IA",
        "GLACIER_IR",
        "GLACIER",
        "DEEP_ARCHIVE",
    ]
    assert sorted(order, key=transition_rank) == order
    assert transition_rank("STANDARD") == transition_rank("EXPRESS_ONEZONE") == -1
    assert transition_rank("STANDARD_IA") > transition_rank("STANDARD")


# -- restore --------------------------------------------------------------------------------------


def test_a_restore_request_is_read_as_botocore_shapes_it() -> None:
    assert RestoreRequest.from_s3({"Days": 2}) == RestoreRequest(2, "Standard")
    request = RestoreRequest.from_s3(
        {"Days": 10, "GlacierJobParameters": {"Tier": "Bulk"}, "Description": "audit"}
    )
    assert request == RestoreRequest(10, "Bulk", "audit")
    assert RestoreRequest.from_dict(request.to_dict()) == request


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Type": "SELECT", "Days": 1}, "InvalidRequest"),
        ({"SelectParameters": {"Expression": "select 1"}}, "InvalidRequest"),
        ({"OutputLocation": {"S3": {}}}, "InvalidRequest"),
        ({"Type": "QUERY", "Days": 1}, "MalformedXML"),
        # Tier beside a regular restore belongs to SELECT (an SDK sending both gets MalformedXML)
        ({"Days": 1, "Tier": "Expedited", "GlacierJobParameters": {"Tier": "Expedited"}},
         "MalformedXML"),
        ({}, "MalformedXML"),
        (None, "MalformedXML"),
        ({"GlacierJobParameters": {"Tier": "Bulk"}}, "MalformedXML"),
        ({"Days": 1, "GlacierJobParameters": {}}, "MalformedXML"),
        ({"Days": 1, "GlacierJobParameters": {"Tier": "Fast"}}, "MalformedXML"),
        ({"Days": 1, "Extra": 1}, "MalformedXML"),
        ({"Days": "2"}, "MalformedXML"),
        ({"Days": 0}, "InvalidArgument"),
        ({"Days": -3}, "InvalidArgument"),
    ],
)  # fmt: skip
def test_restore_requests_s3_refuses(params: Any, code: str) -> None:
    assert refused(lambda: RestoreRequest.from_s3(params)).code == code


def test_restore_delays_are_the_documented_bounds() -> None:
    assert restore_delay_ms("GLACIER", "Expedited") == GLACIER_EXPEDITED_MS == 5 * MINUTE_MS
    assert restore_delay_ms("GLACIER", "Standard") == GLACIER_STANDARD_MS == 5 * HOUR_MS
    assert restore_delay_ms("GLACIER", "Bulk") == GLACIER_BULK_MS == 12 * HOUR_MS
    assert restore_delay_ms("DEEP_ARCHIVE", "Standard") == DEEP_ARCHIVE_STANDARD_MS == 12 * HOUR_MS
    assert restore_delay_ms("DEEP_ARCHIVE", "Bulk") == DEEP_ARCHIVE_BULK_MS == 48 * HOUR_MS
    # faster tiers are faster, and GLACIER beats DEEP_ARCHIVE at each tier both have
    assert GLACIER_EXPEDITED_MS < GLACIER_STANDARD_MS < GLACIER_BULK_MS
    assert GLACIER_STANDARD_MS < DEEP_ARCHIVE_STANDARD_MS
    assert GLACIER_BULK_MS < DEEP_ARCHIVE_BULK_MS


def test_deep_archive_has_no_expedited_tier_and_active_objects_need_no_restore() -> None:
    assert refused(lambda: restore_delay_ms("DEEP_ARCHIVE", "Expedited")).code == "InvalidArgument"
    for name in ("STANDARD", "GLACIER_IR", "STANDARD_IA"):
        error = refused(partial(restore_delay_ms, name, "Standard"))
        assert error.code == "InvalidObjectState"
    assert refused(lambda: restore_delay_ms("GLACIER", "Slow")).code == "MalformedXML"


def test_a_restored_copy_expires_at_the_midnight_after_its_days() -> None:
    # The user guide: restored October 15, 2012, 10:30 AM UTC for 3 days -> October 19, 00:00.
    assert restore_expiry_ms(at(2012, 10, 15, 10, 30), 3) == at(2012, 10, 19)
    # boundaries around midnight: a completion at midnight is not rounded further
    assert restore_expiry_ms(at(2012, 10, 15), 3) == at(2012, 10, 18)
    assert restore_expiry_ms(at(2012, 10, 15) + 1, 3) == at(2012, 10, 19)
    assert restore_expiry_ms(at(2012, 10, 16) - 1, 1) == at(2012, 10, 17)


def test_the_restore_header_has_s3s_two_forms() -> None:
    assert restore_header(True) == 'ongoing-request="true"'
    assert restore_header(False, at(2012, 12, 21)) == (
        'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'
    )


def test_http_dates_are_imf_fixdates() -> None:
    assert http_date(at(2012, 12, 21)) == "Fri, 21 Dec 2012 00:00:00 GMT"
    assert http_date(at(2024, 2, 29, 23, 5, 9) + 999) == "Thu, 29 Feb 2024 23:05:09 GMT"
    assert http_date(10**18) == "Fri, 31 Dec 9999 00:00:00 GMT"  # the last day a header holds


def test_midnights_round_up() -> None:
    assert next_midnight_ms(at(2014, 1, 15, 10, 30)) == at(2014, 1, 16)
    assert next_midnight_ms(at(2014, 1, 15)) == at(2014, 1, 15)
    assert next_midnight_ms(at(2014, 1, 15) + 1) == at(2014, 1, 16)
    assert next_midnight_ms(0) == 0
    assert DAY_MS == 86_400_000


# -- lifecycle: AWS's examples --------------------------------------------------------------------

TAX = {
    "ID": "Transition and Expiration Rule",
    "Filter": {"Prefix": "tax/"},
    "Status": "Enabled",
    "Transitions": [{"Days": 365, "StorageClass": "GLACIER"}],
    "Expiration": {"Days": 3650},
}
SAME_DAY = {
    "ID": "Archive all object same-day upon creation",
    "Filter": {"Prefix": ""},
    "Status": "Enabled",
    "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}],
}
TAGGED_TAX = {
    "ID": "tagged",
    "Filter": {
        "And": {
            "Prefix": "tax/",
            "Tags": [{"Key": "key1", "Value": "value1"}, {"Key": "key2", "Value": "value2"}],
        }
    },
    "Status": "Enabled",
    "Expiration": {"Days": 1},
}
TIERING_DOWN = {
    "ID": "example-id",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Transitions": [
        {"Days": 30, "StorageClass": "STANDARD_IA"},
        {"Days": 90, "StorageClass": "GLACIER"},
    ],
    "Expiration": {"Days": 365},
}
VERSIONED = {
    "ID": "sample-rule",
    "Filter": {"Prefix": ""},
    "Status": "Enabled",
    "Transitions": [{"Days": 90, "StorageClass": "STANDARD_IA"}],
    "NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "GLACIER"}],
    "NoncurrentVersionExpiration": {"NewerNoncurrentVersions": 5, "NoncurrentDays": 365},
}
DELETE_MARKERS = {
    "ID": "Rule 1",
    "Filter": {"Prefix": "logs/"},
    "Status": "Enabled",
    "Expiration": {"ExpiredObjectDeleteMarker": True},
    "NoncurrentVersionExpiration": {"NewerNoncurrentVersions": 10, "NoncurrentDays": 30},
}
ABORT = {
    "ID": "sample-rule",
    "Filter": {"Prefix": "SomeKeyPrefix/"},
    "Status": "Enabled",
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}
SIZED = {
    "ID": "Transition with a prefix and based on size",
    "Filter": {"And": {"Prefix": "tax/", "ObjectSizeGreaterThan": 500}},
    "Status": "Enabled",
    "Transitions": [{"Days": 365, "StorageClass": "GLACIER"}],
}
RANGE = {
    "ID": "range",
    "Filter": {"And": {"ObjectSizeGreaterThan": 500, "ObjectSizeLessThan": 64000}},
    "Status": "Enabled",
    "Expiration": {"Days": 10},
}
NO_DATA = {
    "ID": "Expire noncurrent with size less than 1 byte",
    "Filter": {"ObjectSizeLessThan": 1},
    "Status": "Enabled",
    "NoncurrentVersionExpiration": {"NewerNoncurrentVersions": 10, "NoncurrentDays": 30},
}
SMALL = {
    "ID": "Allow small object transitions",
    "Filter": {"ObjectSizeGreaterThan": 1},
    "Status": "Enabled",
    "Transitions": [{"Days": 365, "StorageClass": "GLACIER_IR"}],
}
EXAMPLES: list[list[dict[str, Any]]] = [
    [TAX], [SAME_DAY], [TAGGED_TAX], [TIERING_DOWN], [VERSIONED], [DELETE_MARKERS], [ABORT],
    [SIZED], [RANGE], [NO_DATA], [SMALL],
    # "Disabling Lifecycle rules temporarily"
    [{"ID": "Rule1", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
      "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}]},
     {"ID": "Rule2", "Filter": {"Prefix": "documents/"}, "Status": "Disabled",
      "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}]}],
    # "Specifying multiple rules"
    [{"ID": "ClassADocRule", "Filter": {"Prefix": "classA/"}, "Status": "Enabled",
      "Transitions": [{"Days": 365, "StorageClass": "GLACIER"}], "Expiration": {"Days": 3650}},
     {"ID": "ClassBDocRule", "Filter": {"Prefix": "classB/"}, "Status": "Enabled",
      "Transitions": [{"Days": 90, "StorageClass": "STANDARD_IA"}], "Expiration": {"Days": 365}}],
]  # fmt: skip


@pytest.mark.parametrize("rules", EXAMPLES)
def test_the_user_guides_examples_are_accepted_and_answered_back(rules: list[Any]) -> None:
    config = lifecycle(*rules)
    assert config.to_s3() == with_s3_default({"Rules": rules})
    round_trips(config)


def test_the_tax_example_transitions_after_a_year_and_expires_after_ten() -> None:
    config = lifecycle(TAX)
    created = at(2014, 1, 15, 10, 30)
    assert expiration_ms(config, "tax/doc1.txt", {}, 1 << 20, created) == Due(
        next_midnight_ms(created + 3650 * DAY_MS), "Transition and Expiration Rule"
    )
    assert expiration_ms(config, "taxes/doc1.txt", {}, 1 << 20, created) is None
    year = next_midnight_ms(created + 365 * DAY_MS)
    assert transition_for(config, "tax/doc1.txt", {}, 1 << 20, created, year - 1) is None
    assert transition_for(config, "tax/doc1.txt", {}, 1 << 20, created, year) == "GLACIER"


def test_a_zero_day_transition_is_due_at_the_midnight_after_creation() -> None:
    config = lifecycle(SAME_DAY)
    created = at(2024, 3, 1, 8)
    big = 1 << 20
    assert transition_for(config, "any", {}, big, created, at(2024, 3, 1, 23, 59)) is None
    assert transition_for(config, "any", {}, big, created, at(2024, 3, 2)) == "GLACIER"


def test_a_disabled_rule_takes_no_action() -> None:
    config = lifecycle(*EXAMPLES[11])
    later = at(2030, 1, 1)
    assert transition_for(config, "logs/a", {}, 1 << 20, 0, later) == "GLACIER"
    assert transition_for(config, "documents/a", {}, 1 << 20, 0, later) is None
    assert not rule_applies(config.rules[1], "documents/a", {}, 1 << 20)


def test_tiering_down_follows_the_waterfall_and_deletion_wins() -> None:
    config = lifecycle(TIERING_DOWN)
    created = at(2024, 1, 1, 12)
    big = 1 << 20

    def state(day: int) -> str | None:
        return transition_for(config, "logs/x", {}, big, created, at(2024, 1, 2) + day * DAY_MS)

    assert state(29 - 1) is None  # 30 days after noon on Jan 1 is due at midnight Feb 1
    assert state(30) == "STANDARD_IA"
    assert state(89) == "STANDARD_IA"
    assert state(90) == "GLACIER"
    assert state(364) == "GLACIER"
    assert state(365) is None  # "Permanent deletion takes precedence over transition"
    assert expiration_ms(config, "logs/x", {}, big, created) == Due(at(2025, 1, 1), "example-id")


def test_multiple_rules_each_select_their_prefix() -> None:
    config = lifecycle(*EXAMPLES[12])
    assert expiration_ms(config, "classA/x", {}, 1, 0) == Due(3650 * DAY_MS, "ClassADocRule")
    assert expiration_ms(config, "classB/x", {}, 1, 0) == Due(365 * DAY_MS, "ClassBDocRule")
    assert expiration_ms(config, "classC/x", {}, 1, 0) is None


def test_and_filters_need_the_prefix_and_every_tag() -> None:
    config = lifecycle(TAGGED_TAX)
    both = {"key1": "value1", "key2": "value2"}
    assert expiration_ms(config, "tax/a", both, 1, 0) is not None
    assert expiration_ms(config, "tax/a", {**both, "other": "x"}, 1, 0) is not None
    assert expiration_ms(config, "tax/a", {"key1": "value1"}, 1, 0) is None
    assert expiration_ms(config, "tax/a", {**both, "key2": "VALUE2"}, 1, 0) is None
    assert expiration_ms(config, "tax/a", {"KEY1": "value1", "key2": "value2"}, 1, 0) is None
    assert expiration_ms(config, "docs/a", both, 1, 0) is None


def test_a_tag_with_an_empty_value_needs_that_tag() -> None:
    config = lifecycle(rule(Filter={"Tag": {"Key": "flag", "Value": ""}}, Expiration={"Days": 1}))
    assert expiration_ms(config, "a", {"flag": ""}, 1, 0) is not None
    assert expiration_ms(config, "a", {"flag": "up"}, 1, 0) is None
    assert expiration_ms(config, "a", {}, 1, 0) is None


def test_size_filters_exclude_their_bounds() -> None:
    config = lifecycle(RANGE)
    assert [
        size
        for size in (499, 500, 501, 63999, 64000, 64001)
        if expiration_ms(config, "k", {}, size, 0) is not None
    ] == [501, 63999]
    sized = lifecycle(SIZED)
    assert transition_for(sized, "tax/a", {}, 501, 0, 366 * DAY_MS) == "GLACIER"
    assert transition_for(sized, "tax/a", {}, 500, 0, 366 * DAY_MS) is None


def test_small_objects_are_not_transitioned_unless_a_size_filter_says_so() -> None:
    later = 400 * DAY_MS  # past the transition, before the expiration
    for config in (lifecycle(TAX), lifecycle(TAX, transition_default_minimum_object_size=None)):
        assert transition_for(config, "tax/a", {}, 128 * 1024 - 1, 0, later) is None
        assert transition_for(config, "tax/a", {}, 128 * 1024, 0, later) == "GLACIER"
    # varies_by_storage_class: under 128 KB to GLACIER and DEEP_ARCHIVE only
    by_class = lifecycle(
        TIERING_DOWN | {"Expiration": {"Days": 3000}},
        transition_default_minimum_object_size="varies_by_storage_class",
    )
    day = at(1970, 1, 1) + 60 * DAY_MS
    assert transition_for(by_class, "logs/a", {}, 100, 0, day) is None  # STANDARD_IA is due
    assert transition_for(by_class, "logs/a", {}, 100, 0, 95 * DAY_MS) == "GLACIER"
    assert transition_for(by_class, "logs/a", {}, 200_000, 0, day) == "STANDARD_IA"
    # "Custom filters always take precedence over the default transition behavior"
    small = lifecycle(SMALL)
    assert transition_for(small, "a", {}, 2, 0, 365 * DAY_MS) == "GLACIER_IR"
    assert transition_for(small, "a", {}, 1, 0, 365 * DAY_MS) is None


def test_glacier_wins_over_standard_ia_when_both_are_due() -> None:
    config = lifecycle(
        rule("ia", Transitions=[{"Days": 30, "StorageClass": "STANDARD_IA"}]),
        rule(
            "glacier",
            Filter={"Prefix": "cold/"},
            Transitions=[{"Days": 10, "StorageClass": "GLACIER"}],
        ),
    )
    assert transition_for(config, "cold/a", {}, 1 << 20, 0, 40 * DAY_MS) == "GLACIER"
    assert transition_for(config, "warm/a", {}, 1 << 20, 0, 40 * DAY_MS) == "STANDARD_IA"


def test_date_based_actions_fall_due_on_their_date() -> None:
    config = lifecycle(
        rule(
            Transitions=[{"Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "GLACIER"}],
            Expiration={"Date": "2031-01-01T00:00:00Z"},
        )
    )
    assert transition_for(config, "a", {}, 1 << 20, 0, at(2029, 12, 31, 23, 59)) is None
    assert transition_for(config, "a", {}, 1 << 20, 0, at(2030, 1, 1)) == "GLACIER"
    # an object made after the date is due at once (the date is already past)
    assert expiration_ms(config, "a", {}, 1, at(2032, 5, 5)) == Due(at(2031, 1, 1), "r")
    assert config.to_s3()["Rules"][0]["Expiration"] == {"Date": datetime(2031, 1, 1, tzinfo=UTC)}
    assert config.to_dict()["Rules"][0]["Expiration"] == {"Date": "2031-01-01T00:00:00.000Z"}
    round_trips(config)
    naive = lifecycle(rule(Expiration={"Date": datetime(2031, 1, 1)}))  # a naive time is UTC
    assert naive.rules[0].expiration_date_ms == at(2031, 1, 1)


# -- lifecycle: when current versions expire ------------------------------------------------------


def test_days_count_from_creation_and_round_up_to_midnight() -> None:
    config = lifecycle(rule(Expiration={"Days": 3}))
    # The user guide: created 1/15/2014 10:30 AM UTC with 3 days -> 1/19/2014 00:00 UTC.
    assert expiration_ms(config, "k", {}, 1, at(2014, 1, 15, 10, 30)) == Due(at(2014, 1, 19), "r")
    assert expiration_ms(config, "k", {}, 1, at(2014, 1, 15)) == Due(at(2014, 1, 18), "r")
    assert expiration_ms(config, "k", {}, 1, at(2014, 1, 15) + 1) == Due(at(2014, 1, 19), "r")
    assert expiration_ms(config, "k", {}, 1, at(2014, 1, 16) - 1) == Due(at(2014, 1, 19), "r")


def test_the_shortest_of_overlapping_expirations_is_honored() -> None:
    config = lifecycle(
        rule("year", Expiration={"Days": 365}),
        rule("month", Filter={"Prefix": "logs/"}, Expiration={"Days": 30}),
        rule("off", Filter={"Prefix": "logs/"}, Status="Disabled", Expiration={"Days": 1}),
        rule("first", Filter={"Prefix": "tie/"}, Expiration={"Days": 30}),
        rule("second", Filter={"Prefix": "tie/"}, Expiration={"Days": 30}),
    )
    assert expiration_ms(config, "logs/a", {}, 1, 0) == Due(30 * DAY_MS, "month")
    assert expiration_ms(config, "docs/a", {}, 1, 0) == Due(365 * DAY_MS, "year")
    assert expiration_ms(config, "tie/a", {}, 1, 0) == Due(30 * DAY_MS, "first")


def test_the_expiration_header_is_written_as_s3_writes_it() -> None:
    assert expiration_header(Due(at(2012, 12, 21), "Rule for testfile.txt")) == (
        'expiry-date="Fri, 21 Dec 2012 00:00:00 GMT", rule-id="Rule for testfile.txt"'
    )
    assert expiration_header(Due(at(2012, 12, 23), "picture-deletion-rule")) == (
        'expiry-date="Sun, 23 Dec 2012 00:00:00 GMT", rule-id="picture-deletion-rule"'
    )
    for rule_id, sent in (
        ("naïve", "na%C3%AFve"),
        ('a"b', "a%22b"),
        (" pad", "%20pad"),
        ("line\nbreak", "line%0Abreak"),
    ):
        assert expiration_header(Due(0, rule_id)).endswith(f'rule-id="{sent}"')


# -- lifecycle: noncurrent versions, delete markers, uploads ---------------------------------------


def test_noncurrent_days_count_from_when_the_version_became_noncurrent() -> None:
    config = lifecycle(rule(NoncurrentVersionExpiration={"NoncurrentDays": 3}))
    since = at(2014, 1, 15, 10, 30)
    assert noncurrent_expiration_ms(config, "k", {}, 1, since, 0) == at(2014, 1, 19)
    assert noncurrent_expiration_due(config, "k", {}, 1, since, 0) == Due(at(2014, 1, 19), "r")
    # a current-version expiration is not a noncurrent one
    assert expiration_ms(config, "k", {}, 1, since) is None
    assert noncurrent_expiration_ms(lifecycle(TAX), "tax/a", {}, 1, since, 0) is None


def test_newer_noncurrent_versions_are_retained_whatever_their_age() -> None:
    config = lifecycle(VERSIONED)
    # of ten versions (current + nine noncurrent) with five retained, four go
    expired = [
        newer
        for newer in range(9)
        if noncurrent_expiration_ms(config, "k", {}, 1, 0, newer) is not None
    ]
    assert expired == [5, 6, 7, 8]
    assert noncurrent_expiration_ms(config, "k", {}, 1, 0, 5) == 365 * DAY_MS


def test_noncurrent_transitions_and_their_precedence() -> None:
    config = lifecycle(VERSIONED)
    big = 1 << 20
    assert noncurrent_transition_for(config, "k", {}, big, 0, 0, 29 * DAY_MS) is None
    assert noncurrent_transition_for(config, "k", {}, big, 0, 0, 30 * DAY_MS) == "GLACIER"
    # once its deletion is due, no transition is
    assert noncurrent_transition_for(config, "k", {}, big, 0, 7, 365 * DAY_MS) is None
    assert noncurrent_transition_for(config, "k", {}, big, 0, 0, 365 * DAY_MS) == "GLACIER"
    kept = lifecycle(
        rule(
            NoncurrentVersionTransitions=[
                {"NoncurrentDays": 1, "StorageClass": "GLACIER", "NewerNoncurrentVersions": 2}
            ]
        )
    )
    assert noncurrent_transition_for(kept, "k", {}, big, 0, 1, DAY_MS) is None
    assert noncurrent_transition_for(kept, "k", {}, big, 0, 2, DAY_MS) == "GLACIER"
    round_trips(kept)


def test_empty_noncurrent_versions_match_a_size_below_one() -> None:
    config = lifecycle(NO_DATA)
    assert noncurrent_expiration_ms(config, "k", {}, 0, 0, 10) == 30 * DAY_MS
    assert noncurrent_expiration_ms(config, "k", {}, 1, 0, 10) is None


def test_expired_object_delete_markers_are_removed_under_their_rule() -> None:
    config = lifecycle(DELETE_MARKERS)
    assert expired_delete_marker_applies(config, "logs/a")
    assert not expired_delete_marker_applies(config, "other/a")
    off = lifecycle(DELETE_MARKERS | {"Status": "Disabled"})
    assert not expired_delete_marker_applies(off, "logs/a")
    kept = lifecycle(rule(Expiration={"ExpiredObjectDeleteMarker": False}))
    assert not expired_delete_marker_applies(kept, "logs/a")
    made = at(2026, 1, 1, 10, 30)
    assert delete_marker_expiration_ms(config, "logs/a", made) == at(2026, 1, 2)
    # "When you specify the Days tag, Amazon S3 automatically performs ExpiredObjectDeleteMarker
    # cleanup when the delete markers are old enough to satisfy the age criteria"
    aged = lifecycle(rule(Expiration={"Days": 5}))
    assert not expired_delete_marker_applies(aged, "a")
    assert delete_marker_expiration_ms(aged, "a", made) == at(2026, 1, 7)
    # a marker has no tags: a tag-filtered rule never removes one
    tagged = lifecycle(rule(Filter={"Tag": {"Key": "k", "Value": "v"}}, Expiration={"Days": 1}))
    assert delete_marker_expiration_ms(tagged, "a", made) is None
    assert delete_marker_expiration_ms(kept, "a", made) is None


def test_incomplete_uploads_are_aborted_days_after_initiation() -> None:
    config = lifecycle(
        ABORT,
        rule(
            "fast",
            Filter={"Prefix": "SomeKeyPrefix/tmp/"},
            AbortIncompleteMultipartUpload={"DaysAfterInitiation": 2},
        ),
        rule("off", Status="Disabled", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1}),
    )
    started = at(2026, 9, 29, 10, 15)
    assert abort_multipart_ms(config, "SomeKeyPrefix/a", started) == at(2026, 10, 7)
    assert abort_rule(config, "SomeKeyPrefix/a", started) == Due(at(2026, 10, 7), "sample-rule")
    assert abort_rule(config, "SomeKeyPrefix/tmp/a", started) == Due(at(2026, 10, 2), "fast")
    assert abort_multipart_ms(config, "Elsewhere/a", started) is None


def test_rule_applies_reads_the_legacy_prefix_too() -> None:
    config = lifecycle(
        {"ID": "v1", "Prefix": "logs/", "Status": "Enabled", "Expiration": {"Days": 1}}
    )
    assert rule_applies(config.rules[0], "logs/a", {}, 0)
    assert not rule_applies(config.rules[0], "log/a", {}, 0)
    assert config.to_s3()["Rules"][0]["Prefix"] == "logs/"
    assert "Filter" not in config.to_s3()["Rules"][0]
    assert not config.v2
    round_trips(config)


# -- lifecycle: what S3 refuses -------------------------------------------------------------------


def test_rules_are_1_to_1000() -> None:
    assert refused(lambda: LifecycleConfig.from_s3({"Rules": []})).code == "MalformedXML"
    assert refused(lambda: LifecycleConfig.from_s3({})).code == "MalformedXML"
    many = [
        rule(str(i), Filter={"Prefix": f"{i}/"}, Expiration={"Days": 1})
        for i in range(MAX_RULES + 1)
    ]
    error = refused(lambda: lifecycle(*many))
    assert (error.code, error.message) == (
        "InvalidRequest",
        "The number of lifecycle rules must not exceed the allowed limit of 1000 rules.",
    )
    assert len(lifecycle(*many[:MAX_RULES]).rules) == MAX_RULES


def test_ids_are_checked_and_made_as_s3_makes_them() -> None:
    action = {"Expiration": {"Days": 1}}
    assert lifecycle(rule("x" * 255, **action)).rules[0].id == "x" * 255
    error = refused(lambda: lifecycle(rule("x" * 256, **action)))
    assert (error.code, error.message) == (
        "InvalidArgument",
        "ID length should not exceed allowed limit of 255",
    )
    twice = refused(lambda: lifecycle(rule("a", **action), rule("a", **action)))
    assert (twice.code, twice.message) == (
        "InvalidArgument",
        "Rule ID must be unique. Found same ID for more than one rule",
    )
    given = lifecycle(
        {"Filter": {}, "Status": "Enabled", **action},
        {"ID": "", "Filter": {}, "Status": "Enabled", **action},
        new_id=ids("made-1", "made-2"),
    )
    assert [r.id for r in given.rules] == ["made-1", "made-2"]
    made = new_rule_id()
    assert len(made) == 48
    assert uuid.UUID(base64.b64decode(made).decode())
    assert new_rule_id() != made


def _days(days: object) -> dict[str, Any]:
    return rule(Expiration={"Days": days})


@pytest.mark.parametrize(
    ("rules", "code", "message"),
    [
        ([rule(Status="enabled", Expiration={"Days": 1})], "MalformedXML", None),
        ([{"ID": "r", "Status": "Enabled", "Expiration": {"Days": 1}}], "MalformedXML", None),
        ([rule(), ], "InvalidRequest", "At least one action needs to be specified in a rule"),
        ([rule(Transitions=[])], "InvalidRequest", None),
        ([rule(Unknown=1, Expiration={"Days": 1})], "MalformedXML", None),
        ([_days(0)], "InvalidArgument", "'Days' for Expiration action must be a positive integer"),
        ([_days(-1)], "InvalidArgument", None),
        ([_days("1")], "MalformedXML", None),
        ([_days(True)], "MalformedXML", None),
        ([rule(Expiration={"Days": 1, "Date": datetime(2030, 1, 1, tzinfo=UTC)})],
         "MalformedXML", None),
        ([rule(Expiration={"Days": 1, "ExpiredObjectDeleteMarker": True})], "MalformedXML", None),
        ([rule(Expiration={})], "MalformedXML", None),
        ([rule(Expiration={"ExpiredObjectDeleteMarker": "true"})], "MalformedXML", None),
        ([rule(Expiration={"Date": datetime(2030, 1, 1, 12, tzinfo=UTC)})], "InvalidArgument",
         "'Date' must be at midnight GMT"),
        ([rule(Expiration={"Date": datetime(2030, 1, 1, tzinfo=timezone(timedelta(hours=1)))})],
         "InvalidArgument", None),
        ([rule(Expiration={"Date": "2030-01-01T00:00:00.001Z"})], "InvalidArgument", None),
        ([rule(Expiration={"Date": "next tuesday"})], "MalformedXML", None),
        # ExpiredObjectDeleteMarker and AbortIncompleteMultipartUpload refuse tags and sizes
        ([rule(Filter={"Tag": {"Key": "k", "Value": "v"}},
               Expiration={"ExpiredObjectDeleteMarker": True})],
         "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Tags."),
        ([rule(Filter={"And": {"Prefix": "a/", "Tags": [{"Key": "k", "Value": "v"}]}},
               Expiration={"ExpiredObjectDeleteMarker": True})], "InvalidRequest", None),
        ([rule(Filter={"ObjectSizeGreaterThan": 10},
               Expiration={"ExpiredObjectDeleteMarker": True})],
         "InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified with Object Size."),
        ([rule(Filter={"Tag": {"Key": "k", "Value": "v"}},
               AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})],
         "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Tags."),
        ([rule(Filter={"And": {"Prefix": "a/", "ObjectSizeLessThan": 10}},
               AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})],
         "InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified with Object Size."),
        ([rule(AbortIncompleteMultipartUpload={})], "MalformedXML", None),
        ([rule(AbortIncompleteMultipartUpload={"DaysAfterInitiation": 0})], "InvalidArgument",
         "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive "
         "integer"),
        ([rule(NoncurrentVersionExpiration={"NewerNoncurrentVersions": 3})], "MalformedXML", None),
        ([rule(NoncurrentVersionExpiration={"NoncurrentDays": 0})], "InvalidArgument",
         "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer"),
        ([rule(NoncurrentVersionExpiration={"NoncurrentDays": 1, "NewerNoncurrentVersions": 0})],
         "InvalidArgument", None),
        # filters
        ([rule(Filter={"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}},
               Expiration={"Days": 1})], "MalformedXML", None),
        ([rule(Filter={"ObjectSizeGreaterThan": 1, "ObjectSizeLessThan": 9},
               Expiration={"Days": 1})], "MalformedXML", None),
        ([rule(Filter={"And": {"Prefix": "a/"}}, Expiration={"Days": 1})], "MalformedXML", None),
        ([rule(Filter={"Not": {"Prefix": "a/"}}, Expiration={"Days": 1})], "MalformedXML", None),
        ([rule(Filter={"And": {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}},
               Expiration={"Days": 1})], "InvalidRequest", "Duplicate Tag Keys are not allowed."),
        ([rule(Filter={"Tag": {"Key": "k" * 129, "Value": "v"}}, Expiration={"Days": 1})],
         "InvalidTag", None),
        ([rule(Filter={"Tag": {"Key": "k", "Value": "v" * 257}}, Expiration={"Days": 1})],
         "InvalidTag", None),
        ([rule(Filter={"Tag": {"Key": "", "Value": "v"}}, Expiration={"Days": 1})],
         "MalformedXML", None),
        ([rule(Filter={"Tag": {"Key": "k"}}, Expiration={"Days": 1})], "MalformedXML", None),
        ([rule(Filter={"Prefix": "p" * 1025}, Expiration={"Days": 1})], "InvalidArgument", None),
        ([rule(Filter={"ObjectSizeGreaterThan": -1}, Expiration={"Days": 1})], "InvalidRequest",
         "'ObjectSizeGreaterThan' should be between 0 and 1099511627776000."),
        ([rule(Filter={"ObjectSizeLessThan": 0}, Expiration={"Days": 1})], "InvalidRequest",
         "'ObjectSizeLessThan' should be between 1 and 1099511627776000."),
        ([rule(Filter={"And": {"ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 10}},
               Expiration={"Days": 1})], "InvalidRequest",
         "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'."),
        # Lifecycle V1 and V2 do not mix
        ([rule(Expiration={"Days": 1}),
          {"ID": "v1", "Prefix": "a/", "Status": "Enabled", "Expiration": {"Days": 1}}],
         "InvalidRequest",
         "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the "
         "Filter."),
        ([{"ID": "v1", "Prefix": "a/", "Status": "Enabled", "Expiration": {"Days": 1}},
          rule("v2", Expiration={"Days": 1})],
         "InvalidRequest", "Filter element can only be used in Lifecycle V2."),
        ([{"ID": "v1", "Prefix": "a/", "Status": "Enabled",
           "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}}],
         "InvalidRequest", "NewerNoncurrentVersions element can only be used in Lifecycle V2."),
        ([{"ID": "a", "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 1}},
          {"ID": "b", "Prefix": "logs/", "Status": "Enabled", "Expiration": {"Days": 2}}],
         "InvalidRequest",
         "Found overlapping prefixes '' and 'logs/' for same action type 'Expiration'"),
    ],
)  # fmt: skip
def test_lifecycle_rules_s3_refuses(rules: list[Any], code: str, message: str | None) -> None:
    error = refused(lambda: lifecycle(*rules))
    assert error.code == code
    if message is not None:
        assert error.message == message


@pytest.mark.parametrize(
    ("transitions", "code", "message"),
    [
        ([{"Days": 29, "StorageClass": "STANDARD_IA"}], "InvalidArgument",
         "'Days' in Transition action must be greater than or equal to 30 for storageClass "
         "'STANDARD_IA'"),
        ([{"Days": 1, "StorageClass": "ONEZONE_IA"}], "InvalidArgument",
         "'Days' in Transition action must be greater than or equal to 30 for storageClass "
         "'ONEZONE_IA'"),
        ([{"Days": -1, "StorageClass": "GLACIER"}], "InvalidArgument",
         "'Days' in Transition action must be nonnegative"),
        ([{"Days": 1, "StorageClass": "STANDARD"}], "MalformedXML", None),
        ([{"Days": 1}], "MalformedXML", None),
        ([{"StorageClass": "GLACIER"}], "MalformedXML", None),
        ([{"Days": 1, "Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "GLACIER"}],
         "MalformedXML", None),
        ([{"Days": 1, "StorageClass": "GLACIER"}, {"Days": 400, "StorageClass": "GLACIER"}],
         "InvalidRequest", "'StorageClass' must be different for 'Transition' actions in same "
         "'Rule'"),
        ([{"Days": 1, "StorageClass": "GLACIER"},
          {"Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "DEEP_ARCHIVE"}],
         "InvalidRequest",
         "Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle rule"),
        ([{"Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "GLACIER"},
          {"Days": 30, "StorageClass": "STANDARD_IA"}], "InvalidRequest", None),
        ([{"Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "GLACIER_IR"},
          {"Date": datetime(2030, 2, 1, tzinfo=UTC), "StorageClass": "DEEP_ARCHIVE"}],
         "InvalidArgument", None),
        # "the S3 Glacier Deep Archive transition must occur after at least 94 days"
        ([{"Days": 4, "StorageClass": "GLACIER_IR"}, {"Days": 20, "StorageClass": "DEEP_ARCHIVE"}],
         "InvalidArgument", None),
        ([{"Days": 4, "StorageClass": "GLACIER_IR"}, {"Days": 93, "StorageClass": "DEEP_ARCHIVE"}],
         "InvalidArgument", None),
        ([{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 59, "StorageClass": "GLACIER"}],
         "InvalidArgument", None),
        # a warmer class after a colder one goes against the waterfall
        ([{"Days": 30, "StorageClass": "GLACIER"}, {"Days": 200, "StorageClass": "STANDARD_IA"}],
         "InvalidArgument", None),
    ],
)  # fmt: skip
def test_transitions_s3_refuses(transitions: list[Any], code: str, message: str | None) -> None:
    error = refused(lambda: lifecycle(rule(Transitions=transitions)))
    assert error.code == code
    if message is not None:
        assert error.message == message


def test_transitions_s3_takes() -> None:
    for transitions in (
        [{"Days": 30, "StorageClass": "STANDARD_IA"}],
        [{"Days": 0, "StorageClass": "GLACIER"}],
        [{"Days": 0, "StorageClass": "INTELLIGENT_TIERING"}],
        [{"Days": 4, "StorageClass": "GLACIER_IR"}, {"Days": 94, "StorageClass": "DEEP_ARCHIVE"}],
        [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 60, "StorageClass": "GLACIER"}],
        [{"Days": 90, "StorageClass": "GLACIER"}, {"Days": 30, "StorageClass": "STANDARD_IA"}],
        [
            {"Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "GLACIER_IR"},
            {"Date": datetime(2030, 4, 1, tzinfo=UTC), "StorageClass": "DEEP_ARCHIVE"},
        ],
    ):
        assert lifecycle(rule(Transitions=transitions)).rules[0].transitions


def test_expirations_come_after_transitions() -> None:
    error = refused(lambda: lifecycle(TAX | {"Expiration": {"Days": 365}}))
    assert (error.code, error.message) == (
        "InvalidArgument",
        "'Days' in the Expiration action for filter '(prefix=tax/)' must be greater than 'Days' "
        "in the Transition action",
    )
    assert lifecycle(TAX | {"Expiration": {"Days": 366}}).rules[0].expiration_days == 366
    noncurrent = VERSIONED | {"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
    assert refused(lambda: lifecycle(noncurrent)).code == "InvalidArgument"
    dated = [{"Date": datetime(2030, 1, 1, tzinfo=UTC), "StorageClass": "GLACIER"}]
    mixed = rule(Expiration={"Days": 400}, Transitions=dated)
    assert refused(lambda: lifecycle(mixed)).code == "InvalidRequest"
    early = rule(Expiration={"Date": datetime(2030, 1, 1, tzinfo=UTC)}, Transitions=dated)
    assert refused(lambda: lifecycle(early)).code == "InvalidArgument"
    later = rule(Expiration={"Date": datetime(2030, 1, 2, tzinfo=UTC)}, Transitions=dated)
    assert lifecycle(later).rules[0].expiration_date_ms == at(2030, 1, 2)


@pytest.mark.parametrize(
    ("transition", "code"),
    [
        ({"NoncurrentDays": 29, "StorageClass": "STANDARD_IA"}, "InvalidArgument"),
        ({"NoncurrentDays": -1, "StorageClass": "GLACIER"}, "InvalidArgument"),
        ({"StorageClass": "GLACIER"}, "MalformedXML"),
        ({"NoncurrentDays": 1, "StorageClass": "REDUCED_REDUNDANCY"}, "MalformedXML"),
        ({"NoncurrentDays": 1, "StorageClass": "GLACIER", "NewerNoncurrentVersions": 0},
         "InvalidArgument"),
    ],
)  # fmt: skip
def test_noncurrent_transitions_s3_refuses(transition: dict[str, Any], code: str) -> None:
    assert lifecycle_code(rule(NoncurrentVersionTransitions=[transition])) == code
    message = refused(
        lambda: lifecycle(
            rule(
                NoncurrentVersionTransitions=[{"NoncurrentDays": 29, "StorageClass": "ONEZONE_IA"}]
            )
        )
    ).message
    assert message == (
        "'NoncurrentDays' in NoncurrentVersionTransition action must be greater than or equal to "
        "30 for storageClass 'ONEZONE_IA'"
    )


def test_the_default_minimum_object_size_is_one_of_s3s_two() -> None:
    assert lifecycle(TAX).to_s3()["TransitionDefaultMinimumObjectSize"] == (
        "all_storage_classes_128K"
    )
    by_class = lifecycle(TAX, transition_default_minimum_object_size="varies_by_storage_class")
    assert by_class.to_s3()["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"
    round_trips(by_class)
    assert lifecycle_code(TAX, transition_default_minimum_object_size="64K") == "InvalidRequest"


def test_a_v1_configuration_may_use_disjoint_prefixes_and_different_actions() -> None:
    config = lifecycle(
        {"ID": "a", "Prefix": "", "Status": "Enabled", "Expiration": {"Days": 1}},
        {
            "ID": "b",
            "Prefix": "logs/",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
        {
            "ID": "c",
            "Prefix": "docs/",
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
        },
    )
    assert [r.id for r in config.rules] == ["a", "b", "c"]


# -- replication ----------------------------------------------------------------------------------

ROLE = "arn:aws:iam::account-id:role/role-name"
DEST = "arn:aws:s3:::amzn-s3-demo-destination-bucket"


def replication(*rules: dict[str, Any], **options: Any) -> ReplicationConfig:
    return ReplicationConfig.from_s3({"Role": ROLE, "Rules": list(rules)}, **options)


def v2(rule_id: str, priority: int, filter_: dict[str, Any], **members: Any) -> dict[str, Any]:
    return {
        "ID": rule_id,
        "Priority": priority,
        "Filter": filter_,
        "Status": "Enabled",
        "Destination": {"Bucket": DEST},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        **members,
    }


def replication_error(*rules: dict[str, Any]) -> RaybusError:
    return refused(lambda: replication(*rules))


def test_a_v1_rule_without_a_filter_replicates_everything() -> None:
    # Example 1: one rule, a status and a destination
    config = replication({"Status": "Enabled", "Destination": {"Bucket": DEST}}, new_id=ids("one"))
    assert not config.v2
    assert config.to_s3() == {
        "Role": ROLE,
        "Rules": [{"ID": "one", "Status": "Enabled", "Destination": {"Bucket": DEST}}],
    }
    chosen = replication_rule_for(config, "anything/at/all", {})
    assert chosen is config.rules[0]
    assert destination_bucket(chosen) == "amzn-s3-demo-destination-bucket"
    # V1 replicates delete markers from user actions, never those a lifecycle made
    assert replicates_delete_markers(chosen)
    assert not replicates_delete_markers(chosen, by_lifecycle=True)
    round_trips(config)


def test_a_v1_prefix_rule_and_a_storage_class_for_replicas() -> None:
    config = replication(
        {
            "ID": "v1",
            "Status": "Enabled",
            "Prefix": "key-prefix",
            "Destination": {"Bucket": DEST, "StorageClass": "STANDARD_IA"},
        }
    )
    assert replication_rule_for(config, "key-prefix/a", {}) is config.rules[0]
    assert replication_rule_for(config, "other", {}) is None
    assert config.rules[0].destination.storage_class == "STANDARD_IA"
    assert config.to_s3()["Rules"][0]["Prefix"] == "key-prefix"
    round_trips(config)


def test_example_2_two_rules_for_two_prefixes() -> None:
    config = replication(
        v2("tax", 1, {"Prefix": "Tax"}),
        v2(
            "project",
            2,
            {"Prefix": "Project"},
            Destination={"Bucket": DEST, "StorageClass": "STANDARD_IA"},
        ),
    )
    tax, project = config.rules
    assert replication_rule_for(config, "Tax/doc1.pdf", {}) is tax
    assert replication_rule_for(config, "Project/project1.txt", {}) is project
    assert replication_rule_for(config, "PersonalDoc/documentA", {}) is None
    assert config.v2
    round_trips(config)


def test_example_3_overlapping_prefixes_go_by_priority() -> None:
    config = replication(v2("star", 1, {"Prefix": "star"}), v2("ship", 2, {"Prefix": "starship"}))
    assert replication_rule_for(config, "starship-x", {}) is config.rules[1]
    assert replication_rule_for(config, "star-x", {}) is config.rules[0]
    # order of the rules does not matter, only their priority
    swapped = replication(v2("ship", 2, {"Prefix": "starship"}), v2("star", 1, {"Prefix": "star"}))
    chosen = replication_rule_for(swapped, "starship-x", {})
    assert chosen is not None and chosen.id == "ship"


def test_the_highest_priority_rule_per_destination() -> None:
    other = "arn:aws:s3:::second"
    config = replication(
        v2("low", 1, {}),
        v2("high", 5, {"Prefix": "a/"}),
        v2("elsewhere", 3, {}, Destination={"Bucket": other}),
        v2("off", 9, {}, Status="Disabled"),
    )
    assert [r.id for r in replication_rules_for(config, "a/x", {})] == ["high", "elsewhere"]
    assert [r.id for r in replication_rules_for(config, "b/x", {})] == ["low", "elsewhere"]
    chosen = replication_rule_for(config, "a/x", {})
    assert chosen is not None and chosen.id == "high"


def test_tag_and_and_filters_select_objects() -> None:
    config = replication(
        v2(
            "tagged",
            1,
            {
                "And": {
                    "Prefix": "Tax/",
                    "Tags": [
                        {"Key": "tagA", "Value": "valueA"},
                        {"Key": "tagB", "Value": "valueB"},
                    ],
                }
            },
        ),
        v2("one-tag", 2, {"Tag": {"Key": "flag", "Value": "on"}}),
    )
    both = {"tagA": "valueA", "tagB": "valueB"}
    assert replication_rule_for(config, "Tax/a", both) is config.rules[0]
    assert replication_rule_for(config, "Tax/a", {"tagA": "valueA"}) is None
    assert replication_rule_for(config, "Other/a", both) is None
    assert replication_rule_for(config, "Tax/a", {**both, "flag": "on"}) is config.rules[1]
    round_trips(config)


def test_not_filters_exclude_objects() -> None:
    config = replication(
        v2("not-prefix", 1, {"Not": {"Prefix": "tmp/"}}),
        v2("not-tag", 0, {"Not": {"Tag": {"Key": "skip", "Value": "yes"}}}),
        v2(
            "not-any",
            2,
            {
                "And": {
                    "Prefix": "data/",
                    "Not": {
                        "Or": {
                            "Prefixes": ["data/scratch/"],
                            "Tags": [{"Key": "private", "Value": "yes"}],
                        }
                    },
                }
            },
        ),
    )
    first, not_tag, second = config.rules
    assert replication_rule_for(config, "tmp/a", {}) is not_tag
    assert replication_rule_for(config, "tmp/a", {"skip": "yes"}) is None
    assert replication_rule_for(config, "logs/a", {}) is first
    assert replication_rule_for(config, "data/a", {}) is second
    assert replication_rule_for(config, "data/scratch/a", {}) is first
    assert replication_rule_for(config, "data/a", {"private": "yes"}) is first
    assert replication_rule_for(config, "data/a", {"private": "no"}) is second
    round_trips(config)


def test_delete_markers_follow_the_v2_rules_status() -> None:
    config = replication(
        v2("on", 1, {"Prefix": "a/"}, DeleteMarkerReplication={"Status": "Enabled"}),
        v2("off", 2, {"Prefix": "b/"}),
    )
    on, off = config.rules
    assert replicates_delete_markers(on)
    assert not replicates_delete_markers(on, by_lifecycle=True)
    assert not replicates_delete_markers(off)


def test_stored_options_are_answered_back() -> None:
    full = v2(
        "full",
        1,
        {},
        ExistingObjectReplication={"Status": "Enabled"},
        SourceSelectionCriteria={
            "SseKmsEncryptedObjects": {"Status": "Enabled"},
            "ReplicaModifications": {"Status": "Disabled"},
        },
        Destination={
            "Bucket": DEST,
            "Account": "111122223333",
            "StorageClass": "GLACIER_IR",
            "AccessControlTranslation": {"Owner": "Destination"},
            "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:us-east-1:1:key/k"},
            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
            "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
        },
    )
    config = replication(full)
    assert config.to_s3() == {"Role": ROLE, "Rules": [full]}
    assert config.rules[0].existing_object_replication is True
    assert config.rules[0].destination.account == "111122223333"
    round_trips(config)


def test_the_versioning_message_is_s3s() -> None:
    assert VERSIONING_REQUIRED == (
        "Versioning must be 'Enabled' on the bucket to apply a replication configuration"
    )


def test_replication_rules_are_1_to_1000_with_a_role() -> None:
    assert refused(lambda: ReplicationConfig.from_s3({"Role": ROLE, "Rules": []})).code == (
        "MalformedXML"
    )
    assert (
        refused(lambda: ReplicationConfig.from_s3({"Rules": [v2("a", 1, {})]})).code
        == "MalformedXML"
    )
    many = [v2(str(i), i, {}) for i in range(MAX_RULES + 1)]
    assert replication_error(*many).code == "InvalidRequest"
    assert len(replication(*many[:MAX_RULES]).rules) == MAX_RULES


def _without(rule_: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in rule_.items() if key != name}


@pytest.mark.parametrize(
    ("rules", "code", "message"),
    [
        ([_without(v2("a", 1, {"Prefix": "a"}), "Priority")], "InvalidRequest",
         "Priority must be specified for this version of Cross Region Replication configuration "
         "schema."),
        ([_without(v2("a", 1, {"Prefix": "a"}), "DeleteMarkerReplication")], "InvalidRequest",
         "DeleteMarkerReplication must be specified for this version of Cross Region Replication "
         "configuration schema."),
        ([{"ID": "a", "Priority": 1, "Prefix": "a", "Status": "Enabled",
           "Destination": {"Bucket": DEST}}], "InvalidRequest",
         "Priority cannot be used for this version of Cross Region Replication configuration "
         "schema."),
        ([{"ID": "a", "Prefix": "a", "Status": "Enabled", "Destination": {"Bucket": DEST},
           "DeleteMarkerReplication": {"Status": "Enabled"}}], "InvalidRequest", None),
        ([v2("a", 1, {"Tag": {"Key": "k", "Value": "v"}},
             DeleteMarkerReplication={"Status": "Enabled"})], "InvalidRequest",
         "Delete marker replication is not supported if any Tag filter is specified. Please "
         "refer to S3 Developer Guide for more information."),
        ([v2("a", 1, {"Not": {"Tag": {"Key": "k", "Value": "v"}}},
             DeleteMarkerReplication={"Status": "Enabled"})], "InvalidRequest", None),
        ([v2("a", 1, {}), v2("b", 1, {"Prefix": "b"})], "InvalidRequest", None),
        ([v2("a", 1, {}), v2("a", 2, {})], "InvalidArgument", "Rule Id must be unique"),
        ([v2("x" * 256, 1, {})], "InvalidArgument",
         "ID length should not exceed allowed limit of 255"),
        ([v2("a", -1, {})], "InvalidArgument", None),
        ([v2("a", 1, {}), {"ID": "b", "Status": "Enabled", "Prefix": "b",
                           "Destination": {"Bucket": DEST}}], "MalformedXML", None),
        ([v2("a", 1, {}, Prefix="a")], "MalformedXML", None),
        ([v2("a", 1, {}, Status="On")], "MalformedXML", None),
        ([v2("a", 1, {"Prefix": "a", "Tag": {"Key": "k", "Value": "v"}})], "MalformedXML", None),
        ([v2("a", 1, {"Not": {}})], "MalformedXML", None),
        ([v2("a", 1, {"Not": {"Or": {}}})], "MalformedXML", None),
        ([v2("a", 1, {"And": {"Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}})],
         "InvalidRequest", "Duplicate Tag Keys are not allowed."),
        ([v2("a", 1, {}, DeleteMarkerReplication={"Status": "Yes"})], "MalformedXML", None),
        ([v2("a", 1, {}, Destination={"Bucket": "amzn-s3-demo-destination-bucket"})],
         "InvalidArgument", "Invalid bucket ARN."),
        ([v2("a", 1, {}, Destination={"Bucket": "arn:aws:s3:::a/b"})], "InvalidArgument", None),
        ([v2("a", 1, {}, Destination={})], "MalformedXML", None),
        ([v2("a", 1, {}, Destination={"Bucket": DEST, "StorageClass": "COLD"})],
         "InvalidStorageClass", None),
        ([v2("a", 1, {}, Destination={"Bucket": DEST,
                                      "AccessControlTranslation": {"Owner": "Source"}})],
         "MalformedXML", None),
        ([v2("a", 1, {}, Destination={"Bucket": DEST, "Metrics": {"Status": "Enabled"},
                                      "ReplicationTime": {"Status": "Enabled",
                                                          "Time": {"Minutes": 10}}})],
         "InvalidArgument", None),
        ([v2("a", 1, {}, Destination={"Bucket": DEST, "ReplicationTime": {
            "Status": "Enabled", "Time": {"Minutes": 15}}})], "InvalidRequest", None),
        ([v2("a", 1, {},
             SourceSelectionCriteria={"SseKmsEncryptedObjects": {"Status": "Enabled"}})],
         "InvalidRequest",
         "ReplicaKmsKeyID must be specified if SseKmsEncryptedObjects tag is present."),
    ],
)  # fmt: skip
def test_replication_rules_s3_refuses(rules: list[Any], code: str, message: str | None) -> None:
    error = replication_error(*rules)
    assert error.code == code
    if message is not None:
        assert error.message == message


def test_replication_ids_are_made_when_absent() -> None:
    config = replication(_without(v2("x", 1, {}), "ID"), new_id=ids("made"))
    assert config.rules[0].id == "made"
    assert len(replication(_without(v2("x", 1, {}), "ID")).rules[0].id) == 48
