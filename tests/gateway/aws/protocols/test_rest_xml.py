"""S3's rest-xml wire, beyond the generic round trips: which operation a path-style request
names (with and without ``x-id``), keys as S3 spells them, located members, bodies the codec
refuses (``MalformedXML``, ``InvalidArgument``), the documents it writes (root names,
namespace, timestamps), streaming payloads, errors, and a real boto3 client end to end."""

from __future__ import annotations

import copy
import functools
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any, cast
from urllib.parse import quote

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.loaders import Loader
from botocore.model import ServiceModel

from raybus.gateway.aws.protocols import AwsError, WireRequest, codec_for, modeled_error
from raybus.gateway.aws.protocols.rest_xml import MALFORMED_XML, S3_NAMESPACE, RestXmlCodec
from tests.gateway.aws.protocols.peer import (
    REQUEST_ID,
    client,
    parse_response,
    serialize_request,
)

S3 = cast(RestXmlCodec, codec_for("s3"))
PATH_STYLE = Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required")
WHEN = datetime(2009, 10, 12, 17, 50, 30, 123456, tzinfo=timezone.utc)


def req(
    method: str,
    path: str,
    *query: tuple[str, str],
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> WireRequest:
    return WireRequest(method, path, tuple(query), headers or {}, body)


def op(name: str, codec: Any = S3) -> Any:
    return codec.service.operation_model(name)


def parsed_as_sent(codec: Any, name: str, request: WireRequest) -> dict[str, Any]:
    """What the codec parses, less a ``ContentLength`` member the HTTP layer's own header
    fills (checked to be the body's length)."""
    params: dict[str, Any] = codec.parse(op(name, codec), request)
    if "ContentLength" in params:
        assert params.pop("ContentLength") == len(request.body)
    return params


# -- which operation ------------------------------------------------------------------------

COPY = {"x-amz-copy-source": "src/key"}
# (request, operation): requests as the aws CLI, minio and curl send them (no x-id)
MATCHING: list[tuple[WireRequest, str]] = [
    (req("GET", "/"), "ListBuckets"),
    (req("GET", "/", ("max-buckets", "10")), "ListBuckets"),
    (req("GET", "/", ("max-directory-buckets", "5")), "ListDirectoryBuckets"),
    (req("GET", "/bucket"), "ListObjects"),
    (req("GET", "/bucket/"), "ListObjects"),
    (req("GET", "/bucket", ("prefix", "a/"), ("delimiter", "/")), "ListObjects"),
    (req("GET", "/bucket", ("list-type", "2")), "ListObjectsV2"),
    (req("GET", "/bucket", ("list-type", "2"), ("prefix", "a")), "ListObjectsV2"),
    (req("GET", "/bucket", ("versions", "")), "ListObjectVersions"),
    (req("GET", "/bucket", ("uploads", "")), "ListMultipartUploads"),
    (req("GET", "/bucket", ("location", "")), "GetBucketLocation"),
    (req("GET", "/bucket", ("acl", "")), "GetBucketAcl"),
    (req("GET", "/bucket", ("cors", "")), "GetBucketCors"),
    (req("GET", "/bucket", ("tagging", "")), "GetBucketTagging"),
    (req("GET", "/bucket", ("versioning", "")), "GetBucketVersioning"),
    (req("GET", "/bucket", ("notification", "")), "GetBucketNotificationConfiguration"),
    (req("GET", "/bucket", ("lifecycle", "")), "GetBucketLifecycleConfiguration"),
    (req("GET", "/bucket", ("replication", "")), "GetBucketReplication"),
    (req("GET", "/bucket", ("policy", "")), "GetBucketPolicy"),
    (req("GET", "/bucket", ("analytics", "")), "ListBucketAnalyticsConfigurations"),
    (req("GET", "/bucket", ("analytics", ""), ("id", "a")), "GetBucketAnalyticsConfiguration"),
    (req("PUT", "/bucket"), "CreateBucket"),
    (req("PUT", "/bucket/"), "CreateBucket"),
    (req("PUT", "/bucket", ("tagging", "")), "PutBucketTagging"),
    (req("PUT", "/bucket", ("versioning", "")), "PutBucketVersioning"),
    (req("PUT", "/bucket", ("notification", "")), "PutBucketNotificationConfiguration"),
    (req("PUT", "/bucket", ("lifecycle", "")), "PutBucketLifecycleConfiguration"),
    (req("PUT", "/bucket", ("replication", "")), "PutBucketReplication"),
    (req("PUT", "/bucket", ("acl", "")), "PutBucketAcl"),
    (req("PUT", "/bucket", ("cors", "")), "PutBucketCors"),
    (req("DELETE", "/bucket"), "DeleteBucket"),
    (req("DELETE", "/bucket", ("tagging", "")), "DeleteBucketTagging"),
    (req("HEAD", "/bucket"), "HeadBucket"),
    (req("POST", "/bucket", ("delete", "")), "DeleteObjects"),
    (req("GET", "/bucket/key"), "GetObject"),
    (req("GET", "/bucket/key", ("versionId", "v"), ("partNumber", "1")), "GetObject"),
    (req("GET", "/bucket/key", ("uploadId", "u")), "ListParts"),
    (req("GET", "/bucket/key", ("acl", "")), "GetObjectAcl"),
    (req("GET", "/bucket/key", ("tagging", "")), "GetObjectTagging"),
    (req("GET", "/bucket/key", ("attributes", "")), "GetObjectAttributes"),
    (req("HEAD", "/bucket/key"), "HeadObject"),
    (req("PUT", "/bucket/key"), "PutObject"),
    (req("PUT", "/bucket/key", headers={"Content-Type": "text/plain"}), "PutObject"),
    (req("PUT", "/bucket/key", headers=COPY), "CopyObject"),
    (req("PUT", "/bucket/key", ("partNumber", "1"), ("uploadId", "u")), "UploadPart"),
    (
        req("PUT", "/bucket/key", ("partNumber", "1"), ("uploadId", "u"), headers=COPY),
        "UploadPartCopy",
    ),
    (req("PUT", "/bucket/key", ("tagging", "")), "PutObjectTagging"),
    (req("PUT", "/bucket/key", ("acl", "")), "PutObjectAcl"),
    (req("POST", "/bucket/key", ("uploads", "")), "CreateMultipartUpload"),
    (req("POST", "/bucket/key", ("uploadId", "u")), "CompleteMultipartUpload"),
    (req("POST", "/bucket/key", ("restore", "")), "RestoreObject"),
    (req("DELETE", "/bucket/key"), "DeleteObject"),
    (req("DELETE", "/bucket/key", ("versionId", "v")), "DeleteObject"),
    (req("DELETE", "/bucket/key", ("uploadId", "u")), "AbortMultipartUpload"),
    (req("DELETE", "/bucket/key", ("tagging", "")), "DeleteObjectTagging"),
    (req("PUT", "/bucket/a/b/c.txt", headers=COPY), "CopyObject"),
    (req("PUT", "/bucket/dir/"), "PutObject"),
]


def _id(value: Any) -> str | None:
    if isinstance(value, WireRequest):
        query = "&".join(f"{k}={v}" if v else k for k, v in value.query)
        return f"{value.method} {value.path}{'?' + query if query else ''}" + (
            " +copy-source" if "x-amz-copy-source" in value.headers else ""
        )
    return None


@pytest.mark.parametrize(("request_", "name"), MATCHING, ids=_id)
def test_a_request_without_x_id_names_its_operation_as_s3_does(
    request_: WireRequest, name: str
) -> None:
    assert S3.operation(request_).name == name


@pytest.mark.parametrize(
    ("request_", "name"),
    [
        (req("PUT", "/bucket/key", ("x-id", "PutObject")), "PutObject"),
        (req("PUT", "/bucket/key", ("x-id", "CopyObject"), headers=COPY), "CopyObject"),
        (req("GET", "/bucket/key", ("uploadId", "u"), ("x-id", "ListParts")), "ListParts"),
        (req("GET", "/", ("x-id", "ListDirectoryBuckets")), "ListDirectoryBuckets"),
        (req("GET", "/", ("x-id", "ListBuckets")), "ListBuckets"),
        # x-id names an operation the method and path allow: it settles a tie...
        (req("PUT", "/bucket/key", ("x-id", "PutObject"), headers=COPY), "PutObject"),
        # ...but never overrides a literal query part
        (req("GET", "/bucket/key", ("tagging", ""), ("x-id", "GetObject")), "GetObjectTagging"),
        (req("GET", "/bucket/key", ("x-id", "NoSuchOperation")), "GetObject"),
    ],
    ids=_id,
)
def test_a_request_with_x_id_names_that_operation(request_: WireRequest, name: str) -> None:
    assert S3.operation(request_).name == name


# Operations whose templates carry x-id in Smithy's S3 model (and may in botocore's one day).
X_ID_TEMPLATES = {
    "AbortMultipartUpload": "/{Bucket}/{Key+}?x-id=AbortMultipartUpload",
    "CompleteMultipartUpload": "/{Bucket}/{Key+}",
    "CopyObject": "/{Bucket}/{Key+}?x-id=CopyObject",
    "DeleteObject": "/{Bucket}/{Key+}?x-id=DeleteObject",
    "DeleteObjects": "/{Bucket}?delete&x-id=DeleteObjects",
    "GetObject": "/{Bucket}/{Key+}?x-id=GetObject",
    "ListBuckets": "/?x-id=ListBuckets",
    "ListDirectoryBuckets": "/?x-id=ListDirectoryBuckets",
    "ListParts": "/{Bucket}/{Key+}?x-id=ListParts",
    "PutObject": "/{Bucket}/{Key+}?x-id=PutObject",
    "UploadPart": "/{Bucket}/{Key+}?x-id=UploadPart",
    "UploadPartCopy": "/{Bucket}/{Key+}?x-id=UploadPartCopy",
}


@functools.cache
def _x_id_codec() -> RestXmlCodec:
    loader = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH])
    description = copy.deepcopy(loader.load_service_model("s3", "service-2"))
    for name, uri in X_ID_TEMPLATES.items():
        description["operations"][name]["http"]["requestUri"] = uri
    return RestXmlCodec(ServiceModel(description, service_name="s3"))


