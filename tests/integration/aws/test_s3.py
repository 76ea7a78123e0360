"""S3 with unmodified boto3: buckets, objects (ranges, metadata, tags, conditions, copies,
batch deletes), listings with delimiters and pagination, versions and delete markers,
multipart through ``upload_file``/``download_file``, notifications to queues, topics and
functions (the thumbnail scenario), the EventBridge route, restores on the virtual clock,
replication, presigned URLs and S3's errors."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import itertools
import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from raybus.sdk import Client
from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.aws.test_lambda_functions import create
from tests.integration.aws.test_sns import drain
from tests.integration.conftest import AWS_ACCESS_KEY, AWS_SECRET_KEY
from tests.integration.test_metrics import families, value
from tests.integration.test_semantics import wait_for

_buckets = itertools.count()
MiB = 1 << 20


@pytest.fixture
def s3(aws: Callable[[str], Any]) -> Any:
    return aws("s3")


@pytest.fixture
def bucket(s3: Any, request: pytest.FixtureRequest) -> str:
    """A new bucket named after the test (S3's names: lower case, digits, hyphens)."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    name = f"b{next(_buckets)}-{stem}".rstrip("-")
    s3.create_bucket(Bucket=name)
    return name


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


# -- buckets --------------------------------------------------------------------------------------
def test_buckets_are_created_listed_headed_and_deleted(s3: Any, bucket: str) -> None:
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert s3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.create_bucket(Bucket=bucket)  # us-east-1: creating your own bucket again succeeds
    other = f"{bucket}-eu"
    s3.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert s3.get_bucket_location(Bucket=other)["LocationConstraint"] == "eu-west-1"
    with pytest.raises(ClientError) as again:
        s3.create_bucket(
            Bucket=other, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
    assert error_code(again) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket=other, Key="k", Body=b"x")
    with pytest.raises(ClientError) as full:
        s3.delete_bucket(Bucket=other)
    assert error_code(full) == "BucketNotEmpty"
    s3.delete_object(Bucket=other, Key="k")
    s3.delete_bucket(Bucket=other)
    with pytest.raises(ClientError) as gone:
        s3.head_bucket(Bucket=other)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as missing:
        s3.list_objects_v2(Bucket=other)
    assert error_code(missing) == "NoSuchBucket"
    with pytest.raises(ClientError) as bad:
        s3.create_bucket(Bucket="Bad_Name")
    assert error_code(bad) == "InvalidBucketName"


# -- objects --------------------------------------------------------------------------------------
def test_an_object_round_trips_with_its_metadata_tags_and_ranges(s3: Any, bucket: str) -> None:
    body = os.urandom(300_000)
    put = s3.put_object(
        Bucket=bucket,
        Key="dir/a file+é.bin",
        Body=body,
        ContentType="application/x-test",
        Metadata={"Owner": "ana"},
        Tagging="team=ops&tier=1",
        CacheControl="max-age=60",
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dir/a file+é.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"owner": "ana"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ETag"] == put["ETag"]
    assert got["TagCount"] == 2
    head = s3.head_object(Bucket=bucket, Key="dir/a file+é.bin")
    assert head["ContentLength"] == len(body)
    part = s3.get_object(Bucket=bucket, Key="dir/a file+é.bin", Range="bytes=100-199")
    assert part["Body"].read() == body[100:200]
    assert part["ContentRange"] == f"bytes 100-199/{len(body)}"
    assert (
        s3.get_object(Bucket=bucket, Key="dir/a file+é.bin", Range="bytes=-10")["Body"].read()
        == body[-10:]
    )
    with pytest.raises(ClientError) as unsatisfiable:
        s3.get_object(Bucket=bucket, Key="dir/a file+é.bin", Range=f"bytes={len(body)}-")
    assert error_code(unsatisfiable) == "InvalidRange"
    tags = s3.get_object_tagging(Bucket=bucket, Key="dir/a file+é.bin")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "ops", "tier": "1"}
    s3.put_object_tagging(
        Bucket=bucket, Key="dir/a file+é.bin", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}
    )
    assert s3.get_object_tagging(Bucket=bucket, Key="dir/a file+é.bin")["TagSet"] == [
        {"Key": "k", "Value": "v"}
    ]
    with pytest.raises(ClientError) as not_modified:
        s3.get_object(Bucket=bucket, Key="dir/a file+é.bin", IfNoneMatch=put["ETag"])
    assert not_modified.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as precondition:
        s3.get_object(Bucket=bucket, Key="dir/a file+é.bin", IfMatch='"nope"')
    assert error_code(precondition) == "PreconditionFailed"
    with pytest.raises(ClientError) as exists:
        s3.put_object(Bucket=bucket, Key="dir/a file+é.bin", Body=b"", IfNoneMatch="*")
    assert error_code(exists) == "PreconditionFailed"
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_code(missing) == "NoSuchKey"


