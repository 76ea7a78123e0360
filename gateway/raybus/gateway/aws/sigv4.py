"""AWS Signature Version 4: reading a request's signature and checking it as AWS does.

Two forms carry a signature: the ``Authorization`` header (``AWS4-HMAC-SHA256
Credential=<key>/<date>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=...``) and
the presigned query (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-SignedHeaders``, ``X-Amz-Signature``). :func:`parse_authorization` reads either (``None``
for an unsigned request) and refuses a malformed one; :func:`verify` recomputes the signature —
canonical request, string to sign, derived key — and compares it in constant time;
:class:`Credentials` holds the access keys and the policy (accept any signature, or verify).

S3 may stream a body that is signed chunk by chunk (``aws-chunked``): the request's signature is
then the *seed* of a chain, each chunk's signature covering the previous one and the chunk's
SHA-256, and a trailer (a checksum sent after the body) has its own. :class:`StreamSigner`
computes that chain from a verified :class:`SigV4` and the secret key (:func:`signing_key`);
reading such a body is :mod:`.payload`'s. The payload hashes a request may sign are the
``*_PAYLOAD*`` constants; :func:`verify` with ``check_payload=False`` leaves a body that has not
been read yet to the caller.

Every refusal is a :class:`SignatureError` carrying the code, message and HTTP status AWS uses.
Those differ by service family — ``SignatureDoesNotMatch`` (403) for the query services and SQS,
``InvalidSignatureException`` (400) for the JSON services, the same at 403 for Lambda, S3's own
codes — so they are data: one :class:`ErrorFamily` per family, chosen per service by
:func:`family_for`. The messages are AWS's own, as clients and AWS-compatible servers quote them
(the check order follows the coral services': form, dates, signed headers, algorithm, credential,
scope, access key, signature).

``now`` is seconds since the epoch (``time.time()``, or a test clock's ``now_ms() / 1000``).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import quote

__all__ = [
    "ALGORITHM",
    "CHUNK_ALGORITHM",
    "EMPTY_SHA256",
    "JSON",
    "LAMBDA",
    "MAX_PRESIGN_EXPIRES_S",
    "MAX_SKEW_S",
    "PROTOCOL_FAMILIES",
    "QUERY",
    "S3",
    "SERVICE_FAMILIES",
    "STREAMING_PAYLOAD",
    "STREAMING_PAYLOAD_TRAILER",
    "STREAMING_UNSIGNED_PAYLOAD_TRAILER",
    "TERMINATOR",
    "TRAILER_ALGORITHM",
    "UNSIGNED_PAYLOAD",
    "Credentials",
    "ErrorFamily",
    "ErrorSpec",
    "Policy",
    "RequestLike",
    "SigV4",
    "SignatureError",
    "StreamSigner",
    "canonical_request",
    "check_scope",
    "check_time",
    "family_for",
    "parse_authorization",
    "scope_service",
    "signing_key",
    "string_to_sign",
    "verify",
]

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
"""An ``aws-chunked`` body whose chunks are signed, chained from the request's signature."""
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
"""Signed chunks, then a trailer (a checksum) with its own signature."""
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
"""Unsigned ``aws-chunked`` chunks and a checksum trailer (what the SDKs send over HTTPS)."""
CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW_S = 15 * 60
"""How far a request's time may be from ``now``, either way (AWS: 15 minutes)."""
MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600
"""The longest ``X-Amz-Expires`` AWS accepts (7 days)."""

_ISO_BASIC = "%Y%m%dT%H%M%SZ"
_ISO_BASIC_RE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SHA256_HEX_RE = re.compile(r"[0-9a-fA-F]{64}")
_ECHO_LIMIT = 512  # the longest client text an error message quotes


class RequestLike(Protocol):
    """What verification reads from an HTTP request (the gateway's ``WireRequest`` has it).

    ``path`` is the raw, percent-encoded path without the query; ``query`` the decoded
    ``(key, value)`` pairs in order; ``headers`` a case-insensitive mapping (a multidict's
    ``getall`` is used when present, so a repeated header signs as its values joined by ``,``).
    """

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def query(self) -> Sequence[tuple[str, str]]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def body(self) -> bytes: ...