@pytest.mark.parametrize(("request_", "name"), MATCHING, ids=_id)
def test_templates_with_x_id_still_match_requests_without_it(
    request_: WireRequest, name: str
) -> None:
    assert _x_id_codec().operation(request_).name == name


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("PutObject", {"Bucket": "b", "Key": "k", "Body": b"data"}),
        ("CopyObject", {"Bucket": "b", "Key": "k", "CopySource": "src/k"}),
        (
            "UploadPartCopy",
            {"Bucket": "b", "Key": "k", "CopySource": "s/k", "PartNumber": 2, "UploadId": "u"},
        ),
        ("UploadPart", {"Bucket": "b", "Key": "k", "PartNumber": 2, "UploadId": "u"}),
        ("GetObject", {"Bucket": "b", "Key": "k"}),
        ("ListParts", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
        ("DeleteObject", {"Bucket": "b", "Key": "k"}),
        ("AbortMultipartUpload", {"Bucket": "b", "Key": "k", "UploadId": "u"}),
        ("ListDirectoryBuckets", {}),
        ("ListBuckets", {}),
        ("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "k"}]}}),
    ],
)
def test_a_request_serialized_from_a_model_with_x_id_names_and_parses_its_operation(
    name: str, params: dict[str, Any]
) -> None:
    codec = _x_id_codec()
    request = serialize_request(op(name, codec), params)
    if "x-id" in X_ID_TEMPLATES[name]:
        assert ("x-id", name) in request.query

    assert codec.operation(request).name == name
    assert parsed_as_sent(codec, name, request) == params


