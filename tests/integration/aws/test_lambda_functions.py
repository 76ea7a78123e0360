"""Lambda's function actions through unmodified boto3: create from a zip, get, list, update
code and configuration, delete — the members AWS answers with, and the errors boto3 users
catch (each rejected request changes nothing)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import ACCOUNT, REGION

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
MISSING_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
ECHO = "def handler(event, context):\n    return {'echo': event}\n"


def zip_of(files: dict[str, str] | str) -> bytes:
    """A deployment package; a plain string is ``app.py``."""
    if isinstance(files, str):
        files = {"app.py": files}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for name, text in files.items():
            out.writestr(name, text)
    return buffer.getvalue()


def create(lam: Any, name: str, code: dict[str, str] | str = ECHO, **extra: Any) -> Any:
    settings = {"Runtime": "python3.12", "Handler": "app.handler", "Role": ROLE, **extra}
    return lam.create_function(FunctionName=name, Code={"ZipFile": zip_of(code)}, **settings)


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def status(error: ClientError) -> int:
    return int(error.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.fixture
def lam(aws: Any) -> Any:
    return aws("lambda")


@pytest.fixture
def fn(name: str) -> str:
    """A function name unique in the session (Lambda's names: 64 of [A-Za-z0-9_-])."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", name)[:64]


def test_create_answers_lambdas_configuration(lam: Any, fn: str) -> None:
    package = zip_of(ECHO)
    created = lam.create_function(
        FunctionName=fn,
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": package},
        Description="echoes",
        Timeout=10,
        MemorySize=256,
        Environment={"Variables": {"STAGE": "test"}},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["FunctionName"] == fn
    assert created["FunctionArn"] == function_arn(fn)
    assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert created["CodeSize"] == len(package)
    assert (created["Runtime"], created["Handler"], created["Role"]) == (
        "python3.12",
        "app.handler",
        ROLE,
    )
    assert (created["Timeout"], created["MemorySize"], created["Description"]) == (
        10,
        256,
        "echoes",
    )
    assert created["Environment"] == {"Variables": {"STAGE": "test"}}
    assert (created["State"], created["LastUpdateStatus"], created["Version"]) == (
        "Active",
        "Successful",
        "$LATEST",
    )
    assert created["PackageType"] == "Zip"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", created["LastModified"])
    assert re.fullmatch(r"[0-9a-f-]{36}", created["RevisionId"])
    got = lam.get_function(FunctionName=fn)
    config = {k: v for k, v in got["Configuration"].items()}
    assert config == {k: v for k, v in created.items() if k != "ResponseMetadata"}
    assert got["Code"]["RepositoryType"] == "S3"
    configuration = lam.get_function_configuration(FunctionName=fn)
    assert configuration["RevisionId"] == created["RevisionId"]


def test_a_function_is_named_by_name_arn_partial_arn_or_latest(lam: Any, fn: str) -> None:
    create(lam, fn)
    for given in (fn, function_arn(fn), f"{ACCOUNT}:function:{fn}", f"{function_arn(fn)}:$LATEST"):
        assert lam.get_function_configuration(FunctionName=given)["FunctionName"] == fn
    assert lam.get_function(FunctionName=fn, Qualifier="$LATEST")["Configuration"]["Version"] == (
        "$LATEST"
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as raised:
        lam.get_function(FunctionName=fn, Qualifier="1")  # raybus publishes no versions
    assert raised.value.response["Error"]["Message"] == f"Function not found: {function_arn(fn)}:1"
    other = f"arn:aws:lambda:{REGION}:123456789012:function:{fn}"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=other)


def test_a_missing_function_is_resource_not_found_404(lam: Any, fn: str) -> None:
    for call in (
        lambda: lam.get_function(FunctionName=fn),
        lambda: lam.get_function_configuration(FunctionName=fn),
        lambda: lam.delete_function(FunctionName=fn),
        lambda: lam.update_function_configuration(FunctionName=fn, Timeout=5),
        lambda: lam.update_function_code(FunctionName=fn, ZipFile=zip_of(ECHO)),
        lambda: lam.invoke(FunctionName=fn),
    ):
        with pytest.raises(lam.exceptions.ResourceNotFoundException) as raised:
            call()
        assert status(raised.value) == 404
        assert (
            raised.value.response["Error"]["Message"] == f"Function not found: {function_arn(fn)}"
        )


def test_creating_an_existing_function_is_a_conflict(lam: Any, fn: str) -> None:
    create(lam, fn)
    with pytest.raises(lam.exceptions.ResourceConflictException) as raised:
        create(lam, fn)  # even with the same settings: Lambda's create is not idempotent
    assert status(raised.value) == 409
    assert raised.value.response["Error"]["Message"] == f"Function already exist: {fn}"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"Code": {"ZipFile": b"not a zip"}}, "Could not unzip uploaded file"),
        ({"Runtime": "nodejs20.x"}, "The runtime parameter of nodejs20.x is not supported"),
        ({"Runtime": None}, "Runtime and Handler are mandatory parameters"),
        ({"Handler": None}, "Runtime and Handler are mandatory parameters"),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "Reserved keys used in this "
         "request: AWS_REGION"),
        ({"Code": {"S3Bucket": "bucket", "S3Key": "k.zip"}}, "ZipFile"),
        ({"PackageType": "Image", "Code": {"ImageUri": "repo/image:1"}}, "PackageType Zip"),
        ({"Layers": [f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:deps:1"]}, "layers"),
        ({"DeadLetterConfig": {"TargetArn": MISSING_QUEUE}}, "does not exist"),
        ({"Timeout": 901}, "Member must have value less than or equal to 900"),
    ],
    ids=["bad zip", "node runtime", "no runtime", "no handler", "reserved variable", "s3 code",
         "image", "layers", "missing dlq", "timeout"],
)  # fmt: skip
def test_an_invalid_create_is_refused_and_creates_nothing(
    lam: Any, fn: str, settings: dict[str, Any], message: str
) -> None:
    request = {
        "FunctionName": fn,
        "Runtime": "python3.12",
        "Handler": "app.handler",
        "Role": ROLE,
        "Code": {"ZipFile": zip_of(ECHO)},
        **settings,
    }
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as raised:
        lam.create_function(**request)
    assert status(raised.value) == 400
    assert message in raised.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fn)


