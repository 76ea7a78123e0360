"""Requests and responses round-trip between botocore and the codecs, for every operation.

A request: params generated from the model, serialized by botocore's own serializer (after its
parameter validation) and prepared as botocore sends it; the codec names the operation and
parses back exactly the params. A response: an output generated from the model, written by
the codec and parsed by botocore's parser into exactly that output.
"""

from __future__ import annotations

from typing import Any

import pytest

from raybus.gateway.aws.protocols import codec_for
from tests.gateway.aws.protocols.cases import operations
from tests.gateway.aws.protocols.generate import Generator
from tests.gateway.aws.protocols.peer import REQUEST_ID, parse_response, serialize_request

# Deprecated S3 operations whose requests are byte for byte those of their replacements: a
# request names the current one (which S3 answers), and parses under either.
SAME_WIRE = {
    ("s3", "GetBucketLifecycle"): "GetBucketLifecycleConfiguration",
    ("s3", "PutBucketLifecycle"): "PutBucketLifecycleConfiguration",
    ("s3", "GetBucketNotification"): "GetBucketNotificationConfiguration",
    ("s3", "PutBucketNotification"): "PutBucketNotificationConfiguration",
}
# Requests and answers that cannot round-trip whatever the codec does:
NOT_SERIALIZABLE = {
    # TopicConfigurationDeprecated's Event and Events (flattened) are both <Event> elements
    ("s3", "PutBucketNotification"): "two members share the <Event> element",
}
NOT_PARSEABLE = {
    # the model leaves the root's text unmodeled; botocore reads it in a handler
    # (parse_get_bucket_location), which test_rest_xml runs through a real client
    ("s3", "GetBucketLocation"): "the answer is the root element's text",
    ("s3", "GetBucketNotification"): NOT_SERIALIZABLE["s3", "PutBucketNotification"],
}


def _read_streams(value: Any) -> Any:
    if hasattr(value, "read"):
        return value.read()
    return value


@pytest.mark.parametrize(("service", "protocol", "name"), operations())
def test_a_request_botocore_sends_parses_back_to_its_params(
    service: str, protocol: str | None, name: str
) -> None:
    if (service, name) in NOT_SERIALIZABLE:
        pytest.skip(NOT_SERIALIZABLE[service, name])
    codec = codec_for(service, protocol=protocol)
    operation = codec.service.operation_model(name)
    xml = codec.protocol == "rest-xml"
    params = Generator(f"in/{service}/{protocol}/{name}", xml=xml).params(operation.input_shape)

    request = serialize_request(operation, params)

    assert codec.operation(request).name == SAME_WIRE.get((service, name), name)
    assert codec.parse(operation, request) == params


@pytest.mark.parametrize(("service", "protocol", "name"), operations())
def test_a_response_the_codec_writes_parses_in_botocore_to_its_output(
    service: str, protocol: str | None, name: str
) -> None:
    codec = codec_for(service, protocol=protocol)
    operation = codec.service.operation_model(name)
    if operation.has_event_stream_output:
        pytest.skip("event-stream responses are not written by the codecs")
    if (service, name) in NOT_PARSEABLE:
        pytest.skip(NOT_PARSEABLE[service, name])
    output = Generator(f"out/{service}/{protocol}/{name}").params(
        operation.output_shape, output=True
    )

    response = codec.serialize(operation, output, REQUEST_ID)
    parsed = parse_response(operation, response)

    metadata = parsed.pop("ResponseMetadata")
    assert metadata["HTTPStatusCode"] == response.status
    assert metadata.get("RequestId") == REQUEST_ID
    parsed = {key: _read_streams(value) for key, value in parsed.items()}
    payload = (
        operation.output_shape.serialization.get("payload") if operation.output_shape else None
    )
    if payload and isinstance(parsed.get(payload), str) and isinstance(output.get(payload), bytes):
        parsed[payload] = parsed[payload].encode()  # botocore decodes a non-streaming blob payload
    assert parsed == output
