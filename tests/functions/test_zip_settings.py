"""A zip function's settings follow Lambda's rules, and its runtime environment is Lambda's:
the runtime's variables, the AWS endpoint and credentials, then the function's own."""

from __future__ import annotations

import os
from typing import Any

import pytest

from raybus.core.errors import RaybusError
from raybus.core.functions import RESERVED_VARIABLES, FunctionConfig
from raybus.functions.environment import PLACEHOLDER_KEY, applied, runtime_environment

ZIP = {
    "name": "f",
    "code_format": "zip",
    "handler": "app.handler",
    "python_runtime": "python3.12",
    "code_sha256": "0" * 64,
}


def zip_config(**changes: Any) -> FunctionConfig:
    return FunctionConfig.from_dict({**ZIP, **changes})


@pytest.mark.parametrize(
    ("changes", "parameter", "message"),
    [
        ({"python_runtime": "nodejs20.x"}, "python_runtime", "nodejs20.x is not supported"),
        ({"python_runtime": "python2.7"}, "python_runtime", "python2.7 is not supported"),
        ({"python_runtime": None}, "python_runtime", "Runtime and Handler are mandatory"),
        ({"handler": None}, "handler", "Runtime and Handler are mandatory"),
        ({"handler": "has space.handler"}, "handler", "without spaces"),
        ({"handler": "m." + "x" * 127}, "handler", "up to 128"),
        ({"code_sha256": None}, "code", "needs its archive"),
        ({"environment": {"A": "1"}}, "environment", "starting with a letter"),
        ({"environment": {"9LIVES": "1"}}, "environment", "starting with a letter"),
        ({"environment": {"STAGE": 1}}, "environment", "text values"),
        ({"environment": {"BIG": "x" * 4096}}, "environment", "exceeded the 4KB limit"),
        ({"environment": {"AWS_REGION": "x", "_HANDLER": "y"}}, "environment",
         "Reserved keys used in this request: AWS_REGION, _HANDLER"),
        ({"description": "x" * 257}, "description", "256"),
        ({"code_format": "jar"}, "code_format", "pickle or zip"),
    ],
)  # fmt: skip
def test_zip_settings_outside_lambdas_rules_are_invalid(
    changes: dict[str, Any], parameter: str, message: str
) -> None:
    with pytest.raises(RaybusError) as caught:
        zip_config(**changes)
    assert caught.value.code == "InvalidParameterValue"
    assert caught.value.details["parameter"] == parameter
    assert message in caught.value.message


def test_a_zip_function_takes_lambdas_handler_form_and_any_python3_runtime() -> None:
    config = zip_config(handler="dir/module.function", python_runtime="python3.13")
    assert (config.handler, config.python_runtime) == ("dir/module.function", "python3.13")


def test_a_runtime_belongs_to_zip_code_only() -> None:
    with pytest.raises(RaybusError) as caught:
        FunctionConfig.from_dict({"name": "f", "handler": "m:f", "python_runtime": "python3.12"})
    assert caught.value.details["parameter"] == "python_runtime"


def test_every_reserved_variable_is_refused() -> None:
    for name in sorted(RESERVED_VARIABLES):
        with pytest.raises(RaybusError):
            zip_config(environment={name: "x"})


def test_answers_leave_out_the_secret_and_equality_ignores_the_endpoint() -> None:
    config = zip_config(aws_access_key_id="AKID", aws_secret_access_key="s3cr3t")
    assert "aws_secret_access_key" not in config.described()
    assert config.described()["aws_access_key_id"] == "AKID"
    elsewhere = config.updated({"aws_endpoint_url": "http://other:1", "aws_secret_access_key": "x"})
    assert config.same_as(elsewhere) and config != elsewhere
    assert not config.same_as(config.updated({"timeout_s": 9}))


def test_the_runtime_environment_is_lambdas_then_the_functions_own() -> None:
    config = zip_config(
        memory_mb=256,
        environment={"STAGE": "test", "AWS_ENDPOINT_URL": "http://mine:1"},
        aws_endpoint_url="http://gateway:8000",
        aws_access_key_id="AKID",
        aws_secret_access_key="secret",
    )
    env = runtime_environment(config, "eu-west-1")
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "f"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/f"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["_HANDLER"] == "app.handler"
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("AKID", "secret")
    assert env["STAGE"] == "test"
    assert env["AWS_ENDPOINT_URL"] == "http://mine:1"  # not reserved: the function's wins


def test_without_credentials_the_runtime_gives_placeholders_and_no_endpoint() -> None:
    env = runtime_environment(FunctionConfig(name="f", handler="m:f"), "us-east-1")
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == PLACEHOLDER_KEY
    assert "AWS_ENDPOINT_URL" not in env and "AWS_EXECUTION_ENV" not in env


def test_applied_variables_are_restored_or_removed_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAYBUS_TEST_KEPT", "before")
    monkeypatch.delenv("RAYBUS_TEST_NEW", raising=False)
    with applied({"RAYBUS_TEST_KEPT": "during", "RAYBUS_TEST_NEW": "during"}):
        assert os.environ["RAYBUS_TEST_KEPT"] == os.environ["RAYBUS_TEST_NEW"] == "during"
    assert os.environ["RAYBUS_TEST_KEPT"] == "before"
    assert "RAYBUS_TEST_NEW" not in os.environ
    with pytest.raises(RuntimeError), applied({"RAYBUS_TEST_NEW": "x"}):
        raise RuntimeError("the handler failed")
    assert "RAYBUS_TEST_NEW" not in os.environ
