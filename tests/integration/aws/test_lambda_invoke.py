"""Lambda's Invoke through unmodified boto3: the three invocation types, Lambda's function
errors and log tail, handlers loaded from their zip as Lambda's Python runtime loads them, and
handlers that call AWS themselves (boto3 in the handler reaches raybus unchanged)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.integration.aws.conftest import ACCOUNT, REGION
from tests.integration.aws.test_lambda_functions import create, status, zip_of
from tests.integration.conftest import AWS_ACCESS_KEY

FAILS = "def handler(event, context):\n    raise ValueError('cannot handle ' + str(event))\n"
ENVIRONMENT = """
import os

def handler(event, context):
    names = ["STAGE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_ENDPOINT_URL",
             "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_EXECUTION_ENV",
             "_HANDLER", "LAMBDA_TASK_ROOT"]
    return {name: os.environ.get(name) for name in names}
"""
SENDS = """
import boto3

sqs = boto3.client("sqs")  # at import, as handlers do: the environment is set by then

def handler(event, context):
    sent = sqs.send_message(QueueUrl=event["queue"], MessageBody=event["body"])
    return {"sent": sent["MessageId"], "request": context.aws_request_id}
"""


@pytest.fixture
def lam(aws: Any) -> Any:
    return aws("lambda")


@pytest.fixture
def fn(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64]


def payload(response: dict[str, Any]) -> Any:
    return json.loads(response["Payload"].read())


def test_request_response_answers_the_handlers_result(lam: Any, fn: str) -> None:
    create(lam, fn)
    response = lam.invoke(FunctionName=fn, Payload=json.dumps({"order": 7}))
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response and "LogResult" not in response
    assert payload(response) == {"echo": {"order": 7}}
    assert payload(lam.invoke(FunctionName=fn)) == {"echo": {}}  # no payload: an empty event


def test_a_handler_error_is_a_200_with_the_function_error(lam: Any, fn: str) -> None:
    create(lam, fn, FAILS)
    response = lam.invoke(FunctionName=fn, Payload=b'"x"')
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert list(error) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "cannot handle x")
    assert isinstance(error["requestId"], str) and error["requestId"]
    assert any("app.py" in frame for frame in error["stackTrace"])


def test_log_type_tail_returns_the_end_of_the_invocations_log(lam: Any, fn: str) -> None:
    create(lam, fn, "def handler(event, context):\n    print('processing', event)\n    return 1\n")
    response = lam.invoke(FunctionName=fn, Payload=b"42", LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    lines = log.splitlines()
    assert lines[0].startswith("START RequestId: ") and lines[0].endswith(" Version: $LATEST")
    assert "processing 42" in lines
    assert any(line.startswith("END RequestId: ") for line in lines)
    assert lines[-1].startswith("REPORT RequestId: ") and "Duration: " in lines[-1]
    failing = fn[:58] + "-fails"
    create(lam, failing, FAILS)
    failed = lam.invoke(FunctionName=failing, Payload=b"1", LogType="Tail")
    assert "[ERROR] ValueError: cannot handle 1" in base64.b64decode(failed["LogResult"]).decode()


@pytest.mark.parametrize(
    ("files", "handler", "error_type"),
    [
        ({"other.py": "x = 1\n"}, "app.handler", "Runtime.ImportModuleError"),
        ({"app.py": "def main(e, c):\n    return 1\n"}, "app.handler", "Runtime.HandlerNotFound"),
        ({"app.py": "def handler(e, c)\n"}, "app.handler", "Runtime.UserCodeSyntaxError"),
        ({"app.py": "x = 1\n"}, "handler", "Runtime.MalformedHandlerName"),
    ],
    ids=["no module", "no function", "syntax error", "malformed handler"],
)
def test_a_handler_missing_from_the_archive_fails_at_invoke_as_lambda_reports_it(
    lam: Any, fn: str, files: dict[str, str], handler: str, error_type: str
) -> None:
    create(lam, fn, files, Handler=handler)  # Lambda checks nothing of it at creation
    response = lam.invoke(FunctionName=fn, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload(response)["errorType"] == error_type
    assert f"[ERROR] {error_type}" in base64.b64decode(response["LogResult"]).decode()
    fixed_code = zip_of({"app.py": "def handler(e, c):\n    return 'fixed'\n"})
    lam.update_function_code(FunctionName=fn, ZipFile=fixed_code)
    lam.update_function_configuration(FunctionName=fn, Handler="app.handler")
    fixed = lam.invoke(FunctionName=fn)  # the next invocation loads the fixed code
    assert "FunctionError" not in fixed and payload(fixed) == "fixed"


def test_event_invocations_are_queued_and_run(lam: Any, fn: str, sqs: Any) -> None:
    queue = sqs.create_queue(QueueName=fn + "-out")["QueueUrl"]
    create(lam, fn, SENDS)
    response = lam.invoke(
        FunctionName=fn,
        InvocationType="Event",
        Payload=json.dumps({"queue": queue, "body": "from an event"}),
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)["Messages"]
    assert [m["Body"] for m in received] == ["from an event"]


def test_a_handler_runs_with_lambdas_environment_and_its_variables(
    lam: Any, fn: str, url: str
) -> None:
    create(lam, fn, ENVIRONMENT, Environment={"Variables": {"STAGE": "test"}}, MemorySize=256)
    env = payload(lam.invoke(FunctionName=fn))
    assert env["STAGE"] == "test"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fn
    assert env["AWS_REGION"] == REGION
    assert env["AWS_ENDPOINT_URL"] == url  # the gateway the function was created through
    assert env["AWS_ACCESS_KEY_ID"] == AWS_ACCESS_KEY  # the creator's, with its secret
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert (env["AWS_EXECUTION_ENV"], env["_HANDLER"]) == ("AWS_Lambda_python3.12", "app.handler")
    assert env["LAMBDA_TASK_ROOT"]


def test_a_handlers_own_aws_calls_reach_raybus(lam: Any, fn: str, sqs: Any) -> None:
    queue = sqs.create_queue(QueueName=fn + "-out")["QueueUrl"]
    create(lam, fn, SENDS)
    result = payload(
        lam.invoke(FunctionName=fn, Payload=json.dumps({"queue": queue, "body": "hi"}))
    )
    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
    assert (message["Body"], message["MessageId"]) == ("hi", result["sent"])


def test_a_dry_run_checks_the_function_and_runs_nothing(lam: Any, fn: str) -> None:
    create(lam, fn, FAILS)
    response = lam.invoke(FunctionName=fn, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert "FunctionError" not in response
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=fn + "-missing", InvocationType="DryRun")


def test_a_payload_that_is_not_json_is_invalid_request_content(lam: Any, fn: str) -> None:
    create(lam, fn)
    for bad in (b"{not json", b"\xff\xfe", b"NaN"):
        with pytest.raises(lam.exceptions.InvalidRequestContentException) as raised:
            lam.invoke(FunctionName=fn, Payload=bad)
        assert status(raised.value) == 400
        assert "Could not parse request body into json" in raised.value.response["Error"]["Message"]


def test_payloads_over_lambdas_limits_are_too_large(lam: Any, fn: str) -> None:
    create(lam, fn)
    big = json.dumps("x" * 1_048_576).encode()  # over 1 MB: too much for an event
    with pytest.raises(lam.exceptions.RequestTooLargeException) as raised:
        lam.invoke(FunctionName=fn, InvocationType="Event", Payload=big)
    assert status(raised.value) == 413
    assert payload(lam.invoke(FunctionName=fn, Payload=big)) == {"echo": "x" * 1_048_576}
    huge = json.dumps("x" * 6_291_456).encode()
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName=fn, Payload=huge)


def test_a_handler_past_its_timeout_is_a_sandbox_timeout(lam: Any, fn: str) -> None:
    create(lam, fn, "import time\ndef handler(e, c):\n    time.sleep(30)\n", Timeout=1)
    response = lam.invoke(FunctionName=fn)
    assert response["FunctionError"] == "Unhandled"
    error = payload(response)
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]


def test_context_carries_the_functions_arn(lam: Any, fn: str) -> None:
    create(lam, fn, "def handler(e, c):\n    return [c.invoked_function_arn, c.function_name]\n")
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}"
    assert payload(lam.invoke(FunctionName=fn)) == [arn, fn]


def test_invoke_async_the_deprecated_action_queues_the_event(lam: Any, fn: str, sqs: Any) -> None:
    queue = sqs.create_queue(QueueName=fn + "-out")["QueueUrl"]
    create(lam, fn, SENDS)
    args = json.dumps({"queue": queue, "body": "legacy"})
    assert lam.invoke_async(FunctionName=fn, InvokeArgs=args)["Status"] == 202
    received = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20)["Messages"]
    assert [m["Body"] for m in received] == ["legacy"]


def test_zero_reserved_concurrency_throttles_every_invocation(lam: Any, fn: str) -> None:
    create(lam, fn)
    lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException) as raised:
        lam.invoke(FunctionName=fn)
    assert status(raised.value) == 429
    assert raised.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName=fn)
    assert payload(lam.invoke(FunctionName=fn)) == {"echo": {}}


def test_a_failed_event_goes_to_the_dead_letter_queue_with_lambdas_attributes(
    lam: Any, fn: str, sqs: Any
) -> None:
    dlq = sqs.create_queue(QueueName=fn + "-dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{fn}-dlq"
    create(lam, fn, FAILS, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=b'{"order": 1}')
    (message,) = sqs.receive_message(
        QueueUrl=dlq, WaitTimeSeconds=20, MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(message["Body"]) == {"order": 1}
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ErrorCode"] == "200"
    assert "cannot handle" in attributes["ErrorMessage"]
    assert attributes["RequestID"]


def test_a_successful_event_goes_to_the_on_success_destination(lam: Any, fn: str, sqs: Any) -> None:
    done = sqs.create_queue(QueueName=fn + "-done")["QueueUrl"]
    create(lam, fn)
    lam.put_function_event_invoke_config(
        FunctionName=fn,
        DestinationConfig={
            "OnSuccess": {"Destination": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{fn}-done"}
        },
    )
    lam.invoke(FunctionName=fn, InvocationType="Event", Payload=b'{"n": 2}')
    (message,) = sqs.receive_message(QueueUrl=done, WaitTimeSeconds=20)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"] == {"n": 2}
    assert record["responsePayload"] == {"echo": {"n": 2}}