def test_an_empty_object_and_a_bad_digest(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    with pytest.raises(ClientError) as bad:
        s3.put_object(Bucket=bucket, Key="k", Body=b"abc", ContentMD5="1B2M2Y8AsgTpgAmY7PhCfg==")
    assert error_code(bad) == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="k")  # the refused body left nothing behind


def test_copies_and_batch_deletes(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"a": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == s3.head_object(Bucket=bucket, Key="src")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="dst")["Metadata"] == {"a": "1"}
    s3.copy_object(
        Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
        Metadata={"b": "2"}, ContentType="text/plain",
    )  # fmt: skip
    replaced = s3.get_object(Bucket=bucket, Key="dst2")
    assert (replaced["Metadata"], replaced["ContentType"]) == ({"b": "2"}, "text/plain")
    with pytest.raises(ClientError) as itself:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert error_code(itself) == "InvalidRequest"
    answer = s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "src"}, {"Key": "dst"}, {"Key": "never-there"}]},
    )
    assert sorted(d["Key"] for d in answer["Deleted"]) == ["dst", "never-there", "src"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["dst2"]
    # the copy's bytes stay readable after the source is gone
    assert s3.get_object(Bucket=bucket, Key="dst2")["Body"].read() == b"payload"


def test_listings_page_with_delimiters_and_markers(s3: Any, bucket: str) -> None:
    keys = [f"photos/2024/{i:03d}.jpg" for i in range(25)] + ["photos/a.txt", "readme", "z/1"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b".")
    paginator = s3.get_paginator("list_objects_v2")
    listed = [
        o["Key"] for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 7})
        for o in page.get("Contents", [])
    ]  # fmt: skip
    assert listed == sorted(keys)
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["photos/", "z/"]
    assert [o["Key"] for o in top["Contents"]] == ["readme"]
    nested = s3.list_objects_v2(Bucket=bucket, Prefix="photos/", Delimiter="/")
    assert [p["Prefix"] for p in nested["CommonPrefixes"]] == ["photos/2024/"]
    assert [o["Key"] for o in nested["Contents"]] == ["photos/a.txt"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="photos/2024/020.jpg", MaxKeys=3)
    assert [o["Key"] for o in after["Contents"]] == [f"photos/2024/{i:03d}.jpg" for i in
                                                      (21, 22, 23)]  # fmt: skip
    assert after["IsTruncated"] is True
    v1 = [
        o["Key"]
        for page in s3.get_paginator("list_objects").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 10}
        )
        for o in page.get("Contents", [])
    ]
    assert v1 == sorted(keys)