def test_list_functions_pages_with_max_items_and_marker(lam: Any, fn: str) -> None:
    names = [f"{fn[:60]}-{i}" for i in range(3)]
    for name in names:
        create(lam, name)
    seen: list[str] = []
    marker: str | None = None
    for _ in range(1000):
        page = lam.list_functions(MaxItems=2, **({"Marker": marker} if marker else {}))
        assert len(page["Functions"]) <= 2
        seen += [f["FunctionName"] for f in page["Functions"]]
        marker = page.get("NextMarker")
        if marker is None:
            break
    assert [n for n in seen if n in names] == names
    listed = {f["FunctionName"]: f for f in lam.list_functions(MaxItems=10_000)["Functions"]}
    assert listed[names[0]]["FunctionArn"] == function_arn(names[0])
    assert {n for n in seen} == set(listed)  # paging visits every function once
    assert len(seen) == len(set(seen))


def test_update_function_code_changes_the_code_and_its_revision(lam: Any, fn: str) -> None:
    created = create(lam, fn, "def handler(e, c):\n    return 'v1'\n")
    assert lam.invoke(FunctionName=fn)["Payload"].read() == b'"v1"'
    package = zip_of("def handler(e, c):\n    return 'v2'\n")
    updated = lam.update_function_code(FunctionName=fn, ZipFile=package)
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(package).digest()).decode()
    assert updated["CodeSize"] == len(package)
    assert updated["RevisionId"] != created["RevisionId"]
    assert lam.invoke(FunctionName=fn)["Payload"].read() == b'"v2"'
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(FunctionName=fn, ZipFile=b"not a zip")
    unchanged = lam.get_function_configuration(FunctionName=fn)
    assert (unchanged["CodeSha256"], unchanged["RevisionId"]) == (
        updated["CodeSha256"],
        updated["RevisionId"],
    )


