"""S3's operations over raybus's buckets (docs/aws-s3.md): buckets and their configurations,
objects (streamed in and out), multipart uploads, versions, tags and restores.

Each operation takes the request as botocore's serializer has it (the codec parsed it) and
answers the output botocore's parser expects. Object bodies never pass through here whole: a
PutObject or UploadPart reads ``call.payload`` (the request body, decoded and checked as it
streams: :mod:`raybus.gateway.aws.payload`) straight into a blob, and a GetObject answers an
async iterator of the blob's bytes as its ``Body``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from raybus.actors.objects import ObjectStore, Page
from raybus.control.buckets import (
    CreateBucket,
    DeleteBucket,
    DescribeBucket,
    ListBuckets,
    UpdateBucket,
)
from raybus.core.bucket_rules import (
    LifecycleConfig,
    ReplicationConfig,
    RestoreRequest,
    check_storage_class,
    restore_header,
)
from raybus.core.buckets import (
    MAX_PART_BYTES,
    NULL_VERSION,
    OWNER_ID,
    ObjectVersion,
    byte_range,
    check_key,
    check_metadata,
    check_tags,
)
from raybus.core.errors import RaybusError
from raybus.engines.bucket.engine import Conditions, Origin, Part
from raybus.gateway.aws.protocols import AwsError
from raybus.gateway.aws.service import Call

__all__ = ["OPERATIONS", "OWNER"]

OWNER = {"DisplayName": "raybus", "ID": OWNER_ID}
MAX_KEYS = 1000
MAX_DELETE = 1000
_REPRESENTATION = {
    "ContentType": "Content-Type",
    "ContentEncoding": "Content-Encoding",
    "ContentDisposition": "Content-Disposition",
    "ContentLanguage": "Content-Language",
    "CacheControl": "Cache-Control",
    "WebsiteRedirectLocation": "x-amz-website-redirect-location",
}
_CHECKSUMS = {
    "CRC32": "ChecksumCRC32",
    "CRC32C": "ChecksumCRC32C",
    "CRC64NVME": "ChecksumCRC64NVME",
    "SHA1": "ChecksumSHA1",
    "SHA256": "ChecksumSHA256",
}


def _store(call: Call) -> ObjectStore:
    store = call.gateway.objects
    if store is None:
        raise AwsError("NotImplemented", "This gateway serves no buckets.", status=501)
    return store


def _origin(call: Call) -> Origin:
    return Origin(
        requester=call.caller, source_ip=call.source_ip or "127.0.0.1", request_id=call.request_id
    )


def _ms(moment: Any) -> int | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return int(moment.timestamp() * 1000)
    raise AwsError("InvalidArgument", "Invalid date.")


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _conditions(params: Mapping[str, Any], prefix: str = "") -> Conditions:
    return Conditions(
        if_match=params.get(f"{prefix}IfMatch"),
        if_none_match=params.get(f"{prefix}IfNoneMatch"),
        if_modified_since_ms=_ms(params.get(f"{prefix}IfModifiedSince")),
        if_unmodified_since_ms=_ms(params.get(f"{prefix}IfUnmodifiedSince")),
    )


def _tags_from_query(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise AwsError(
            "InvalidArgument",
            "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query "
            "parameters without tag name duplicates.",
        ) from None
    tags = dict(pairs)
    if len(tags) != len(pairs):
        raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key")
    return check_tags(tags)


def _tag_set(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _from_tag_set(tag_set: Any) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in tag_set or ():
        key = tag.get("Key")
        if key in tags:
            raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key")
        tags[key] = tag.get("Value", "")
    return check_tags(tags)


def _version_template(params: Mapping[str, Any]) -> ObjectVersion:
    headers = {
        wire: params[name] for name, wire in _REPRESENTATION.items() if params.get(name) is not None
    }
    headers.setdefault("Content-Type", "binary/octet-stream")
    encoding = _stored_encoding(headers.get("Content-Encoding"))
    if encoding is None:
        headers.pop("Content-Encoding", None)
    else:
        headers["Content-Encoding"] = encoding
    expires = params.get("Expires")
    if isinstance(expires, datetime):
        headers["Expires"] = expires.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    storage_class = params.get("StorageClass") or "STANDARD"
    check_storage_class(storage_class)
    return ObjectVersion(
        version_id="",
        headers=headers,
        metadata=check_metadata(params.get("Metadata") or {}),
        tags=_tags_from_query(params.get("Tagging")),
        storage_class=storage_class,
    )


def _stored_encoding(value: str | None) -> str | None:
    """The Content-Encoding S3 stores: what the client sent without ``aws-chunked`` (a
    transfer framing, undone by the payload reader)."""
    if value is None:
        return None
    kept = [item.strip() for item in value.split(",") if item.strip().lower() != "aws-chunked"]
    return ", ".join(kept) or None


def _version_out(version: ObjectVersion, versioned: bool) -> dict[str, str]:
    if version.version_id != NULL_VERSION:
        return {"VersionId": version.version_id}
    return {"VersionId": NULL_VERSION} if versioned else {}


def _checksums_out(version: ObjectVersion) -> dict[str, str]:
    return {
        _CHECKSUMS[name]: value
        for name, value in version.checksums.items()
        if name in _CHECKSUMS and "-" not in value
    }


async def _bucket_versioning(call: Call, bucket: str) -> str:
    route = await _store(call).route(bucket)
    return str(route.config.versioning)


def _key(params: Mapping[str, Any]) -> str:
    return check_key(params["Key"])


# -- buckets --------------------------------------------------------------------------------------
async def create_bucket(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    configuration = params.get("CreateBucketConfiguration") or {}
    region = configuration.get("LocationConstraint") or ""
    await call.gateway.control.run(CreateBucket({"name": params["Bucket"], "region": region}))
    await call.gateway.changed()
    return {"Location": f"/{params['Bucket']}"}


async def delete_bucket(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await call.gateway.control.run(DeleteBucket(params["Bucket"]))
    await call.gateway.changed()
    return {}


async def head_bucket(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    route = await _store(call).route(params["Bucket"])
    return {"BucketRegion": route.config.region or call.settings.region}


async def list_buckets(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    buckets = await call.gateway.control.run(ListBuckets(params.get("Prefix")))
    return {
        "Buckets": [
            {
                "Name": b["name"],
                "CreationDate": _time(b["created_ms"]),
                "BucketRegion": b["region"] or call.settings.region,
            }
            for b in buckets
        ],
        "Owner": OWNER,
    }


async def get_bucket_location(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    config = await call.gateway.control.run(DescribeBucket(params["Bucket"]))
    region = config["region"]
    return {"LocationConstraint": region} if region and region != "us-east-1" else {}


async def _update(call: Call, bucket: str, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = await call.gateway.control.run(UpdateBucket(bucket, changes))
    await call.gateway.changed()
    return config


async def put_bucket_versioning(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    status = (params.get("VersioningConfiguration") or {}).get("Status")
    await _update(call, params["Bucket"], versioning=status)
    return {}


async def get_bucket_versioning(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    config = await call.gateway.control.run(DescribeBucket(params["Bucket"]))
    return {"Status": config["versioning"]} if config["versioning"] else {}


async def put_bucket_notification_configuration(
    call: Call, params: dict[str, Any]
) -> dict[str, Any]:
    await _update(call, params["Bucket"], notification=params.get("NotificationConfiguration"))
    return {}


async def get_bucket_notification_configuration(
    call: Call, params: dict[str, Any]
) -> dict[str, Any]:
    config = await call.gateway.control.run(DescribeBucket(params["Bucket"]))
    notification: dict[str, Any] = config["notification"] or {}
    return notification


async def put_bucket_lifecycle_configuration(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _update(call, params["Bucket"], lifecycle=params.get("LifecycleConfiguration") or {})
    return {}


async def get_bucket_lifecycle_configuration(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    config = await call.gateway.control.run(DescribeBucket(params["Bucket"]))
    if config["lifecycle"] is None:
        raise AwsError(
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
            status=404,
            fields={"BucketName": params["Bucket"]},
        )
    return LifecycleConfig.from_dict(config["lifecycle"]).to_s3()


async def delete_bucket_lifecycle(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _update(call, params["Bucket"], lifecycle=None)
    return {}


async def put_bucket_replication(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _update(call, params["Bucket"], replication=params.get("ReplicationConfiguration"))
    return {}


async def get_bucket_replication(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    config = await call.gateway.control.run(DescribeBucket(params["Bucket"]))
    if config["replication"] is None:
        raise AwsError(
            "ReplicationConfigurationNotFoundError",
            "The replication configuration was not found",
            status=404,
            fields={"BucketName": params["Bucket"]},
        )
    return {"ReplicationConfiguration": ReplicationConfig.from_dict(config["replication"]).to_s3()}


async def delete_bucket_replication(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _update(call, params["Bucket"], replication=None)
    return {}


async def put_bucket_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    tags = _from_tag_set((params.get("Tagging") or {}).get("TagSet"))
    await _update(call, params["Bucket"], tags=tags)
    return {}


async def get_bucket_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    config = await call.gateway.control.run(DescribeBucket(params["Bucket"]))
    if not config["tags"]:
        raise AwsError(
            "NoSuchTagSet",
            "The TagSet does not exist",
            status=404,
            fields={"BucketName": params["Bucket"]},
        )
    return {"TagSet": _tag_set(config["tags"])}


async def delete_bucket_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _update(call, params["Bucket"], tags={})
    return {}


# -- stored, not enforced ------------------------------------------------------------------------
# S3's defaults for buckets made since 2023: SSE-S3 encryption, ACLs disabled (the bucket owner
# owns every object), every public access blocked.
_DEFAULT_ENCRYPTION = {
    "Rules": [
        {
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BucketKeyEnabled": False,
        }
    ]
}
_DEFAULT_OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
_DEFAULT_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_OWNER_GRANT = {
    "Grants": [
        {
            "Grantee": {"Type": "CanonicalUser", **OWNER},
            "Permission": "FULL_CONTROL",
        }
    ]
}


def _missing(code: str, message: str, bucket: str) -> AwsError:
    return AwsError(code, message, status=404, fields={"BucketName": bucket})


async def _document(call: Call, bucket: str, name: str) -> Any:
    config = await call.gateway.control.run(DescribeBucket(bucket))
    return config["documents"].get(name)


def _stored(
    name: str,
    member: str,
    *,
    missing: tuple[str, str] | None = None,
    default: Any = None,
    wrap: bool = True,
) -> tuple[Any, Any, Any]:
    """Put, get and delete of a bucket document kept as sent: ``member`` is the request's
    payload member; a get answers it under ``member`` (``wrap``) or as the output itself, the
    ``default`` when none was put, else S3's ``missing`` error."""

    async def put(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        await _update(call, params["Bucket"], documents={name: params.get(member) or {}})
        return {}

    async def get(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        value = await _document(call, params["Bucket"], name)
        if value is None:
            if default is not None:
                value = default
            elif missing is not None:
                raise _missing(*missing, params["Bucket"])
            else:
                return {}
        return {member: value} if wrap else dict(value)

    async def delete(call: Call, params: dict[str, Any]) -> dict[str, Any]:
        await _update(call, params["Bucket"], documents={name: None})
        return {}

    return put, get, delete


async def put_bucket_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = params.get("Policy")
    try:
        parsed = json.loads(policy) if isinstance(policy, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or "Statement" not in parsed:
        raise AwsError("MalformedPolicy", "Policies must be valid JSON and the first byte must "
                       "be '{'")  # fmt: skip
    await _update(call, params["Bucket"], documents={"policy": policy})
    return {}


async def get_bucket_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = await _document(call, params["Bucket"], "policy")
    if policy is None:
        raise _missing("NoSuchBucketPolicy", "The bucket policy does not exist", params["Bucket"])
    return {"Policy": policy}


async def delete_bucket_policy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _update(call, params["Bucket"], documents={"policy": None})
    return {}


async def get_bucket_policy_status(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _store(call).route(params["Bucket"])
    return {"PolicyStatus": {"IsPublic": False}}


async def get_bucket_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    stored = await _document(call, params["Bucket"], "acl")
    return {"Owner": OWNER, **(stored or _OWNER_GRANT)}


async def put_bucket_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    policy = params.get("AccessControlPolicy")
    grants = {"Grants": policy.get("Grants", [])} if policy else None
    await _update(call, params["Bucket"], documents={"acl": grants})
    return {}


async def get_object_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _store(call).head(params["Bucket"], _key(params), params.get("VersionId"))
    return {"Owner": OWNER, **_OWNER_GRANT}


async def put_object_acl(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _store(call).head(params["Bucket"], _key(params), params.get("VersionId"))
    return {}


async def get_object_lock_configuration(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _store(call).route(params["Bucket"])
    raise _missing(
        "ObjectLockConfigurationNotFoundError",
        "Object Lock configuration does not exist for this bucket",
        params["Bucket"],
    )


_CORS = _stored(
    "cors",
    "CORSConfiguration",
    missing=("NoSuchCORSConfiguration", "The CORS configuration does not exist"),
    wrap=False,
)
_ENCRYPTION = _stored(
    "encryption", "ServerSideEncryptionConfiguration", default=_DEFAULT_ENCRYPTION
)
_OWNERSHIP = _stored("ownership_controls", "OwnershipControls", default=_DEFAULT_OWNERSHIP)
_PUBLIC_ACCESS = _stored(
    "public_access_block", "PublicAccessBlockConfiguration", default=_DEFAULT_PUBLIC_ACCESS_BLOCK
)
_WEBSITE = _stored(
    "website",
    "WebsiteConfiguration",
    missing=("NoSuchWebsiteConfiguration", "The specified bucket does not have a website "
             "configuration"),
    wrap=False,
)  # fmt: skip
_LOGGING = _stored("logging", "BucketLoggingStatus", wrap=False)
_ACCELERATE = _stored("accelerate", "AccelerateConfiguration", wrap=False)
_REQUEST_PAYMENT = _stored(
    "request_payment", "RequestPaymentConfiguration", default={"Payer": "BucketOwner"},
    wrap=False,
)  # fmt: skip


# -- objects --------------------------------------------------------------------------------------
async def put_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    store = _store(call)
    bucket, key = params["Bucket"], _key(params)
    template = _version_template(params)
    payload = call.payload
    body = await store.write(bucket, key, _chunks(call, params))
    template.etag = f'"{payload.md5_hex}"' if payload is not None else f'"{_EMPTY_MD5}"'
    template.checksums = dict(payload.checksums) if payload is not None else {}
    version = await store.put(
        bucket, key, body, template, origin=_origin(call), conditions=_conditions(params)
    )
    versioning = await _bucket_versioning(call, bucket)
    return {
        "ETag": version.etag,
        **_version_out(version, versioning != ""),
        **_checksums_out(version),
    }


_EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


def _chunks(call: Call, params: Mapping[str, Any]) -> AsyncIterator[bytes]:
    payload = call.payload
    if payload is not None:
        return payload.__aiter__()  # type: ignore[no-any-return]
    body = params.get("Body")
    if isinstance(body, bytes) and body:

        async def one() -> AsyncIterator[bytes]:
            yield body

        return one()
    return _empty()


def _object_headers(version: ObjectVersion, versioned: bool, now_ms: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ETag": version.etag,
        "LastModified": _time(version.modified_ms),
        "ContentLength": version.size,
        "AcceptRanges": "bytes",
        **_version_out(version, versioned),
    }
    for name, wire in _REPRESENTATION.items():
        if wire in version.headers:
            out[name] = version.headers[wire]
    if "Expires" in version.headers:
        out["ExpiresString"] = version.headers["Expires"]
    if version.metadata:
        out["Metadata"] = dict(version.metadata)
    if version.storage_class != "STANDARD":
        out["StorageClass"] = version.storage_class
    if version.tags:
        out["TagCount"] = len(version.tags)
    if version.replication_status:
        out["ReplicationStatus"] = version.replication_status
    if version.restore is not None:
        out["Restore"] = restore_header(version.restore[0], version.restore[1])
    if version.part_sizes:
        out["PartsCount"] = len(version.part_sizes)
    return out


async def get_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    store = _store(call)
    bucket, key = params["Bucket"], _key(params)
    version, directory = await store.head(
        bucket, key, params.get("VersionId"), _conditions(params), get=True
    )
    versioning = await _bucket_versioning(call, bucket)
    out = _object_headers(version, versioning != "", 0)
    span = byte_range(params.get("Range"), version.size)
    part = params.get("PartNumber")
    if part is not None:
        sizes = version.part_sizes or (version.size,)
        if not 1 <= part <= len(sizes):
            raise RaybusError(
                "InvalidRange", "The requested partnumber is not satisfiable", part_number=part
            )
        start = sum(sizes[: part - 1])
        span = (start, start + sizes[part - 1])
        out["PartsCount"] = len(sizes)
    if span is not None:
        start, end = span
        out["ContentRange"] = f"bytes {start}-{end - 1}/{version.size}"
        out["ContentLength"] = end - start
        out["Body"] = await store.read(directory, version, start, end)
    else:
        out["Body"] = await store.read(directory, version)
        if params.get("ChecksumMode") == "ENABLED":
            out.update(_checksums_out(version))
    for name in (
        "ResponseContentType",
        "ResponseContentLanguage",
        "ResponseContentDisposition",
        "ResponseContentEncoding",
        "ResponseCacheControl",
    ):
        if params.get(name) is not None:
            out[name.removeprefix("Response")] = params[name]
    if isinstance(params.get("ResponseExpires"), datetime):
        out["ExpiresString"] = params["ResponseExpires"].strftime("%a, %d %b %Y %H:%M:%S GMT")
    return out


async def head_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    store = _store(call)
    bucket, key = params["Bucket"], _key(params)
    version, _ = await store.head(bucket, key, params.get("VersionId"), _conditions(params))
    versioning = await _bucket_versioning(call, bucket)
    out = _object_headers(version, versioning != "", 0)
    span = byte_range(params.get("Range"), version.size)
    if span is not None:
        out["ContentLength"] = span[1] - span[0]
        out["ContentRange"] = f"bytes {span[0]}-{span[1] - 1}/{version.size}"
    if params.get("ChecksumMode") == "ENABLED":
        out.update(_checksums_out(version))
    return out


async def delete_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    marker, version_id = await _store(call).delete(
        params["Bucket"], _key(params), params.get("VersionId"), _origin(call)
    )
    out: dict[str, Any] = {}
    if marker:
        out["DeleteMarker"] = True
    if version_id is not None:
        out["VersionId"] = version_id
    return out


async def delete_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    delete = params.get("Delete") or {}
    objects = delete.get("Objects") or []
    if not objects or len(objects) > MAX_DELETE:
        raise AwsError(
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our "
            "published schema",
        )
    items = [(check_key(o["Key"]), o.get("VersionId")) for o in objects]
    results = await _store(call).delete_many(params["Bucket"], items, _origin(call))
    deleted: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for (key, version_id), result in zip(items, results, strict=True):
        if isinstance(result, RaybusError):
            errors.append(
                {"Key": key, "VersionId": version_id or "", "Code": result.code,
                 "Message": result.message}
            )  # fmt: skip
            continue
        if delete.get("Quiet"):
            continue
        marker, made = result
        entry: dict[str, Any] = {"Key": key}
        if version_id is not None:
            entry["VersionId"] = version_id
        if marker:
            entry["DeleteMarker"] = True
            if made is not None:
                entry["DeleteMarkerVersionId"] = made
        deleted.append(entry)
    out: dict[str, Any] = {}
    if deleted:
        out["Deleted"] = deleted
    if errors:
        out["Errors"] = errors
    return out


def _copy_source(text: Any) -> tuple[str, str, str | None]:
    if not isinstance(text, str):
        raise AwsError("InvalidArgument", "Copy Source must mention the source bucket and key: "
                       "sourcebucket/sourcekey")  # fmt: skip
    path, _, query = text.partition("?")
    path = unquote(path).lstrip("/")
    bucket, slash, key = path.partition("/")
    if not slash or not bucket or not key:
        raise AwsError(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
        )
    version_id = dict(parse_qsl(query)).get("versionId") if query else None
    return bucket, key, version_id


async def copy_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    store = _store(call)
    bucket, key = params["Bucket"], _key(params)
    source = _copy_source(params.get("CopySource"))
    replace_metadata = params.get("MetadataDirective") == "REPLACE"
    template: ObjectVersion | None = None
    if replace_metadata or params.get("StorageClass") or params.get("TaggingDirective"):
        template = _version_template(params)
    if (
        source[:2] == (bucket, key)
        and source[2] is None
        and not replace_metadata
        and not params.get("StorageClass")
        and not params.get("WebsiteRedirectLocation")
    ):
        raise AwsError(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    if template is not None and not replace_metadata:
        found, _ = await store.head(*source)
        template.headers = dict(found.headers)
        template.metadata = dict(found.metadata)
    if template is not None and params.get("TaggingDirective") != "REPLACE":
        found, _ = await store.head(*source)
        template.tags = dict(found.tags)
    found, made = await store.copy(
        source,
        bucket,
        key,
        template,
        conditions=_conditions(params, "CopySource"),
        destination_conditions=_conditions(params),
        origin=_origin(call),
    )
    versioning = await _bucket_versioning(call, bucket)
    out: dict[str, Any] = {
        "CopyObjectResult": {"ETag": made.etag, "LastModified": _time(made.modified_ms)},
        **_version_out(made, versioning != ""),
    }
    if found.version_id != NULL_VERSION:
        out["CopySourceVersionId"] = found.version_id
    return out


def _encode(text: str, encoding: str | None) -> str:
    return quote(text, safe="/") if encoding == "url" else text


def _contents(page: Page, encoding: str | None, owner: bool) -> list[dict[str, Any]]:
    out = []
    for key, version in page.entries:
        item: dict[str, Any] = {
            "Key": _encode(key, encoding),
            "LastModified": _time(version.modified_ms),
            "ETag": version.etag,
            "Size": version.size,
            "StorageClass": version.storage_class,
        }
        if owner:
            item["Owner"] = OWNER
        if version.checksums:
            item["ChecksumAlgorithm"] = sorted(version.checksums)
        out.append(item)
    return out


def _max_keys(params: Mapping[str, Any]) -> int:
    value = params.get("MaxKeys")
    if value is None:
        return MAX_KEYS
    if value < 0:
        raise AwsError("InvalidArgument", "maxKeys should be non-negative")
    return min(int(value), MAX_KEYS)


def _listing_common(params: Mapping[str, Any], page: Page, limit: int) -> dict[str, Any]:
    encoding = params.get("EncodingType")
    out: dict[str, Any] = {
        "Name": params["Bucket"],
        "Prefix": _encode(params.get("Prefix") or "", encoding),
        "MaxKeys": limit,
        "IsTruncated": page.truncated,
    }
    if params.get("Delimiter"):
        out["Delimiter"] = _encode(params["Delimiter"], encoding)
    if encoding:
        out["EncodingType"] = encoding
    if page.prefixes:
        out["CommonPrefixes"] = [{"Prefix": _encode(p, encoding)} for p in page.prefixes]
    return out


async def list_objects_v2(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    limit = _max_keys(params)
    token = params.get("ContinuationToken")
    marker = params.get("StartAfter") or ""
    if token is not None:
        try:
            marker = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError):
            raise AwsError(
                "InvalidArgument", "The continuation token provided is incorrect"
            ) from None
    page = await _store(call).list(
        params["Bucket"],
        prefix=params.get("Prefix") or "",
        marker=marker,
        limit=limit,
        delimiter=params.get("Delimiter") or "",
    )
    out = _listing_common(params, page, limit)
    contents = _contents(page, params.get("EncodingType"), bool(params.get("FetchOwner")))
    if contents:
        out["Contents"] = contents
    out["KeyCount"] = len(page.entries) + len(page.prefixes)
    if token is not None:
        out["ContinuationToken"] = token
    if params.get("StartAfter"):
        out["StartAfter"] = _encode(params["StartAfter"], params.get("EncodingType"))
    if page.truncated:
        out["NextContinuationToken"] = base64.urlsafe_b64encode(page.last().encode("utf-8")).decode(
            "ascii"
        )
    return out


async def list_objects(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    limit = _max_keys(params)
    page = await _store(call).list(
        params["Bucket"],
        prefix=params.get("Prefix") or "",
        marker=params.get("Marker") or "",
        limit=limit,
        delimiter=params.get("Delimiter") or "",
    )
    out = _listing_common(params, page, limit)
    out["Marker"] = _encode(params.get("Marker") or "", params.get("EncodingType"))
    contents = _contents(page, params.get("EncodingType"), True)
    if contents:
        out["Contents"] = contents
    if page.truncated and params.get("Delimiter"):
        out["NextMarker"] = _encode(page.last(), params.get("EncodingType"))
    return out


async def list_object_versions(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    limit = _max_keys(params)
    encoding = params.get("EncodingType")
    page = await _store(call).list(
        params["Bucket"],
        prefix=params.get("Prefix") or "",
        marker=params.get("KeyMarker") or "",
        limit=limit,
        delimiter=params.get("Delimiter") or "",
        versions=True,
        version_marker=params.get("VersionIdMarker") or "",
    )
    out = _listing_common(params, page, limit)
    out["KeyMarker"] = _encode(params.get("KeyMarker") or "", encoding)
    out["VersionIdMarker"] = params.get("VersionIdMarker") or ""
    versions: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []
    for key, version in page.entries:
        item: dict[str, Any] = {
            "Key": _encode(key, encoding),
            "VersionId": version.version_id,
            "IsLatest": page.latest.get(key) == version.version_id,
            "LastModified": _time(version.modified_ms),
            "Owner": OWNER,
        }
        if version.delete_marker:
            markers.append(item)
        else:
            item.update(ETag=version.etag, Size=version.size, StorageClass=version.storage_class)
            versions.append(item)
    if versions:
        out["Versions"] = versions
    if markers:
        out["DeleteMarkers"] = markers
    if page.truncated:
        if page.entries and page.entries[-1][0] >= (page.prefixes[-1] if page.prefixes else ""):
            out["NextKeyMarker"] = _encode(page.entries[-1][0], encoding)
            out["NextVersionIdMarker"] = page.entries[-1][1].version_id
        else:
            out["NextKeyMarker"] = _encode(page.last(), encoding)
    return out


async def get_object_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    version, _ = await _store(call).head(params["Bucket"], _key(params), params.get("VersionId"))
    out: dict[str, Any] = {"TagSet": _tag_set(version.tags)}
    if version.version_id != NULL_VERSION:
        out["VersionId"] = version.version_id
    return out


async def put_object_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    tags = _from_tag_set((params.get("Tagging") or {}).get("TagSet"))
    version = await _store(call).update(
        params["Bucket"],
        _key(params),
        params.get("VersionId"),
        {"tags": tags},
        event="ObjectTagging:Put",
        origin=_origin(call),
    )
    return {} if version.version_id == NULL_VERSION else {"VersionId": version.version_id}


async def delete_object_tagging(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    version = await _store(call).update(
        params["Bucket"],
        _key(params),
        params.get("VersionId"),
        {"tags": {}},
        event="ObjectTagging:Delete",
        origin=_origin(call),
    )
    return {} if version.version_id == NULL_VERSION else {"VersionId": version.version_id}


async def restore_object(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    request = RestoreRequest.from_s3(params.get("RestoreRequest") or {})
    await _store(call).restore(
        params["Bucket"],
        _key(params),
        params.get("VersionId"),
        request.days,
        request.tier,
        _origin(call),
    )
    return {}


# -- multipart ------------------------------------------------------------------------------------
async def create_multipart_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    bucket, key = params["Bucket"], _key(params)
    template = _version_template(params)
    algorithm = params.get("ChecksumAlgorithm")
    settings = {
        "headers": template.headers,
        "metadata": template.metadata,
        "tags": template.tags,
        "storage_class": template.storage_class,
        "checksum_algorithm": algorithm or "",
    }
    upload_id = await _store(call).create_upload(bucket, key, settings)
    out: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    if algorithm:
        out["ChecksumAlgorithm"] = algorithm
    return out


async def upload_part(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    store = _store(call)
    bucket, key = params["Bucket"], _key(params)
    number = params["PartNumber"]
    upload_id = params["UploadId"]
    await store.get_upload(bucket, key, upload_id)  # NoSuchUpload before reading a body
    body = await store.write(bucket, key, _chunks(call, params))
    if body.size > MAX_PART_BYTES:
        await store.discard(body)
        raise RaybusError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    payload = call.payload
    md5_hex = payload.md5_hex if payload is not None else _EMPTY_MD5
    checksums = dict(payload.checksums) if payload is not None else {}
    part = Part(body.blob or "", body.size, f'"{md5_hex}"', md5_hex, checksums, 0)
    stored = await store.upload_part(bucket, key, upload_id, number, body, part)
    return {
        "ETag": stored.etag,
        **{_CHECKSUMS[k]: v for k, v in checksums.items() if k in _CHECKSUMS},
    }


async def upload_part_copy(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    """A part copied from (a range of) another object: its bytes are read from the source's
    blobs and written as the part's blob."""
    store = _store(call)
    bucket, key = params["Bucket"], _key(params)
    upload_id, number = params["UploadId"], params["PartNumber"]
    await store.get_upload(bucket, key, upload_id)
    source = _copy_source(params.get("CopySource"))
    try:
        found, directory = await store.head(*source, _conditions(params, "CopySource"), get=True)
    except RaybusError as error:
        if error.code == "InvalidObjectState":
            raise RaybusError(
                "ObjectNotInActiveTierError",
                "The source object of the COPY operation is not in the active tier.",
            ) from None
        raise
    start, end = 0, found.size
    wanted = params.get("CopySourceRange")
    if wanted is not None:
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", wanted.strip())
        if match is None or int(match.group(2)) < int(match.group(1)):
            raise AwsError(
                "InvalidArgument",
                "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                "first and last are the zero-based offsets of the first and last bytes to copy",
            )
        start, end = int(match.group(1)), int(match.group(2)) + 1
        if end > found.size:
            raise RaybusError(
                "InvalidRange", "The requested range is not satisfiable", size=found.size
            )
    digest = hashlib.md5(usedforsecurity=False)
    source_bytes = await store.read(directory, found, start, end)
    body = await store.write(bucket, key, source_bytes, observe=digest.update)
    md5_hex = digest.hexdigest()
    part = Part(body.blob or "", body.size, f'"{md5_hex}"', md5_hex, {}, 0)
    stored = await store.upload_part(bucket, key, upload_id, number, body, part)
    out: dict[str, Any] = {
        "CopyPartResult": {"ETag": stored.etag, "LastModified": _time(stored.modified_ms)}
    }
    if found.version_id != NULL_VERSION:
        out["CopySourceVersionId"] = found.version_id
    return out


async def complete_multipart_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    bucket, key = params["Bucket"], _key(params)
    parts = [
        (int(p["PartNumber"]), str(p.get("ETag", "")))
        for p in (params.get("MultipartUpload") or {}).get("Parts") or []
    ]
    version = await _store(call).complete_upload(
        bucket,
        key,
        params["UploadId"],
        parts,
        origin=_origin(call),
        conditions=_conditions(params),
    )
    versioning = await _bucket_versioning(call, bucket)
    return {
        "Location": f"{call.base_url}/{bucket}/{quote(key)}",
        "Bucket": bucket,
        "Key": key,
        "ETag": version.etag,
        **_version_out(version, versioning != ""),
    }


async def abort_multipart_upload(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    await _store(call).abort_upload(params["Bucket"], _key(params), params["UploadId"])
    return {}


async def list_parts(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    bucket, key = params["Bucket"], _key(params)
    upload = await _store(call).get_upload(bucket, key, params["UploadId"])
    limit = min(int(params.get("MaxParts") or 1000), 1000)
    after = int(params.get("PartNumberMarker") or 0)
    numbers = sorted(n for n in upload.parts if n > after)
    chosen = numbers[:limit]
    out: dict[str, Any] = {
        "Bucket": bucket,
        "Key": key,
        "UploadId": upload.upload_id,
        "PartNumberMarker": after,
        "MaxParts": limit,
        "IsTruncated": len(numbers) > limit,
        "Initiator": OWNER,
        "Owner": OWNER,
        "StorageClass": upload.settings.get("storage_class") or "STANDARD",
        "Parts": [
            {
                "PartNumber": n,
                "LastModified": _time(upload.parts[n].modified_ms),
                "ETag": upload.parts[n].etag,
                "Size": upload.parts[n].size,
                **{
                    _CHECKSUMS[k]: v
                    for k, v in upload.parts[n].checksums.items()
                    if k in _CHECKSUMS
                },
            }
            for n in chosen
        ],
    }
    if chosen:
        out["NextPartNumberMarker"] = chosen[-1]
    if upload.settings.get("checksum_algorithm"):
        out["ChecksumAlgorithm"] = upload.settings["checksum_algorithm"]
    return out


async def list_multipart_uploads(call: Call, params: dict[str, Any]) -> dict[str, Any]:
    limit = min(int(params.get("MaxUploads") or 1000), 1000)
    uploads, truncated = await _store(call).list_uploads(
        params["Bucket"],
        prefix=params.get("Prefix") or "",
        key_marker=params.get("KeyMarker") or "",
        upload_marker=params.get("UploadIdMarker") or "",
        limit=limit,
    )
    out: dict[str, Any] = {
        "Bucket": params["Bucket"],
        "KeyMarker": params.get("KeyMarker") or "",
        "UploadIdMarker": params.get("UploadIdMarker") or "",
        "MaxUploads": limit,
        "IsTruncated": truncated,
        "Prefix": params.get("Prefix") or "",
        "Uploads": [
            {
                "UploadId": u.upload_id,
                "Key": u.key,
                "Initiated": _time(u.initiated_ms),
                "StorageClass": u.settings.get("storage_class") or "STANDARD",
                "Owner": OWNER,
                "Initiator": OWNER,
            }
            for u in uploads
        ],
    }
    if uploads:
        out["NextKeyMarker"] = uploads[-1].key
        out["NextUploadIdMarker"] = uploads[-1].upload_id
    return out


OPERATIONS = {
    "CreateBucket": create_bucket,
    "DeleteBucket": delete_bucket,
    "HeadBucket": head_bucket,
    "ListBuckets": list_buckets,
    "GetBucketLocation": get_bucket_location,
    "PutBucketVersioning": put_bucket_versioning,
    "GetBucketVersioning": get_bucket_versioning,
    "PutBucketNotificationConfiguration": put_bucket_notification_configuration,
    "GetBucketNotificationConfiguration": get_bucket_notification_configuration,
    "PutBucketLifecycleConfiguration": put_bucket_lifecycle_configuration,
    "GetBucketLifecycleConfiguration": get_bucket_lifecycle_configuration,
    "DeleteBucketLifecycle": delete_bucket_lifecycle,
    "PutBucketReplication": put_bucket_replication,
    "GetBucketReplication": get_bucket_replication,
    "DeleteBucketReplication": delete_bucket_replication,
    "PutBucketTagging": put_bucket_tagging,
    "GetBucketTagging": get_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging,
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketPolicyStatus": get_bucket_policy_status,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "PutBucketCors": _CORS[0],
    "GetBucketCors": _CORS[1],
    "DeleteBucketCors": _CORS[2],
    "PutBucketEncryption": _ENCRYPTION[0],
    "GetBucketEncryption": _ENCRYPTION[1],
    "DeleteBucketEncryption": _ENCRYPTION[2],
    "PutBucketOwnershipControls": _OWNERSHIP[0],
    "GetBucketOwnershipControls": _OWNERSHIP[1],
    "DeleteBucketOwnershipControls": _OWNERSHIP[2],
    "PutPublicAccessBlock": _PUBLIC_ACCESS[0],
    "GetPublicAccessBlock": _PUBLIC_ACCESS[1],
    "DeletePublicAccessBlock": _PUBLIC_ACCESS[2],
    "PutBucketWebsite": _WEBSITE[0],
    "GetBucketWebsite": _WEBSITE[1],
    "DeleteBucketWebsite": _WEBSITE[2],
    "PutBucketLogging": _LOGGING[0],
    "GetBucketLogging": _LOGGING[1],
    "PutBucketAccelerateConfiguration": _ACCELERATE[0],
    "GetBucketAccelerateConfiguration": _ACCELERATE[1],
    "PutBucketRequestPayment": _REQUEST_PAYMENT[0],
    "GetBucketRequestPayment": _REQUEST_PAYMENT[1],
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "DeleteObject": delete_object,
    "DeleteObjects": delete_objects,
    "CopyObject": copy_object,
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
    "ListObjectVersions": list_object_versions,
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    "RestoreObject": restore_object,
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