def test_versions_and_delete_markers(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    assert v1 != v2
    deleted = s3.delete_object(Bucket=bucket, Key="doc")
    assert deleted["DeleteMarker"] is True
    with pytest.raises(ClientError) as hidden:
        s3.get_object(Bucket=bucket, Key="doc")
    assert error_code(hidden) == "NoSuchKey"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    listed = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    (marker,) = listed["DeleteMarkers"]
    assert marker["IsLatest"] is True and marker["VersionId"] == deleted["VersionId"]
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=deleted["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["VersionId"] == v1


def test_multipart_upload_file_and_download_file(s3: Any, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = os.urandom(13 * MiB)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_file(str(source), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    target = tmp_path / "back.bin"
    s3.download_file(bucket, "big.bin", str(target), Config=config)
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    second = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)
    assert second["Body"].read() == data[5 * MiB : 10 * MiB]
    assert second["PartsCount"] == 3


def test_multipart_calls_and_their_errors(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m", Metadata={"x": "y"})["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    e1 = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"a" * 10)
    e2 = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=2, Body=b"b" * 10)
    parts = s3.list_parts(Bucket=bucket, Key="m", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 10), (2, 10)]
    with pytest.raises(ClientError) as small:
        s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1["ETag"]},
                                       {"PartNumber": 2, "ETag": e2["ETag"]}]},
        )  # fmt: skip
    assert error_code(small) == "EntityTooSmall"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1["ETag"]}]},
    )  # fmt: skip
    assert done["ETag"].endswith('-1"')
    got = s3.get_object(Bucket=bucket, Key="m")
    assert (got["Body"].read(), got["Metadata"]) == (b"a" * 10, {"x": "y"})
    with pytest.raises(ClientError) as gone:
        s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=3, Body=b"c")
    assert error_code(gone) == "NoSuchUpload"
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="n")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="n", UploadId=aborted)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_presigned_url_gets_and_puts(url: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared", Body=b"hello")
    link = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "shared"})
    with urllib.request.urlopen(link, timeout=10) as answer:
        assert answer.read() == b"hello"
    put_link = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"})
    parts = urllib.parse.urlsplit(put_link)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    connection.request("PUT", f"{parts.path}?{parts.query}", body=b"uploaded")
    assert connection.getresponse().status == 200
    connection.close()
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"
    v4 = boto3.client(
        "s3", endpoint_url=url, region_name=REGION, aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET_KEY, config=Config(signature_version="s3v4"),
    )  # fmt: skip
    link = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up"})
    assert "X-Amz-Signature" in link
    with urllib.request.urlopen(link, timeout=10) as answer:
        assert answer.read() == b"uploaded"
    tampered = link.replace("up?", "shared?")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code == 403


def test_virtual_host_addressing(url: str, bucket: str, s3: Any) -> None:
    """``<bucket>.localhost`` (the name virtual-host clients use locally) reaches the bucket."""
    s3.put_object(Bucket=bucket, Key="v/key", Body=b"vh")
    port = url.rsplit(":", 1)[1]
    virtual = boto3.client(
        "s3", endpoint_url=f"http://localhost:{port}", region_name=REGION,
        aws_access_key_id=AWS_ACCESS_KEY, aws_secret_access_key=AWS_SECRET_KEY,
        config=Config(s3={"addressing_style": "virtual"}),
    )  # fmt: skip
    link = virtual.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v/key"})
    parts = urllib.parse.urlsplit(link)
    assert parts.hostname == f"{bucket}.localhost"
    connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
    connection.request("GET", f"{parts.path}?{parts.query}", headers={"Host": parts.netloc})
    answer = connection.getresponse()
    assert (answer.status, answer.read()) == (200, b"vh")
    connection.close()


