"""Errors as botocore reads them: the code, message, type and status it reports, and the
exception class a real client raises, for every protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from raybus.gateway.aws.protocols import AwsError, codec_for, modeled_error
from raybus.gateway.aws.protocols.models import LEGACY_MODELS
from tests.gateway.aws.protocols.peer import (
    REQUEST_ID,
    client,
    legacy_sqs_models,
    parse_response,
)

DATA = Path(__file__).resolve().parents[4] / "gateway/raybus/gateway/aws/protocols/data"

# (service, protocol, operation, error, expected botocore Error dict, status)
CASES: list[tuple[str, str | None, str, AwsError, dict[str, Any], int]] = [
    (
        "sqs",
        None,
        "GetQueueUrl",
        modeled_error("sqs", "QueueDoesNotExist", "The specified queue does not exist."),
        {
            "Code": "AWS.SimpleQueueService.NonExistentQueue",
            "QueryErrorCode": "QueueDoesNotExist",
            "Type": "Sender",
            "Message": "The specified queue does not exist.",
        },
        400,
    ),
    (
        "sqs",
        None,
        "CreateQueue",
        modeled_error("sqs", "QueueNameExists", "A queue already exists with that name."),
        {
            "Code": "QueueAlreadyExists",
            "QueryErrorCode": "QueueNameExists",
            "Type": "Sender",
            "Message": "A queue already exists with that name.",
        },
        400,
    ),
    (
        "sqs",
        None,
        "SendMessage",
        AwsError("InvalidParameterValue", "Value for parameter DelaySeconds is invalid."),
        {
            "Code": "InvalidParameterValue",
            "QueryErrorCode": "InvalidParameterValue",
            "Type": "Sender",
            "Message": "Value for parameter DelaySeconds is invalid.",
        },
        400,
    ),
    (
        "sqs",
        None,
        "ListQueues",
        AwsError("InternalError", "We encountered an internal error.", status=500),
        {
            "Code": "InternalError",
            "QueryErrorCode": "InternalError",
            "Type": "Receiver",
            "Message": "We encountered an internal error.",
        },
        500,
    ),
    (
        "sqs",
        "query",
        "GetQueueUrl",
        modeled_error("sqs", "QueueDoesNotExist", "The specified queue does not exist."),
        {
            "Code": "AWS.SimpleQueueService.NonExistentQueue",
            "Type": "Sender",
            "Message": "The specified queue does not exist.",
        },
        400,
    ),
    (
        "sqs",
        "query",
        "PurgeQueue",
        modeled_error("sqs", "PurgeQueueInProgress", "Only one PurgeQueue every 60 seconds."),
        {
            "Code": "AWS.SimpleQueueService.PurgeQueueInProgress",
            "Type": "Sender",
            "Message": "Only one PurgeQueue every 60 seconds.",
        },
        403,
    ),
    (
        "sns",
        None,
        "Publish",
        modeled_error("sns", "NotFoundException", "Topic does not exist"),
        {"Code": "NotFound", "Type": "Sender", "Message": "Topic does not exist"},
        404,
    ),
    (
        "sns",
        None,
        "CreateTopic",
        AwsError("InternalFailure", "boom <&>", status=500),
        {"Code": "InternalFailure", "Type": "Receiver", "Message": "boom <&>"},
        500,
    ),
    (
        "sts",
        None,
        "AssumeRole",
        modeled_error("sts", "ExpiredTokenException", "The security token has expired."),
        {
            "Code": "ExpiredTokenException",
            "Type": "Sender",
            "Message": "The security token has expired.",
        },
        400,
    ),
    (
        "iam",
        None,
        "GetRole",
        modeled_error("iam", "NoSuchEntityException", "The role with name x cannot be found."),
        {
            "Code": "NoSuchEntity",
            "Type": "Sender",
            "Message": "The role with name x cannot be found.",
        },
        404,
    ),
    (
        "lambda",
        None,
        "GetFunction",
        modeled_error("lambda", "ResourceNotFoundException", "Function not found: f"),
        {"Code": "ResourceNotFoundException", "Message": "Function not found: f"},
        404,
    ),
    (
        "lambda",
        None,
        "Invoke",
        modeled_error("lambda", "ServiceException", "Lambda failed"),
        {"Code": "ServiceException", "Message": "Lambda failed"},
        500,
    ),
    (
        "s3",
        None,
        "GetObject",
        modeled_error("s3", "NoSuchKey", "The specified key does not exist.", Key="a/b"),
        {"Code": "NoSuchKey", "Message": "The specified key does not exist.", "Key": "a/b"},
        404,
    ),
    (
        "s3",
        None,
        "ListObjects",
        AwsError(
            "NoSuchBucket",
            "The specified bucket does not exist",
            status=404,
            fields={"BucketName": "b"},
        ),
        {
            "Code": "NoSuchBucket",
            "Message": "The specified bucket does not exist",
            "BucketName": "b",
        },
        404,
    ),
    (
        "s3",
        None,
        "PutObject",
        AwsError("InternalError", "We encountered an internal error. <&>", status=500),
        {"Code": "InternalError", "Message": "We encountered an internal error. <&>"},
        500,
    ),
]


def _id(case: tuple[Any, ...]) -> str:
    service, protocol, operation, error, _, _ = case
    return f"{service}{'-' + protocol if protocol else ''}.{operation}.{error.code}"


@pytest.mark.parametrize(
    ("service", "protocol", "operation", "error", "expected", "status"),
    CASES,
    ids=[_id(case) for case in CASES],
)
def test_botocore_reads_the_code_message_type_and_status_aws_would_send(
    service: str,
    protocol: str | None,
    operation: str,
    error: AwsError,
    expected: dict[str, Any],
    status: int,
) -> None:
    codec = codec_for(service, protocol=protocol)
    model = codec.service.operation_model(operation)

    response = codec.error(error, REQUEST_ID)
    parsed = parse_response(model, response)

    assert response.status == status
    assert parsed["Error"] == expected
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == status


def test_sqs_json_errors_carry_the_shape_name_and_the_query_code_as_aws_documents() -> None:
    codec = codec_for("sqs")
    error = modeled_error("sqs", "QueueDoesNotExist", "The specified queue does not exist.")

    response = codec.error(error, REQUEST_ID)

    assert (
        response.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert response.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert response.body == (
        b'{"__type":"com.amazonaws.sqs#QueueDoesNotExist",'
        b'"message":"The specified queue does not exist."}'
    )


def test_protocol_level_json_errors_are_in_corals_namespace() -> None:
    response = codec_for("sqs").error(AwsError("SerializationException", "bad"), REQUEST_ID)
    assert response.body.startswith(b'{"__type":"com.amazon.coral.service#SerializationException"')


def _raise(error: AwsError) -> Any:
    def answer(operation: Any, params: dict[str, Any]) -> Any:
        raise error

    return answer


def test_a_boto3_client_raises_queue_does_not_exist_with_the_query_compatible_code() -> None:
    error = modeled_error("sqs", "QueueDoesNotExist", "The specified queue does not exist.")
    sqs = client("sqs", codec_for("sqs"), _raise(error))

    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="missing")

    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert caught.value.response["Error"]["Type"] == "Sender"


def test_a_client_on_the_legacy_query_model_raises_queue_does_not_exist_too(
    tmp_path: Path,
) -> None:
    models = legacy_sqs_models(tmp_path, DATA / LEGACY_MODELS[("sqs", "query")])
    error = modeled_error("sqs", "QueueDoesNotExist", "The specified queue does not exist.")
    sqs = client("sqs", codec_for("sqs", protocol="query"), _raise(error), models=models)
    assert sqs.meta.service_model.protocol == "query"

    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as caught:
        sqs.get_queue_url(QueueName="missing")

    assert caught.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_a_client_raises_snss_modeled_exception_from_its_query_code() -> None:
    error = modeled_error("sns", "NotFoundException", "Topic does not exist")
    sns = client("sns", codec_for("sns"), _raise(error))

    with pytest.raises(sns.exceptions.NotFoundException) as caught:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:missing", Message="hi")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_head_request_gets_no_error_body_from_the_rest_codecs() -> None:
    error = AwsError("NotFound", "Not Found", status=404)
    for service in ("lambda", "s3"):
        codec: Any = codec_for(service)
        response = codec.error(error, REQUEST_ID, head=True)
        assert (response.status, response.body) == (404, b"")


def test_a_client_raises_lambdas_modeled_exception_with_its_fields_and_headers() -> None:
    error = modeled_error(
        "lambda",
        "TooManyRequestsException",
        "Rate exceeded",
        Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
        retryAfterSeconds="3",
    )
    lam = client("lambda", codec_for("lambda"), _raise(error))

    with pytest.raises(lam.exceptions.TooManyRequestsException) as caught:
        lam.invoke(FunctionName="f", Payload=b"{}")

    response = caught.value.response
    assert response["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["Type"] == "User"
    assert response["retryAfterSeconds"] == "3"
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "3"


def test_an_unmodeled_code_reaches_the_client_as_a_client_error_with_that_code() -> None:
    lam = client("lambda", codec_for("lambda"), _raise(AwsError("ValidationException", "bad")))

    with pytest.raises(ClientError) as caught:
        lam.get_function(FunctionName="f")

    assert caught.value.response["Error"] == {"Code": "ValidationException", "Message": "bad"}


def test_extra_headers_of_an_error_are_sent() -> None:
    error = AwsError("RequestThrottled", "slow down", headers={"Retry-After": "1"})
    for service in ("sqs", "sns", "lambda", "s3"):
        assert codec_for(service).error(error, REQUEST_ID).headers["Retry-After"] == "1"


def test_an_error_survives_pickling_as_it_crosses_ray() -> None:
    import pickle

    error = modeled_error("sqs", "QueueDoesNotExist", "gone")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message, copy.status, copy.query_code, copy.fault) == (
        "QueueDoesNotExist",
        "gone",
        400,
        "AWS.SimpleQueueService.NonExistentQueue",
        "Sender",
    )


def test_error_never_raises_even_on_text_xml_and_json_cannot_carry() -> None:
    error = AwsError("InvalidParameterValue", "bad \ud800 and \x00 text")
    services = (("sqs", None), ("sqs", "query"), ("sns", None), ("lambda", None), ("s3", None))
    for service, protocol in services:
        response = codec_for(service, protocol=protocol).error(error, REQUEST_ID)
        assert response.status == 400
