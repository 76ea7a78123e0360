"""botocore as the peer: its serializers write requests, its parsers read answers, and a real
client talks to a codec through the ``before-send`` event (the HTTP layer is the only thing
replaced)."""

from __future__ import annotations

import asyncio
import io
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import botocore.session
from botocore.awsrequest import (
    AWSResponse,
    create_request_object,
    prepare_request_dict,
)
from botocore.config import Config
from botocore.endpoint import convert_to_response_dict
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from raybus.gateway.aws.protocols import AwsError, Codec, WireRequest, WireResponse

ENDPOINT = "https://aws.example.test"
REQUEST_ID = "c0ffee00-1111-2222-3333-444455556666"


class RawBody(io.BytesIO):
    """A response body as urllib3 hands it to botocore (``stream`` and ``read``)."""

    def stream(self, amt: int = 1024, decode_content: bool | None = None) -> Iterator[bytes]:
        yield self.getvalue()


def wire(prepared: Any) -> WireRequest:
    """The WireRequest an HTTP server would build from botocore's prepared request."""
    split = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = body.read()
    query = tuple(parse_qsl(split.query, keep_blank_values=True, errors="strict"))
    headers = {
        str(k): v.decode("latin-1") if isinstance(v, bytes) else str(v)
        for k, v in prepared.headers.items()
    }
    return WireRequest(prepared.method, split.path or "/", query, headers, body)


def serialize_request(operation: Any, params: Mapping[str, Any]) -> WireRequest:
    """``params`` as botocore sends them for ``operation`` (validated by botocore first)."""
    protocol = operation.service_model.metadata["protocol"]
    request = create_serializer(protocol, include_validation=True).serialize_to_request(
        dict(params), operation
    )
    prepare_request_dict(request, endpoint_url=ENDPOINT)
    return wire(create_request_object(request).prepare())


def body_of(response: WireResponse) -> bytes:
    """The bytes the server would send: ``body``, or all of ``stream`` (an async or plain
    iterable of bytes) when there is one."""
    stream = response.stream
    if stream is None:
        return response.body
    if hasattr(stream, "__aiter__"):

        async def collect() -> bytes:
            return b"".join([bytes(chunk) async for chunk in stream])

        return asyncio.run(collect())
    return b"".join(bytes(chunk) for chunk in stream)


def parse_response(operation: Any, response: WireResponse, shape: Any = None) -> dict[str, Any]:
    """What botocore makes of ``response`` for ``operation`` (its output shape by default)."""
    protocol = operation.service_model.metadata["protocol"]
    http = AWSResponse(ENDPOINT, response.status, response.headers, RawBody(body_of(response)))
    response_dict = convert_to_response_dict(http, operation)
    target = operation.output_shape if shape is None else shape
    parsed: dict[str, Any] = create_parser(protocol).parse(response_dict, target)
    return parsed


Answer = Callable[[Any, dict[str, Any]], Mapping[str, Any]]


def client(
    service: str,
    codec: Codec,
    answer: Answer,
    *,
    models: Path | None = None,
    config: Config | None = None,
) -> Any:
    """A real botocore client whose requests the codec reads and answers (``answer`` plays
    the service: it returns the output or raises AwsError). ``models``: a directory of
    service models searched before botocore's own; ``config`` is merged into the client's
    (S3: ``Config(s3={"addressing_style": "path"})``, the form the front hands its codec)."""
    session = botocore.session.get_session()
    if models is not None:
        session.get_component("data_loader").search_paths.insert(0, str(models))
    made = session.create_client(
        service,
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1}).merge(config or Config()),
    )

    def before_send(request: Any, **_: Any) -> AWSResponse:
        incoming = wire(request)
        try:
            operation = codec.operation(incoming)
            params = codec.parse(operation, incoming)
            response = codec.serialize(operation, answer(operation, params), REQUEST_ID)
        except AwsError as error:
            if incoming.method == "HEAD":  # the rest codecs write no body then
                response = codec.error(error, REQUEST_ID, head=True)  # type: ignore[call-arg]
            else:
                response = codec.error(error, REQUEST_ID)
        status, headers = response.status, response.headers
        return AWSResponse(request.url, status, headers, RawBody(body_of(response)))

    made.meta.events.register("before-send", before_send)
    return made


def legacy_sqs_models(directory: Path, model_file: Path) -> Path:
    """A botocore data directory holding the vendored SQS query model."""
    target = directory / "sqs" / "2012-11-05"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, target / "service-2.json.gz")
    return directory
