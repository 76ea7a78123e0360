"""One codec per (service model, protocol), built once: :func:`codec_for`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Protocol

from raybus.gateway.aws.protocols.errors import AwsError
from raybus.gateway.aws.protocols.json10 import JsonCodec
from raybus.gateway.aws.protocols.models import service_model
from raybus.gateway.aws.protocols.query import QueryCodec
from raybus.gateway.aws.protocols.rest_json import RestJsonCodec
from raybus.gateway.aws.protocols.rest_xml import RestXmlCodec
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse

__all__ = ["CODECS", "Codec", "codec_for"]


class Codec(Protocol):
    """Reads requests and writes responses of one service in one protocol; no semantics.

    - :meth:`operation` names the operation a request calls (``AwsError`` with the protocol's
      code when none: json ``UnknownOperationException``, query ``MissingAction`` /
      ``InvalidAction``, rest-json ``UnknownOperationException`` 404, rest-xml
      ``MethodNotAllowed`` 405);
    - :meth:`parse` returns its input as botocore-style params (member name -> ``str``,
      ``int``, ``float``, ``bool``, ``bytes``, aware ``datetime``, ``list``, ``dict``), or
      raises ``AwsError`` for a body or value it cannot read (never another exception);
    - :meth:`serialize` writes a botocore-style output dict (``ResponseMetadata`` excluded);
      ``AwsError(InternalFailure, 500)`` when the output does not fit the model; a streaming
      payload that is not ``bytes`` goes to :attr:`WireResponse.stream` (rest-xml);
    - :meth:`error` writes an :class:`AwsError`; it never raises. The rest codecs (rest-json,
      rest-xml) also take ``head=True`` — the request was a HEAD — and then write no body.
    """

    service: Any  # botocore.model.ServiceModel
    protocol: str

    def operation(self, request: WireRequest) -> Any: ...

    def parse(self, operation: Any, request: WireRequest) -> dict[str, Any]: ...

    def serialize(
        self, operation: Any, output: Mapping[str, Any], request_id: str
    ) -> WireResponse: ...

    def error(self, error: AwsError, request_id: str) -> WireResponse: ...


CODECS: dict[str, type[JsonCodec] | type[QueryCodec] | type[RestJsonCodec] | type[RestXmlCodec]] = {
    "json": JsonCodec,
    "query": QueryCodec,
    "rest-json": RestJsonCodec,
    "rest-xml": RestXmlCodec,
}


@functools.cache
def codec_for(service_name: str, *, protocol: str | None = None) -> Codec:
    """The codec of ``service_name`` in ``protocol`` (the model's own when None):
    ``codec_for("sqs")`` is json (awsQueryCompatible), ``codec_for("sqs", protocol="query")``
    the legacy query model, ``"sns"``/``"sts"``/``"iam"`` query, ``"lambda"`` rest-json,
    ``"s3"`` rest-xml.
    Cached; ``ValueError`` for a service or protocol there is no model or codec for."""
    model = service_model(service_name, protocol)
    kind = CODECS.get(str(model.protocol))
    if kind is None:
        raise ValueError(f"no codec for the {model.protocol!r} protocol ({service_name})")
    codec: Codec = kind(model)
    return codec
