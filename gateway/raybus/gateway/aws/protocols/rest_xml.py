"""The rest-xml protocol, inverting botocore's RestXMLSerializer and feeding its RestXMLParser:
Amazon S3, as boto3, the aws CLI and minio speak it.

**Operations** are found by method, path-style path (``/{Bucket}``, ``/{Bucket}/{Key+}``; the
front rewrites virtual-host-style requests first) and S3's literal query keys (``?uploads``,
``?list-type=2``, ``?tagging``, ...), then by which required query and header members the
request holds — ``PUT /b/k`` is ``PutObject``, with ``x-amz-copy-source`` ``CopyObject``, with
``partNumber`` and ``uploadId`` ``UploadPart`` — and by ``x-id`` when newer SDKs send it
(:mod:`.routes`). None: ``MethodNotAllowed`` (405, with ``Allow``).

**Requests**: labels, query and headers as :mod:`.rest` reads them, the keys of the
``x-amz-meta-`` map lower-cased as S3 stores them; a value that does not fit its member is
``InvalidArgument`` (400, naming ``ArgumentName``/``ArgumentValue``). The payload member: a
blob is the raw body, a string its UTF-8 text, a structure an XML document whose root is the
member's ``locationName``; with no payload member, the body members sit in a document named by
the input shape's ``locationName``. Documents are read by local names (namespaces ignored),
lists flattened or wrapped (``<member>`` or the list member's name), ``xmlAttribute`` members
from attributes, unknown elements ignored (as AWS's services do). A body that is not
well-formed, declares a document type, has the wrong root, or holds a value that does not fit
its shape (text where a structure belongs, elements inside a scalar, a repeated scalar, a
number that is not one) is ``MalformedXML`` (400); so is an empty body for a *required*
structure payload (an optional one is then absent).

*Streaming input* (``operation.has_streaming_input``: ``PutObject``/``UploadPart`` ``Body``):
the front may hand ``body=b""`` and stream the body to the service itself; the codec never
reads anything but ``request.body``, and an empty body leaves the payload member out of the
params. A non-empty ``body`` is the payload's bytes.

**Responses**: status from ``http.responseCode`` (``DeleteObject`` 204) or a ``statusCode``
member; header members as :mod:`.rest` writes them (RFC 822 dates, ``x-amz-meta-*``); the
payload: a structure is a document rooted at the payload member's name (``CopyObjectResult``,
``LegalHold``), the body members of an output without payload one rooted at the name AWS's
API Reference gives (:data:`RESPONSE_ROOTS`: ``ListBucketResult``, ``ListAllMyBucketsResult``,
``InitiateMultipartUploadResult``, ...), both with ``xmlns`` set to the service's namespace
and timestamps as ``2009-10-12T17:50:30.000Z``; ``GetBucketLocation``'s one member is the
text of its ``<LocationConstraint>`` root. A blob or string payload is the body (``bytes``,
or ``str`` as UTF-8); any other object given for a streaming payload (an async iterator of
``bytes``, ...) goes untouched into :attr:`WireResponse.stream` for the front to write, the
body left empty. A HEAD answer, a 204 and a 304 have no body.

**Errors**: S3's document, ``<Error><Code/><Message/>...<RequestId/><HostId/></Error>``
without a namespace, with the error's ``fields`` (``Key``, ``BucketName``, ...) between message
and request id, ``Content-Type: application/xml``, ``x-amz-request-id`` and ``x-amz-id-2``;
no body for a HEAD request (``error(..., head=True)``), as S3 answers one — botocore then
reports the status as the code (``"404"``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from raybus.gateway.aws.protocols.errors import AwsError, internal_failure
from raybus.gateway.aws.protocols.models import error_shape
from raybus.gateway.aws.protocols.rest import BadParameter, place_located, read_located
from raybus.gateway.aws.protocols.routes import Router
from raybus.gateway.aws.protocols.values import BadValue, scalar_from_text
from raybus.gateway.aws.protocols.wire import WireRequest, WireResponse
from raybus.gateway.aws.protocols.xml import (
    Element,
    XmlError,
    escape,
    open_tag,
    parse_xml,
    scalar_text,
    write_members,
    write_value,
)

__all__ = [
    "MALFORMED_XML",
    "RESPONSE_ROOTS",
    "S3_NAMESPACE",
    "RestXmlCodec",
    "invalid_argument",
    "malformed_xml",
]

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
MALFORMED_XML = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)
XML_MEDIA_TYPE = "application/xml"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_BODYLESS = (204, 304)
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9._-]*\Z")
_ERROR_OWN = frozenset({"Code", "Message", "RequestId", "HostId"})

# The root element of an answer whose output has body members but no payload member, by output
# shape: botocore's model does not carry these names (its parser ignores the root); AWS's S3 API
# Reference gives them, and clients that check the root (minio, the SDKs built on Smithy's
# model) need them. Shapes not listed here take their own ``locationName``, else their name
# with ``Output``/``Response`` replaced by ``Result``.
RESPONSE_ROOTS: dict[str, str] = {
    "CompleteMultipartUploadOutput": "CompleteMultipartUploadResult",
    "CreateMultipartUploadOutput": "InitiateMultipartUploadResult",
    "CreateSessionOutput": "CreateSessionResult",
    "DeleteObjectsOutput": "DeleteResult",
    "GetBucketAccelerateConfigurationOutput": "AccelerateConfiguration",
    "GetBucketAclOutput": "AccessControlPolicy",
    "GetBucketCorsOutput": "CORSConfiguration",
    "GetBucketLifecycleOutput": "LifecycleConfiguration",
    "GetBucketLifecycleConfigurationOutput": "LifecycleConfiguration",
    "GetBucketLocationOutput": "LocationConstraint",
    "GetBucketLoggingOutput": "BucketLoggingStatus",
    "NotificationConfigurationDeprecated": "NotificationConfiguration",
    "NotificationConfiguration": "NotificationConfiguration",
    "GetBucketRequestPaymentOutput": "RequestPaymentConfiguration",
    "GetBucketTaggingOutput": "Tagging",
    "GetBucketVersioningOutput": "VersioningConfiguration",
    "GetBucketWebsiteOutput": "WebsiteConfiguration",
    "GetObjectAclOutput": "AccessControlPolicy",
    "GetObjectAttributesOutput": "GetObjectAttributesResponse",
    "GetObjectTaggingOutput": "Tagging",
    "ListBucketAnalyticsConfigurationsOutput": "ListBucketAnalyticsConfigurationResult",
    "ListBucketIntelligentTieringConfigurationsOutput": (
        "ListBucketIntelligentTieringConfigurationsOutput"
    ),
    "ListBucketInventoryConfigurationsOutput": "ListInventoryConfigurationsResult",
    "ListBucketMetricsConfigurationsOutput": "ListMetricsConfigurationsResult",
    "ListBucketsOutput": "ListAllMyBucketsResult",
    "ListDirectoryBucketsOutput": "ListAllMyDirectoryBucketsResult",
    "ListMultipartUploadsOutput": "ListMultipartUploadsResult",
    "ListObjectAnnotationsOutput": "ListObjectAnnotationsResult",
    "ListObjectVersionsOutput": "ListVersionsResult",
    "ListObjectsOutput": "ListBucketResult",
    "ListObjectsV2Output": "ListBucketResult",
    "ListPartsOutput": "ListPartsResult",
    "PutObjectAnnotationOutput": "PutObjectAnnotationResult",
}


def malformed_xml() -> AwsError:
    """S3's answer to a body it cannot read as the operation's XML."""
    return AwsError("MalformedXML", MALFORMED_XML, status=400)


def invalid_argument(error: BadParameter) -> AwsError:
    """S3's answer to a header, query parameter or label that does not fit its member."""
    if not error.name:
        return AwsError("InvalidArgument", f"The query string is not {error.reason}.")
    return AwsError(
        "InvalidArgument",
        f"Invalid value for {error.name}: expected {error.reason}.",
        fields={"ArgumentName": error.name, "ArgumentValue": error.value[:256]},
    )


