"""Which API a request speaks: the native one, or an AWS service and wire protocol.

One port answers both. :func:`recognize` runs for every request, so it reads a few headers and
looks them up in tables built once from botocore's service models; it never parses a model, a
JSON body or a whole form per request. The rules, in the order real AWS clients make reliable:

1. a native path (``/v1/...``, ``/healthz``, ``/metrics``, ``/openapi.json``) is the native API,
   whatever it carries;
2. a SigV4 credential scope (``Authorization`` header or presigned ``X-Amz-Credential``) names
   the service by its signing name;
3. else ``X-Amz-Target: <targetPrefix>.<Operation>`` names it by its model's target prefix;
4. else a query ``Action`` (form body of an ``application/x-www-form-urlencoded`` request, else
   the query string): ``Version`` names the service by its ``apiVersion``, else the one query
   service whose model has that operation;
5. else the path: the literal prefix of a rest service's ``requestUri`` (Lambda's
   ``/2015-03-31/functions...``, ``/2017-03-31/tags/...``, ...).

Rules 3-5 recognise unsigned requests (curl, ``aws --no-sign-request``) too. The protocol is the
model's, unless the service accepts more than one (SQS: JSON, and the query protocol of clients
older than botocore 1.34.90, from its ``awsQueryCompatible`` metadata) — then the request's shape
(``X-Amz-Target`` or an ``x-amz-json`` content type; a form body or ``Action``) decides. A request
that looks like AWS but names a service the tables do not know is still recognised, with the
name it gives (a signing name), or :data:`UNKNOWN_SERVICE`, so the gateway answers it with an AWS
error rather than the native API's 404.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote_plus

from raybus.gateway.aws.sigv4 import RequestLike, scope_service

__all__ = [
    "DEFAULT_SERVICES",
    "NATIVE_PATHS",
    "NATIVE_PREFIXES",
    "UNKNOWN_SERVICE",
    "Recognized",
    "Recognizer",
    "ServiceInfo",
    "default_recognizer",
    "load_models",
    "recognize",
]

DEFAULT_SERVICES: tuple[str, ...] = (
    "sqs",
    "sns",
    "sts",
    "iam",
    "lambda",
    "events",
    "kinesis",
    "firehose",
    "s3",
)
"""The services the default tables know, by botocore name: those served now and those planned
(recognised so the gateway can name them when it refuses them). Their order breaks ties."""

NATIVE_PATHS = frozenset({"/v1", "/healthz", "/metrics", "/openapi.json"})
NATIVE_PREFIXES = ("/v1/",)

UNKNOWN_SERVICE = "unknown"
"""The service of a request that is AWS-shaped (a target, an ``Action``) but names no service
the tables know and carries no credential scope."""

LEGACY_AUTH_SCHEMES: Mapping[str, str] = {"AWS": "s3"}
"""``Authorization`` schemes older than SigV4 that name their service (S3's HMAC-SHA1)."""

QUERY_PATH_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    # An operation several query services share (AddPermission: SQS and SNS) posted without a
    # Version to a queue URL is SQS's.
    (re.compile(r"/\d{12}/[^/]+/?"), "sqs"),
)

_FORM = "application/x-www-form-urlencoded"
_ACTION_RE = re.compile(rb"(?:^|&)Action=([^&]*)")
_VERSION_RE = re.compile(rb"(?:^|&)Version=([^&]*)")