class SignatureError(Exception):
    """A request AWS would refuse for its signature: ``code``, ``message`` and HTTP ``status``.

    ``details`` carries what helps a client debug a mismatch (the canonical request and the
    string to sign, which S3 also returns); it is not part of the message.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details: Mapping[str, str] = dict(details or {})

    def __repr__(self) -> str:
        return f"SignatureError({self.code!r}, {self.message!r}, {self.status})"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One refusal as a family answers it; ``message`` may use ``{detail}``."""

    code: str
    status: int
    message: str = "{detail}"

    def error(self, detail: str = "", details: Mapping[str, str] | None = None) -> SignatureError:
        return SignatureError(self.code, self.message.format(detail=detail), self.status, details)


@dataclass(frozen=True, slots=True)
class ErrorFamily:
    """How one family of AWS services answers each kind of signature refusal.

    - ``missing``: no signature where one is required;
    - ``incomplete``: a malformed ``Authorization`` header; ``incomplete_query``: the same for
      presigned query parameters;
    - ``rejected``: a well-formed signature refused before the signature is computed (a bad
      credential scope, ``Host`` not signed, both forms at once);
    - ``expired``: the request time is more than :data:`MAX_SKEW_S` from now;
    - ``presign_expired``: a presigned request past its ``X-Amz-Expires``;
    - ``unknown_key``: an access key the server does not know;
    - ``mismatch``: the signature differs from the one computed;
    - ``payload_mismatch``: ``x-amz-content-sha256`` is not the hash of the body.
    """

    name: str
    missing: ErrorSpec
    incomplete: ErrorSpec
    incomplete_query: ErrorSpec
    rejected: ErrorSpec
    expired: ErrorSpec
    presign_expired: ErrorSpec
    unknown_key: ErrorSpec
    mismatch: ErrorSpec
    payload_mismatch: ErrorSpec


_MISMATCH_MESSAGE = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)
_INVALID_TOKEN_MESSAGE = "The security token included in the request is invalid."
_REQUEST_EXPIRED = ErrorSpec("RequestExpired", 400, "Request has expired.")