def test_a_dry_run_code_update_checks_the_archive_and_changes_nothing(lam: Any, fn: str) -> None:
    created = create(lam, fn)
    same = lam.update_function_code(FunctionName=fn, ZipFile=zip_of("x = 1\n"), DryRun=True)
    assert same["CodeSha256"] == created["CodeSha256"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_code(FunctionName=fn, ZipFile=b"not a zip", DryRun=True)


def test_update_function_configuration_changes_what_it_names(lam: Any, fn: str, sqs: Any) -> None:
    create(lam, fn, Environment={"Variables": {"ALPHA": "1"}}, Description="before")
    dlq = sqs.create_queue(QueueName=fn + "-dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{fn}-dlq"
    updated = lam.update_function_configuration(
        FunctionName=fn,
        Timeout=30,
        MemorySize=512,
        Environment={"Variables": {"BETA": "2"}},
        DeadLetterConfig={"TargetArn": dlq_arn},
    )
    assert (updated["Timeout"], updated["MemorySize"], updated["Description"]) == (
        30,
        512,
        "before",
    )
    assert updated["Environment"] == {"Variables": {"BETA": "2"}}  # replaced, as on Lambda
    assert updated["DeadLetterConfig"] == {"TargetArn": dlq_arn}
    cleared = lam.update_function_configuration(
        FunctionName=fn, DeadLetterConfig={"TargetArn": ""}, Environment={"Variables": {}}
    )
    assert "DeadLetterConfig" not in cleared and "Environment" not in cleared
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=fn, MemorySize=20_000)
    assert lam.get_function_configuration(FunctionName=fn)["MemorySize"] == 512
    assert dlq  # the queue stays: the function only named it


def test_a_stale_revision_id_is_a_failed_precondition(lam: Any, fn: str) -> None:
    created = create(lam, fn)
    changed = lam.update_function_configuration(
        FunctionName=fn, Timeout=5, RevisionId=created["RevisionId"]
    )
    with pytest.raises(lam.exceptions.PreconditionFailedException) as raised:
        lam.update_function_configuration(
            FunctionName=fn, Timeout=6, RevisionId=created["RevisionId"]
        )
    assert status(raised.value) == 412
    assert lam.get_function_configuration(FunctionName=fn)["RevisionId"] == changed["RevisionId"]


def test_delete_removes_the_function_and_a_second_delete_is_not_found(lam: Any, fn: str) -> None:
    create(lam, fn, Tags={"team": "core"})
    assert lam.get_function(FunctionName=fn)["Tags"] == {"team": "core"}
    deleted = lam.delete_function(FunctionName=fn)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fn)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName=fn)
    assert fn not in [f["FunctionName"] for f in lam.list_functions(MaxItems=10_000)["Functions"]]


def test_model_constraints_are_a_validation_exception(lam: Any, fn: str) -> None:
    with pytest.raises(ClientError) as raised:
        create(lam, fn, Runtime="cobol")  # not one of the model's runtimes
    assert code(raised.value) == "ValidationException"
    assert "runtime" in raised.value.response["Error"]["Message"].lower()


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def test_an_event_invoke_config_is_put_read_updated_and_deleted(
    lam: Any, sqs: Any, fn: str
) -> None:
    create(lam, fn)
    sqs.create_queue(QueueName=fn + "-ok")
    sqs.create_queue(QueueName=fn + "-failed")
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as raised:
        lam.get_function_event_invoke_config(FunctionName=fn)
    assert "doesn't have an EventInvokeConfig" in raised.value.response["Error"]["Message"]
    assert (
        lam.list_function_event_invoke_configs(FunctionName=fn)["FunctionEventInvokeConfigs"] == []
    )
    put = lam.put_function_event_invoke_config(
        FunctionName=fn,
        MaximumRetryAttempts=1,
        MaximumEventAgeInSeconds=600,
        DestinationConfig={"OnSuccess": {"Destination": queue_arn(fn + "-ok")}},
    )
    assert put["FunctionArn"] == function_arn(fn) + ":$LATEST"
    assert (put["MaximumRetryAttempts"], put["MaximumEventAgeInSeconds"]) == (1, 600)
    assert put["DestinationConfig"] == {
        "OnSuccess": {"Destination": queue_arn(fn + "-ok")},
        "OnFailure": {},
    }
    updated = lam.update_function_event_invoke_config(
        FunctionName=fn,
        DestinationConfig={"OnFailure": {"Destination": queue_arn(fn + "-failed")}},
    )
    assert updated["MaximumRetryAttempts"] == 1  # Update changes only what it names
    assert updated["DestinationConfig"]["OnSuccess"] == {"Destination": queue_arn(fn + "-ok")}
    assert updated["DestinationConfig"]["OnFailure"] == {"Destination": queue_arn(fn + "-failed")}
    again = lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=0)
    assert again["MaximumEventAgeInSeconds"] == 21_600  # Put replaces the whole config
    assert again["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    listed = lam.list_function_event_invoke_configs(FunctionName=fn)["FunctionEventInvokeConfigs"]
    assert [c["MaximumRetryAttempts"] for c in listed] == [0]
    lam.delete_function_event_invoke_config(FunctionName=fn)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fn)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function_event_invoke_config(FunctionName=fn)