def test_a_wrong_signature_is_refused(url: str, bucket: str) -> None:
    wrong = boto3.client(
        "s3", endpoint_url=url, region_name=REGION, aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET_KEY + "x", config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip
    with pytest.raises(ClientError) as refused:
        wrong.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert error_code(refused) == "SignatureDoesNotMatch"


# -- notifications --------------------------------------------------------------------------------
THUMBNAILER = """
import boto3

def handler(event, context):
    s3 = boto3.client("s3")
    for record in event["Records"]:
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"].replace("+", " ")
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        name = key.split("/", 1)[1]
        s3.put_object(Bucket=bucket, Key="thumbnails/" + name, Body=data[: len(data) // 4])
    return {"made": len(event["Records"])}
"""


def test_the_thumbnail_scenario(s3: Any, lam: Any, bucket: str, fn: str, url: str) -> None:
    """``images/*.jpg`` uploads (not ``*.txt``) invoke a zipped function that writes a
    smaller object under ``thumbnails/``, which does not trigger it again."""
    create(lam, fn, THUMBNAILER, Timeout=30)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": arn("lambda", f"function:{fn}"),
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [
                        {"Name": "prefix", "Value": "images/"}, {"Name": "suffix", "Value": ".jpg"}
                    ]}},
                }
            ]
        },
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="images/cat.jpg", Body=b"x" * 400)
    s3.put_object(Bucket=bucket, Key="images/notes.txt", Body=b"y" * 400)
    s3.put_object(Bucket=bucket, Key="images/dog.jpg", Body=b"z" * 800)

    def thumbnails() -> list[str]:
        answer = s3.list_objects_v2(Bucket=bucket, Prefix="thumbnails/")
        return [o["Key"] for o in answer.get("Contents", [])]

    wait_for(lambda: thumbnails() == ["thumbnails/cat.jpg", "thumbnails/dog.jpg"], 30)
    assert s3.head_object(Bucket=bucket, Key="thumbnails/cat.jpg")["ContentLength"] == 100
    assert s3.head_object(Bucket=bucket, Key="thumbnails/dog.jpg")["ContentLength"] == 200
    # the thumbnails are committed (with any notification they owe) before the function
    # returns, so by now every notification the bucket will ever owe exists: one per .jpg
    owed = value(families(url), "raybus_bucket_notifications_total", resource=bucket)
    assert owed == 2


@pytest.fixture
def lam(aws: Callable[[str], Any]) -> Any:
    return aws("lambda")


@pytest.fixture
def fn(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64]


def test_prefix_and_suffix_route_to_a_queue_and_a_topic(
    s3: Any, aws: Callable[[str], Any], bucket: str, name: str
) -> None:
    sqs, sns = aws("sqs"), aws("sns")
    uploads = sqs.create_queue(QueueName=f"{name}-up")["QueueUrl"]
    removals = sqs.create_queue(QueueName=f"{name}-rm")["QueueUrl"]
    topic = sns.create_topic(Name=f"{name}-t")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn("sqs", f"{name}-rm"),
                  Attributes={"RawMessageDelivery": "true"})  # fmt: skip
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": "uploads",
                    "QueueArn": arn("sqs", f"{name}-up"),
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [
                        {"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".csv"}
                    ]}},
                }
            ],
            "TopicConfigurations": [
                {"TopicArn": topic, "Events": ["s3:ObjectRemoved:*"]}
            ],
        },
    )  # fmt: skip
    (test_event,) = drain(sqs, uploads, 1)
    assert json.loads(test_event["Body"])["Event"] == "s3:TestEvent"
    s3.put_object(Bucket=bucket, Key="in/a.csv", Body=b"1,2")
    s3.put_object(Bucket=bucket, Key="in/a.txt", Body=b"no")
    s3.put_object(Bucket=bucket, Key="out/b.csv", Body=b"no")
    (created,) = drain(sqs, uploads, 1)
    (record,) = json.loads(created["Body"])["Records"]
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["object"]["key"] == "in/a.csv"
    assert record["s3"]["object"]["size"] == 3
    assert record["s3"]["configurationId"] == "uploads"
    marker = s3.delete_object(Bucket=bucket, Key="in/a.csv")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="in/a.csv", VersionId=marker)
    removed = [json.loads(m["Body"]) for m in drain(sqs, removals, 3)]
    names = sorted(r["Records"][0]["eventName"] for r in removed if "Records" in r)
    assert names == ["ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"]
    assert sqs.receive_message(QueueUrl=uploads, WaitTimeSeconds=0).get("Messages") is None