def _express_control(operation: Any) -> bool:
    # S3 Express's control-plane twins of regional operations (ListDirectoryBuckets shares
    # GET / with ListBuckets): the regional one answers a request that does not pick either.
    params = getattr(operation, "static_context_parameters", None) or ()
    return any(p.name == "UseS3ExpressControlEndpoint" and p.value for p in params)


def _namespace(service: Any) -> str:
    for name in service.operation_names:
        shape = service.operation_model(name).input_shape
        if shape is None:
            continue
        payload = shape.serialization.get("payload")
        owner = shape.members[payload] if payload is not None else shape
        namespace = owner.serialization.get("xmlNamespace")
        uri = namespace.get("uri") if isinstance(namespace, Mapping) else namespace
        if uri:
            return str(uri)
    metadata = service.metadata
    return str(
        metadata.get("xmlNamespace")
        or f"http://{service.endpoint_prefix}.amazonaws.com/doc/{service.api_version}/"
    )


def _host_id(request_id: str) -> str:
    return base64.b64encode(hashlib.sha256(request_id.encode("utf-8", "replace")).digest()).decode()


def _resource_type(path: str) -> str:
    parts = path.strip("/").split("/", 1)
    if not parts[0]:
        return "SERVICE"
    return "BUCKET" if len(parts) == 1 or not parts[1] else "OBJECT"


