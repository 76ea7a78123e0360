"""SigV4 verification (raybus.gateway.aws.sigv4) against botocore's real signer, no sockets.

Each request is signed by ``botocore.auth.SigV4Auth`` (or ``SigV4QueryAuth`` for presigned URLs,
``S3SigV4Auth`` for S3's rules), turned into what the gateway sees (the raw path, the query
decoded as aiohttp decodes it, the headers, the body) and checked: it must verify; then every
element is tampered with in turn and the refusal must be the one AWS gives for that service.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import yarl
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from multidict import CIMultiDict

from raybus.gateway.aws.sigv4 import (
    EMPTY_SHA256,
    JSON,
    LAMBDA,
    QUERY,
    S3,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    UNSIGNED_PAYLOAD,
    Credentials,
    ErrorFamily,
    Policy,
    SignatureError,
    SigV4,
    StreamSigner,
    family_for,
    parse_authorization,
    scope_service,
    signing_key,
    verify,
)

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//token+with/slashes=="
ENDPOINT = "http://127.0.0.1:8000"
ISO_BASIC = "%Y%m%dT%H%M%SZ"


# -- the request as the gateway sees it ---------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """The five things the gateway's request carries (a ``RequestLike``)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: CIMultiDict[str]
    body: bytes

    def with_header(self, name: str, value: str | None) -> Wire:
        headers = CIMultiDict(self.headers)
        headers.popall(name, None)
        if value is not None:
            headers[name] = value
        return replace(self, headers=headers)

    def with_query(self, name: str, value: str | None) -> Wire:
        query = tuple((key, item) for key, item in self.query if key != name)
        if value is not None:
            query = (*query, (name, value))
        return replace(self, query=query)

    def header(self, name: str) -> str:
        return self.headers[name]

    def param(self, name: str) -> str:
        return dict(self.query)[name]


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def wire(request: AWSRequest | AWSPreparedRequest) -> Wire:
    """What an HTTP client puts on the wire for ``request`` and aiohttp hands the gateway."""
    url = yarl.URL(request.url, encoded=True)
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in request.headers.items():
        headers.add(name, _text(value))
    if "host" not in headers:  # the HTTP client adds it; botocore signs it from the URL
        headers["Host"] = url.raw_authority
    body = request.body or b""
    return Wire(
        method=request.method,
        path=url.raw_path,
        query=tuple(url.query.items()),
        headers=headers,
        body=body.encode("utf-8") if isinstance(body, str) else bytes(body),
    )


def signed(
    service: str,
    method: str,
    target: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    token: str | None = None,
    access_key: str = ACCESS_KEY,
    presign: int | None = None,
    unsigned_payload: bool = False,
    s3: bool = False,
) -> Wire:
    """``target`` (path and query, already percent-encoded) signed by botocore for ``service``."""
    scheme_endpoint = ENDPOINT.replace("http://", "https://") if unsigned_payload else ENDPOINT
    request = AWSRequest(method=method, url=scheme_endpoint + target, data=body)
    for name, value in headers:
        request.headers[name] = value  # a repeated name adds a second header
    if unsigned_payload:
        request.context["payload_signing_enabled"] = False
    credentials = BotoCredentials(access_key, SECRET_KEY, token)
    signer: Any
    if presign is not None:
        query_auth = S3SigV4QueryAuth if s3 else SigV4QueryAuth
        signer = query_auth(credentials, service, "us-east-1", expires=presign)
    else:
        signer = (S3SigV4Auth if s3 else SigV4Auth)(credentials, service, "us-east-1")
    signer.add_auth(request)
    return wire(request)


def parsed(request: Wire, family: ErrorFamily | None = None) -> SigV4:
    sig = parse_authorization(request, family=family)
    assert sig is not None
    return sig


def signed_at(sig: SigV4) -> float:
    return datetime.strptime(sig.amz_date, ISO_BASIC).replace(tzinfo=timezone.utc).timestamp()


def check(request: Wire, *, secret: str = SECRET_KEY, s3: bool = False, shift: float = 0) -> None:
    sig = parsed(request)
    verify(request, sig, secret, now=signed_at(sig) + shift, s3=s3)


def refusal(
    request: Wire, *, secret: str = SECRET_KEY, s3: bool = False, shift: float = 0
) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        check(request, secret=secret, s3=s3, shift=shift)
    return caught.value


# -- requests botocore signs, and that verify -----------------------------------------------------