QUERY = ErrorFamily(
    # The query (XML) services — SNS, STS, IAM, EC2, ... — and SQS, whose JSON protocol keeps the
    # query error codes (its model is ``awsQueryCompatible``). AWS Common Errors reference
    # (IncompleteSignature 400, InvalidClientTokenId 403, MissingAuthenticationToken 403,
    # RequestExpired 400) and the responses quoted in SDK issues (SignatureDoesNotMatch 403,
    # with "Signature expired: ..." for a stale request).
    name="query",
    missing=ErrorSpec("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    incomplete=ErrorSpec("IncompleteSignature", 400),
    incomplete_query=ErrorSpec("IncompleteSignature", 400),
    rejected=ErrorSpec("SignatureDoesNotMatch", 403),
    expired=ErrorSpec("SignatureDoesNotMatch", 403),
    presign_expired=_REQUEST_EXPIRED,
    unknown_key=ErrorSpec("InvalidClientTokenId", 403, _INVALID_TOKEN_MESSAGE),
    mismatch=ErrorSpec("SignatureDoesNotMatch", 403, _MISMATCH_MESSAGE),
    payload_mismatch=ErrorSpec("SignatureDoesNotMatch", 403, _MISMATCH_MESSAGE),
)

JSON = ErrorFamily(
    # The JSON (coral) services — EventBridge, Kinesis, Firehose, DynamoDB, ... — answer with
    # ``...Exception`` codes at 400 (the responses DynamoDB-compatible servers reproduce).
    name="json",
    missing=ErrorSpec(
        "MissingAuthenticationTokenException", 400, "Request is missing Authentication Token"
    ),
    incomplete=ErrorSpec("IncompleteSignatureException", 400),
    incomplete_query=ErrorSpec("IncompleteSignatureException", 400),
    rejected=ErrorSpec("InvalidSignatureException", 400),
    expired=ErrorSpec("InvalidSignatureException", 400),
    presign_expired=_REQUEST_EXPIRED,
    unknown_key=ErrorSpec("UnrecognizedClientException", 400, _INVALID_TOKEN_MESSAGE),
    mismatch=ErrorSpec("InvalidSignatureException", 400, _MISMATCH_MESSAGE),
    payload_mismatch=ErrorSpec("InvalidSignatureException", 400, _MISMATCH_MESSAGE),
)

LAMBDA = ErrorFamily(
    # Lambda (rest-json): the JSON codes at 403 (Lambda's Common Errors reference lists
    # IncompleteSignature and UnrecognizedClientException at 403; clients quote
    # "403 ... MissingAuthenticationTokenException: Missing Authentication Token").
    name="lambda",
    missing=ErrorSpec("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
    incomplete=ErrorSpec("IncompleteSignatureException", 403),
    incomplete_query=ErrorSpec("IncompleteSignatureException", 403),
    rejected=ErrorSpec("InvalidSignatureException", 403),
    expired=ErrorSpec("InvalidSignatureException", 403),
    presign_expired=_REQUEST_EXPIRED,
    unknown_key=ErrorSpec("UnrecognizedClientException", 403, _INVALID_TOKEN_MESSAGE),
    mismatch=ErrorSpec("InvalidSignatureException", 403, _MISMATCH_MESSAGE),
    payload_mismatch=ErrorSpec("InvalidSignatureException", 403, _MISMATCH_MESSAGE),
)

S3 = ErrorFamily(
    # S3 (rest-xml), for later: its own codes (S3 API reference, Error responses).
    name="s3",
    missing=ErrorSpec("AccessDenied", 403, "Access Denied"),
    incomplete=ErrorSpec(
        "AuthorizationHeaderMalformed", 400, "The authorization header is malformed; {detail}"
    ),
    incomplete_query=ErrorSpec("AuthorizationQueryParametersError", 400),
    rejected=ErrorSpec(
        "AuthorizationHeaderMalformed", 400, "The authorization header is malformed; {detail}"
    ),
    expired=ErrorSpec(
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    ),
    presign_expired=ErrorSpec("AccessDenied", 403, "Request has expired"),
    unknown_key=ErrorSpec(
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    mismatch=ErrorSpec(
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    ),
    payload_mismatch=ErrorSpec(
        "XAmzContentSHA256Mismatch",
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
)

SERVICE_FAMILIES: Mapping[str, ErrorFamily] = {
    # Services whose family is not their protocol's. SQS speaks JSON but is awsQueryCompatible:
    # its clients expect the query codes (in ``x-amzn-query-error``).
    "sqs": QUERY,
    "lambda": LAMBDA,
    "s3": S3,
    # The JSON services raybus serves or plans, so that a signature refused before the protocol
    # is known (``parse_authorization`` without a family) still gets their codes.
    "events": JSON,
    "kinesis": JSON,
    "firehose": JSON,
}
"""By botocore service name, and by signing name where that differs."""

PROTOCOL_FAMILIES: Mapping[str, ErrorFamily] = {
    "query": QUERY,
    "ec2": QUERY,
    "rest-xml": QUERY,
    "json": JSON,
    "rest-json": JSON,
    "smithy-rpc-v2-cbor": JSON,
}


def family_for(service: str | None, protocol: str | None = None) -> ErrorFamily:
    """The error family of a service (by name or signing name), else of its protocol, else query."""
    if service is not None:
        family = SERVICE_FAMILIES.get(service)
        if family is not None:
            return family
    if protocol is not None:
        family = PROTOCOL_FAMILIES.get(protocol)
        if family is not None:
            return family
    return QUERY


@dataclass(frozen=True, slots=True)
class SigV4:
    """A parsed SigV4 signature (either form).

    ``date``, ``region``, ``service`` and ``terminator`` are the credential scope as sent;
    ``amz_date`` the request time in ISO 8601 basic format (``X-Amz-Date``, or the ``Date``
    header converted); ``expires`` the presigned ``X-Amz-Expires`` in seconds (``None`` for the
    header form, or a presigned request without one).
    """

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    presigned: bool = False
    expires: int | None = None
    security_token: str | None = None
    terminator: str = TERMINATOR

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"

    @property
    def credential(self) -> str:
        return f"{self.access_key}/{self.scope}"


# -- reading a signature ------------------------------------------------------------------------


def _echo(text: str) -> str:
    return text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "..."


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return headers.get(name)


def _first(query: Sequence[tuple[str, str]], names: Iterable[str]) -> dict[str, str]:
    wanted = set(names)
    found: dict[str, str] = {}
    for key, value in query:
        if key in wanted and key not in found:
            found[key] = value
    return found


_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
)
_QUERY_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
)


def _is_sigv4_header(value: str | None) -> bool:
    return value is not None and value.lstrip()[:5].upper() == "AWS4-"


def _has_query_auth(query: Sequence[tuple[str, str]]) -> bool:
    return any(key == "X-Amz-Algorithm" for key, _ in query)


def scope_service(request: RequestLike) -> str | None:
    """The service named by a request's credential scope, read leniently (never raises).

    For routing (:mod:`.recognize`): ``None`` when the request carries no SigV4 credential or
    one with fewer than five parts; the signature itself is checked later.
    """
    header = request.headers.get("authorization")
    credential: str | None = None
    if header is not None and _is_sigv4_header(header):
        start = header.find("Credential=")
        if start >= 0:
            start += len("Credential=")
            end = len(header)
            for stop in (",", " "):
                index = header.find(stop, start)
                if 0 <= index < end:
                    end = index
            credential = header[start:end]
    else:
        for key, value in request.query:
            if key == "X-Amz-Credential":
                credential = value
                break
    if not credential:
        return None
    parts = credential.rstrip("/").split("/")
    return parts[3] if len(parts) >= 5 else None


def _amz_date(value: str, family: ErrorFamily, *, query: bool) -> str:
    spec = family.incomplete_query if query else family.incomplete
    if _ISO_BASIC_RE.fullmatch(value):
        try:
            _timestamp(value)
        except ValueError:
            pass
        else:
            return value
    raise spec.error(
        f"Date must be in ISO-8601 'basic format'. Got '{_echo(value)}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _http_date(value: str, family: ErrorFamily) -> str:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        raise family.incomplete.error(
            f"Date must be in ISO-8601 'basic format'. Got '{_echo(value)}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime(_ISO_BASIC)


def _credential(value: str, family: ErrorFamily, *, query: bool) -> tuple[str, ...]:
    parts = tuple(value.rstrip("/").split("/"))
    if len(parts) != 5 or not all(parts):
        spec = family.incomplete_query if query else family.incomplete
        raise spec.error(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{_echo(value)}'"
        )
    return parts


def _algorithm(value: str, family: ErrorFamily, *, query: bool) -> None:
    if value != ALGORITHM:
        spec = family.incomplete_query if query else family.incomplete
        raise spec.error(
            f"Unsupported AWS 'algorithm': '{_echo(value)}' (only {ALGORITHM} for now). "
        )


def _signed_headers(value: str, family: ErrorFamily) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(";") if name.strip())
    if "host" not in names and ":authority" not in names:
        raise family.rejected.error(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    return names


def _parse_header(header: str, request: RequestLike, family: ErrorFamily) -> SigV4:
    stripped = header.strip()
    algorithm, _, rest = stripped.partition(" ")
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, equals, value = part.partition("=")
        if not equals:
            raise family.incomplete.error(
                f"'{_echo(part)}' not a valid key=value pair (missing equal-sign) in "
                f"Authorization header: '{_echo(stripped)}'."
            )
        params.setdefault(key.strip(), value.strip())
    x_amz_date = _header(request.headers, "x-amz-date")
    http_date = _header(request.headers, "date")
    problems = [
        f"Authorization header requires '{name}' parameter. "
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in params or (name != "SignedHeaders" and not params[name])
    ]
    if x_amz_date is None and http_date is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        )
    if problems:
        raise family.incomplete.error("".join(problems) + f"Authorization={_echo(stripped)}")
    if x_amz_date is not None:
        amz_date = _amz_date(x_amz_date.strip(), family, query=False)
    else:
        assert http_date is not None
        amz_date = _http_date(http_date, family)
    signed = _signed_headers(params["SignedHeaders"], family)
    _algorithm(algorithm, family, query=False)
    access_key, date, region, service, terminator = _credential(
        params["Credential"], family, query=False
    )
    return SigV4(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=params["Signature"],
        amz_date=amz_date,
        presigned=False,
        expires=None,
        security_token=_header(request.headers, "x-amz-security-token"),
    )


def _expires(value: str | None, family: ErrorFamily) -> int | None:
    if value is None:
        return None
    spec = family.incomplete_query
    try:
        seconds = int(value)
    except ValueError:
        raise spec.error("X-Amz-Expires should be a number") from None
    if seconds < 0:
        raise spec.error("X-Amz-Expires must be non-negative")
    if seconds > MAX_PRESIGN_EXPIRES_S:
        week = MAX_PRESIGN_EXPIRES_S
        raise spec.error(f"X-Amz-Expires must be less than a week (in seconds) that is {week}")
    return seconds


def _parse_query(request: RequestLike, family: ErrorFamily) -> SigV4:
    params = _first(request.query, _QUERY_AUTH_PARAMS)
    missing = [name for name in _QUERY_REQUIRED if not params.get(name)]
    if missing:
        raise family.incomplete_query.error(
            "".join(f"AWS query-string parameters must include '{name}'. " for name in missing)
            + "Re-examine the query-string parameters."
        )
    amz_date = _amz_date(params["X-Amz-Date"], family, query=True)
    signed = _signed_headers(params["X-Amz-SignedHeaders"], family)
    _algorithm(params["X-Amz-Algorithm"], family, query=True)
    access_key, date, region, service, terminator = _credential(
        params["X-Amz-Credential"], family, query=True
    )
    return SigV4(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=signed,
        signature=params["X-Amz-Signature"],
        amz_date=amz_date,
        presigned=True,
        expires=_expires(params.get("X-Amz-Expires"), family),
        security_token=params.get("X-Amz-Security-Token"),
    )


def parse_authorization(request: RequestLike, *, family: ErrorFamily | None = None) -> SigV4 | None:
    """The request's SigV4 signature, ``None`` if it carries none; a malformed one raises.

    An ``Authorization`` header that is not SigV4 (``Bearer ...``, ``Basic ...``) counts as no
    signature, as AWS's JSON services treat it. ``family`` picks the error codes; by default the
    family of the service in the credential scope.
    """
    if family is None:
        family = family_for(scope_service(request))
    header = _header(request.headers, "authorization")
    signed_header = _is_sigv4_header(header)
    in_query = _has_query_auth(request.query)
    if signed_header and in_query:
        raise family.rejected.error(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP "
            "header."
        )
    if signed_header:
        assert header is not None
        return _parse_header(header, request, family)
    if in_query:
        return _parse_query(request, family)
    return None


# -- computing a signature ----------------------------------------------------------------------


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _quote(text: str, safe: str) -> str:
    try:
        return quote(text, safe=safe, errors="surrogateescape")
    except UnicodeEncodeError:
        return quote(text, safe=safe, errors="replace")


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, with empty segments dropped (as AWS and botocore do)."""
    if not path:
        return "/"
    output: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def _canonical_uri(path: str, *, s3: bool) -> str:
    if s3:
        # S3 signs the path as sent: encoded once (by the client), never normalised.
        return path or "/"
    # Every other service: normalise, then encode the (already encoded) path again.
    return _quote(_remove_dot_segments(path), safe="/~")


def _canonical_query(query: Sequence[tuple[str, str]], *, presigned: bool) -> str:
    pairs = sorted(
        (_quote(key, safe="-_.~"), _quote(value, safe="-_.~"))
        for key, value in query
        if not (presigned and key == "X-Amz-Signature")
    )
    return "&".join(f"{key}={value}" for key, value in pairs)


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    getall: Callable[..., list[str]] | None = getattr(headers, "getall", None)
    if getall is not None:
        values: list[str] = getall(name, [])
        return values
    value = headers.get(name)
    return [] if value is None else [value]


def _canonical_headers(headers: Mapping[str, str], names: Sequence[str]) -> str:
    lines = []
    for name in names:
        values = _header_values(headers, name)
        lines.append(f"{name}:{','.join(' '.join(value.split()) for value in values)}\n")
    return "".join(lines)


def _payload_hash(request: RequestLike, sig: SigV4, *, s3: bool) -> str:
    declared = request.headers.get("x-amz-content-sha256")
    if declared is not None:
        return declared
    if s3 and sig.presigned:
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(request.body).hexdigest()


def canonical_request(request: RequestLike, sig: SigV4, *, s3: bool = False) -> str:
    """The canonical request AWS signs (method, URI, query, headers, signed headers, payload)."""
    return "\n".join(
        (
            request.method.upper(),
            _canonical_uri(request.path, s3=s3),
            _canonical_query(request.query, presigned=sig.presigned),
            _canonical_headers(request.headers, sig.signed_headers),
            ";".join(sig.signed_headers),
            _payload_hash(request, sig, s3=s3),
        )
    )


def string_to_sign(sig: SigV4, canonical: str) -> str:
    return "\n".join(
        (ALGORITHM, sig.amz_date, sig.scope, hashlib.sha256(_utf8(canonical)).hexdigest())
    )


@functools.lru_cache(maxsize=1024)
def _signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _utf8("AWS4" + secret_key)
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, _utf8(part), hashlib.sha256).digest()
    return key


def signing_key(secret_key: str, sig: SigV4) -> bytes:
    """The key derived for ``sig``'s credential scope (date, region, service) from the secret."""
    return _signing_key(secret_key, sig.date, sig.region, sig.service)


@dataclass(frozen=True, slots=True)
class StreamSigner:
    """The chain of signatures of a body sent in signed chunks (S3's ``aws-chunked``).

    ``seed`` is the request's own signature (already verified), ``key`` the derived signing key,
    ``amz_date`` and ``scope`` the request's time and credential scope. A chunk's signature is
    the HMAC of ``AWS4-HMAC-SHA256-PAYLOAD``, the time, the scope, the previous signature (the
    seed for the first chunk), the SHA-256 of the empty string and the chunk's SHA-256; the
    final chunk is empty. A trailer's is the HMAC of ``AWS4-HMAC-SHA256-TRAILER``, the time, the
    scope, the final chunk's signature and the SHA-256 of the trailing headers, each written
    ``name:value\n``. Signatures are lower-case hex, as AWS's documentation publishes them.
    """

    key: bytes
    amz_date: str
    scope: str
    seed: str

    @classmethod
    def of(cls, sig: SigV4, secret_key: str) -> StreamSigner:
        """The chain seeded by ``sig``, a request signature verified with ``secret_key``."""
        return cls(signing_key(secret_key, sig), sig.amz_date, sig.scope, sig.signature.lower())

    def chunk_string_to_sign(self, previous: str, chunk_sha256: str) -> str:
        return "\n".join(
            (CHUNK_ALGORITHM, self.amz_date, self.scope, previous, EMPTY_SHA256, chunk_sha256)
        )

    def chunk(self, previous: str, chunk_sha256: str) -> str:
        """The signature of a chunk whose data hashes to ``chunk_sha256`` (hex), after
        ``previous``."""
        to_sign = self.chunk_string_to_sign(previous, chunk_sha256)
        return hmac.new(self.key, to_sign.encode("ascii"), hashlib.sha256).hexdigest()

    def trailer_string_to_sign(self, previous: str, trailer_sha256: str) -> str:
        return "\n".join((TRAILER_ALGORITHM, self.amz_date, self.scope, previous, trailer_sha256))

    def trailer(self, previous: str, trailer_sha256: str) -> str:
        """The signature of trailing headers whose canonical form hashes to ``trailer_sha256``,
        after the final chunk's signature ``previous``."""
        to_sign = self.trailer_string_to_sign(previous, trailer_sha256)
        return hmac.new(self.key, to_sign.encode("ascii"), hashlib.sha256).hexdigest()


def _timestamp(amz_date: str) -> datetime:
    """``20261202T120000Z`` (already matched by ``_ISO_BASIC_RE``) as an aware datetime;
    ``ValueError`` for a date that does not exist. Read by hand: ``strptime`` costs ~15 µs."""
    return datetime(
        int(amz_date[0:4]),
        int(amz_date[4:6]),
        int(amz_date[6:8]),
        int(amz_date[9:11]),
        int(amz_date[11:13]),
        int(amz_date[13:15]),
        tzinfo=timezone.utc,
    )


def _iso(moment: datetime) -> str:
    return moment.strftime(_ISO_BASIC)


def check_time(sig: SigV4, *, now: float, family: ErrorFamily | None = None) -> None:
    """Refuse a request whose time is more than 15 minutes from now, or a presigned one past
    its ``X-Amz-Expires``."""
    family = family or family_for(sig.service)
    when = _timestamp(sig.amz_date)
    at = datetime.fromtimestamp(now, tz=timezone.utc).replace(microsecond=0)
    skew = timedelta(seconds=MAX_SKEW_S)
    if when > at + skew:
        raise family.expired.error(
            f"Signature not yet current: {sig.amz_date} is still later than {_iso(at + skew)} "
            f"({_iso(at)} + 15 min.)"
        )
    if sig.presigned and sig.expires is not None:
        if at > when + timedelta(seconds=sig.expires):
            raise family.presign_expired.error()
        return
    if when < at - skew:
        raise family.expired.error(
            f"Signature expired: {sig.amz_date} is now earlier than {_iso(at - skew)} "
            f"({_iso(at)} - 15 min.)"
        )


def check_scope(sig: SigV4, *, family: ErrorFamily | None = None) -> None:
    """Refuse a credential scope that does not end in ``aws4_request`` or whose date is not the
    request's (all problems in one message, as AWS reports them)."""
    family = family or family_for(sig.service)
    problems = []
    if sig.terminator != TERMINATOR:
        problems.append(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{_echo(sig.terminator)}'."
        )
    if sig.date != sig.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            f"HTTP: '{_echo(sig.date)}' != '{sig.amz_date[:8]}', from '{sig.amz_date}'."
        )
    if problems:
        raise family.rejected.error(" ".join(problems))


def verify(
    request: RequestLike,
    sig: SigV4,
    secret_key: str,
    *,
    now: float,
    family: ErrorFamily | None = None,
    s3: bool = False,
    check_payload: bool = True,
) -> None:
    """Check ``sig`` against ``request`` as AWS does; raise the family's error if it fails.

    The request time (and a presigned request's expiry), the credential scope, then the
    signature itself, recomputed from the request and ``secret_key`` and compared in constant
    time; last, a declared ``x-amz-content-sha256`` against the body. ``s3`` switches to S3's
    rules: the path signed as sent, ``x-amz-content-sha256`` required on a request signed in
    its header (its value, a hash or one of the ``*_PAYLOAD*`` literals, is what is signed), and
    ``UNSIGNED-PAYLOAD`` for a presigned request. ``check_payload=False`` leaves the body to
    the caller (a body that streams is checked as it is read: :class:`.payload.Payload`).
    """
    family = family or family_for(sig.service)
    check_time(sig, now=now, family=family)
    check_scope(sig, family=family)
    if s3 and not sig.presigned and request.headers.get("x-amz-content-sha256") is None:
        raise SignatureError(
            "InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400
        )
    canonical = canonical_request(request, sig, s3=s3)
    to_sign = string_to_sign(sig, canonical)
    key = _signing_key(secret_key, sig.date, sig.region, sig.service)
    expected = hmac.new(key, _utf8(to_sign), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), _utf8(sig.signature)):
        raise family.mismatch.error(
            details={"canonical_request": canonical, "string_to_sign": to_sign}
        )
    declared = request.headers.get("x-amz-content-sha256")
    if (
        check_payload
        and declared is not None
        and _SHA256_HEX_RE.fullmatch(declared)
        and declared.lower() != hashlib.sha256(request.body).hexdigest()
    ):
        raise family.payload_mismatch.error()