def test_notifications_to_a_missing_destination_are_refused(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": arn("sqs", "no-such-queue"), "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
    assert error_code(refused) == "InvalidArgument"
    assert (
        s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations") is None
    )


def test_a_destination_whose_policy_does_not_let_s3_send_is_refused(
    s3: Any, aws: Callable[[str], Any], bucket: str, name: str
) -> None:
    sqs = aws("sqs")
    queue_arn = arn("sqs", f"{name}-p")

    def statement(service: str) -> str:
        return json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": {"Service": service}, "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
        }]})  # fmt: skip

    url = sqs.create_queue(
        QueueName=f"{name}-p", Attributes={"Policy": statement("sns.amazonaws.com")}
    )["QueueUrl"]
    configuration = {
        "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
    }
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=configuration
        )
    assert error_code(refused) == "InvalidArgument"
    assert "Unable to validate" in refused.value.response["Error"]["Message"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": statement("s3.amazonaws.com")})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    assert json.loads(drain(sqs, url, 1)[0]["Body"])["Event"] == "s3:TestEvent"


RECORDER = """
import boto3

def handler(event, context):
    detail = event["detail"]
    boto3.client("s3").put_object(
        Bucket=detail["bucket"]["name"],
        Key="seen/" + detail["object"]["key"],
        Body=str(detail["object"]["size"]).encode(),
    )
"""


def test_events_through_the_bus_filter_on_size_and_suffix(
    s3: Any, aws: Callable[[str], Any], lam: Any, bucket: str, name: str, fn: str
) -> None:
    """EventBridgeConfiguration: a rule on ``detail.object.size`` > 1 MiB and a key suffix
    reaches a function; smaller objects and other suffixes do not."""
    events = aws("events")
    create(lam, fn, RECORDER, Timeout=30)
    rule = f"{name}-big"[:64]
    events.put_rule(
        Name=rule,
        EventPattern=json.dumps({
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [bucket]},
                "object": {"size": [{"numeric": [">", MiB]}], "key": [{"suffix": ".mov"}]},
            },
        }),
    )  # fmt: skip
    events.put_targets(Rule=rule, Targets=[{"Id": "f", "Arn": arn("lambda", f"function:{fn}")}])
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket=bucket, Key="small.mov", Body=b"s" * 1000)
    s3.put_object(Bucket=bucket, Key="big.txt", Body=b"t" * (MiB + 10))
    s3.put_object(Bucket=bucket, Key="big.mov", Body=b"m" * (MiB + 10))

    def seen() -> list[str]:
        answer = s3.list_objects_v2(Bucket=bucket, Prefix="seen/")
        return [o["Key"] for o in answer.get("Contents", [])]

    wait_for(lambda: seen() == ["seen/big.mov"], 30)
    size = s3.get_object(Bucket=bucket, Key="seen/big.mov")["Body"].read()
    assert int(size) == MiB + 10


def test_the_s3_event_on_the_bus_has_eventbridges_shape(
    s3: Any, aws: Callable[[str], Any], bucket: str, name: str
) -> None:
    sqs, events = aws("sqs"), aws("events")
    url = sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
    rule = f"{name}-all"[:64]
    events.put_rule(Name=rule, EventPattern=json.dumps(
        {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}
    ))  # fmt: skip
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn("sqs", f"{name}-q")}])
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_object(Bucket=bucket, Key="a b.txt", Body=b"12345")
    s3.delete_object(Bucket=bucket, Key="a b.txt")
    got = [json.loads(m["Body"]) for m in drain(sqs, url, 2)]
    by_type = {event["detail-type"]: event for event in got}
    created = by_type["Object Created"]
    assert created["source"] == "aws.s3"
    assert created["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert created["detail"]["object"]["key"] == "a b.txt"
    assert created["detail"]["object"]["size"] == 5
    assert created["detail"]["reason"] == "PutObject"
    deleted = by_type["Object Deleted"]
    assert deleted["detail"]["deletion-type"] == "Permanently Deleted"


def test_a_restore_completes_on_the_virtual_clock(
    s3: Any, aws: Callable[[str], Any], bucket: str, name: str, client: Client
) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}-r")["QueueUrl"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {"QueueArn": arn("sqs", f"{name}-r"), "Events": ["s3:ObjectRestore:*"]}
            ]
        },
    )
    drain(sqs, url, 1)  # the test event
    s3.put_object(Bucket=bucket, Key="cold", Body=b"frozen", StorageClass="GLACIER")
    with pytest.raises(ClientError) as archived:
        s3.get_object(Bucket=bucket, Key="cold")
    assert error_code(archived) == "InvalidObjectState"
    s3.restore_object(
        Bucket=bucket, Key="cold",
        RestoreRequest={"Days": 1, "GlacierJobParameters": {"Tier": "Expedited"}},
    )  # fmt: skip
    assert 'ongoing-request="true"' in s3.head_object(Bucket=bucket, Key="cold")["Restore"]
    (posted,) = drain(sqs, url, 1)
    assert json.loads(posted["Body"])["Records"][0]["eventName"] == "ObjectRestore:Post"
    client.advance_clock(5 * 60)
    (completed,) = drain(sqs, url, 1)
    (record,) = json.loads(completed["Body"])["Records"]
    assert record["eventName"] == "ObjectRestore:Completed"
    assert "lifecycleRestorationExpiryTime" in record["glacierEventData"]["restoreEventData"]
    assert s3.get_object(Bucket=bucket, Key="cold")["Body"].read() == b"frozen"


