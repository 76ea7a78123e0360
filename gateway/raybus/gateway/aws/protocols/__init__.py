"""Model-driven AWS wire codecs: botocore's service models decide how a request is read and an
answer written, for the json (SQS), query (SNS, STS, IAM, legacy SQS), rest-json (Lambda) and
rest-xml (S3) protocols. Pure code: no HTTP server, no semantics.

- :class:`WireRequest` / :class:`WireResponse` — what the HTTP server hands over and writes out
  (a streaming answer's body in ``WireResponse.stream``);
- :func:`codec_for` — the cached :class:`Codec` of a service (and protocol): ``operation``,
  ``parse``, ``serialize``, ``error``;
- :class:`AwsError` — an error in AWS's terms, written by whichever codec answers;
  :func:`modeled_error` builds one from the model (status, fault, query code);
- :func:`validate` / :func:`validation_message` — the model's constraints, in AWS's words;
- :func:`service_model` — botocore's model, or the vendored legacy SQS query model.
"""

from raybus.gateway.aws.protocols.codecs import Codec, codec_for
from raybus.gateway.aws.protocols.errors import AwsError
from raybus.gateway.aws.protocols.models import modeled_error, service_model
from raybus.gateway.aws.protocols.validate import validate, validation_message
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse

__all__ = [
    "AwsError",
    "Codec",
    "WireRequest",
    "WireResponse",
    "codec_for",
    "modeled_error",
    "service_model",
    "validate",
    "validation_message",
]
