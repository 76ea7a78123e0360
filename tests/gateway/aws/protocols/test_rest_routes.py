"""A rest-json request names its operation by method and URI template — labels, greedy labels
and literal query parts — and its labels come back percent-decoded."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.model import ServiceModel

from raybus.gateway.aws.protocols import AwsError, WireRequest, codec_for
from raybus.gateway.aws.protocols.routes import Router

LAMBDA = codec_for("lambda")


def get(path: str, *query: tuple[str, str], method: str = "GET") -> WireRequest:
    return WireRequest(method, path, tuple(query), {}, b"")


@pytest.mark.parametrize(
    ("request_", "operation"),
    [
        (get("/2018-10-31/layers"), "ListLayers"),
        (get("/2018-10-31/layers", ("find", "LayerVersion"), ("Arn", "a")), "GetLayerVersionByArn"),
        (get("/2018-10-31/layers", ("find", "Other")), "ListLayers"),
        (get("/2019-09-30/functions/f/provisioned-concurrency"), "GetProvisionedConcurrencyConfig"),
        (
            get("/2019-09-30/functions/f/provisioned-concurrency", ("List", "ALL")),
            "ListProvisionedConcurrencyConfigs",
        ),
        (get("/2015-03-31/functions/"), "ListFunctions"),
        (get("/2015-03-31/functions/f/aliases/live"), "GetAlias"),
        (get("/2015-03-31/functions/f/aliases"), "ListAliases"),
        (get("/2019-09-25/functions/f/event-invoke-config/list"), "ListFunctionEventInvokeConfigs"),
        (get("/2015-03-31/functions/f/invocations", method="POST"), "Invoke"),
        (get("/2017-03-31/tags/arn%3Aaws%3Alambda%3Ax", method="DELETE"), "UntagResource"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_method_path_and_literal_query_parts_pick_the_operation(
    request_: WireRequest, operation: str
) -> None:
    assert LAMBDA.operation(request_).name == operation


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("my-function", "my-function"),
        (
            "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Afn",
            "arn:aws:lambda:us-east-1:123456789012:function:fn",
        ),
        ("a%2Fb", "a/b"),
        ("%E6%97%A5%E6%9C%AC", "日本"),
        ("with%20space%2B%25", "with space+%"),
    ],
)
def test_uri_labels_are_percent_decoded(raw: str, decoded: str) -> None:
    request = get(f"/2015-03-31/functions/{raw}/invocations", method="POST")
    operation = LAMBDA.operation(request)
    assert LAMBDA.parse(operation, request)["FunctionName"] == decoded


def test_parsing_with_an_operation_the_path_does_not_match_is_unknown() -> None:
    request = get("/2015-03-31/functions/f")
    with pytest.raises(AwsError) as caught:
        LAMBDA.parse(LAMBDA.service.operation_model("ListLayers"), request)
    assert (caught.value.code, caught.value.status) == ("UnknownOperationException", 404)


def _service(operations: dict[str, tuple[str, str]]) -> Any:
    shapes: dict[str, Any] = {"S": {"type": "string"}}
    ops: dict[str, Any] = {}
    for name, (method, uri) in operations.items():
        labels = [
            part.strip("{}+") for part in uri.split("?")[0].split("/") if part.startswith("{")
        ]
        shapes[f"{name}In"] = {
            "type": "structure",
            "members": {
                label: {"shape": "S", "location": "uri", "locationName": label} for label in labels
            },
        }
        ops[name] = {
            "name": name,
            "http": {"method": method, "requestUri": uri},
            "input": {"shape": f"{name}In"},
        }
    metadata = {"protocol": "rest-json", "apiVersion": "2020-01-01", "endpointPrefix": "x"}
    return ServiceModel({"metadata": metadata, "operations": ops, "shapes": shapes}, "x")


def test_a_greedy_label_takes_the_rest_of_the_path_and_literal_segments_win() -> None:
    router = Router(
        _service(
            {
                "GetObject": ("GET", "/{Bucket}/{Key+}"),
                "GetAcl": ("GET", "/{Bucket}/{Key+}?acl"),
                "GetBucket": ("GET", "/{Bucket}"),
                "GetPolicy": ("GET", "/{Bucket}/policy"),
            }
        )
    )
    assert router.match("GET", "/b/a/b/c.txt", ()).name == "GetObject"
    assert router.match("GET", "/b/a/b/c.txt", (("acl", ""),)).name == "GetAcl"
    assert router.match("GET", "/b", ()).name == "GetBucket"
    assert router.match("GET", "/b/policy", ()).name == "GetPolicy"
    assert router.match("PUT", "/b", ()) is None
    operation = router.match("GET", "/b/a%2Fb/c.txt", ())
    assert router.labels(operation, "/b/a%2Fb/c.txt") == {"Bucket": "b", "Key": "a%2Fb/c.txt"}