@pytest.fixture
def client(url: str) -> Iterator[Client]:
    with Client(url) as sdk:
        yield sdk


def test_replication_copies_new_versions_to_the_destination(s3: Any, bucket: str) -> None:
    target = f"{bucket}-replica"
    s3.create_bucket(Bucket=target)
    for name in (bucket, target):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(
        Bucket=bucket,
        ReplicationConfiguration={
            "Role": "arn:aws:iam::000000000000:role/replication",
            "Rules": [
                {
                    "ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": "docs/"},
                    "DeleteMarkerReplication": {"Status": "Enabled"},
                    "Destination": {"Bucket": f"arn:aws:s3:::{target}"},
                }
            ],
        },
    )  # fmt: skip
    version = s3.put_object(Bucket=bucket, Key="docs/a", Body=b"copy me")["VersionId"]
    s3.put_object(Bucket=bucket, Key="other/b", Body=b"stay")

    def replicated() -> bool:
        try:
            return s3.head_object(Bucket=bucket, Key="docs/a")["ReplicationStatus"] == "COMPLETED"
        except KeyError:
            return False

    wait_for(replicated, 20)
    replica = s3.get_object(Bucket=target, Key="docs/a")
    assert replica["Body"].read() == b"copy me"
    assert replica["VersionId"] == version
    assert replica["ReplicationStatus"] == "REPLICA"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=target, Key="other/b")
    with pytest.raises(ClientError) as unversioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert error_code(unversioned) == "InvalidRequest"


def test_replication_to_a_bucket_that_went_away_fails_with_its_event(
    s3: Any, aws: Callable[[str], Any], bucket: str, name: str
) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}-rf")["QueueUrl"]
    target = f"{bucket}-gone"
    s3.create_bucket(Bucket=target)
    for each in (bucket, target):
        s3.put_bucket_versioning(Bucket=each, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(
        Bucket=bucket,
        ReplicationConfiguration={
            "Role": "arn:aws:iam::000000000000:role/replication",
            "Rules": [{"ID": "r", "Priority": 1, "Status": "Enabled", "Filter": {},
                       "DeleteMarkerReplication": {"Status": "Disabled"},
                       "Destination": {"Bucket": f"arn:aws:s3:::{target}"}}],
        },
    )  # fmt: skip
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn("sqs", f"{name}-rf"), "Events": ["s3:Replication:*"]}
        ]},
    )  # fmt: skip
    drain(sqs, url, 1)  # the test event
    s3.delete_bucket(Bucket=target)
    s3.put_object(Bucket=bucket, Key="orphan", Body=b"o")
    (message,) = drain(sqs, url, 1)
    (record,) = json.loads(message["Body"])["Records"]
    assert record["eventName"] == "Replication:OperationFailedReplication"
    assert s3.head_object(Bucket=bucket, Key="orphan")["ReplicationStatus"] == "FAILED"


