"""What AWS tools call before they create a function, through unmodified boto3: STS's
GetCallerIdentity, and IAM roles with their policies and tags — stored (durably, in the
catalog) and read back, never enforced."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.aws.conftest import ACCOUNT
from tests.integration.aws.test_lambda_functions import ECHO, zip_of
from tests.integration.conftest import AWS_ACCESS_KEY

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
INLINE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
}


@pytest.fixture
def iam(aws: Any) -> Any:
    return aws("iam")


@pytest.fixture
def role(name: str) -> str:
    return re.sub(r"[^\w+=,.@-]", "-", name)[:64]


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def test_get_caller_identity_names_the_account_and_the_access_key(aws: Any) -> None:
    identity = aws("sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    assert identity["UserId"] == AWS_ACCESS_KEY
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{AWS_ACCESS_KEY}"


def test_an_sts_action_raybus_does_not_serve_is_not_implemented(aws: Any) -> None:
    with pytest.raises(ClientError) as raised:
        aws("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/r", RoleSessionName="session")
    assert code(raised.value) == "NotImplemented"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_a_role_is_created_read_listed_and_deleted(iam: Any, role: str) -> None:
    created = iam.create_role(
        RoleName=role,
        Path="/service/",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="runs functions",
        Tags=[{"Key": "team", "Value": "core"}],
    )["Role"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/service/{role}"
    assert re.fullmatch(r"AROA[A-Z0-9]{17}", created["RoleId"])
    assert created["AssumeRolePolicyDocument"] == TRUST  # URL-encoded JSON, decoded by boto3
    assert (created["Path"], created["Description"], created["MaxSessionDuration"]) == (
        "/service/",
        "runs functions",
        3600,
    )
    got = iam.get_role(RoleName=role)["Role"]
    assert got["RoleId"] == created["RoleId"] and got["CreateDate"] == created["CreateDate"]
    assert got["Tags"] == [{"Key": "team", "Value": "core"}]
    listed = iam.list_roles(PathPrefix="/service/")["Roles"]
    assert role in [r["RoleName"] for r in listed]
    assert role not in [r["RoleName"] for r in iam.list_roles(PathPrefix="/other/")["Roles"]]
    iam.update_role(RoleName=role, Description="changed", MaxSessionDuration=7200)
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Action": "sts:TagSession"}]}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))
    changed = iam.get_role(RoleName=role)["Role"]
    assert (changed["Description"], changed["MaxSessionDuration"]) == ("changed", 7200)
    assert changed["AssumeRolePolicyDocument"] == trust
    iam.delete_role(RoleName=role)
    with pytest.raises(iam.exceptions.NoSuchEntityException) as raised:
        iam.get_role(RoleName=role)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert code(raised.value) == "NoSuchEntity"


def test_creating_an_existing_role_is_entity_already_exists(iam: Any, role: str) -> None:
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(iam.exceptions.EntityAlreadyExistsException) as raised:
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_a_policy_that_is_not_json_is_malformed_and_stores_nothing(iam: Any, role: str) -> None:
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument="{not json")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=role)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
        iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument="[1, 2")
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == []


def test_policies_attach_and_put_and_a_role_with_policies_cannot_be_deleted(
    iam: Any, role: str
) -> None:
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC)
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC)  # again: no change, as in IAM
    attached = iam.list_attached_role_policies(RoleName=role)
    assert attached["AttachedPolicies"] == [
        {"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}
    ]
    assert attached["IsTruncated"] is False
    iam.put_role_policy(RoleName=role, PolicyName="queues", PolicyDocument=json.dumps(INLINE))
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["queues"]
    inline = iam.get_role_policy(RoleName=role, PolicyName="queues")
    assert inline["PolicyDocument"] == INLINE
    with pytest.raises(iam.exceptions.DeleteConflictException) as raised:
        iam.delete_role(RoleName=role)
    assert "detach all policies" in raised.value.response["Error"]["Message"]
    iam.detach_role_policy(RoleName=role, PolicyArn=BASIC)
    with pytest.raises(iam.exceptions.DeleteConflictException):
        iam.delete_role(RoleName=role)  # the inline policy is still there
    iam.delete_role_policy(RoleName=role, PolicyName="queues")
    iam.delete_role(RoleName=role)


def test_missing_roles_and_policies_are_no_such_entity(iam: Any, role: str) -> None:
    for call in (
        lambda: iam.get_role(RoleName=role),
        lambda: iam.delete_role(RoleName=role),
        lambda: iam.attach_role_policy(RoleName=role, PolicyArn=BASIC),
        lambda: iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument="{}"),
        lambda: iam.list_role_tags(RoleName=role),
    ):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            call()
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.detach_role_policy(RoleName=role, PolicyArn=BASIC)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role_policy(RoleName=role, PolicyName="missing")
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.delete_role_policy(RoleName=role, PolicyName="missing")
    with pytest.raises(iam.exceptions.InvalidInputException):
        iam.attach_role_policy(RoleName=role, PolicyArn="arn:aws:s3:::bucket/not-a-policy")


def test_a_role_holds_at_most_ten_managed_policies(iam: Any, role: str) -> None:
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    for index in range(10):
        iam.attach_role_policy(RoleName=role, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/p{index}")
    with pytest.raises(iam.exceptions.LimitExceededException):
        iam.attach_role_policy(RoleName=role, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/p10")
    assert len(iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]) == 10
    page = iam.list_attached_role_policies(RoleName=role, MaxItems=4)
    assert page["IsTruncated"] is True and len(page["AttachedPolicies"]) == 4
    rest = iam.list_attached_role_policies(RoleName=role, Marker=page["Marker"])
    assert len(rest["AttachedPolicies"]) == 6 and rest["IsTruncated"] is False


def test_role_tags_are_kept(iam: Any, role: str) -> None:
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.tag_role(RoleName=role, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.untag_role(RoleName=role, TagKeys=["a"])
    assert iam.list_role_tags(RoleName=role)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_a_function_is_created_with_a_role_made_the_way_tools_make_it(
    iam: Any, aws: Any, role: str
) -> None:
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC)
    account = aws("sts").get_caller_identity()["Account"]
    assert arn.startswith(f"arn:aws:iam::{account}:role/")
    lam = aws("lambda")
    name = re.sub(r"[^A-Za-z0-9_-]", "-", role)[:64]
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=arn,
        Handler="app.handler",
        Code={"ZipFile": zip_of(ECHO)},
    )
    assert created["Role"] == arn
    assert json.loads(lam.invoke(FunctionName=name, Payload=b"1")["Payload"].read()) == {"echo": 1}
