"""S3's legacy signature (Signature Version 2, HMAC-SHA1): the ``Authorization: AWS
<key>:<signature>`` header and the presigned query (``AWSAccessKeyId``, ``Signature``,
``Expires``).

AWS deprecated it, but S3 still accepts it, and boto3's ``generate_presigned_url`` for S3
uses it unless the client is configured for ``s3v4`` — so presigned links made by unchanged
code need it. The string to sign is S3's: the method, ``Content-MD5``, ``Content-Type``, the
date (``Expires`` for a presigned URL; the ``Date`` header, empty when ``x-amz-date`` is
sent), the ``x-amz-*`` headers lower-cased and sorted, then the resource: the path (with the
bucket in front for a virtual-host-style request, which the caller has already rewritten to
path style) and the sub-resources of the query S3 signs, sorted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

from raybus.gateway.aws.sigv4 import RequestLike, SignatureError

__all__ = ["SigV2", "parse_sigv2", "string_to_sign_v2", "verify_sigv2"]

# Query parameters that are part of S3's SigV2 canonical resource.
SUB_RESOURCES = frozenset(
    {
        "accelerate", "acl", "cors", "defaultObjectAcl", "delete", "lifecycle", "location",
        "logging", "notification", "partNumber", "policy", "requestPayment", "restore",
        "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions",
        "website", "replication", "object-lock", "retention", "legal-hold",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SigV2:
    access_key: str
    signature: str
    expires: int | None  # a presigned URL's expiry (epoch seconds); None for the header form

    @property
    def presigned(self) -> bool:
        return self.expires is not None


def parse_sigv2(request: RequestLike) -> SigV2 | None:
    """The request's SigV2 signature, or None when it carries none."""
    header = request.headers.get("authorization")
    if header is not None and header.startswith("AWS "):
        key, colon, signature = header[4:].strip().partition(":")
        if not colon or not key or not signature:
            raise _malformed()
        return SigV2(key, signature, None)
    query = dict(request.query)
    if "AWSAccessKeyId" in query and "Signature" in query:
        try:
            expires = int(query.get("Expires", ""))
        except ValueError:
            raise _malformed() from None
        return SigV2(query["AWSAccessKeyId"], query["Signature"], expires)
    return None


def string_to_sign_v2(request: RequestLike, sig: SigV2) -> str:
    headers = request.headers
    amz = sorted(
        (name.lower(), " ".join(value.split()))
        for name, value in headers.items()
        if name.lower().startswith("x-amz-")
    )
    merged: dict[str, list[str]] = {}
    for name, value in amz:
        merged.setdefault(name, []).append(value)
    if sig.presigned:
        date = str(sig.expires)
    else:
        date = "" if "x-amz-date" in merged else headers.get("Date", "")
    lines = [
        request.method,
        headers.get("Content-MD5", ""),
        headers.get("Content-Type", ""),
        date,
        *(f"{name}:{','.join(values)}" for name, values in merged.items()),
        _resource(request.path, request.query),
    ]
    return "\n".join(lines)


def _resource(path: str, query: Sequence[tuple[str, str]]) -> str:
    subresources = sorted((k, v) for k, v in query if k in SUB_RESOURCES)
    if not subresources:
        return path
    parts = [k if v == "" else f"{k}={unquote(v) if '%' in v else v}" for k, v in subresources]
    return f"{path}?{'&'.join(parts)}"


def verify_sigv2(request: RequestLike, sig: SigV2, secret_key: str, *, now: float) -> None:
    """Check a SigV2 signature as S3 does (``SignatureDoesNotMatch``; ``AccessDenied`` once a
    presigned URL has expired)."""
    if sig.expires is not None and now > sig.expires:
        raise SignatureError("AccessDenied", "Request has expired", 403)
    to_sign = string_to_sign_v2(request, sig)
    expected = base64.b64encode(
        hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
    ).decode("ascii")
    if not hmac.compare_digest(expected, sig.signature):
        raise SignatureError(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
            403,
        )


def _malformed() -> SignatureError:
    return SignatureError(
        "InvalidArgument",
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
        400,
    )