def test_a_part_copied_from_a_range_of_another_object(s3: Any, bucket: str) -> None:
    data = os.urandom(6 * MiB)
    s3.put_object(Bucket=bucket, Key="source", Body=data)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="assembled")["UploadId"]
    first = s3.upload_part_copy(
        Bucket=bucket, Key="assembled", UploadId=upload, PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "source"}, CopySourceRange=f"bytes=0-{5 * MiB - 1}",
    )["CopyPartResult"]  # fmt: skip
    second = s3.upload_part_copy(
        Bucket=bucket, Key="assembled", UploadId=upload, PartNumber=2,
        CopySource=f"{bucket}/source", CopySourceRange=f"bytes={5 * MiB}-{6 * MiB - 1}",
    )["CopyPartResult"]  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=bucket, Key="assembled", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": first["ETag"]},
                                   {"PartNumber": 2, "ETag": second["ETag"]}]},
    )  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="assembled")["Body"].read() == data


def test_lifecycle_and_tagging_configurations_round_trip(s3: Any, bucket: str) -> None:
    rules = [{"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
              "Expiration": {"Days": 7}}]  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["ID"] == "tmp" and got[0]["Expiration"]["Days"] == 7
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as none:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert error_code(none) == "NoSuchLifecycleConfiguration"
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "a"}]


def test_a_streamed_body_is_read_in_pieces(s3: Any, bucket: str) -> None:
    data = os.urandom(3 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "streamed")
    body = s3.get_object(Bucket=bucket, Key="streamed")["Body"]
    pieces = list(body.iter_chunks(256 * 1024))
    assert b"".join(pieces) == data and len(pieces) >= 12


def test_lifecycle_expires_objects_on_the_virtual_clock(
    s3: Any, aws: Callable[[str], Any], bucket: str, name: str, client: Client
) -> None:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{name}-lc")["QueueUrl"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn("sqs", f"{name}-lc"), "Events": ["s3:LifecycleExpiration:*"]}
        ]},
    )  # fmt: skip
    drain(sqs, url, 1)  # the test event
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={"Rules": [
            {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"},
             "Expiration": {"Days": 1}}
        ]},
    )  # fmt: skip
    s3.put_object(Bucket=bucket, Key="tmp/scratch", Body=b"s")
    s3.put_object(Bucket=bucket, Key="keep/this", Body=b"k")
    client.advance_clock(2 * 86_400)  # past the first midnight a day after the put
    (message,) = drain(sqs, url, 1)
    (record,) = json.loads(message["Body"])["Records"]
    assert (record["eventName"], record["s3"]["object"]["key"]) == (
        "LifecycleExpiration:Delete",
        "tmp/scratch",
    )
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep/this"]


def test_configurations_kept_as_documents_answer_what_was_put(s3: Any, bucket: str) -> None:
    """Policy, CORS, encryption, ownership, public access, website, logging, ACLs: stored and
    answered (not enforced), with S3's defaults and not-found errors."""
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert (
        s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"][
            "BlockPublicAcls"
        ]
        is True
    )
    for call, code in (
        (s3.get_bucket_policy, "NoSuchBucketPolicy"),
        (s3.get_bucket_cors, "NoSuchCORSConfiguration"),
        (s3.get_bucket_website, "NoSuchWebsiteConfiguration"),
        (s3.get_object_lock_configuration, "ObjectLockConfigurationNotFoundError"),
    ):
        with pytest.raises(ClientError) as missing:
            call(Bucket=bucket)
        assert error_code(missing) == code
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*"}
    ]})  # fmt: skip
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    with pytest.raises(ClientError) as malformed:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert error_code(malformed) == "MalformedPolicy"
    rules = [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 60}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules
    s3.delete_bucket_cors(Bucket=bucket)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)
    s3.put_bucket_website(
        Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
    )
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Owner"]["ID"] == acl["Owner"]["ID"]


