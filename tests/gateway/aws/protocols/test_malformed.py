"""Input a codec cannot read gets an AwsError with a stable code — never another exception:
bad JSON, JSON of the wrong type, form values of the wrong type, lone surrogates, invalid
UTF-8, unknown actions and targets, wrong content types."""

from __future__ import annotations

from typing import Any

import pytest

from raybus.gateway.aws.protocols import AwsError, WireRequest, codec_for

JSON10 = "application/x-amz-json-1.0"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def sqs_json(target: str | None, body: bytes, content_type: str = JSON10) -> WireRequest:
    headers = {"Content-Type": content_type}
    if target is not None:
        headers["X-Amz-Target"] = target
    return WireRequest("POST", "/", (), headers, body)


def form(body: bytes, content_type: str = FORM, method: str = "POST") -> WireRequest:
    return WireRequest(method, "/", (), {"Content-Type": content_type}, body)


def rest(method: str, path: str, body: bytes = b"", **query: str) -> WireRequest:
    headers = {"Content-Type": "application/json"} if body else {}
    return WireRequest(method, path, tuple(query.items()), headers, body)


# (id, service, protocol, request, code, status)
CASES: list[tuple[str, str, str | None, WireRequest, str, int]] = [
    # -- json (SQS) --------------------------------------------------------------------------
    (
        "json: body is not JSON",
        "sqs",
        None,
        sqs_json("AmazonSQS.ListQueues", b"{not json"),
        "SerializationException",
        400,
    ),
    (
        "json: body is a JSON array",
        "sqs",
        None,
        sqs_json("AmazonSQS.ListQueues", b"[]"),
        "SerializationException",
        400,
    ),
    (
        "json: body is JSON null",
        "sqs",
        None,
        sqs_json("AmazonSQS.ListQueues", b"null"),
        "SerializationException",
        400,
    ),
    (
        "json: a string member given a number",
        "sqs",
        None,
        sqs_json("AmazonSQS.GetQueueUrl", b'{"QueueName": 5}'),
        "SerializationException",
        400,
    ),
    (
        "json: an integer member given a string",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "MaxNumberOfMessages": "10"}'),
        "SerializationException",
        400,
    ),
    (
        "json: an integer member given a float",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "MaxNumberOfMessages": 1.5}'),
        "SerializationException",
        400,
    ),
    (
        "json: an integer member given a boolean",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "WaitTimeSeconds": true}'),
        "SerializationException",
        400,
    ),
    (
        "json: an integer out of 32-bit range",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "WaitTimeSeconds": 2147483648}'),
        "SerializationException",
        400,
    ),
    (
        "json: a list member given an object",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "AttributeNames": {}}'),
        "SerializationException",
        400,
    ),
    (
        "json: a map member given a list",
        "sqs",
        None,
        sqs_json("AmazonSQS.CreateQueue", b'{"QueueName": "q", "Attributes": []}'),
        "SerializationException",
        400,
    ),
    (
        "json: a null inside a list",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "AttributeNames": [null]}'),
        "SerializationException",
        400,
    ),
    (
        "json: a blob that is not base64",
        "sqs",
        None,
        sqs_json(
            "AmazonSQS.SendMessage",
            b'{"QueueUrl": "q", "MessageBody": "b", "MessageAttributes": {"a": '
            b'{"DataType": "Binary", "BinaryValue": "***"}}}',
        ),
        "SerializationException",
        400,
    ),
    (
        "json: an escaped lone surrogate",
        "sqs",
        None,
        sqs_json("AmazonSQS.SendMessage", b'{"QueueUrl": "q", "MessageBody": "\\ud800"}'),
        "SerializationException",
        400,
    ),
    (
        "json: a lone surrogate in a map key",
        "sqs",
        None,
        sqs_json("AmazonSQS.TagQueue", b'{"QueueUrl": "q", "Tags": {"\\udfff": "v"}}'),
        "SerializationException",
        400,
    ),
    (
        "json: surrogate bytes (CESU) in the body",
        "sqs",
        None,
        sqs_json("AmazonSQS.SendMessage", b'{"QueueUrl": "q", "MessageBody": "\xed\xa0\x80"}'),
        "SerializationException",
        400,
    ),
    (
        "json: invalid UTF-8",
        "sqs",
        None,
        sqs_json("AmazonSQS.SendMessage", b'{"QueueUrl": "q", "MessageBody": "\xff\xfe"}'),
        "SerializationException",
        400,
    ),
    (
        "json: NaN is not JSON",
        "sqs",
        None,
        sqs_json("AmazonSQS.ReceiveMessage", b'{"QueueUrl": "q", "WaitTimeSeconds": NaN}'),
        "SerializationException",
        400,
    ),
    (
        "json: nesting deeper than any parser goes",
        "sqs",
        None,
        sqs_json("AmazonSQS.ListQueues", b"[" * 100_000),
        "SerializationException",
        400,
    ),
    (
        "json: unknown target",
        "sqs",
        None,
        sqs_json("AmazonSQS.DescribeEverything", b"{}"),
        "UnknownOperationException",
        400,
    ),
    (
        "json: another service's target",
        "sqs",
        None,
        sqs_json("DynamoDB_20120810.ListTables", b"{}"),
        "UnknownOperationException",
        400,
    ),
    ("json: no target", "sqs", None, sqs_json(None, b"{}"), "UnknownOperationException", 400),
    (
        "json: wrong content type",
        "sqs",
        None,
        sqs_json("AmazonSQS.ListQueues", b"{}", "application/json"),
        "UnknownOperationException",
        400,
    ),
    (
        "json: no content type",
        "sqs",
        None,
        sqs_json("AmazonSQS.ListQueues", b"{}", ""),
        "UnknownOperationException",
        400,
    ),
    # -- query (SNS, legacy SQS) -------------------------------------------------------------
    ("query: no Action", "sns", None, form(b"Version=2010-03-31&TopicArn=t"), "MissingAction", 400),
    (
        "query: unknown Action",
        "sns",
        None,
        form(b"Action=Explode&Version=2010-03-31"),
        "InvalidAction",
        400,
    ),
    (
        "query: an integer parameter given text",
        "sqs",
        "query",
        form(b"Action=ReceiveMessage&QueueUrl=q&MaxNumberOfMessages=ten"),
        "InvalidParameterValue",
        400,
    ),
    (
        "query: an integer out of 32-bit range",
        "sqs",
        "query",
        form(b"Action=ReceiveMessage&QueueUrl=q&WaitTimeSeconds=99999999999"),
        "InvalidParameterValue",
        400,
    ),
    (
        "query: a boolean parameter given text",
        "sns",
        None,
        form(b"Action=Subscribe&TopicArn=t&Protocol=sqs&ReturnSubscriptionArn=yes"),
        "InvalidParameterValue",
        400,
    ),
    (
        "query: a blob that is not base64",
        "sqs",
        "query",
        form(
            b"Action=SendMessage&QueueUrl=q&MessageBody=b&MessageAttribute.1.Name=a"
            b"&MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=%2A"
        ),
        "InvalidParameterValue",
        400,
    ),
    (
        "query: a map entry without its value",
        "sns",
        None,
        form(b"Action=CreateTopic&Name=t&Attributes.entry.1.key=Policy"),
        "InvalidParameterValue",
        400,
    ),
    (
        "query: a list given a single value",
        "sqs",
        "query",
        form(b"Action=ReceiveMessage&QueueUrl=q&AttributeName=All"),
        "InvalidParameterValue",
        400,
    ),
    (
        "query: invalid UTF-8 in the body",
        "sns",
        None,
        form(b"Action=Publish&TopicArn=t&Message=\xff"),
        "MalformedQueryString",
        404,
    ),
    (
        "query: an escape of bytes that are not UTF-8",
        "sns",
        None,
        form(b"Action=Publish&TopicArn=t&Message=%ED%A0%80"),
        "MalformedQueryString",
        404,
    ),
    (
        "query: a broken percent escape",
        "sns",
        None,
        form(b"Action=Publish&TopicArn=t&Message=100%"),
        "MalformedQueryString",
        404,
    ),
    (
        "query: a lone surrogate in the decoded query string",
        "sns",
        None,
        WireRequest("GET", "/", (("Action", "Publish"), ("Message", "\udcff")), {}, b""),
        "MalformedQueryString",
        404,
    ),
    (
        "query: a JSON body is not a form",
        "sns",
        None,
        form(b'{"Action": "Publish"}', "application/json"),
        "MissingAction",
        400,
    ),
    # -- rest-json (Lambda) ------------------------------------------------------------------
    (
        "rest-json: no operation at this path",
        "lambda",
        None,
        rest("GET", "/2015-03-31/nothing-here"),
        "UnknownOperationException",
        404,
    ),
    (
        "rest-json: no operation for this method",
        "lambda",
        None,
        rest("PATCH", "/2015-03-31/functions/f"),
        "UnknownOperationException",
        404,
    ),
    (
        "rest-json: a body that is not JSON",
        "lambda",
        None,
        rest("POST", "/2015-03-31/functions", b"{oops"),
        "InvalidRequestContentException",
        400,
    ),
    (
        "rest-json: a body that is a JSON array",
        "lambda",
        None,
        rest("POST", "/2015-03-31/functions", b"[1]"),
        "InvalidRequestContentException",
        400,
    ),
    (
        "rest-json: a member of the wrong type",
        "lambda",
        None,
        rest("POST", "/2015-03-31/functions", b'{"FunctionName": "f", "Timeout": "3"}'),
        "InvalidRequestContentException",
        400,
    ),
    (
        "rest-json: an escaped lone surrogate",
        "lambda",
        None,
        rest("POST", "/2015-03-31/functions", b'{"FunctionName": "\\udc00"}'),
        "InvalidRequestContentException",
        400,
    ),
    (
        "rest-json: invalid UTF-8 in the body",
        "lambda",
        None,
        rest("POST", "/2015-03-31/functions", b'{"FunctionName": "\xc3"}'),
        "InvalidRequestContentException",
        400,
    ),
    (
        "rest-json: a query integer given text",
        "lambda",
        None,
        rest("GET", "/2015-03-31/functions", MaxItems="many"),
        "InvalidRequestContentException",
        400,
    ),
    (
        "rest-json: a URI label escaping bytes that are not UTF-8",
        "lambda",
        None,
        rest("GET", "/2015-03-31/functions/%FF"),
        "InvalidRequestContentException",
        400,
    ),
]