def test_a_path_no_operation_answers_is_method_not_allowed_with_allow() -> None:
    request = req("POST", "/bucket")
    with pytest.raises(AwsError) as caught:
        S3.operation(request)

    error = caught.value
    assert (error.code, error.status) == ("MethodNotAllowed", 405)
    assert error.headers["Allow"] == "DELETE, GET, HEAD, PUT"
    assert error.fields == {"Method": "POST", "ResourceType": "BUCKET"}
    parsed = parse_response(op("ListObjects"), S3.error(error, REQUEST_ID))
    assert parsed["Error"]["Code"] == "MethodNotAllowed"
    assert parsed["Error"]["ResourceType"] == "BUCKET"


# -- keys -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/b/a%2Fb", "a/b"),
        ("/b/a/b", "a/b"),
        ("/b/a//c/", "a//c/"),
        ("/b//lead", "/lead"),
        ("/b/dir/", "dir/"),
        ("/b/with%20space", "with space"),
        ("/b/plus+sign", "plus+sign"),
        ("/b/%E6%97%A5%E6%9C%AC/%D0%BA%D0%BB%D1%8E%D1%87", "日本/ключ"),
        ("/b/%25literal%2520", "%literal%20"),
        ("/b/q%3Fh%23", "q?h#"),
    ],
)
def test_a_key_is_the_percent_decoded_rest_of_the_path_slashes_kept(path: str, key: str) -> None:
    request = req("GET", path)
    operation = S3.operation(request)
    assert operation.name == "GetObject"
    assert S3.parse(operation, request) == {"Bucket": "b", "Key": key}


@pytest.mark.parametrize(
    "key",
    ["a/b", "a//c/", "dir/", "with space", "日本語/ключ", "%2F", "+plus", "?q#h&a=b", "~t", "é\té"],
)
def test_a_key_botocore_sends_comes_back_exactly(key: str) -> None:
    request = serialize_request(op("PutObject"), {"Bucket": "bucket", "Key": key})
    assert S3.operation(request).name == "PutObject"
    assert parsed_as_sent(S3, "PutObject", request) == {"Bucket": "bucket", "Key": key}


def test_a_label_escaping_bytes_that_are_not_utf8_is_an_invalid_argument() -> None:
    with pytest.raises(AwsError) as caught:
        S3.parse(op("GetObject"), req("GET", "/b/%FF"))
    assert (caught.value.code, caught.value.status) == ("InvalidArgument", 400)


# -- located members --------------------------------------------------------------------------


def test_headers_become_members_metadata_keys_lower_cased_as_s3_stores_them() -> None:
    request = req(
        "PUT",
        "/b/k",
        headers={
            "Content-Length": "5",
            "Content-Type": "text/plain",
            "Expires": "Wed, 21 Oct 2015 07:28:00 GMT",
            "X-Amz-Meta-Color": "red",
            "x-amz-meta-Mixed-Case": "Value Kept",
            "x-amz-object-lock-retain-until-date": "2030-01-02T03:04:05.000Z",
            "x-amz-server-side-encryption-bucket-key-enabled": "true",
        },
    )
    assert S3.parse(op("PutObject"), request) == {
        "Bucket": "b",
        "Key": "k",
        "ContentLength": 5,
        "ContentType": "text/plain",
        "Expires": datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc),
        "Metadata": {"color": "red", "mixed-case": "Value Kept"},
        "ObjectLockRetainUntilDate": datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "BucketKeyEnabled": True,
    }