def _as_sent_over_https(
    url: str, bucket: str, key: str, body: bytes
) -> tuple[dict[str, str], bytes]:
    """The PutObject boto3 sends over HTTPS — ``aws-chunked``, unsigned payload, a CRC32
    trailer — captured before it leaves (the signature covers the host, not the scheme)."""
    captured: list[Any] = []

    def capture(request: Any, **_: Any) -> Any:
        captured.append(request)
        raise _Captured

    port = url.rsplit(":", 1)[1]
    client = boto3.client(
        "s3", endpoint_url=f"https://127.0.0.1:{port}", region_name=REGION,
        aws_access_key_id=AWS_ACCESS_KEY, aws_secret_access_key=AWS_SECRET_KEY,
        config=Config(retries={"max_attempts": 1}),
    )  # fmt: skip
    client.meta.events.register("before-send.s3.PutObject", capture)
    with pytest.raises(_Captured):
        client.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(body))
    (request,) = captured
    raw = request.body
    sent = raw if isinstance(raw, bytes) else raw.read()
    headers = {
        name.lower(): value.decode() if isinstance(value, bytes) else value
        for name, value in request.headers.items()
        if name.lower() not in ("transfer-encoding", "expect")  # http.client frames it itself
    }
    return headers, sent


class _Captured(Exception):
    pass


def test_an_aws_chunked_upload_with_a_checksum_trailer_is_decoded(
    url: str, s3: Any, bucket: str
) -> None:
    body = os.urandom(200_000)
    headers, sent = _as_sent_over_https(url, bucket, "chunked", body)
    assert headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent != body  # framed in chunks, the checksum trailing
    port = int(url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("PUT", f"/{bucket}/chunked", body=sent, headers=headers)
    answer = connection.getresponse()
    assert answer.status == 200, answer.read()
    connection.close()
    got = s3.get_object(Bucket=bucket, Key="chunked", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert "ContentEncoding" not in got  # aws-chunked is framing, not the object's encoding
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    assert got["ChecksumCRC32"] == crc
    headers, sent = _as_sent_over_https(url, bucket, "tampered", body)
    tampered = sent[:200] + bytes(10) + sent[210:]  # inside the chunk: the CRC32 no longer holds
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("PUT", f"/{bucket}/tampered", body=tampered, headers=headers)
    answer = connection.getresponse()
    assert answer.status == 400 and b"<Code>BadDigest</Code>" in answer.read()
    connection.close()
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="tampered")


def test_expect_100_continue_is_answered_before_the_body(url: str, s3: Any, bucket: str) -> None:
    link = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "expect"})
    parts = urllib.parse.urlsplit(link)
    with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as sock:
        head = (
            f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n"
        )
        sock.sendall(head.encode())
        interim = sock.recv(1024)
        assert interim.startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"later")
        final = sock.recv(4096)
        assert final.startswith(b"HTTP/1.1 200")
    assert s3.get_object(Bucket=bucket, Key="expect")["Body"].read() == b"later"


def test_bucket_metrics_carry_s3s_names(s3: Any, bucket: str, url: str) -> None:
    s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 1000)
    s3.put_object(Bucket=bucket, Key="b", Body=b"y" * 24)
    s3.get_object(Bucket=bucket, Key="a")["Body"].read()
    s3.list_objects_v2(Bucket=bucket)
    seen = families(url)
    assert value(seen, "raybus_bucket_size_bytes", resource=bucket) == 1024
    assert value(seen, "raybus_bucket_objects", resource=bucket) == 2
    assert value(seen, "raybus_bucket_requests_total", resource=bucket, operation="put") == 2
    assert value(seen, "raybus_bucket_requests_total", resource=bucket, operation="get") == 1
    assert value(seen, "raybus_bucket_bytes_uploaded_total", resource=bucket) == 1024
    assert value(seen, "raybus_bucket_bytes_downloaded_total", resource=bucket) == 1000
    assert value(seen, "raybus_bucket_requests_total", resource=bucket, operation="list") == 1