@pytest.mark.parametrize(
    ("service", "protocol", "request_", "code", "status"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_unreadable_input_is_an_aws_error_with_a_stable_code(
    service: str, protocol: str | None, request_: WireRequest, code: str, status: int
) -> None:
    codec = codec_for(service, protocol=protocol)

    with pytest.raises(AwsError) as caught:
        codec.parse(codec.operation(request_), request_)

    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.message


NASTY_BODIES = [
    b"",
    b" ",
    b"{",
    b"}",
    b"[]",
    b"0",
    b'"text"',
    b"\x00\x01\x02",
    b"\xff" * 10,
    b'{"a":' * 5000,
    b"{}" * 3,
    b"%",
    b"%%%41",
    b"&&&=&=",
    b"Action",
    b"Action=",
    b"a.b.c.d=1&a.b.c=2",
    b"Action=CreateQueue&QueueName=q&Attribute.1.Name=x",
    b"Action=CreateQueue&QueueName=q&Attribute.x.Name=x&Attribute.1.Value.a=1",
    b"Action=SendMessageBatch&QueueUrl=q&SendMessageBatchRequestEntry.99999999999.Id=1",
    b'{"QueueUrl": {"nested": [1, 2, {"deep": null}]}}',
    b'{"Entries": [{"Id": 1}], "QueueUrl": "q"}',
    b'{"FunctionName": "f", "Code": "not an object", "Role": "r"}',
    b'{"Environment": {"Variables": {"k": 1}}}',
    b'{"Tags": {"k": null}}',
    b'{"Layers": "one"}',
    b"\xef\xbb\xbf{}",  # a byte-order mark
]


def _requests() -> list[Any]:
    cases = []
    for i, body in enumerate(NASTY_BODIES):
        for target in ("AmazonSQS.SendMessageBatch", "AmazonSQS.CreateQueue"):
            cases.append(pytest.param("sqs", None, sqs_json(target, body), id=f"json-{i}-{target}"))
        cases.append(pytest.param("sqs", "query", form(body), id=f"query-sqs-{i}"))
        cases.append(pytest.param("sns", None, form(body, method="GET"), id=f"query-sns-{i}"))
        for method, path in (("POST", "/2015-03-31/functions"), ("PUT", "/2017-03-31/tags/x")):
            cases.append(
                pytest.param("lambda", None, rest(method, path, body), id=f"rest-{i}-{method}")
            )
    return cases


@pytest.mark.parametrize(("service", "protocol", "request_"), _requests())
def test_no_body_makes_a_codec_raise_anything_but_an_aws_error(
    service: str, protocol: str | None, request_: WireRequest
) -> None:
    codec = codec_for(service, protocol=protocol)
    try:
        params = codec.parse(codec.operation(request_), request_)
    except AwsError as error:
        assert error.code and 400 <= error.status < 500
    else:
        assert isinstance(params, dict)