def test_conditional_headers_and_query_members_of_a_get() -> None:
    request = req(
        "GET",
        "/b/k",
        ("versionId", "v1"),
        ("partNumber", "3"),
        ("response-content-type", "text/html"),
        headers={"If-Modified-Since": "Mon, 12 Oct 2009 17:50:30 GMT", "Range": "bytes=0-9"},
    )
    assert S3.parse(op("GetObject"), request) == {
        "Bucket": "b",
        "Key": "k",
        "VersionId": "v1",
        "PartNumber": 3,
        "ResponseContentType": "text/html",
        "IfModifiedSince": datetime(2009, 10, 12, 17, 50, 30, tzinfo=timezone.utc),
        "Range": "bytes=0-9",
    }


@pytest.mark.parametrize(
    ("request_", "operation", "argument"),
    [
        (req("GET", "/b", ("max-keys", "ten")), "ListObjects", "max-keys"),
        (req("GET", "/b", ("max-keys", "99999999999")), "ListObjects", "max-keys"),
        (
            req("GET", "/b/k", headers={"If-Modified-Since": "yesterday"}),
            "GetObject",
            "If-Modified-Since",
        ),
        (
            req("PUT", "/b", headers={"x-amz-bucket-object-lock-enabled": "maybe"}),
            "CreateBucket",
            "x-amz-bucket-object-lock-enabled",
        ),
        (req("PUT", "/b/k", headers={"Content-Length": "-x"}), "PutObject", "Content-Length"),
    ],
)
def test_a_located_value_that_does_not_fit_is_an_invalid_argument_naming_it(
    request_: WireRequest, operation: str, argument: str
) -> None:
    with pytest.raises(AwsError) as caught:
        S3.parse(op(operation), request_)

    error = caught.value
    assert (error.code, error.status) == ("InvalidArgument", 400)
    assert error.fields["ArgumentName"] == argument
    parsed = parse_response(op(operation), S3.error(error, REQUEST_ID))
    assert parsed["Error"]["ArgumentName"] == argument


# -- request bodies ---------------------------------------------------------------------------

DELETE = op("DeleteObjects")


def post_delete(body: bytes) -> WireRequest:
    return req("POST", "/b", ("delete", ""), body=body)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="'
            + S3_NAMESPACE.encode()
            + b'">\n  <Object>\n    <Key>a</Key>\n  </Object>\n  <Object><Key>b</Key>'
            b"<VersionId>v</VersionId></Object>\n  <Quiet>true</Quiet>\n</Delete>\n",
            {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "v"}], "Quiet": True},
        ),
        (
            b'<s3:Delete xmlns:s3="' + S3_NAMESPACE.encode() + b'"><s3:Object><s3:Key>k</s3:Key>'
            b"</s3:Object></s3:Delete>",
            {"Objects": [{"Key": "k"}]},
        ),
        (
            b"<Delete><Object><Key><![CDATA[a<b]]>&amp;c&#xD;&#xA;</Key></Object></Delete>",
            {"Objects": [{"Key": "a<b&c\r\n"}]},
        ),
        (
            b"<Delete><Object><Key> spaced </Key><Unknown>x</Unknown></Object><Extra/></Delete>",
            {"Objects": [{"Key": " spaced "}]},
        ),
        (b"<Delete/>", {}),
    ],
    ids=["pretty-printed", "prefixed namespace", "cdata and references", "unknown", "empty"],
)
def test_a_payload_document_is_read_by_local_names(body: bytes, expected: dict[str, Any]) -> None:
    assert S3.parse(DELETE, post_delete(body)) == {"Bucket": "b", "Delete": expected}


def test_an_xml_attribute_member_is_read_from_its_attribute() -> None:
    body = (
        b'<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/'
        b'2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/'
        b"AllUsers</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList>"
        b"<Owner><ID>o</ID></Owner></AccessControlPolicy>"
    )
    params = S3.parse(op("PutBucketAcl"), req("PUT", "/b", ("acl", ""), body=body))
    assert params["AccessControlPolicy"] == {
        "Grants": [
            {
                "Grantee": {
                    "Type": "Group",
                    "URI": "http://acs.amazonaws.com/groups/global/AllUsers",
                },
                "Permission": "READ",
            }
        ],
        "Owner": {"ID": "o"},
    }


def test_an_empty_body_leaves_an_optional_payload_out() -> None:
    for body in (b"", b"  \n"):
        assert S3.parse(op("CreateBucket"), req("PUT", "/b", body=body)) == {"Bucket": "b"}
    body = (
        b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
        b"</CreateBucketConfiguration>"
    )
    assert S3.parse(op("CreateBucket"), req("PUT", "/b", body=body)) == {
        "Bucket": "b",
        "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"},
    }


