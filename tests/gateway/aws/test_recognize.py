"""Recognising AWS requests (raybus.gateway.aws.recognize), from requests real clients build.

Every operation of the SQS (JSON), SNS, STS, IAM and Lambda models is called through a real
botocore client — its serializers, its handlers, its signer — signed and unsigned (as
``aws --no-sign-request`` sends them); the request is caught before it leaves the process and
handed to the recognizer as the gateway would see it. The legacy SQS query protocol comes from
botocore's query serializer (form body, ``Version=2012-11-05``, posted to a queue URL); curl-like
requests, native paths and services the tables do not know are written by hand.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import botocore.session
import pytest
from botocore import UNSIGNED, xform_name
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from botocore.model import Shape
from botocore.serialize import create_serializer
from botocore.utils import percent_encode_sequence
from multidict import CIMultiDict

from raybus.gateway.aws.recognize import (
    DEFAULT_SERVICES,
    UNKNOWN_SERVICE,
    Recognized,
    Recognizer,
    ServiceInfo,
    default_recognizer,
    load_models,
    recognize,
)
from tests.gateway.aws.test_sigv4 import ACCESS_KEY, ENDPOINT, SECRET_KEY, Wire, wire

SESSION = botocore.session.get_session()
QUEUE_URL = f"{ENDPOINT}/123456789012/orders"

# -- requests as botocore sends them --------------------------------------------------------------


class Captured(Exception):
    """Raised by the ``before-send`` hook: the request, fully built and signed, never sent."""

    def __init__(self, request: AWSPreparedRequest) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: AWSPreparedRequest, **_: Any) -> None:
    raise Captured(request)


@functools.cache
def client(service: str, signed: bool) -> Any:
    config = Config(
        parameter_validation=False,
        inject_host_prefix=False,
        retries={"max_attempts": 0},
        **({} if signed else {"signature_version": UNSIGNED}),
    )
    made = SESSION.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=config,
    )
    made.meta.events.register("before-send", _capture)
    return made


def example(shape: Shape | None, depth: int = 0) -> Any:
    """A value of ``shape`` with every required member filled in."""
    if shape is None:
        return {}
    kind = shape.type_name
    if kind == "structure":
        if depth > 6 or getattr(shape, "is_document_type", False):
            return {}
        members: Any = shape.members
        names = list(shape.required_members)
        if getattr(shape, "is_tagged_union", False) and not names and members:
            names = [next(iter(members))]
        return {name: example(members[name], depth + 1) for name in names}
    if kind == "list":
        return [example(shape.member, depth + 1)]
    if kind == "map":
        return {"k": example(shape.value, depth + 1)}
    if kind == "string":
        enum = getattr(shape, "enum", None)
        return enum[0] if enum else "x"
    if kind in ("integer", "long"):
        return 1
    if kind in ("float", "double"):
        return 1.5
    if kind == "boolean":
        return True
    if kind == "blob":
        return b"x"
    if kind == "timestamp":
        return datetime(2024, 1, 1, tzinfo=timezone.utc)
    raise AssertionError(f"no example for a {kind}")


def sent(service: str, operation: str, *, signed: bool) -> Wire:
    """What botocore sends for ``operation`` (with its required parameters), as the gateway
    sees it."""
    made = client(service, signed)
    params = example(made.meta.service_model.operation_model(operation).input_shape)
    try:
        getattr(made, xform_name(operation))(**params)
    except Captured as captured:
        return wire(captured.request)
    raise AssertionError("the request was not captured")


def legacy_sqs(operation: str, *, signed: bool) -> Wire:
    """An SQS call in the query protocol of botocore < 1.34.90: a form posted to a queue URL."""
    model = SESSION.get_service_model("sqs").operation_model(operation)
    serialized = create_serializer("query").serialize_to_request(example(model.input_shape), model)
    request = AWSRequest(
        method=serialized["method"],
        url=QUEUE_URL,
        headers=serialized["headers"],
        data=percent_encode_sequence(serialized["body"]).encode("ascii"),
    )
    if signed:
        SigV4Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), "sqs", "us-east-1").add_auth(request)
    return wire(request)


def by_hand(
    method: str,
    path: str,
    *,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
) -> Wire:
    return Wire(method, path, tuple(query), CIMultiDict(headers), body)


def sigv4_header(service: str) -> tuple[str, str]:
    return (
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=0123",
    )


# -- every operation of the models --------------------------------------------------------------

PROTOCOLS = {"sqs": "json", "sns": "query", "sts": "query", "iam": "query", "lambda": "rest-json"}
OPERATIONS = [
    (service, operation, signed)
    for service in PROTOCOLS
    for operation in SESSION.get_service_model(service).operation_names
    for signed in (True, False)
]


@pytest.mark.parametrize(
    ("service", "operation", "signed"),
    OPERATIONS,
    ids=[f"{s} {o} {'signed' if g else 'unsigned'}" for s, o, g in OPERATIONS],
)
def test_every_operation_botocore_sends_is_recognised(
    service: str, operation: str, signed: bool
) -> None:
    request = sent(service, operation, signed=signed)
    unauthenticated = SESSION.get_service_model(service).operation_model(operation).auth_type
    # botocore signs every call of a signed client but the few whose model says noAuth
    # (STS AssumeRoleWithSAML, AssumeRoleWithWebIdentity).
    assert ("authorization" in request.headers) is (signed and unauthenticated != "none")
    assert recognize(request) == Recognized(service, PROTOCOLS[service])


LEGACY = [
    (operation, signed)
    for operation in SESSION.get_service_model("sqs").operation_names
    for signed in (True, False)
]


@pytest.mark.parametrize(
    ("operation", "signed"),
    LEGACY,
    ids=[f"{o} {'signed' if g else 'unsigned'}" for o, g in LEGACY],
)
def test_every_sqs_operation_in_the_legacy_query_protocol_is_recognised(
    operation: str, signed: bool
) -> None:
    request = legacy_sqs(operation, signed=signed)
    assert request.path == "/123456789012/orders"
    assert f"Action={operation}&Version=2012-11-05".encode() in request.body
    assert recognize(request) == Recognized("sqs", "query")


@pytest.mark.parametrize(
    ("service", "operation", "protocol"),
    [
        ("events", "ListRules", "json"),
        ("kinesis", "ListStreams", "json"),
        ("firehose", "ListDeliveryStreams", "json"),
        ("s3", "ListBuckets", "rest-xml"),
        ("s3", "PutObject", "rest-xml"),
    ],
)
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_the_planned_services_are_recognised_too(
    service: str, operation: str, protocol: str, signed: bool
) -> None:
    request = sent(service, operation, signed=signed)
    expected: Recognized | None = Recognized(service, protocol)
    if service == "s3" and not signed:
        expected = None  # S3's paths are all bucket names: see below
    assert recognize(request) == expected


def test_an_unsigned_s3_request_is_not_recognised_for_its_paths_are_all_bucket_names() -> None:
    assert recognize(sent("s3", "GetObject", signed=False)) is None
    assert recognize(by_hand("GET", "/bucket/key", headers=[("Authorization", "AWS AK:sig")])) == (
        Recognized("s3", "rest-xml")
    )


# -- the native API -------------------------------------------------------------------------------

NATIVE = {
    "a queue route": by_hand("POST", "/v1/queues/orders/receive", body=b"{}"),
    "the bare version prefix": by_hand("GET", "/v1"),
    "health": by_hand("GET", "/healthz"),
    "metrics": by_hand("GET", "/metrics"),
    "the OpenAPI document": by_hand("GET", "/openapi.json"),
    "a native route with a bearer token": by_hand(
        "GET", "/v1/topics", headers=[("Authorization", "Bearer secret")]
    ),
    "a native route signed with SigV4": by_hand("GET", "/v1/queues", headers=[sigv4_header("sqs")]),
    "a native route with an X-Amz-Target": by_hand(
        "POST", "/v1/queues", headers=[("X-Amz-Target", "AmazonSQS.ListQueues")]
    ),
    "a native route with an Action query": by_hand(
        "GET", "/v1/queues", query=[("Action", "ListQueues"), ("Version", "2012-11-05")]
    ),
    "a native route with a form body": by_hand(
        "POST",
        "/v1/functions",
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=b"Action=Publish",
    ),
    "the root, unsigned, with nothing AWS about it": by_hand("GET", "/"),
    "an unknown path": by_hand("GET", "/favicon.ico"),
    "a JSON post to an unknown path": by_hand(
        "POST", "/api/things", headers=[("Content-Type", "application/json")], body=b"{}"
    ),
}


@pytest.mark.parametrize("request_", NATIVE.values(), ids=NATIVE.keys())
def test_native_requests_are_left_to_the_native_api(request_: Wire) -> None:
    assert recognize(request_) is None


# -- requests written by hand, as curl sends them -------------------------------------------------

FORM = ("Content-Type", "application/x-www-form-urlencoded")  # curl -d's default
CURL = {
    "an SQS JSON call with its target": (
        by_hand(
            "POST",
            "/",
            headers=[
                ("X-Amz-Target", "AmazonSQS.ListQueues"),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            body=b"{}",
        ),
        Recognized("sqs", "json"),
    ),
    "an SQS query GET": (
        by_hand("GET", "/", query=[("Action", "ListQueues"), ("Version", "2012-11-05")]),
        Recognized("sqs", "query"),
    ),
    "an SQS query GET to a queue URL without a Version": (
        by_hand("GET", "/123456789012/orders", query=[("Action", "ReceiveMessage")]),
        Recognized("sqs", "query"),
    ),
    "an SQS form without a Version": (
        by_hand("POST", "/", headers=[FORM], body=b"Action=CreateQueue&QueueName=q"),
        Recognized("sqs", "query"),
    ),
    "an SNS publish form": (
        by_hand("POST", "/", headers=[FORM], body=b"Action=Publish&TopicArn=a&Message=hi"),
        Recognized("sns", "query"),
    ),
    "an STS form with its Version": (
        by_hand("POST", "/", headers=[FORM], body=b"Version=2011-06-15&Action=GetCallerIdentity"),
        Recognized("sts", "query"),
    ),
    "an IAM query GET": (
        by_hand("GET", "/", query=[("Action", "ListUsers"), ("Version", "2010-05-08")]),
        Recognized("iam", "query"),
    ),
    "a form whose Action is in the query string": (
        by_hand("POST", "/", query=[("Action", "Publish")], headers=[FORM], body=b"Message=x"),
        Recognized("sns", "query"),
    ),
    "an SQS AddPermission (SNS has one too) posted to a queue URL": (
        by_hand("POST", "/123456789012/q", headers=[FORM], body=b"Action=AddPermission&Label=l"),
        Recognized("sqs", "query"),
    ),
    "an SNS AddPermission named by its Version": (
        by_hand("POST", "/", headers=[FORM], body=b"Action=AddPermission&Version=2010-03-31"),
        Recognized("sns", "query"),
    ),
    "an unknown action of a known Version": (
        by_hand("GET", "/", query=[("Action", "NoSuchThing"), ("Version", "2010-03-31")]),
        Recognized("sns", "query"),
    ),
    "a Lambda list": (by_hand("GET", "/2015-03-31/functions"), Recognized("lambda", "rest-json")),
    "a Lambda list with a trailing slash": (
        by_hand("GET", "/2015-03-31/functions/"),
        Recognized("lambda", "rest-json"),
    ),
    "a Lambda invoke posted with curl's form content type": (
        by_hand("POST", "/2015-03-31/functions/f/invocations", headers=[FORM], body=b"{}"),
        Recognized("lambda", "rest-json"),
    ),
    "a Lambda tagging call": (
        by_hand("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af"),
        Recognized("lambda", "rest-json"),
    ),
    "an event-invoke-config call": (
        by_hand("GET", "/2019-09-25/functions/f/event-invoke-config"),
        Recognized("lambda", "rest-json"),
    ),
    "an unknown operation under a Lambda API version": (
        by_hand("GET", "/2015-03-31/no-such-thing"),
        Recognized("lambda", "rest-json"),
    ),
    "an EventBridge call (JSON 1.1)": (
        by_hand(
            "POST",
            "/",
            headers=[
                ("X-Amz-Target", "AWSEvents.PutEvents"),
                ("Content-Type", "application/x-amz-json-1.1"),
            ],
        ),
        Recognized("events", "json"),
    ),
}


@pytest.mark.parametrize(("request_", "expected"), CURL.values(), ids=CURL.keys())
def test_curl_like_requests_are_recognised_without_a_signature(
    request_: Wire, expected: Recognized
) -> None:
    assert recognize(request_) == expected


# -- the protocol of a service that accepts two ---------------------------------------------------

SQS_SHAPES = {
    "a target": (
        by_hand("POST", "/", headers=[sigv4_header("sqs"), ("X-Amz-Target", "AmazonSQS.X")]),
        "json",
    ),
    "a JSON content type": (
        by_hand(
            "POST",
            "/",
            headers=[sigv4_header("sqs"), ("Content-Type", "application/x-amz-json-1.0")],
        ),
        "json",
    ),
    "a form body": (
        by_hand("POST", "/1/q", headers=[sigv4_header("sqs"), FORM], body=b"Action=X"),
        "query",
    ),
    "an Action in the query": (
        by_hand("GET", "/", query=[("Action", "ListQueues")], headers=[sigv4_header("sqs")]),
        "query",
    ),
    "nothing (the model's protocol)": (by_hand("GET", "/", headers=[sigv4_header("sqs")]), "json"),
}


@pytest.mark.parametrize(("request_", "protocol"), SQS_SHAPES.values(), ids=SQS_SHAPES.keys())
def test_a_signed_sqs_request_speaks_the_protocol_its_shape_shows(
    request_: Wire, protocol: str
) -> None:
    assert recognize(request_) == Recognized("sqs", protocol)


def test_a_single_protocol_service_keeps_its_models_protocol_whatever_the_shape() -> None:
    request = by_hand(
        "POST",
        "/",
        headers=[sigv4_header("sns"), ("Content-Type", "application/x-amz-json-1.0")],
    )
    assert recognize(request) == Recognized("sns", "query")


def test_the_credential_scope_wins_over_the_target_and_the_path() -> None:
    request = by_hand(
        "POST",
        "/2015-03-31/functions",
        headers=[sigv4_header("sns"), ("X-Amz-Target", "AmazonSQS.ListQueues")],
    )
    assert recognize(request) == Recognized("sns", "query")


def test_a_presigned_url_is_recognised_by_its_credential() -> None:
    request = by_hand(
        "GET",
        "/",
        query=[
            ("Action", "GetCallerIdentity"),
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{ACCESS_KEY}/20240101/us-east-1/sts/aws4_request"),
        ],
    )
    assert recognize(request) == Recognized("sts", "query")


# -- services the tables do not know --------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "signed", "expected"),
    [
        ("dynamodb", "ListTables", True, Recognized("dynamodb", "json")),
        ("dynamodb", "ListTables", False, Recognized(UNKNOWN_SERVICE, "json")),
        ("cloudwatch", "ListDashboards", True, Recognized("monitoring", "json")),
        ("ec2", "DescribeRegions", True, Recognized("ec2", "query")),
        ("ec2", "DescribeRegions", False, Recognized(UNKNOWN_SERVICE, "query")),
        ("kms", "ListKeys", False, Recognized(UNKNOWN_SERVICE, "json")),
    ],
    ids=[
        "a signed DynamoDB call by its signing name",
        "an unsigned DynamoDB call by its unknown target",
        "a signed CloudWatch call by its signing name",
        "a signed EC2 call by its signing name",
        "an unsigned EC2 call by its unknown Version",
        "an unsigned KMS call by its unknown target",
    ],
)
def test_an_unsupported_service_is_still_recognised_as_aws(
    service: str, operation: str, signed: bool, expected: Recognized
) -> None:
    assert recognize(sent(service, operation, signed=signed)) == expected


def test_a_smithy_rpc_v2_cbor_request_of_an_unknown_service_keeps_its_protocol() -> None:
    request = by_hand(
        "POST",
        "/service/GraniteServiceVersion20100801/operation/ListDashboards",
        headers=[sigv4_header("monitoring"), ("smithy-protocol", "rpc-v2-cbor")],
    )
    assert recognize(request) == Recognized("monitoring", "smithy-rpc-v2-cbor")


def test_a_sigv4_header_whose_scope_cannot_be_read_is_still_aws() -> None:
    request = by_hand("GET", "/", headers=[("Authorization", "AWS4-HMAC-SHA256 Credential=x")])
    assert recognize(request) == Recognized(UNKNOWN_SERVICE, "rest-json")


# -- the tables -----------------------------------------------------------------------------------


def test_the_default_tables_are_built_once() -> None:
    assert default_recognizer() is default_recognizer()
    assert set(default_recognizer().services) == set(DEFAULT_SERVICES)


def test_the_service_list_is_configurable() -> None:
    only_sqs = Recognizer.from_botocore(["sqs"])
    publish = by_hand("POST", "/", headers=[FORM], body=b"Action=Publish&Version=2010-03-31")
    assert only_sqs.recognize(publish) == Recognized(UNKNOWN_SERVICE, "query")
    assert only_sqs.recognize(by_hand("GET", "/2015-03-31/functions")) is None
    signed_sns = by_hand("POST", "/", headers=[sigv4_header("sns"), FORM], body=b"Action=X")
    assert only_sqs.recognize(signed_sns) == Recognized("sns", "query")  # its signing name


def test_services_sharing_a_signing_name_are_told_apart_by_their_paths() -> None:
    gateways = Recognizer.from_botocore(["apigateway", "apigatewayv2"])
    v1 = by_hand("GET", "/restapis", headers=[sigv4_header("apigateway")])
    v2 = by_hand("GET", "/v2/apis", headers=[sigv4_header("apigateway")])
    assert gateways.recognize(v1) == Recognized("apigateway", "rest-json")
    assert gateways.recognize(v2) == Recognized("apigatewayv2", "rest-json")


def test_service_facts_come_from_the_models() -> None:
    models = load_models(["sqs", "lambda", "sts"])
    sqs = ServiceInfo.from_model("sqs", models["sqs"])
    assert sqs.protocols == ("json", "query")  # awsQueryCompatible
    assert (sqs.signing_name, sqs.target_prefix, sqs.api_version) == (
        "sqs",
        "AmazonSQS",
        "2012-11-05",
    )
    lambda_ = ServiceInfo.from_model("lambda", models["lambda"])
    assert lambda_.protocols == ("rest-json",)
    assert {("2015-03-31", "functions"), ("2017-03-31", "tags"), ("2019-09-25", "functions")} <= (
        set(lambda_.path_prefixes)
    )
    sts = ServiceInfo.from_model("sts", models["sts"])
    assert (sts.protocols, sts.path_prefixes, sts.target_prefix) == (("query",), (), None)
