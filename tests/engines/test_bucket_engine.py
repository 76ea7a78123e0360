"""The bucket engine: versions as S3 keeps them (null, enabled, suspended), delete markers,
listings with prefixes, delimiters and markers, conditions, multipart uploads, the
notification outbox (committed with the change), restores and lifecycle on time, freed blobs,
and recovery from the log and from a snapshot."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import pytest

from raybus.core.buckets import NULL_VERSION, BucketConfig, ObjectVersion
from raybus.core.errors import RaybusError
from raybus.engines.bucket.engine import (
    BucketPartition,
    Conditions,
    Origin,
    Part,
)
from raybus.storage import MemoryLog, PartitionLog

T0 = 1_700_000_000_000
DAY = 86_400_000
ORIGIN = Origin(requester="AKIDEXAMPLE", source_ip="10.0.0.1", request_id="req-1")
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:thumbnails"


def bucket(log: PartitionLog | None = None, **settings: Any) -> BucketPartition:
    return BucketPartition(BucketConfig("photos", **settings), log or MemoryLog(), tag=7)


def obj(size: int = 3, blob: str = "b1", **fields: Any) -> ObjectVersion:
    return ObjectVersion(
        version_id="", size=size, etag='"abc"', blobs=(blob,) if blob else (), **fields
    )


def put(engine: BucketPartition, key: str, now: int = T0, **fields: Any) -> ObjectVersion:
    freed: list[str] = []
    version = engine.put(now, key, obj(**fields), origin=ORIGIN, freed=freed)
    return version


def recover(live: BucketPartition, log: PartitionLog) -> BucketPartition:
    fresh = BucketPartition(live.config, log, tag=live.tag)
    snapshot = log.load_snapshot()
    start = 0
    if snapshot is not None:
        start, blob = snapshot
        fresh.restore(msgpack.unpackb(blob, raw=False, strict_map_key=False))
    for offset, payload in log.scan(start):
        fresh.replay(offset, payload)
    fresh.finish_recovery()
    return fresh


# -- versions -------------------------------------------------------------------------------------
def test_an_unversioned_put_replaces_the_null_version_and_frees_its_blob() -> None:
    engine = bucket()
    first = put(engine, "a.jpg", blob="one")
    freed: list[str] = []
    second = engine.put(T0 + 1, "a.jpg", obj(blob="two"), origin=ORIGIN, freed=freed)
    assert first.version_id == second.version_id == NULL_VERSION
    assert freed == ["one"]
    assert engine.version("a.jpg", None, T0).blobs == ("two",)
    assert engine.stats()["objects"] == 1


def test_versioning_keeps_every_version_and_a_delete_adds_a_marker() -> None:
    engine = bucket(versioning="Enabled")
    v1 = put(engine, "k", blob="one")
    v2 = put(engine, "k", blob="two")
    assert v1.version_id != v2.version_id
    assert NULL_VERSION not in (v1.version_id, v2.version_id)
    freed: list[str] = []
    marker, marker_id = engine.delete(T0 + 2, "k", None, origin=ORIGIN, freed=freed)
    assert marker and marker_id not in (v1.version_id, v2.version_id)
    assert freed == []
    with pytest.raises(RaybusError) as missing:
        engine.version("k", None, T0)
    assert missing.value.code == "NoSuchKey"
    assert missing.value.details["delete_marker"] is True
    assert engine.version("k", v1.version_id, T0).blobs == ("one",)
    # deleting the marker by id brings the previous version back
    engine.delete(T0 + 3, "k", marker_id, origin=ORIGIN, freed=freed)
    assert engine.version("k", None, T0).version_id == v2.version_id
    # deleting a version by id is for good, and frees its blob
    engine.delete(T0 + 4, "k", v1.version_id, origin=ORIGIN, freed=freed)
    assert freed == ["one"]
    with pytest.raises(RaybusError) as gone:
        engine.version("k", v1.version_id, T0)
    assert gone.value.code == "NoSuchVersion"


def test_suspended_versioning_replaces_only_the_null_version() -> None:
    engine = bucket(versioning="Enabled")
    kept = put(engine, "k", blob="kept")
    engine.config = engine.config.updated(versioning="Suspended")
    null1 = put(engine, "k", blob="n1")
    freed: list[str] = []
    null2 = engine.put(T0 + 1, "k", obj(blob="n2"), origin=ORIGIN, freed=freed)
    assert null1.version_id == null2.version_id == NULL_VERSION
    assert freed == ["n1"]
    assert [v.version_id for v in engine.objects["k"]] == [kept.version_id, NULL_VERSION]
    marker, marker_id = engine.delete(T0 + 2, "k", None, origin=ORIGIN, freed=freed)
    assert marker and marker_id == NULL_VERSION
    assert freed == ["n1", "n2"]  # the null version became the marker


def test_a_delete_of_a_missing_key_changes_nothing() -> None:
    engine = bucket()
    freed: list[str] = []
    assert engine.delete(T0, "nope", None, origin=ORIGIN, freed=freed) == (False, None)
    assert engine.keys == [] and engine.outbox == {}


# -- conditions -----------------------------------------------------------------------------------
def test_conditional_writes_and_reads_follow_s3s_precedence() -> None:
    engine = bucket()
    put(engine, "k")
    freed: list[str] = []
    with pytest.raises(RaybusError) as exists:
        engine.put(T0, "k", obj(), origin=ORIGIN, conditions=Conditions(if_none_match="*"),
                   freed=freed)  # fmt: skip
    assert exists.value.code == "PreconditionFailed"
    with pytest.raises(RaybusError) as stale:
        engine.put(T0, "k", obj(), origin=ORIGIN, conditions=Conditions(if_match='"zzz"'),
                   freed=freed)  # fmt: skip
    assert stale.value.code == "PreconditionFailed"
    engine.put(T0, "k", obj(), origin=ORIGIN, conditions=Conditions(if_match='"abc"'), freed=freed)
    version = engine.version("k", None, T0)
    with pytest.raises(RaybusError) as cached:
        engine.check_conditions(version, Conditions(if_none_match='"abc"'), read=True)
    assert cached.value.code == "NotModified"
    with pytest.raises(RaybusError) as newer:
        engine.check_conditions(version, Conditions(if_modified_since_ms=T0 + 1000), read=True)
    assert newer.value.code == "NotModified"
    # If-Match holding makes If-Unmodified-Since irrelevant (S3's rule)
    engine.check_conditions(
        version, Conditions(if_match='"abc"', if_unmodified_since_ms=T0 - DAY), read=True
    )


# -- listings -------------------------------------------------------------------------------------
def test_listing_with_a_prefix_a_delimiter_and_markers() -> None:
    engine = bucket()
    for key in ("a/1", "a/2", "a/b/3", "b", "c/4", "d"):
        put(engine, key)
    page = engine.list_objects("", "", 10, "/")
    assert [k for k, _ in page.entries] == ["b", "d"]
    assert page.prefixes == ["a/", "c/"]
    assert not page.truncated
    first = engine.list_objects("", "", 2, "/")
    assert (first.prefixes, [k for k, _ in first.entries], first.truncated) == (["a/"], ["b"], True)
    # continuing after a common prefix skips every key under it
    rest = engine.list_objects("", "b", 10, "/")
    assert (rest.prefixes, [k for k, _ in rest.entries]) == (["c/"], ["d"])
    after_prefix = engine.list_objects("", "a/", 10, "/")
    assert after_prefix.prefixes == ["c/"]
    nested = engine.list_objects("a/", "", 10, "/")
    assert ([k for k, _ in nested.entries], nested.prefixes) == (["a/1", "a/2"], ["a/b/"])


def test_listing_skips_keys_whose_current_version_is_a_marker_but_versions_show_it() -> None:
    engine = bucket(versioning="Enabled")
    v1 = put(engine, "k")
    freed: list[str] = []
    _, marker = engine.delete(T0 + 1, "k", None, origin=ORIGIN, freed=freed)
    put(engine, "l")
    assert [k for k, _ in engine.list_objects("", "", 10).entries] == ["l"]
    versions = engine.list_objects("", "", 10, versions=True)
    assert [(k, v.version_id) for k, v in versions.entries] == [
        ("k", marker),
        ("k", v1.version_id),
        ("l", engine.objects["l"][-1].version_id),
    ]
    assert versions.latest["k"] == marker
    page = engine.list_objects("", "", 1, versions=True)
    assert page.truncated
    following = engine.list_objects("", "k", 10, versions=True, version_marker=str(marker))
    assert next(v.version_id for _, v in following.entries) == v1.version_id


# -- multipart ------------------------------------------------------------------------------------
def part(blob: str, size: int, md5: str) -> Part:
    return Part(blob, size, f'"{md5}"', md5, {}, 0)


def test_a_multipart_upload_completes_into_one_version_of_its_parts() -> None:
    engine = bucket()
    upload_id = engine.create_upload(T0, "big", {"metadata": {"a": "b"}})
    freed: list[str] = []
    md5a, md5b = "0" * 32, "1" * 32
    engine.add_part(T0, upload_id, "big", 1, part("p1", 5 << 20, md5a), freed)
    engine.add_part(T0, upload_id, "big", 2, part("old", 1, md5b), freed)
    engine.add_part(T0, upload_id, "big", 2, part("p2", 10, md5b), freed)  # re-uploaded
    assert freed == ["old"]
    engine.add_part(T0, upload_id, "big", 3, part("unused", 10, md5b), freed)
    version = engine.complete_upload(
        T0 + 1, upload_id, "big", [(1, md5a), (2, f'"{md5b}"')],
        origin=ORIGIN, conditions=Conditions(), freed=freed,
    )  # fmt: skip
    assert version.blobs == ("p1", "p2")
    assert version.part_sizes == (5 << 20, 10)
    assert version.size == (5 << 20) + 10
    assert version.etag.endswith('-2"')
    assert version.metadata == {"a": "b"}
    assert freed == ["old", "unused"]
    assert engine.uploads == {}


@pytest.mark.parametrize(
    ("listed", "code"),
    [
        ([(2, "1" * 32), (1, "0" * 32)], "InvalidPartOrder"),
        ([(1, "f" * 32)], "InvalidPart"),
        ([(1, "0" * 32), (9, "1" * 32)], "InvalidPart"),
        ([(1, "0" * 32), (2, "1" * 32), (3, "2" * 32)], "EntityTooSmall"),
        ([], "MalformedXML"),
    ],
)
def test_completing_refuses_what_s3_refuses(listed: list[tuple[int, str]], code: str) -> None:
    engine = bucket()
    upload_id = engine.create_upload(T0, "k", {})
    freed: list[str] = []
    engine.add_part(T0, upload_id, "k", 1, part("p1", 5 << 20, "0" * 32), freed)
    engine.add_part(T0, upload_id, "k", 2, part("p2", 10, "1" * 32), freed)
    engine.add_part(T0, upload_id, "k", 3, part("p3", 10, "2" * 32), freed)
    with pytest.raises(RaybusError) as refused:
        engine.complete_upload(
            T0, upload_id, "k", listed, origin=ORIGIN, conditions=Conditions(), freed=freed
        )
    assert refused.value.code == code
    assert upload_id in engine.uploads and engine.keys == []


def test_an_aborted_upload_frees_its_parts_and_is_gone() -> None:
    engine = bucket()
    upload_id = engine.create_upload(T0, "k", {})
    freed: list[str] = []
    engine.add_part(T0, upload_id, "k", 1, part("p1", 5, "0" * 32), freed)
    engine.abort_upload(T0, upload_id, "k", freed)
    assert freed == ["p1"]
    with pytest.raises(RaybusError) as missing:
        engine.upload(upload_id, "k")
    assert missing.value.code == "NoSuchUpload"


# -- notifications --------------------------------------------------------------------------------
NOTIFY_JPG = {
    "QueueConfigurations": [
        {
            "Id": "thumbs",
            "QueueArn": QUEUE_ARN,
            "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".jpg"}]}},
        }
    ],
    "EventBridgeConfiguration": {},
}


def test_a_change_commits_the_notifications_it_owes_with_it() -> None:
    log = MemoryLog()
    engine = bucket(log, notification=NOTIFY_JPG)
    put(engine, "cat picture.jpg", size=12)
    put(engine, "notes.txt")
    destinations = sorted(n.destination for n in engine.outbox.values())
    # the .jpg reaches the queue and the bus; the .txt only the bus
    assert destinations == ["bus:default", "bus:default", "queue:thumbnails"]
    (queued,) = [n for n in engine.outbox.values() if n.destination.startswith("queue:")]
    (record,) = json.loads(queued.text)["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["object"]["key"] == "cat+picture.jpg"
    assert record["s3"]["object"]["size"] == 12
    assert record["s3"]["configurationId"] == "thumbs"
    assert record["userIdentity"]["principalId"] == "AKIDEXAMPLE"
    bus_note = next(n for n in engine.outbox.values() if n.destination == "bus:default")
    shaped = json.loads(bus_note.text)
    assert shaped["detail_type"] == "Object Created"
    assert shaped["detail"]["object"]["key"] == "cat picture.jpg"
    # recovery from the log alone has the same outbox
    assert sorted(recover(engine, log).outbox) == sorted(engine.outbox)


def test_delivered_notes_leave_the_outbox_and_failed_ones_retry_later() -> None:
    log = MemoryLog()
    engine = bucket(log, notification=NOTIFY_JPG)
    put(engine, "a.jpg")
    notes = engine.due_notes(T0)
    assert len(notes) == 2 and engine.due_notes(T0) == []  # in flight: not handed out twice
    done, failed = notes[0].note_id, notes[1].note_id
    engine.settle_notes(T0, [done], [failed])
    assert list(engine.outbox) == [failed]
    assert engine.due_notes(T0) == []
    due = engine.next_due_ms()
    assert due is not None and T0 < due <= T0 + 1_000
    assert [n.note_id for n in engine.due_notes(due)] == [failed]
    recovered = recover(engine, log)
    assert list(recovered.outbox) == [failed]
    assert recovered.outbox[failed].attempts == 1


def test_a_notification_nobody_takes_for_a_day_is_dropped() -> None:
    engine = bucket(notification=NOTIFY_JPG)
    put(engine, "a.jpg")
    ids = [n.note_id for n in engine.due_notes(T0)]
    engine.settle_notes(T0 + DAY, [], ids)
    assert engine.outbox == {}
    assert engine.stats()["notifications_dropped"] == 2


# -- time -----------------------------------------------------------------------------------------
def test_a_restore_completes_and_expires_on_the_clock() -> None:
    engine = bucket(notification={"EventBridgeConfiguration": {}})
    put(engine, "cold", storage_class="GLACIER")
    with pytest.raises(RaybusError) as archived:
        engine.readable(engine.version("cold", None, T0), T0)
    assert archived.value.code == "InvalidObjectState"
    assert engine.restore_object(T0, "cold", None, 2, "Expedited", origin=ORIGIN) is True
    with pytest.raises(RaybusError) as twice:
        engine.restore_object(T0, "cold", None, 2, "Expedited", origin=ORIGIN)
    assert twice.value.code == "RestoreAlreadyInProgress"
    delivered = engine.due_notes(T0)
    engine.settle_notes(T0, [n.note_id for n in delivered], [])
    due = engine.next_due_ms()  # the restore's, now that the outbox is empty
    assert due is not None and due > T0
    freed: list[str] = []
    assert engine.tick(due - 1, freed) == 0
    assert engine.tick(due, freed) == 1
    version = engine.version("cold", None, due)
    assert version.restore is not None and version.restore[0] is False
    engine.readable(version, due)  # readable now
    sent = [*delivered, *engine.outbox.values()]
    types = [json.loads(n.text)["detail_type"] for n in sent]
    assert types == ["Object Created", "Object Restore Initiated", "Object Restore Completed"]
    expiry = version.restore[1]
    assert engine.tick(expiry, freed) == 1
    assert engine.version("cold", None, expiry).restore is None
    with pytest.raises(RaybusError):
        engine.readable(engine.version("cold", None, expiry), expiry)


def test_restoring_an_object_that_is_not_archived_is_refused() -> None:
    engine = bucket()
    put(engine, "warm")
    with pytest.raises(RaybusError) as refused:
        engine.restore_object(T0, "warm", None, 1, "Standard", origin=ORIGIN)
    assert refused.value.code == "InvalidObjectState"


def test_lifecycle_expires_matching_objects_once_due() -> None:
    lifecycle = {
        "Rules": [
            {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
             "Expiration": {"Days": 1}}
        ]
    }  # fmt: skip
    engine = bucket(lifecycle=lifecycle)
    put(engine, "tmp/a", blob="ta")
    put(engine, "keep/b", blob="kb")
    freed: list[str] = []
    due = engine.next_due_ms()
    assert due is not None and T0 + DAY <= due <= T0 + 2 * DAY  # the midnight after a day
    assert engine.tick(due - 1, freed) == 0
    assert engine.keys == ["keep/b", "tmp/a"]
    assert engine.tick(due, freed) == 1
    assert engine.keys == ["keep/b"]
    assert freed == ["ta"]
    assert engine.next_due_ms() is None  # nothing left for the rule


# -- recovery -------------------------------------------------------------------------------------
def test_recovery_from_a_snapshot_and_later_records_is_the_same_state() -> None:
    log = MemoryLog()
    engine = bucket(log, versioning="Enabled", notification=NOTIFY_JPG)
    put(engine, "a.jpg")
    upload_id = engine.create_upload(T0, "big", {})
    freed: list[str] = []
    engine.add_part(T0, upload_id, "big", 1, part("p1", 5, "0" * 32), freed)
    log.write_snapshot(log.end_offset, msgpack.packb(engine.snapshot(), use_bin_type=True))
    put(engine, "b.jpg")
    engine.delete(T0 + 5, "a.jpg", None, origin=ORIGIN, freed=freed)
    recovered = recover(engine, log)
    assert recovered.keys == engine.keys
    assert {k: [v.to_wire() for v in vs] for k, vs in recovered.objects.items()} == {
        k: [v.to_wire() for v in vs] for k, vs in engine.objects.items()
    }
    assert sorted(recovered.outbox) == sorted(engine.outbox)
    assert list(recovered.uploads) == [upload_id]
    assert recovered.referenced_blobs() == engine.referenced_blobs() == {"b1", "p1"}
    # a change after recovery never reuses a sequence number or version id
    after = put(recovered, "c.jpg")
    assert after.seq > max(v.seq for vs in engine.objects.values() for v in vs)