@dataclass(frozen=True, slots=True)
class Recognized:
    """An AWS request: the botocore ``service`` name and the wire ``protocol`` it speaks
    (``json``, ``query``, ``rest-json``, ``rest-xml``, ...)."""

    service: str
    protocol: str


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """What recognition needs of one service model."""

    name: str
    signing_name: str
    protocols: tuple[str, ...]
    """Accepted wire protocols, the model's preferred first."""
    target_prefix: str | None
    api_version: str | None
    operations: frozenset[str]
    path_prefixes: tuple[tuple[str, ...], ...]
    """The literal leading segments of each rest operation's ``requestUri``."""

    @classmethod
    def from_model(cls, name: str, model: Mapping[str, Any]) -> ServiceInfo:
        metadata: Mapping[str, Any] = model["metadata"]
        protocols = tuple(metadata.get("protocols") or (metadata["protocol"],))
        if "awsQueryCompatible" in metadata and "query" not in protocols:
            protocols = (*protocols, "query")
        operations: Mapping[str, Any] = model.get("operations", {})
        prefixes: list[tuple[str, ...]] = []
        if any(protocol.startswith("rest-") for protocol in protocols):
            for operation in operations.values():
                literal = _literal_prefix(str(operation.get("http", {}).get("requestUri", "")))
                if literal and literal not in prefixes:
                    prefixes.append(literal)
        return cls(
            name=name,
            signing_name=str(metadata.get("signingName") or metadata["endpointPrefix"]),
            protocols=protocols,
            target_prefix=metadata.get("targetPrefix"),
            api_version=metadata.get("apiVersion"),
            operations=frozenset(operations),
            path_prefixes=tuple(prefixes),
        )


def _literal_prefix(request_uri: str) -> tuple[str, ...]:
    """``/2015-03-31/functions/{FunctionName}/invocations`` → ``("2015-03-31", "functions")``."""
    literal: list[str] = []
    for segment in request_uri.split("?", 1)[0].split("/"):
        if not segment:
            continue
        if "{" in segment:
            break
        literal.append(segment)
    return tuple(literal)


