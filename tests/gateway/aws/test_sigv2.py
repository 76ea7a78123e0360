"""S3's legacy SigV2: signatures botocore's own HmacV1 signers make (the header form and the
presigned query form) verify; a changed request, a wrong secret or an expired URL do not."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from raybus.gateway.aws.protocols import WireRequest
from raybus.gateway.aws.sigv2 import parse_sigv2, verify_sigv2
from raybus.gateway.aws.sigv4 import SignatureError

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def wire_of(request: AWSRequest) -> WireRequest:
    url = urlsplit(request.url)
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    return WireRequest(
        request.method, url.path, tuple(parse_qsl(url.query, keep_blank_values=True)), headers
    )


def header_signed(method: str, url: str, headers: dict[str, str]) -> WireRequest:
    request = AWSRequest(method=method, url=url, headers=headers)
    HmacV1Auth(Credentials(KEY, SECRET)).add_auth(request)
    return wire_of(request)


def presigned(url: str, expires: int = 3600) -> WireRequest:
    request = AWSRequest(method="GET", url=url)
    HmacV1QueryAuth(Credentials(KEY, SECRET), expires=expires).add_auth(request)
    return wire_of(AWSRequest(method="GET", url=request.url))


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GET", "http://127.0.0.1/photos/puppy.jpg", {}),
        ("PUT", "http://127.0.0.1/photos/a%20b.jpg", {"Content-Type": "image/jpeg",
                                                      "x-amz-meta-Owner": "ana"}),
        ("GET", "http://127.0.0.1/photos?versions&prefix=a", {}),
        ("PUT", "http://127.0.0.1/photos/k?tagging", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}),
    ],
)  # fmt: skip
def test_a_header_signature_botocore_makes_verifies(
    method: str, url: str, headers: dict[str, str]
) -> None:
    wire = header_signed(method, url, headers)
    sig = parse_sigv2(wire)
    assert sig is not None and sig.access_key == KEY and not sig.presigned
    verify_sigv2(wire, sig, SECRET, now=time.time())
    with pytest.raises(SignatureError) as wrong:
        verify_sigv2(wire, sig, SECRET + "x", now=time.time())
    assert wrong.value.code == "SignatureDoesNotMatch"
    changed = WireRequest("DELETE", wire.path, wire.query, wire.headers)
    with pytest.raises(SignatureError):
        verify_sigv2(changed, sig, SECRET, now=time.time())


def test_a_presigned_url_verifies_until_it_expires() -> None:
    wire = presigned("http://127.0.0.1/photos/puppy.jpg", expires=60)
    sig = parse_sigv2(wire)
    assert sig is not None and sig.presigned and sig.expires is not None
    verify_sigv2(wire, sig, SECRET, now=time.time())
    with pytest.raises(SignatureError) as expired:
        verify_sigv2(wire, sig, SECRET, now=sig.expires + 1)
    assert expired.value.code == "AccessDenied"


def test_an_unsigned_request_has_no_sigv2_and_a_malformed_header_is_refused() -> None:
    assert parse_sigv2(WireRequest("GET", "/b/k")) is None
    with pytest.raises(SignatureError) as malformed:
        parse_sigv2(WireRequest("GET", "/b/k", headers={"Authorization": "AWS nocolon"}))
    assert malformed.value.code == "InvalidArgument"