def test_a_streaming_payload_is_left_out_when_the_front_streams_the_body() -> None:
    headers = {"Content-Length": "11", "Content-Type": "text/plain"}
    request = req("PUT", "/b/k", headers=headers)  # the front keeps the body to stream it
    operation = S3.operation(request)
    assert operation.has_streaming_input

    assert S3.parse(operation, request) == {
        "Bucket": "b",
        "Key": "k",
        "ContentLength": 11,
        "ContentType": "text/plain",
    }
    whole = req("PUT", "/b/k", headers=headers, body=b"hello world")
    assert S3.parse(operation, whole)["Body"] == b"hello world"


def test_a_policy_payload_is_the_bodys_text() -> None:
    request = req("PUT", "/b", ("policy", ""), body=b'{"Version": "2012-10-17"}')
    assert S3.parse(op("PutBucketPolicy"), request)["Policy"] == '{"Version": "2012-10-17"}'


_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<Delete><Object><Key>&lol3;</Key></Object></Delete>"
)
_XXE = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<Delete><Object><Key>&xxe;</Key></Object></Delete>"
)
_DEEP = b"<Delete>" + b"<Extra>" * 100 + b"</Extra>" * 100 + b"</Delete>"

# (id, operation, request)
MALFORMED: list[tuple[str, str, WireRequest]] = [
    ("unclosed", "DeleteObjects", post_delete(b"<Delete><Object><Key>k</Key></Object>")),
    ("not xml", "DeleteObjects", post_delete(b"hello")),
    ("json", "DeleteObjects", post_delete(b'{"Objects": []}')),
    ("entity expansion", "DeleteObjects", post_delete(_LAUGHS)),
    ("external entity", "DeleteObjects", post_delete(_XXE)),
    ("any doctype", "DeleteObjects", post_delete(b"<!DOCTYPE Delete><Delete/>")),
    ("undefined entity", "DeleteObjects", post_delete(b"<Delete><Quiet>&x;</Quiet></Delete>")),
    ("invalid utf-8", "DeleteObjects", post_delete(b"<Delete><Object><Key>\xff</Key></Object>")),
    ("a NUL reference", "DeleteObjects", post_delete(b"<Delete><Quiet>&#0;</Quiet></Delete>")),
    ("two roots", "DeleteObjects", post_delete(b"<Delete/><Delete/>")),
    ("wrong root", "DeleteObjects", post_delete(b"<Remove><Object><Key>k</Key></Object></Remove>")),
    ("text for a structure", "DeleteObjects", post_delete(b"<Delete><Object>k</Object></Delete>")),
    (
        "elements in a scalar",
        "DeleteObjects",
        post_delete(b"<Delete><Object><Key><Part>k</Part></Key></Object></Delete>"),
    ),
    (
        "a repeated scalar",
        "DeleteObjects",
        post_delete(b"<Delete><Quiet>true</Quiet><Quiet>false</Quiet></Delete>"),
    ),
    ("not a boolean", "DeleteObjects", post_delete(b"<Delete><Quiet>yes</Quiet></Delete>")),
    ("nested too deep", "DeleteObjects", post_delete(_DEEP)),
    (
        "not an integer",
        "CompleteMultipartUpload",
        req(
            "POST",
            "/b/k",
            ("uploadId", "u"),
            body=b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber></Part>"
            b"</CompleteMultipartUpload>",
        ),
    ),
    (
        "an integer out of range",
        "CompleteMultipartUpload",
        req(
            "POST",
            "/b/k",
            ("uploadId", "u"),
            body=b"<CompleteMultipartUpload><Part><PartNumber>99999999999</PartNumber></Part>"
            b"</CompleteMultipartUpload>",
        ),
    ),
    (
        "a parts list given text",
        "CompleteMultipartUpload",
        req(
            "POST",
            "/b/k",
            ("uploadId", "u"),
            body=b"<CompleteMultipartUpload>1,2</CompleteMultipartUpload>",
        ),
    ),
    (
        "not a timestamp",
        "PutObjectRetention",
        req(
            "PUT",
            "/b/k",
            ("retention", ""),
            body=b"<Retention><RetainUntilDate>soon</RetainUntilDate></Retention>",
        ),
    ),
    ("no body for a required payload", "PutBucketVersioning", req("PUT", "/b", ("versioning", ""))),
    (
        "a payload inside another root",
        "PutBucketVersioning",
        req(
            "PUT",
            "/b",
            ("versioning", ""),
            body=b"<Wrapper><VersioningConfiguration/></Wrapper>",
        ),
    ),
]