@pytest.mark.parametrize(
    ("destination", "message"),
    [
        (MISSING_QUEUE, "does not exist"),
        (f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", "not supported"),
        ("self", "destination for itself"),
    ],
    ids=["missing queue", "event bus", "itself"],
)
def test_an_invalid_destination_is_refused_and_changes_nothing(
    lam: Any, fn: str, destination: str, message: str
) -> None:
    create(lam, fn)
    arn = function_arn(fn) if destination == "self" else destination
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as raised:
        lam.put_function_event_invoke_config(
            FunctionName=fn, DestinationConfig={"OnFailure": {"Destination": arn}}
        )
    assert message in raised.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fn)


def test_out_of_range_retries_are_a_validation_error(lam: Any, fn: str) -> None:
    create(lam, fn)
    with pytest.raises(ClientError) as raised:
        lam.put_function_event_invoke_config(FunctionName=fn, MaximumRetryAttempts=3)
    assert code(raised.value) == "ValidationException"


def test_reserved_concurrency_is_put_read_and_deleted_within_the_account(lam: Any, fn: str) -> None:
    create(lam, fn)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fn)
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert (
        lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=7)[
            "ReservedConcurrentExecutions"
        ]
        == 7
    )
    assert lam.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 7
    assert lam.get_function(FunctionName=fn)["Concurrency"] == {"ReservedConcurrentExecutions": 7}
    settings = lam.get_account_settings()
    assert settings["AccountLimit"]["UnreservedConcurrentExecutions"] == before - 7
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountUsage"]["FunctionCount"] >= 1
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as raised:
        lam.put_function_concurrency(FunctionName=fn, ReservedConcurrentExecutions=901)
    assert "below its minimum value of [100]" in raised.value.response["Error"]["Message"]
    assert lam.get_function_concurrency(FunctionName=fn)["ReservedConcurrentExecutions"] == 7
    lam.delete_function_concurrency(FunctionName=fn)
    assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=fn)


def test_a_resource_policy_is_kept_statement_by_statement(lam: Any, fn: str) -> None:
    create(lam, fn)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=fn)
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:events"
    added = lam.add_permission(
        FunctionName=fn,
        StatementId="sns-invoke",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = json.loads(added["Statement"])
    assert statement == {
        "Sid": "sns-invoke",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": function_arn(fn),
        "Condition": {"ArnLike": {"AWS:SourceArn": topic}},
    }
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.add_permission(
            FunctionName=fn,
            StatementId="sns-invoke",
            Action="lambda:InvokeFunction",
            Principal="sns.amazonaws.com",
        )
    policy = lam.get_policy(FunctionName=fn)
    assert json.loads(policy["Policy"])["Statement"] == [statement]
    assert policy["RevisionId"] == lam.get_function_configuration(FunctionName=fn)["RevisionId"]
    lam.remove_permission(FunctionName=fn, StatementId="sns-invoke")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.remove_permission(FunctionName=fn, StatementId="sns-invoke")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=fn)


def test_tags_are_kept_by_function_arn(lam: Any, fn: str) -> None:
    create(lam, fn)
    arn = function_arn(fn)
    lam.tag_resource(Resource=arn, Tags={"team": "core", "env": "test"})
    lam.untag_resource(Resource=arn, TagKeys=["env"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "core"}
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.tag_resource(Resource=arn, Tags={"aws:reserved": "x"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "core"}
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_tags(Resource=arn + "-missing")


def test_what_tools_read_after_creating_a_function_has_lambdas_defaults(lam: Any, fn: str) -> None:
    created = create(lam, fn)
    (version,) = lam.list_versions_by_function(FunctionName=fn)["Versions"]
    assert (version["Version"], version["CodeSha256"]) == ("$LATEST", created["CodeSha256"])
    signing = lam.get_function_code_signing_config(FunctionName=fn)
    assert (signing["FunctionName"], signing["CodeSigningConfigArn"]) == (fn, "")
    assert lam.get_function_recursion_config(FunctionName=fn)["RecursiveLoop"] == "Terminate"
    runtime = lam.get_runtime_management_config(FunctionName=fn)
    assert (runtime["UpdateRuntimeOn"], runtime["FunctionArn"]) == ("Auto", function_arn(fn))
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_versions_by_function(FunctionName=fn + "-missing")


def test_an_action_raybus_does_not_serve_is_not_implemented(lam: Any, fn: str) -> None:
    create(lam, fn)
    with pytest.raises(ClientError) as raised:
        lam.publish_version(FunctionName=fn)
    assert code(raised.value) == "NotImplemented"
    assert status(raised.value) == 501