# -- the access keys and the policy -------------------------------------------------------------


class Policy(enum.Enum):
    """``ACCEPT_ANY``: any well-formed or absent signature passes (the access key is reported
    for logging); ``VERIFY``: every request must be signed with a known key."""

    ACCEPT_ANY = "accept-any"
    VERIFY = "verify"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The gateway's access keys (``{access_key: secret_key}``) and its signature policy.

    The policy defaults to ``VERIFY`` when keys are configured and ``ACCEPT_ANY`` when none are.
    """

    keys: Mapping[str, str] = field(default_factory=dict)
    policy: Policy | None = None

    @property
    def effective_policy(self) -> Policy:
        if self.policy is not None:
            return self.policy
        return Policy.VERIFY if self.keys else Policy.ACCEPT_ANY

    def secret(self, access_key: str) -> str | None:
        return self.keys.get(access_key)

    def authenticate(
        self,
        request: RequestLike,
        *,
        now: float,
        family: ErrorFamily | None = None,
        s3: bool = False,
        check_payload: bool = True,
    ) -> SigV4 | None:
        """The request's signature (``None`` if unsigned and the policy allows it), checked
        as the policy says; raises the family's error otherwise. ``check_payload`` is
        :func:`verify`'s."""
        sig = parse_authorization(request, family=family)
        if self.effective_policy is Policy.ACCEPT_ANY:
            return sig
        if sig is None:
            raise (family or QUERY).missing.error()
        family = family or family_for(sig.service)
        check_time(sig, now=now, family=family)
        check_scope(sig, family=family)
        secret = self.secret(sig.access_key)
        if secret is None:
            raise family.unknown_key.error()
        verify(request, sig, secret, now=now, family=family, s3=s3, check_payload=check_payload)
        return sig