@pytest.mark.parametrize(
    ("operation", "request_"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_a_body_that_is_not_the_operations_xml_is_malformed_xml(
    operation: str, request_: WireRequest
) -> None:
    model = op(operation)
    assert S3.operation(request_).name == operation

    with pytest.raises(AwsError) as caught:
        S3.parse(model, request_)

    error = caught.value
    assert (error.code, error.status, error.message) == ("MalformedXML", 400, MALFORMED_XML)
    parsed = parse_response(model, S3.error(error, REQUEST_ID))
    assert parsed["Error"] == {"Code": "MalformedXML", "Message": MALFORMED_XML}


# -- answers ------------------------------------------------------------------------------------

# (operation, output, root element)
ROOTS: list[tuple[str, dict[str, Any], str]] = [
    ("ListObjects", {"Name": "b", "Contents": [{"Key": "k"}]}, "ListBucketResult"),
    ("ListObjectsV2", {"Name": "b", "KeyCount": 0}, "ListBucketResult"),
    ("ListBuckets", {"Buckets": [{"Name": "b"}]}, "ListAllMyBucketsResult"),
    ("ListObjectVersions", {"Name": "b"}, "ListVersionsResult"),
    ("ListMultipartUploads", {"Bucket": "b"}, "ListMultipartUploadsResult"),
    ("ListParts", {"Bucket": "b"}, "ListPartsResult"),
    ("CreateMultipartUpload", {"Bucket": "b", "UploadId": "u"}, "InitiateMultipartUploadResult"),
    ("CompleteMultipartUpload", {"Bucket": "b", "ETag": '"e"'}, "CompleteMultipartUploadResult"),
    ("DeleteObjects", {"Deleted": [{"Key": "k"}]}, "DeleteResult"),
    ("CopyObject", {"CopyObjectResult": {"ETag": '"e"'}}, "CopyObjectResult"),
    ("UploadPartCopy", {"CopyPartResult": {"ETag": '"e"'}}, "CopyPartResult"),
    ("GetObjectTagging", {"TagSet": [{"Key": "a", "Value": "b"}]}, "Tagging"),
    ("GetBucketTagging", {"TagSet": []}, "Tagging"),
    ("GetBucketVersioning", {"Status": "Enabled"}, "VersioningConfiguration"),
    ("GetBucketNotificationConfiguration", {}, "NotificationConfiguration"),
    ("GetBucketLifecycleConfiguration", {"Rules": []}, "LifecycleConfiguration"),
    ("GetBucketAcl", {"Owner": {"ID": "o"}}, "AccessControlPolicy"),
    ("GetBucketCors", {"CORSRules": []}, "CORSConfiguration"),
    (
        "GetBucketEncryption",
        {"ServerSideEncryptionConfiguration": {"Rules": []}},
        "ServerSideEncryptionConfiguration",
    ),
    ("GetObjectLegalHold", {"LegalHold": {"Status": "ON"}}, "LegalHold"),
    ("GetObjectAttributes", {"ETag": "e"}, "GetObjectAttributesResponse"),
    ("GetBucketLocation", {"LocationConstraint": "eu-west-1"}, "LocationConstraint"),
    ("CreateSession", {"Credentials": {"AccessKeyId": "a"}}, "CreateSessionResult"),
]


@pytest.mark.parametrize(("name", "output", "root"), ROOTS, ids=[case[0] for case in ROOTS])
def test_an_answer_is_a_document_rooted_where_clients_look_in_s3s_namespace(
    name: str, output: dict[str, Any], root: str
) -> None:
    response = S3.serialize(op(name), output, REQUEST_ID)

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/xml"
    assert response.body.startswith(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{S3_NAMESPACE}"'.encode()
    )
    assert response.body.endswith(f"</{root}>".encode())


def test_timestamps_are_milliseconds_in_xml_and_rfc822_in_headers() -> None:
    output = {"Contents": [{"Key": "k", "LastModified": WHEN}], "Name": "b"}
    body = S3.serialize(op("ListObjects"), output, REQUEST_ID).body
    assert b"<LastModified>2009-10-12T17:50:30.123Z</LastModified>" in body

    head = S3.serialize(op("HeadObject"), {"LastModified": WHEN, "ContentLength": 3}, REQUEST_ID)
    assert head.headers["Last-Modified"] == "Mon, 12 Oct 2009 17:50:30 GMT"


def test_a_head_answer_has_headers_and_no_body() -> None:
    output = {
        "ContentLength": 1234,
        "ContentType": "image/png",
        "ETag": '"abc"',
        "Metadata": {"color": "red"},
        "DeleteMarker": False,
    }
    response = S3.serialize(op("HeadObject"), output, REQUEST_ID)

    assert (response.status, response.body, response.stream) == (200, b"", None)
    assert response.headers["Content-Length"] == "1234"
    assert response.headers["x-amz-meta-color"] == "red"
    assert response.headers["x-amz-delete-marker"] == "false"
    assert parse_response(op("HeadObject"), response) | {"ResponseMetadata": None} == {
        **output,
        "ResponseMetadata": None,
    }


def test_delete_object_answers_204_without_a_body() -> None:
    response = S3.serialize(op("DeleteObject"), {"VersionId": "v"}, REQUEST_ID)
    assert (response.status, response.body) == (204, b"")
    assert response.headers["x-amz-version-id"] == "v"


def test_get_bucket_location_is_the_roots_text_and_empty_for_us_east_1() -> None:
    located = S3.serialize(op("GetBucketLocation"), {"LocationConstraint": "eu-west-1"}, "r")
    assert located.body.endswith(
        f'<LocationConstraint xmlns="{S3_NAMESPACE}">eu-west-1</LocationConstraint>'.encode()
    )
    empty = S3.serialize(op("GetBucketLocation"), {}, "r")
    assert empty.body.endswith(f'<LocationConstraint xmlns="{S3_NAMESPACE}"/>'.encode())


async def _chunks() -> AsyncIterator[bytes]:
    yield b"hello "
    yield b"world"


def test_a_streaming_payload_that_is_not_bytes_goes_to_the_stream_untouched() -> None:
    chunks = _chunks()
    output = {"Body": chunks, "ContentLength": 11, "ContentType": "text/plain"}
    response = S3.serialize(op("GetObject"), output, REQUEST_ID)

    assert response.stream is chunks
    assert response.body == b""
    assert response.headers["Content-Length"] == "11"
    assert response.headers["Content-Type"] == "text/plain"
    parsed = parse_response(op("GetObject"), response)
    assert parsed["Body"].read() == b"hello world"


def test_bytes_and_text_payloads_are_the_body() -> None:
    got = S3.serialize(op("GetObject"), {"Body": b"raw", "ContentLength": 3}, REQUEST_ID)
    assert (got.body, got.stream) == (b"raw", None)
    policy = S3.serialize(op("GetBucketPolicy"), {"Policy": '{"é": 1}'}, REQUEST_ID)
    assert policy.body == '{"é": 1}'.encode()
    assert "Content-Type" not in policy.headers


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("ListObjects", {"Nope": 1}),
        ("ListObjects", {"MaxKeys": "ten"}),
        ("HeadObject", {"ContentType": "text/plain\r\nX-Injected: 1"}),
        ("HeadObject", {"Metadata": {"bad key": "v"}}),
        ("GetBucketPolicy", {"Policy": 42}),  # not a streaming payload: text or bytes only
        ("DeleteBucket", {"Unexpected": True}),
    ],
)
def test_an_output_that_does_not_fit_is_an_internal_failure(
    name: str, output: dict[str, Any]
) -> None:
    with pytest.raises(AwsError) as caught:
        S3.serialize(op(name), output, REQUEST_ID)
    assert (caught.value.code, caught.value.status) == ("InternalFailure", 500)