JSON_10 = (("Content-Type", "application/x-amz-json-1.0"),)
FORM = (("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),)


@dataclass(frozen=True)
class Case:
    service: str
    method: str
    target: str
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    token: str | None = None
    presign: int | None = None
    unsigned_payload: bool = False

    def sign(self, **overrides: Any) -> Wire:
        options: dict[str, Any] = {
            "headers": self.headers,
            "body": self.body,
            "token": self.token,
            "presign": self.presign,
            "unsigned_payload": self.unsigned_payload,
        }
        options.update(overrides)
        return signed(self.service, self.method, self.target, **options)


FUNCTION = "/2015-03-31/functions/{}/invocations"
BINARY = bytes(range(256)) * 3

VALID: dict[str, Case] = {
    "an SQS JSON call": Case(
        "sqs",
        "POST",
        "/",
        (*JSON_10, ("X-Amz-Target", "AmazonSQS.ListQueues")),
        b'{"QueueNamePrefix": "q"}',
    ),
    "an SQS query call posted to a queue URL": Case(
        "sqs",
        "POST",
        "/123456789012/orders",
        FORM,
        b"Action=SendMessage&Version=2012-11-05&MessageBody=caf%C3%A9+%26+more",
    ),
    "an SNS publish": Case(
        "sns",
        "POST",
        "/",
        FORM,
        b"Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At"
        b"&Message=hello",
    ),
    "an STS call with a session token": Case(
        "sts", "POST", "/", FORM, b"Action=GetCallerIdentity&Version=2011-06-15", token=TOKEN
    ),
    "a Lambda invoke with a binary body": Case("lambda", "POST", FUNCTION.format("f"), body=BINARY),
    "a Lambda call with an empty body": Case("lambda", "GET", "/2015-03-31/functions"),
    "an EventBridge (JSON 1.1) call": Case(
        "events",
        "POST",
        "/",
        (("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "AWSEvents.ListRules")),
        b"{}",
    ),
    "a path with an encoded space": Case("lambda", "POST", FUNCTION.format("my%20func")),
    "a path with a literal plus": Case("lambda", "POST", FUNCTION.format("a+b")),
    "a path with an encoded plus": Case("lambda", "POST", FUNCTION.format("a%2Bb")),
    "a path with an encoded slash": Case("lambda", "GET", "/2017-03-31/tags/arn%3Aa%2Fb%2Fc"),
    "a path with unicode": Case("lambda", "GET", "/x/caf%C3%A9/%E2%82%AC%F0%9F%98%80"),
    "a path with empty segments": Case("lambda", "GET", "/x//y///z"),
    "a path with dot segments": Case("lambda", "GET", "/x/./y/../z/."),
    "a path with a trailing slash": Case("lambda", "GET", "/2015-03-31/functions/"),
    "a path with reserved characters": Case("lambda", "GET", "/x/%21%2A%27%28%29%3B%40%3D"),
    "repeated query keys": Case("lambda", "GET", "/x?a=2&a=1&b=x&a=10"),
    "empty query values and bare keys": Case("lambda", "GET", "/x?a=&b&c=1"),
    "unicode in the query": Case("lambda", "GET", "/x?k=%E2%82%AC&%C3%A9t%C3%A9=v"),
    "an equals sign in a query value": Case("lambda", "GET", "/x?k=a%3Db%3D&m=%3D%3D"),
    "a plus and a space in a query value": Case("lambda", "GET", "/x?k=a%2Bb%20c"),
    "reserved characters in the query": Case("lambda", "GET", "/x?k=%21%2A%27%28%29%2F~-_."),
    "unsorted query keys of both cases": Case("lambda", "GET", "/x?z=1&A=2&a=3&_=4"),
    "a header with repeated spaces and tabs": Case(
        "sqs", "POST", "/", (*JSON_10, ("X-Amz-Meta-Note", "  a   b \t c  ")), b"{}"
    ),
    "a header sent twice": Case(
        "sqs", "POST", "/", (*JSON_10, ("X-Amz-Meta-Twice", "one"), ("X-Amz-Meta-Twice", "two"))
    ),
    "a Date header instead of X-Amz-Date": Case(
        "sns", "POST", "/", (*FORM, ("Date", "Mon, 01 Jan 2024 00:00:00 GMT")), b"Action=X"
    ),
    "a declared x-amz-content-sha256": Case(
        "lambda",
        "POST",
        FUNCTION.format("f"),
        (("X-Amz-Content-SHA256", hashlib.sha256(BINARY).hexdigest()),),
        BINARY,
    ),
    "an UNSIGNED-PAYLOAD body": Case(
        "lambda", "POST", FUNCTION.format("f"), body=BINARY, unsigned_payload=True
    ),
    "a Lambda call with a session token": Case(
        "lambda", "POST", FUNCTION.format("f"), body=b"{}", token=TOKEN
    ),
    "a presigned SQS URL": Case(
        "sqs", "GET", "/123456789012/q?Action=ReceiveMessage&Version=2012-11-05", presign=300
    ),
    "a presigned STS URL with a session token": Case(
        "sts", "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", token=TOKEN, presign=900
    ),
    "a presigned URL with unicode and repeated keys": Case(
        "sqs", "GET", "/?Action=X&k=%E2%82%AC&k=a%20b", presign=60
    ),
}


@pytest.mark.parametrize("case", VALID.values(), ids=VALID.keys())
def test_a_request_signed_by_botocore_verifies(case: Case) -> None:
    request = case.sign()
    sig = parsed(request)
    assert (sig.access_key, sig.region, sig.service) == (ACCESS_KEY, "us-east-1", case.service)
    assert sig.presigned is (case.presign is not None)
    assert sig.expires == case.presign
    assert sig.security_token == case.token
    verify(request, sig, SECRET_KEY, now=signed_at(sig))


@pytest.mark.parametrize("case", VALID.values(), ids=VALID.keys())
def test_configured_credentials_accept_a_request_signed_with_their_key(case: Case) -> None:
    request = case.sign()
    sig = parsed(request)
    accepted = Credentials({ACCESS_KEY: SECRET_KEY}).authenticate(request, now=signed_at(sig))
    assert accepted == sig


def test_a_repeated_header_signs_as_its_values_joined_by_commas() -> None:
    request = VALID["a header sent twice"].sign()
    assert request.headers.getall("x-amz-meta-twice") == ["one", "two"]
    dropped = request.with_header("X-Amz-Meta-Twice", "one,two")
    check(dropped)  # the same canonical header: "x-amz-meta-twice:one,two"
    assert refusal(request.with_header("X-Amz-Meta-Twice", "one")).code == "SignatureDoesNotMatch"


# -- tampering with each element ------------------------------------------------------------------

Tamper = Callable[[Wire], Wire]


def _other_second(amz_date: str) -> str:
    """The same day and minute, another second (so the scope date still matches)."""
    return amz_date[:-2] + ("1Z" if amz_date[-2] != "1" else "2Z")


def _next_day(amz_date: str) -> str:
    moment = datetime.strptime(amz_date, ISO_BASIC) + timedelta(days=1)
    return moment.strftime(ISO_BASIC)


def _dated(request: Wire, change: Callable[[str], str]) -> Wire:
    if parsed(request).presigned:
        return request.with_query("X-Amz-Date", change(request.param("X-Amz-Date")))
    return request.with_header("X-Amz-Date", change(request.header("X-Amz-Date")))


def _first_query_value_changed(request: Wire) -> Wire:
    if not any(key not in _AUTH_PARAMS for key, _ in request.query):
        return replace(request, query=(*request.query, ("extra", "1")))
    index = next(i for i, (key, _) in enumerate(request.query) if key not in _AUTH_PARAMS)
    key, value = request.query[index]
    query = list(request.query)
    query[index] = (key, value + "x")
    return replace(request, query=tuple(query))


def _signature_flipped(request: Wire) -> Wire:
    sig = parsed(request)
    flipped = ("0" if sig.signature[0] != "0" else "1") + sig.signature[1:]
    if sig.presigned:
        return request.with_query("X-Amz-Signature", flipped)
    return request.with_header(
        "Authorization", request.header("Authorization").replace(sig.signature, flipped)
    )


def _token_changed(request: Wire) -> Wire:
    if parsed(request).presigned:
        return request.with_query("X-Amz-Security-Token", TOKEN + "x")
    return request.with_header("X-Amz-Security-Token", TOKEN + "x")


_AUTH_PARAMS = {
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
}

TAMPERED: dict[str, Tamper] = {
    "the method": lambda r: replace(r, method="PUT" if r.method != "PUT" else "POST"),
    "the path": lambda r: replace(r, path=r.path.rstrip("/") + "/other"),
    "a path segment's encoding": lambda r: replace(r, path=r.path + "%20"),
    "a query value": _first_query_value_changed,
    "an added query parameter": lambda r: replace(r, query=(*r.query, ("added", "1"))),
    "the host (a signed header)": lambda r: r.with_header("Host", "127.0.0.1:9999"),
    "the body": lambda r: replace(r, body=r.body + b"!"),
    "the request time": lambda r: _dated(r, _other_second),
    "the signature": _signature_flipped,
}

FAMILY_CODES = {
    # service: (mismatch code, status)
    "sqs": ("SignatureDoesNotMatch", 403),
    "sns": ("SignatureDoesNotMatch", 403),
    "sts": ("SignatureDoesNotMatch", 403),
    "lambda": ("InvalidSignatureException", 403),
    "events": ("InvalidSignatureException", 400),
}

TAMPER_BASES = (
    "an SQS JSON call",
    "an SQS query call posted to a queue URL",
    "an STS call with a session token",
    "a Lambda invoke with a binary body",
    "an EventBridge (JSON 1.1) call",
    "a presigned SQS URL",
    "a presigned STS URL with a session token",
)


@pytest.mark.parametrize("base", TAMPER_BASES)
@pytest.mark.parametrize("tamper", TAMPERED.values(), ids=TAMPERED.keys())
def test_tampering_with_any_signed_element_is_refused_with_the_services_code(
    base: str, tamper: Tamper
) -> None:
    case = VALID[base]
    request = case.sign()
    error = refusal(tamper(request))
    assert (error.code, error.status) == FAMILY_CODES[case.service]
    assert error.message.startswith("The request signature we calculated does not match")
    assert "canonical_request" in error.details and "string_to_sign" in error.details


@pytest.mark.parametrize("base", TAMPER_BASES)
def test_a_wrong_secret_key_is_a_signature_mismatch(base: str) -> None:
    case = VALID[base]
    error = refusal(case.sign(), secret=SECRET_KEY + "x")
    assert (error.code, error.status) == FAMILY_CODES[case.service]


@pytest.mark.parametrize(
    "base", ["an STS call with a session token", "a presigned STS URL with a session token"]
)
def test_a_changed_session_token_is_a_signature_mismatch(base: str) -> None:
    error = refusal(_token_changed(VALID[base].sign()))
    assert error.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("base", TAMPER_BASES)
def test_a_request_time_on_another_day_than_the_scope_is_refused_naming_both(base: str) -> None:
    case = VALID[base]
    request = case.sign()
    moved = _dated(request, _next_day)
    scope_date = parsed(request).date
    new_date = parsed(moved).amz_date
    error = refusal(moved)  # now: the moved time
    assert (error.code, error.status) == FAMILY_CODES[case.service]
    assert error.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '{scope_date}' != '{new_date[:8]}', from '{new_date}'."
    )


def test_a_header_botocore_does_not_sign_may_change() -> None:
    request = VALID["an SQS JSON call"].sign(
        headers=(*JSON_10, ("User-Agent", "aws-cli/2"), ("X-Amz-Target", "AmazonSQS.ListQueues"))
    )
    assert "user-agent" not in parsed(request).signed_headers
    check(request.with_header("User-Agent", "something else"))


def test_a_declared_payload_hash_that_is_not_the_bodys_is_refused() -> None:
    request = VALID["a declared x-amz-content-sha256"].sign()
    tampered = replace(request, body=request.body + b"!")
    error = refusal(tampered)
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    sig = parsed(tampered)
    with pytest.raises(SignatureError) as caught:
        verify(tampered, sig, SECRET_KEY, now=signed_at(sig), family=S3)
    assert (caught.value.code, caught.value.status) == ("XAmzContentSHA256Mismatch", 400)


def test_an_unsigned_payload_leaves_the_body_unchecked() -> None:
    request = VALID["an UNSIGNED-PAYLOAD body"].sign()
    assert request.header("X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD"
    check(replace(request, body=b"anything"))


# -- S3's rules: the path signed as sent ----------------------------------------------------------

S3_PATHS = ["/bucket/a%20b/c", "/bucket/a//b/./c/../d", "/bucket/%E2%82%AC+x", "/bucket/k%2Fey"]


@pytest.mark.parametrize("path", S3_PATHS)
def test_s3_signs_its_path_once_and_without_normalising(path: str) -> None:
    request = signed("s3", "PUT", path, body=b"data", s3=True)
    check(request, s3=True)
    assert refusal(request, s3=False).code == "SignatureDoesNotMatch"  # S3's family, other rules


# -- time -----------------------------------------------------------------------------------------


def test_a_request_exactly_15_minutes_old_or_early_verifies() -> None:
    request = VALID["an SQS JSON call"].sign()
    check(request, shift=15 * 60)
    check(request, shift=-15 * 60)


@pytest.mark.parametrize(
    ("base", "code", "status"),
    [
        ("an SQS JSON call", "SignatureDoesNotMatch", 403),
        ("a Lambda invoke with a binary body", "InvalidSignatureException", 403),
        ("an EventBridge (JSON 1.1) call", "InvalidSignatureException", 400),
    ],
)
def test_a_request_more_than_15_minutes_old_has_expired(base: str, code: str, status: int) -> None:
    request = VALID[base].sign()
    sig = parsed(request)
    now = signed_at(sig) + 15 * 60 + 1
    error = refusal(request, shift=15 * 60 + 1)
    earliest = datetime.fromtimestamp(now - 15 * 60, tz=timezone.utc).strftime(ISO_BASIC)
    current = datetime.fromtimestamp(now, tz=timezone.utc).strftime(ISO_BASIC)
    assert (error.code, error.status) == (code, status)
    assert error.message == (
        f"Signature expired: {sig.amz_date} is now earlier than {earliest} ({current} - 15 min.)"
    )


def test_a_request_more_than_15_minutes_ahead_is_not_yet_current() -> None:
    request = VALID["an STS call with a session token"].sign()
    sig = parsed(request)
    now = signed_at(sig) - 15 * 60 - 1
    error = refusal(request, shift=-15 * 60 - 1)
    latest = datetime.fromtimestamp(now + 15 * 60, tz=timezone.utc).strftime(ISO_BASIC)
    current = datetime.fromtimestamp(now, tz=timezone.utc).strftime(ISO_BASIC)
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message == (
        f"Signature not yet current: {sig.amz_date} is still later than {latest} "
        f"({current} + 15 min.)"
    )


def test_a_presigned_url_is_valid_until_its_expiry_and_no_longer() -> None:
    request = VALID["a presigned SQS URL"].sign(presign=3600)
    check(request, shift=3600)  # past the 15-minute skew, within X-Amz-Expires
    error = refusal(request, shift=3601)
    assert (error.code, error.status, error.message) == (
        "RequestExpired",
        400,
        "Request has expired.",
    )


def test_an_expired_presigned_s3_url_is_access_denied() -> None:
    request = signed("s3", "GET", "/bucket/key", presign=60, s3=True)
    sig = parsed(request)
    verify(request, sig, SECRET_KEY, now=signed_at(sig) + 60, s3=True)
    with pytest.raises(SignatureError) as caught:
        verify(request, sig, SECRET_KEY, now=signed_at(sig) + 61, s3=True)
    assert (caught.value.code, caught.value.status) == ("AccessDenied", 403)
    assert caught.value.message == "Request has expired"


# -- malformed signatures -------------------------------------------------------------------------

SCOPE = f"{ACCESS_KEY}/20240101/us-east-1/sqs/aws4_request"


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (
            f"AWS4-HMAC-SHA256 Credential={SCOPE}",
            "Authorization header requires 'Signature' parameter. Authorization header requires "
            f"'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential={SCOPE}",
        ),
        (
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
            "Authorization header requires 'Credential' parameter. Authorization="
            "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc",
        ),
        (
            "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=abc",
            "'Credential' not a valid key=value pair (missing equal-sign) in Authorization "
            "header: 'AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=abc'.",
        ),
        (
            f"AWS4-HMAC-SHA512 Credential={SCOPE}, SignedHeaders=host, Signature=abc",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sqs, SignedHeaders=host, "
            "Signature=abc",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKID/20240101/us-east-1/sqs'",
        ),
    ],
    ids=[
        "without Signature and SignedHeaders",
        "without Credential",
        "a part without an equals sign",
        "another algorithm",
        "a credential of four parts",
    ],
)
def test_a_malformed_authorization_header_is_an_incomplete_signature(
    authorization: str, message: str
) -> None:
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", authorization)
    with pytest.raises(SignatureError) as caught:
        parse_authorization(request)
    assert (caught.value.code, caught.value.status) == ("IncompleteSignature", 400)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("service", "family", "code", "status"),
    [
        ("sqs", None, "IncompleteSignature", 400),
        ("sns", None, "IncompleteSignature", 400),
        ("lambda", None, "IncompleteSignatureException", 403),
        ("events", JSON, "IncompleteSignatureException", 400),
        ("kinesis", family_for("kinesis", "json"), "IncompleteSignatureException", 400),
        ("s3", None, "AuthorizationHeaderMalformed", 400),
    ],
)
def test_the_incomplete_signature_code_is_the_services(
    service: str, family: ErrorFamily | None, code: str, status: int
) -> None:
    authorization = f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20240101/us-east-1/{service}/x/y"
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", authorization)
    with pytest.raises(SignatureError) as caught:
        parse_authorization(request, family=family)
    assert (caught.value.code, caught.value.status) == (code, status)


def test_a_request_time_not_in_iso_basic_format_is_refused() -> None:
    request = VALID["an SQS JSON call"].sign().with_header("X-Amz-Date", "2024-01-01T00:00:00Z")
    with pytest.raises(SignatureError) as caught:
        parse_authorization(request)
    assert caught.value.code == "IncompleteSignature"
    assert caught.value.message == (
        "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_a_signed_request_without_any_date_is_refused() -> None:
    request = VALID["an SQS JSON call"].sign().with_header("X-Amz-Date", None)
    with pytest.raises(SignatureError) as caught:
        parse_authorization(request)
    assert caught.value.code == "IncompleteSignature"
    assert "requires existence of either a 'X-Amz-Date' or a 'Date' header." in str(caught.value)


def test_a_signature_that_does_not_sign_the_host_is_refused() -> None:
    request = VALID["a Lambda invoke with a binary body"].sign()
    authorization = request.header("Authorization")
    signed_headers = authorization.split("SignedHeaders=")[1].split(",")[0]
    request = request.with_header(
        "Authorization", authorization.replace(signed_headers, "x-amz-date")
    )
    with pytest.raises(SignatureError) as caught:
        parse_authorization(request)
    assert (caught.value.code, caught.value.status) == ("InvalidSignatureException", 403)
    assert caught.value.message == (
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    )


def test_a_credential_scope_without_the_aws4_request_terminator_is_refused() -> None:
    request = VALID["an SNS publish"].sign()
    authorization = request.header("Authorization").replace("/aws4_request", "/aws5_request")
    error = refusal(request.with_header("Authorization", authorization))
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message == (
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."
    )


def test_a_request_signed_both_ways_at_once_is_refused() -> None:
    presigned = VALID["a presigned SQS URL"].sign()
    both = presigned.with_header(
        "Authorization", VALID["an SQS JSON call"].sign().header("Authorization")
    )
    with pytest.raises(SignatureError) as caught:
        parse_authorization(both)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.message == (
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )


@pytest.mark.parametrize(
    ("param", "value", "message"),
    [
        (
            "X-Amz-Signature",
            None,
            "AWS query-string parameters must include 'X-Amz-Signature'. "
            "Re-examine the query-string parameters.",
        ),
        (
            "X-Amz-Credential",
            "",
            "AWS query-string parameters must include 'X-Amz-Credential'. "
            "Re-examine the query-string parameters.",
        ),
        ("X-Amz-Expires", "soon", "X-Amz-Expires should be a number"),
        ("X-Amz-Expires", "-1", "X-Amz-Expires must be non-negative"),
        (
            "X-Amz-Expires",
            "604801",
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ),
        ("X-Amz-Algorithm", "AWS4-ECDSA-P256-SHA256", "Unsupported AWS 'algorithm'"),
    ],
    ids=[
        "without X-Amz-Signature",
        "with an empty X-Amz-Credential",
        "an X-Amz-Expires that is not a number",
        "a negative X-Amz-Expires",
        "an X-Amz-Expires over a week",
        "another algorithm",
    ],
)
def test_malformed_presigned_parameters_are_refused(
    param: str, value: str | None, message: str
) -> None:
    request = VALID["a presigned SQS URL"].sign().with_query(param, value)
    with pytest.raises(SignatureError) as caught:
        parse_authorization(request)
    assert (caught.value.code, caught.value.status) == ("IncompleteSignature", 400)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize("authorization", ["Bearer abc.def", "Basic Zm9vOmJhcg==", "", "AWS4"])
def test_an_authorization_header_that_is_not_sigv4_counts_as_unsigned(authorization: str) -> None:
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", authorization)
    request = request.with_header("X-Amz-Date", None)
    assert parse_authorization(request) is None


def test_an_unsigned_request_parses_as_none_and_names_no_scope() -> None:
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", None)
    assert parse_authorization(request) is None
    assert scope_service(request) is None


@pytest.mark.parametrize(
    ("authorization", "service"),
    [
        (f"AWS4-HMAC-SHA256 Credential={SCOPE}, SignedHeaders=host, Signature=a", "sqs"),
        (f"AWS4-HMAC-SHA256 Credential={SCOPE},SignedHeaders=host,Signature=a", "sqs"),
        ("AWS4-HMAC-SHA256 Credential=AK/20240101/us-east-1/lambda/aws4_request/", "lambda"),
        ("AWS4-HMAC-SHA256 Credential=AK/20240101/sqs/aws4_request, Signature=a", None),
        ("AWS4-HMAC-SHA256 Signature=a", None),
        ("Bearer Credential=AK/20240101/us-east-1/sqs/aws4_request", None),
    ],
)
def test_the_scope_service_is_read_leniently(authorization: str, service: str | None) -> None:
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", authorization)
    assert scope_service(request) == service


def test_the_scope_service_of_a_presigned_url_comes_from_the_query() -> None:
    assert scope_service(VALID["a presigned STS URL with a session token"].sign()) == "sts"


# -- the families as data -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "protocol", "family"),
    [
        ("sqs", "json", QUERY),  # awsQueryCompatible: the query codes over JSON too
        ("sqs", "query", QUERY),
        ("sns", "query", QUERY),
        ("sts", "query", QUERY),
        ("iam", "query", QUERY),
        ("lambda", "rest-json", LAMBDA),
        ("events", "json", JSON),
        ("kinesis", "json", JSON),
        ("firehose", "json", JSON),
        ("s3", "rest-xml", S3),
        ("route53", "rest-xml", QUERY),
        ("unknown", None, QUERY),
        (None, None, QUERY),
    ],
)
def test_each_service_answers_with_its_familys_codes(
    service: str | None, protocol: str | None, family: ErrorFamily
) -> None:
    assert family_for(service, protocol) is family


def test_the_families_differ_where_aws_does() -> None:
    assert (QUERY.mismatch.code, QUERY.mismatch.status) == ("SignatureDoesNotMatch", 403)
    assert (JSON.mismatch.code, JSON.mismatch.status) == ("InvalidSignatureException", 400)
    assert (LAMBDA.mismatch.code, LAMBDA.mismatch.status) == ("InvalidSignatureException", 403)
    assert (QUERY.unknown_key.code, JSON.unknown_key.code) == (
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    )
    assert QUERY.mismatch.message == JSON.mismatch.message == LAMBDA.mismatch.message


# -- the credential store and its policy ---------------------------------------------------------


def test_without_keys_any_well_formed_or_absent_signature_is_accepted() -> None:
    credentials = Credentials()
    assert credentials.effective_policy is Policy.ACCEPT_ANY
    request = VALID["an SQS JSON call"].sign(access_key="ANYKEY")
    bad = _signature_flipped(request)
    sig = credentials.authenticate(bad, now=0)  # neither the time nor the signature is checked
    assert sig is not None and sig.access_key == "ANYKEY"
    assert credentials.authenticate(bad.with_header("Authorization", None), now=0) is None


def test_accepting_any_signature_still_refuses_a_malformed_one() -> None:
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", "AWS4-HMAC-SHA256 x")
    with pytest.raises(SignatureError) as caught:
        Credentials().authenticate(request, now=0)
    assert caught.value.code == "IncompleteSignature"


def test_configured_keys_turn_verification_on() -> None:
    credentials = Credentials({ACCESS_KEY: SECRET_KEY})
    assert credentials.effective_policy is Policy.VERIFY
    request = _signature_flipped(VALID["an SQS JSON call"].sign())
    with pytest.raises(SignatureError) as caught:
        credentials.authenticate(request, now=signed_at(parsed(request)))
    assert caught.value.code == "SignatureDoesNotMatch"


def test_an_explicit_accept_any_policy_overrides_configured_keys() -> None:
    credentials = Credentials({ACCESS_KEY: SECRET_KEY}, policy=Policy.ACCEPT_ANY)
    request = _signature_flipped(VALID["an SQS JSON call"].sign())
    assert credentials.authenticate(request, now=0) is not None


@pytest.mark.parametrize(
    ("base", "family", "code", "status"),
    [
        ("an SQS JSON call", None, "InvalidClientTokenId", 403),
        ("an SNS publish", None, "InvalidClientTokenId", 403),
        ("a Lambda invoke with a binary body", None, "UnrecognizedClientException", 403),
        ("an EventBridge (JSON 1.1) call", JSON, "UnrecognizedClientException", 400),
    ],
)
def test_an_unknown_access_key_is_refused_with_the_services_code(
    base: str, family: ErrorFamily | None, code: str, status: int
) -> None:
    request = VALID[base].sign(access_key="AKIDUNKNOWN")
    credentials = Credentials({ACCESS_KEY: SECRET_KEY})
    with pytest.raises(SignatureError) as caught:
        credentials.authenticate(request, now=signed_at(parsed(request)), family=family)
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.message == "The security token included in the request is invalid."


@pytest.mark.parametrize(
    ("family", "code", "status", "message"),
    [
        (QUERY, "MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
        (
            JSON,
            "MissingAuthenticationTokenException",
            400,
            "Request is missing Authentication Token",
        ),
        (LAMBDA, "MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
        (S3, "AccessDenied", 403, "Access Denied"),
    ],
)
def test_an_unsigned_request_is_refused_when_verifying(
    family: ErrorFamily, code: str, status: int, message: str
) -> None:
    request = VALID["an SQS JSON call"].sign().with_header("Authorization", None)
    with pytest.raises(SignatureError) as caught:
        Credentials({ACCESS_KEY: SECRET_KEY}).authenticate(request, now=0, family=family)
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        code,
        status,
        message,
    )


def test_the_request_time_is_checked_before_the_access_key() -> None:
    request = VALID["an SQS JSON call"].sign(access_key="AKIDUNKNOWN")
    with pytest.raises(SignatureError) as caught:
        Credentials({ACCESS_KEY: SECRET_KEY}).authenticate(
            request, now=signed_at(parsed(request)) + 3600
        )
    assert caught.value.message.startswith("Signature expired:")


# -- S3's payload modes: what x-amz-content-sha256 says is what is signed ------------------------


class StreamingS3Auth(S3SigV4Auth):  # type: ignore[misc]
    """botocore's S3 signer, with ``x-amz-content-sha256`` set to a given payload literal."""

    def __init__(self, credentials: BotoCredentials, payload_hash: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


def s3_signed(
    payload_hash: str, body: bytes = b"", headers: Sequence[tuple[str, str]] = ()
) -> Wire:
    request = AWSRequest(method="PUT", url=ENDPOINT + "/bucket/key", data=body)
    for name, value in headers:
        request.headers[name] = value
    StreamingS3Auth(BotoCredentials(ACCESS_KEY, SECRET_KEY), payload_hash).add_auth(request)
    return wire(request)


BODY_HASH = hashlib.sha256(b"the body").hexdigest()
S3_PAYLOAD_MODES = [
    BODY_HASH,
    UNSIGNED_PAYLOAD,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
]


@pytest.mark.parametrize("payload_hash", S3_PAYLOAD_MODES)
def test_an_s3_request_signs_its_payload_mode_as_written(payload_hash: str) -> None:
    streaming = (("Content-Encoding", "aws-chunked"), ("X-Amz-Decoded-Content-Length", "8"))
    request = s3_signed(payload_hash, headers=streaming)
    assert request.header("x-amz-content-sha256") == payload_hash
    sig = parsed(request)
    verify(request, sig, SECRET_KEY, now=signed_at(sig), s3=True, check_payload=False)
    for other in S3_PAYLOAD_MODES:
        if other != payload_hash:
            changed = request.with_header("x-amz-content-sha256", other)
            assert refusal(changed, s3=True).code == "SignatureDoesNotMatch"


def test_a_body_hash_is_checked_only_when_the_body_is_there() -> None:
    request = s3_signed(BODY_HASH)
    sig = parsed(request)
    verify(request, sig, SECRET_KEY, now=signed_at(sig), s3=True, check_payload=False)
    error = refusal(request, s3=True)  # the body streams: not read yet, so b"" here
    assert (error.code, error.status) == ("XAmzContentSHA256Mismatch", 400)
    check(replace(request, body=b"the body"), s3=True)
    accepted = Credentials({ACCESS_KEY: SECRET_KEY}).authenticate(
        request, now=signed_at(sig), s3=True, check_payload=False
    )
    assert accepted == sig


def test_a_header_signed_s3_request_must_declare_its_payload_hash() -> None:
    request = signed("s3", "PUT", "/bucket/key", body=b"data")  # SigV4Auth: no such header
    assert "x-amz-content-sha256" not in request.headers
    error = refusal(request, s3=True)
    assert (error.code, error.status, error.message) == (
        "InvalidRequest",
        400,
        "Missing required header for this request: x-amz-content-sha256",
    )


def test_a_presigned_s3_put_verifies_with_an_unsigned_payload() -> None:
    request = signed("s3", "PUT", "/bucket/a%20key", presign=300, s3=True)
    assert "x-amz-content-sha256" not in request.headers
    check(request, s3=True)
    check(replace(request, body=b"data"), s3=True)
    check(replace(request, body=b"any other body"), s3=True)
    assert refusal(request.with_query("X-Amz-Expires", "301"), s3=True).code == (
        "SignatureDoesNotMatch"
    )


# -- the worked examples of "Signature Calculations for the Authorization Header: Transferring
# -- Payload in Multiple Chunks" and "... for Trailing Headers" (published signatures) ----------

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_NOW = datetime(2013, 5, 24, tzinfo=timezone.utc).timestamp()
DOC_HEADERS = (
    ("Host", "s3.amazonaws.com"),
    ("x-amz-date", "20130524T000000Z"),
    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
    ("Content-Encoding", "aws-chunked"),
    ("x-amz-decoded-content-length", "66560"),
)
DOC_SEEDS = {
    "chunked": (
        (("x-amz-content-sha256", STREAMING_PAYLOAD), ("Content-Length", "66824")),
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class",
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    ),
    "chunked with a trailer": (
        (
            ("x-amz-content-sha256", STREAMING_PAYLOAD_TRAILER),
            ("x-amz-trailer", "x-amz-checksum-crc32c"),
        ),
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-storage-class;x-amz-trailer",
        "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
    ),
}


def doc_request(name: str) -> Wire:
    extra, signed_headers, seed = DOC_SEEDS[name]
    headers: CIMultiDict[str] = CIMultiDict([*DOC_HEADERS, *extra])
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed_headers},Signature={seed}"
    )
    return Wire("PUT", "/examplebucket/chunkObject.txt", (), headers, b"")


@pytest.mark.parametrize("name", DOC_SEEDS)
def test_the_documented_seed_signatures_verify(name: str) -> None:
    request = doc_request(name)
    sig = parsed(request)
    assert sig.signature == DOC_SEEDS[name][2]
    verify(request, sig, DOC_SECRET, now=DOC_NOW, s3=True, check_payload=False)
    changed = request.with_header("x-amz-decoded-content-length", "66561")
    with pytest.raises(SignatureError) as caught:
        verify(changed, sig, DOC_SECRET, now=DOC_NOW, s3=True, check_payload=False)
    assert caught.value.code == "SignatureDoesNotMatch"


def test_the_stream_signer_builds_the_documented_string_to_sign_and_signature() -> None:
    sig = parsed(doc_request("chunked"))
    signer = StreamSigner.of(sig, DOC_SECRET)
    assert signer.key == signing_key(DOC_SECRET, sig)
    assert (signer.seed, signer.amz_date, signer.scope) == (
        DOC_SEEDS["chunked"][2],
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
    )
    first = hashlib.sha256(b"a" * 65536).hexdigest()
    assert first == "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a"
    assert signer.chunk_string_to_sign(signer.seed, first) == "\n".join(
        (
            "AWS4-HMAC-SHA256-PAYLOAD",
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
            EMPTY_SHA256,
            first,
        )
    )
    assert signer.chunk(signer.seed, first) == (
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    )
    final = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
    assert signer.chunk(final, EMPTY_SHA256) == (
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
    )


def test_the_stream_signer_signs_the_documented_trailer() -> None:
    signer = StreamSigner.of(parsed(doc_request("chunked with a trailer")), DOC_SECRET)
    final = "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"
    trailer = hashlib.sha256(b"x-amz-checksum-crc32c:sOO8/Q==\n").hexdigest()
    assert signer.trailer_string_to_sign(final, trailer).startswith(
        "AWS4-HMAC-SHA256-TRAILER\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
    )
    assert signer.trailer(final, trailer) == (
        "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
    )