class RestXmlCodec:
    """The rest-xml protocol for one service model (S3's)."""

    protocol = "rest-xml"

    def __init__(self, service: Any) -> None:
        self.service = service
        self._router = Router(service, demote=_express_control)
        self._namespace = _namespace(service)
        self._xmlns = f' xmlns="{self._namespace}"'

    # -- requests ---------------------------------------------------------------------------

    def operation(self, request: WireRequest) -> Any:
        """The operation ``request`` calls; ``MethodNotAllowed`` (405) when none."""
        operation = self._router.match(request.method, request.path, request.query, request.headers)
        if operation is None:
            raise self._not_allowed(request)
        return operation

    def _not_allowed(self, request: WireRequest) -> AwsError:
        allowed = sorted(self._router.methods(request.path, request.query))
        return AwsError(
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
            status=405,
            headers={"Allow": ", ".join(allowed)} if allowed else None,
            fields={"Method": request.method.upper(), "ResourceType": _resource_type(request.path)},
        )

    def parse(self, operation: Any, request: WireRequest) -> dict[str, Any]:
        """The params of ``request`` for ``operation`` (botocore's shapes); ``InvalidArgument``
        for a located value that does not fit, ``MalformedXML`` for a body that does not."""
        labels = self._router.labels(operation, request.path)
        if labels is None:
            raise self._not_allowed(request)
        shape = operation.input_shape
        if shape is None:
            return {}
        params: dict[str, Any] = {}
        try:
            claimed = self._router.literal_query_keys(operation)
            read_located(shape, labels, request, params, claimed=claimed, lower_prefixed=True)
        except BadParameter as error:
            raise invalid_argument(error) from None
        self._body(shape, request.body, params)
        return params

    def _body(self, shape: Any, body: bytes, params: dict[str, Any]) -> None:
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if member.type_name == "blob":
                if body:
                    params[payload] = body
                return
            if member.type_name == "string":
                if body:
                    try:
                        params[payload] = body.decode("utf-8")
                    except UnicodeDecodeError:
                        raise AwsError(
                            "InvalidArgument", "The request body is not valid UTF-8."
                        ) from None
                return
            if not body.strip():
                if payload in shape.required_members:
                    raise malformed_xml()
                return
            root = self._document(body, member.serialization.get("name", payload))
            params[payload] = self._read(member, root)
            return
        if not any("location" not in m.serialization for m in shape.members.values()):
            return
        if not body.strip():
            return
        root = self._document(body, shape.serialization.get("name", shape.name))
        params.update(self._read(shape, root))

    def _document(self, body: bytes, root_name: str) -> Element:
        try:
            root = parse_xml(body)
        except XmlError:
            raise malformed_xml() from None
        if root.name != root_name:
            raise malformed_xml()
        return root

    def _read(self, shape: Any, element: Element) -> Any:
        try:
            return _read(shape, element)
        except BadValue:
            raise malformed_xml() from None

    # -- responses --------------------------------------------------------------------------

    def serialize(self, operation: Any, output: Mapping[str, Any], request_id: str) -> WireResponse:
        """``output`` (botocore's shape, ``ResponseMetadata`` excluded) as the answer to
        ``operation``; ``InternalFailure`` (500) when it does not fit the model."""
        try:
            return self._serialize(operation, output, request_id)
        except (TypeError, ValueError) as error:
            raise internal_failure(f"{operation.name}: {error}") from error

    def _serialize(
        self, operation: Any, output: Mapping[str, Any], request_id: str
    ) -> WireResponse:
        status = int(operation.http.get("responseCode", 200))
        headers = self._headers(request_id)
        head = str(operation.http.get("method", "")).upper() == "HEAD"
        shape = operation.output_shape
        if shape is None:
            if output:
                raise ValueError(f"{operation.name} has no output, but was given {sorted(output)}")
            return WireResponse(status, headers, b"")
        if operation.has_event_stream_output:
            raise ValueError("event stream responses are not supported")
        members = shape.members
        for name in output:
            if name not in members:
                raise ValueError(f"{name!r} is not a member of {shape.name}")
        status = place_located(members, output, headers, status)
        body = b""
        stream: Any = None
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = members[payload]
            value = output.get(payload)
            if value is None:
                pass
            elif member.type_name in ("blob", "string"):
                if isinstance(value, str):
                    body = value.encode("utf-8")
                elif isinstance(value, bytes | bytearray | memoryview):
                    body = bytes(value)
                elif member.serialization.get("streaming"):
                    stream = value
                else:
                    raise TypeError(f"{payload} must be bytes, not {type(value).__name__}")
            else:
                root = member.serialization.get("name") or member.name
                body = self._xml(member, root, value)
                headers.setdefault("Content-Type", XML_MEDIA_TYPE)
        else:
            located = {name for name, m in members.items() if "location" in m.serialization}
            if len(located) < len(members):
                values = {name: v for name, v in output.items() if name not in located}
                body = self._xml(shape, self._root(shape), values)
                headers.setdefault("Content-Type", XML_MEDIA_TYPE)
        if head or status in _BODYLESS:
            body, stream = b"", None
        return WireResponse(status, headers, body, stream)

    @staticmethod
    def _root(shape: Any) -> str:
        found = RESPONSE_ROOTS.get(shape.name) or shape.serialization.get("name")
        if found:
            return str(found)
        name = str(shape.name)
        for suffix in ("Output", "Response"):
            if name.endswith(suffix):
                return name[: -len(suffix)] + "Result"
        return name

    def _xml(self, shape: Any, root: str, value: Any) -> bytes:
        parts = [_DECLARATION]
        body = [name for name, m in shape.members.items() if "location" not in m.serialization]
        if shape.type_name == "structure" and len(body) == 1:
            only = shape.members[body[0]]
            if only.serialization.get("name", body[0]) == root and only.type_name not in (
                "structure",
                "list",
                "map",
            ):
                # GetBucketLocation: <LocationConstraint xmlns="...">eu-west-1</...>
                item = value.get(body[0]) if isinstance(value, Mapping) else None
                if item is None:
                    parts.append(f"<{root}{self._xmlns}/>")
                else:
                    text = escape(scalar_text(only, item, millis=True))
                    parts.append(f"<{root}{self._xmlns}>{text}</{root}>")
                return "".join(parts).encode("utf-8")
        parts.append(open_tag(shape, root, value, extra=self._xmlns, millis=True))
        write_members(shape, value, parts, millis=True)
        parts.append(f"</{root}>")
        return "".join(parts).encode("utf-8")

    # -- errors -----------------------------------------------------------------------------

    def error(self, error: AwsError, request_id: str, *, head: bool = False) -> WireResponse:
        """S3's ``<Error>`` document for ``error``; no body when ``head`` (the request was a
        HEAD) or the status is 204/304. Never raises."""
        headers = self._headers(request_id)
        headers["Content-Type"] = XML_MEDIA_TYPE
        headers.update(error.headers)
        if head or error.status in _BODYLESS:
            return WireResponse(error.status, headers, b"")
        parts = [
            _DECLARATION,
            f"<Error><Code>{escape(error.code, lenient=True)}</Code>",
            f"<Message>{escape(error.message, lenient=True)}</Message>",
        ]
        if error.fields:
            parts.extend(self._error_fields(error))
        parts.append(f"<RequestId>{escape(request_id, lenient=True)}</RequestId>")
        parts.append(f"<HostId>{escape(headers['x-amz-id-2'], lenient=True)}</HostId></Error>")
        return WireResponse(error.status, headers, "".join(parts).encode("utf-8", "replace"))

    def _error_fields(self, error: AwsError) -> list[str]:
        shape = error_shape(self.service, error.code)
        members = shape.members if shape is not None else {}
        out: list[str] = []
        for name, value in error.fields.items():
            if value is None or name in _ERROR_OWN or not _XML_NAME.match(str(name)):
                continue
            part: list[str] = []
            try:
                member = members.get(name)
                if member is not None:
                    write_value(member, member.serialization.get("name", name), value, part)
                else:
                    part = [f"<{name}>{escape(_field_text(value), lenient=True)}</{name}>"]
            except (TypeError, ValueError):
                continue
            out.extend(part)
        return out

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"x-amz-request-id": request_id, "x-amz-id-2": _host_id(request_id)}