# -- errors ---------------------------------------------------------------------------------------


def test_an_error_is_s3s_document_with_its_fields_request_id_and_host_id() -> None:
    error = AwsError(
        "NoSuchKey",
        "The specified key does not exist.",
        status=404,
        fields={"Key": "a<b", "BucketName": "b"},
    )
    response = S3.error(error, REQUEST_ID)

    host_id = response.headers["x-amz-id-2"]
    assert response.status == 404
    assert response.headers["Content-Type"] == "application/xml"
    assert response.headers["x-amz-request-id"] == REQUEST_ID
    assert response.body.decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
        "<Message>The specified key does not exist.</Message><Key>a&lt;b</Key>"
        f"<BucketName>b</BucketName><RequestId>{REQUEST_ID}</RequestId>"
        f"<HostId>{host_id}</HostId></Error>"
    )
    parsed = parse_response(op("GetObject"), response)
    assert parsed["Error"] == {
        "Code": "NoSuchKey",
        "Message": "The specified key does not exist.",
        "Key": "a<b",
        "BucketName": "b",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert parsed["ResponseMetadata"]["HostId"] == host_id


def test_a_modeled_errors_members_are_written_by_their_shape() -> None:
    error = modeled_error("s3", "InvalidObjectState", "not restored", StorageClass="GLACIER")
    response = S3.error(error, REQUEST_ID)
    assert response.status == 403
    assert parse_response(op("GetObject"), response)["Error"] == {
        "Code": "InvalidObjectState",
        "Message": "not restored",
        "StorageClass": "GLACIER",
    }


def test_a_head_requests_error_has_no_body_and_botocore_reports_the_status() -> None:
    error = AwsError("NoSuchKey", "The specified key does not exist.", status=404)
    response = S3.error(error, REQUEST_ID, head=True)

    assert (response.status, response.body) == (404, b"")
    parsed = parse_response(op("HeadObject"), response)
    assert parsed["Error"]["Code"] == "404"
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_error_never_raises_on_fields_it_cannot_write() -> None:
    error = AwsError(
        "InvalidArgument",
        "bad \ud800 and \x00",
        fields={"bad name": 1, "Ok": True, "When": WHEN, "Nested": {"a": object()}, "Code": "x"},
    )
    response = S3.error(error, REQUEST_ID)
    assert response.status == 400
    parsed = parse_response(op("GetObject"), response)
    assert parsed["Error"]["Code"] == "InvalidArgument"
    assert parsed["Error"]["Ok"] == "true"


# -- a real client ------------------------------------------------------------------------------


class Service:
    """Plays S3 for a boto3 client: records what the codec parsed, answers from a table."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, operation: Any, params: dict[str, Any]) -> Any:
        self.calls.append((operation.name, params))
        found = self.answers.get(operation.name, {})
        if isinstance(found, AwsError):
            raise found
        return found() if callable(found) else found


def s3_client(service: Service) -> Any:
    return client("s3", S3, service, config=PATH_STYLE)


def test_boto3_puts_gets_and_lists_objects_through_the_codec() -> None:
    service = Service(
        {
            "PutObject": {"ETag": '"5d41402abc4b2a76b9719d911017c592"'},
            "GetObject": lambda: {
                "Body": _chunks(),
                "ContentLength": 11,
                "LastModified": WHEN.replace(microsecond=0),
                "Metadata": {"color": "red"},
            },
            "ListObjectsV2": {
                "Name": "b",
                "EncodingType": "url",
                "KeyCount": 1,
                "IsTruncated": False,
                "Contents": [{"Key": quote("dir/a b+é"), "Size": 11, "LastModified": WHEN}],
            },
        }
    )
    s3 = s3_client(service)

    put = s3.put_object(Bucket="b", Key="dir/a b+é", Body=b"hello", Metadata={"Color": "red"})
    got = s3.get_object(Bucket="b", Key="dir/a b+é")
    listed = s3.list_objects_v2(Bucket="b", Prefix="dir/")

    assert put["ETag"] == '"5d41402abc4b2a76b9719d911017c592"'
    name, params = service.calls[0]
    assert name == "PutObject"
    assert params["Key"] == "dir/a b+é"
    assert params["Body"] == b"hello"
    assert params["Metadata"] == {"color": "red"}
    assert got["Body"].read() == b"hello world"
    assert got["Metadata"] == {"color": "red"}
    assert got["LastModified"] == WHEN.replace(microsecond=0)
    assert service.calls[2][1] == {"Bucket": "b", "Prefix": "dir/", "EncodingType": "url"}
    assert [item["Key"] for item in listed["Contents"]] == ["dir/a b+é"]  # botocore decoded it


def test_boto3_multipart_copy_and_delete_flows_name_their_operations() -> None:
    service = Service(
        {
            "CreateMultipartUpload": {"Bucket": "b", "Key": "k", "UploadId": "up-1"},
            "UploadPart": {"ETag": '"p1"'},
            "CompleteMultipartUpload": {"Bucket": "b", "Key": "k", "ETag": '"all-1"'},
            "CopyObject": {"CopyObjectResult": {"ETag": '"c"', "LastModified": WHEN}},
            "DeleteObjects": {"Deleted": [{"Key": "a\nb"}], "Errors": []},
        }
    )
    s3 = s3_client(service)

    upload = s3.create_multipart_upload(Bucket="b", Key="k")
    part = s3.upload_part(Bucket="b", Key="k", PartNumber=1, UploadId="up-1", Body=b"x" * 10)
    done = s3.complete_multipart_upload(
        Bucket="b",
        Key="k",
        UploadId="up-1",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    copied = s3.copy_object(
        Bucket="b", Key="k2", CopySource={"Bucket": "src", "Key": "a b/ü", "VersionId": "v1"}
    )
    deleted = s3.delete_objects(Bucket="b", Delete={"Objects": [{"Key": "a\nb"}], "Quiet": False})

    assert [name for name, _ in service.calls] == [
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "CopyObject",
        "DeleteObjects",
    ]
    assert upload["UploadId"] == "up-1"
    assert service.calls[2][1]["MultipartUpload"] == {"Parts": [{"PartNumber": 1, "ETag": '"p1"'}]}
    assert done["ETag"] == '"all-1"'
    # botocore percent-encodes the copy source; S3 (the service) decodes it
    assert service.calls[3][1]["CopySource"] == "src/a%20b/%C3%BC?versionId=v1"
    assert copied["CopyObjectResult"]["LastModified"] == WHEN.replace(microsecond=123000)
    assert service.calls[4][1]["Delete"] == {"Objects": [{"Key": "a\nb"}], "Quiet": False}
    assert deleted["Deleted"] == [{"Key": "a\nb"}]


def test_boto3_reads_the_bucket_location_through_its_handler() -> None:
    for answer, expected in (({"LocationConstraint": "eu-west-1"}, "eu-west-1"), ({}, None)):
        s3 = s3_client(Service({"GetBucketLocation": answer}))
        assert s3.get_bucket_location(Bucket="b")["LocationConstraint"] == expected


def test_boto3_raises_s3s_errors_and_a_bare_404_for_head() -> None:
    missing = modeled_error("s3", "NoSuchKey", "The specified key does not exist.", Key="k")
    s3 = s3_client(Service({"GetObject": missing, "HeadObject": missing}))

    with pytest.raises(s3.exceptions.NoSuchKey) as caught:
        s3.get_object(Bucket="b", Key="k")
    assert caught.value.response["Error"]["Key"] == "k"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket="b", Key="k")
    assert head.value.response["Error"]["Code"] == "404"


def test_aws_chunked_framing_is_left_to_the_front() -> None:
    """With its default checksums botocore sends a body as ``aws-chunked`` with a trailing
    checksum; decoding that framing is the front's (it streams the body), so the codec hands
    the body over as it came, with the ``Content-Encoding`` the client sent."""
    service = Service({"PutObject": {}})
    s3 = client("s3", S3, service, config=Config(s3={"addressing_style": "path"}))

    s3.put_object(Bucket="b", Key="k", Body=b"hello")

    params = service.calls[0][1]
    assert params["ContentEncoding"] == "aws-chunked"
    assert params["Body"].startswith(b"5\r\nhello\r\n0\r\n")