def load_models(services: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    """botocore's latest ``service-2`` model of each service, by name."""
    loaders = importlib.import_module("botocore.loaders")
    loader = loaders.Loader()
    return {
        name: cast(Mapping[str, Any], loader.load_service_model(name, "service-2"))
        for name in services
    }


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


class Recognizer:
    """Recognition tables built once from service models; :meth:`recognize` per request."""

    def __init__(self, services: Iterable[ServiceInfo]) -> None:
        self.services: dict[str, ServiceInfo] = {}
        signing: dict[str, list[str]] = {}
        versions: dict[str, list[str]] = {}
        query_operations: dict[str, list[str]] = {}
        self._targets: dict[str, str] = {}
        owners: dict[tuple[str, ...], list[str]] = {}
        full: set[tuple[str, ...]] = set()
        for info in services:
            self.services[info.name] = info
            signing.setdefault(info.signing_name, []).append(info.name)
            if info.target_prefix:
                self._targets.setdefault(info.target_prefix, info.name)
            if "query" in info.protocols or "ec2" in info.protocols:
                if info.api_version:
                    versions.setdefault(info.api_version, []).append(info.name)
                for operation in info.operations:
                    query_operations.setdefault(operation, []).append(info.name)
            for literal in info.path_prefixes:
                full.add(literal)
                for length in range(1, len(literal) + 1):
                    names = owners.setdefault(literal[:length], [])
                    if info.name not in names:
                        names.append(info.name)
        self._signing = {name: tuple(names) for name, names in signing.items()}
        self._versions = {version: tuple(names) for version, names in versions.items()}
        self._query_operations = {op: tuple(names) for op, names in query_operations.items()}
        # A path prefix belongs to its one owner; a whole requestUri literal that several
        # services share goes to the first configured.
        self._paths = {
            prefix: names[0]
            for prefix, names in owners.items()
            if len(names) == 1 or prefix in full
        }
        self._depth = max((len(prefix) for prefix in self._paths), default=0)

    @classmethod
    def from_models(cls, models: Mapping[str, Mapping[str, Any]]) -> Recognizer:
        return cls(ServiceInfo.from_model(name, model) for name, model in models.items())

    @classmethod
    def from_botocore(cls, services: Iterable[str] = DEFAULT_SERVICES) -> Recognizer:
        return cls.from_models(load_models(services))

    # -- per request ----------------------------------------------------------------------------

    def recognize(self, request: RequestLike) -> Recognized | None:
        """The AWS service and protocol of ``request``, or ``None`` for the native API."""
        path = request.path
        if path in NATIVE_PATHS or path.startswith(NATIVE_PREFIXES):
            return None
        signing = self._signing_name(request)
        if signing is not None:
            candidates = self._signing.get(signing)
            if candidates is None:
                return Recognized(signing, _shape(request) or "rest-json")
            chosen = candidates[0]
            if len(candidates) > 1:
                named = self._by_request(request)
                if named in candidates:
                    chosen = named
            return Recognized(chosen, self._protocol(chosen, request))
        service = self._by_request(request)
        if service is None:
            if _carries_signature(request):
                # SigV4 whose credential scope cannot be read: AWS's, to be refused as such.
                return Recognized(UNKNOWN_SERVICE, _shape(request) or "rest-json")
            return None
        return Recognized(service, self._protocol(service, request))

    def _signing_name(self, request: RequestLike) -> str | None:
        service = scope_service(request)
        if service is not None:
            return service
        header = request.headers.get("authorization")
        if header is not None:
            scheme = header.lstrip().partition(" ")[0]
            return LEGACY_AUTH_SCHEMES.get(scheme)
        return None

    def _by_request(self, request: RequestLike) -> str | None:
        """Rules 3-5: the service named by the target, the query action, or the path."""
        target = request.headers.get("x-amz-target")
        if target is not None:
            prefix = target.strip().rpartition(".")[0]
            return self._targets.get(prefix, UNKNOWN_SERVICE)
        action, version = _action(request)
        if action is not None:
            return self._by_action(action, version, request.path)
        segments = _segments(request.path)
        for length in range(min(len(segments), self._depth), 0, -1):
            service = self._paths.get(tuple(segments[:length]))
            if service is not None:
                return service
        return None

    def _by_action(self, action: str, version: str | None, path: str) -> str:
        by_operation = self._query_operations.get(action, ())
        if version is not None:
            by_version = self._versions.get(version, ())
            for name in by_version:
                if name in by_operation:
                    return name
            if by_version:
                return by_version[0]
        if len(by_operation) > 1:
            for pattern, service in QUERY_PATH_HINTS:
                if service in by_operation and pattern.fullmatch(path):
                    return service
        return by_operation[0] if by_operation else UNKNOWN_SERVICE

    def _protocol(self, service: str, request: RequestLike) -> str:
        info = self.services.get(service)
        shape = _shape(request)
        if info is None:
            return shape or "rest-json"
        protocols = info.protocols
        if len(protocols) > 1 and shape in protocols:
            assert shape is not None
            return shape
        return protocols[0]


def _carries_signature(request: RequestLike) -> bool:
    header = request.headers.get("authorization")
    if header is not None and header.lstrip()[:5].upper() == "AWS4-":
        return True
    return any(key == "X-Amz-Algorithm" for key, _ in request.query)


def _content_type(request: RequestLike) -> str:
    return (request.headers.get("content-type") or "").lower()


def _shape(request: RequestLike) -> str | None:
    """The protocol a request's form suggests, if any."""
    headers = request.headers
    if "x-amz-target" in headers:
        return "json"
    content_type = _content_type(request)
    if content_type.startswith("application/x-amz-json"):
        return "json"
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        return "smithy-rpc-v2-cbor"
    if content_type.startswith(_FORM) or any(key == "Action" for key, _ in request.query):
        return "query"
    return None


def _form_value(pattern: re.Pattern[bytes], body: bytes) -> str | None:
    match = pattern.search(body)
    if match is None:
        return None
    return unquote_plus(match.group(1).decode("utf-8", "replace"))


def _action(request: RequestLike) -> tuple[str | None, str | None]:
    """A query request's ``Action`` and ``Version``: from a form body, else the query string."""
    action: str | None = None
    version: str | None = None
    if _content_type(request).startswith(_FORM) and request.body:
        action = _form_value(_ACTION_RE, request.body)
        if action is not None:
            return action, _form_value(_VERSION_RE, request.body)
    for key, value in request.query:
        if key == "Action" and action is None:
            action = value
        elif key == "Version" and version is None:
            version = value
    return action, version


@functools.cache
def default_recognizer() -> Recognizer:
    """The recognizer of :data:`DEFAULT_SERVICES`, built on first use and kept."""
    return Recognizer.from_botocore(DEFAULT_SERVICES)


def recognize(request: RequestLike) -> Recognized | None:
    """The AWS service and protocol of ``request`` (default tables), ``None`` for native."""
    return default_recognizer().recognize(request)