def _field_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- reading documents --------------------------------------------------------------------------


def _read(shape: Any, element: Element) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return _structure(shape, element)
    if kind == "list":
        if element.text.strip():
            raise BadValue("a list of elements, not text")
        tag = shape.member.serialization.get("name", "member")
        return [_read(shape.member, child) for child in element.children if child.name == tag]
    if kind == "map":
        if element.text.strip():
            raise BadValue("a map of entries, not text")
        return _entries(shape, [child for child in element.children if child.name == "entry"])
    if element.children:
        raise BadValue("text, not elements")
    return scalar_from_text(shape, kind, element.text, "iso8601")


def _structure(shape: Any, element: Element) -> dict[str, Any]:
    if element.text.strip():
        raise BadValue("elements, not text")
    children: dict[str, list[Element]] = {}
    for child in element.children:
        children.setdefault(child.name, []).append(child)
    out: dict[str, Any] = {}
    members = shape.members
    for name, member in members.items():
        serialization = member.serialization
        if "location" in serialization:
            continue
        wire = serialization.get("name", name)
        if serialization.get("xmlAttribute"):
            text = element.attribute(wire)
            if text is not None:
                out[name] = scalar_from_text(member, member.type_name, text, "iso8601")
            continue
        if serialization.get("flattened") and member.type_name == "list":
            items = children.get(wire)
            if items is None:
                items = children.get(member.member.serialization.get("name", wire))
            if items:
                out[name] = [_read(member.member, item) for item in items]
            continue
        if serialization.get("flattened") and member.type_name == "map":
            entries = children.get(wire)
            if entries:
                out[name] = _entries(member, entries)
            continue
        found = children.get(wire)
        if not found:
            continue
        if len(found) > 1:
            if _flattened_sibling(members, wire):
                continue  # S3's deprecated Event beside Events: the list has them all
            raise BadValue(f"one <{wire}>")
        out[name] = _read(member, found[0])
    return out


def _flattened_sibling(members: Any, wire: str) -> bool:
    """Whether a flattened list among ``members`` repeats ``<wire>`` elements."""
    for name, member in members.items():
        if member.type_name == "list" and member.serialization.get("flattened"):
            own = member.serialization.get("name", name)
            if wire in (own, member.member.serialization.get("name", own)):
                return True
    return False


def _entries(shape: Any, entries: list[Element]) -> dict[Any, Any]:
    key_tag = shape.key.serialization.get("name", "key")
    value_tag = shape.value.serialization.get("name", "value")
    out: dict[Any, Any] = {}
    for entry in entries:
        keys = [child for child in entry.children if child.name == key_tag]
        values = [child for child in entry.children if child.name == value_tag]
        if len(keys) != 1 or len(values) != 1:
            raise BadValue("one key and one value per entry")
        out[_read(shape.key, keys[0])] = _read(shape.value, values[0])
    return out
