"""What every AWS service module is written against: the call being served, and the service.

A service module (:mod:`.sqs`, :mod:`.sns`, :mod:`.lambda_`, :mod:`.sts`, :mod:`.iam`) maps each
operation name of its botocore model to a coroutine ``operation(call, params) -> output``:
``params`` is the request as botocore's serializers would have it (member names, Python
values, already parsed and checked against the model by the codec), ``output`` the response in
the same form. It translates into the native API's typed operations and control calls and
holds no protocol detail. Native errors (:class:`RaybusError`) are translated by the service's
``error`` function into AWS's terms; an operation may also raise :class:`AwsError` itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from raybus.core.errors import RaybusError
from raybus.gateway.api import Context
from raybus.gateway.aws.protocols import AwsError

__all__ = [
    "AwsService",
    "AwsSettings",
    "Call",
    "ErrorMap",
    "Operation",
    "arn_resource",
]

DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class AwsSettings:
    """The identity raybus answers as: its account id and region (ARNs and URLs use them), and
    the credentials it verifies signatures with (none: any signature, or none, is accepted and
    the access key only names the caller)."""

    account_id: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    credentials: Mapping[str, str] = field(default_factory=dict)  # access key id → secret

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"


@dataclass(frozen=True, slots=True)
class Call:
    """One AWS request being served."""

    gateway: Context
    settings: AwsSettings
    base_url: str  # scheme://host[:port] the client reached, for the URLs answers carry
    path: str  # the request's path (SQS's query clients post to the queue URL)
    caller: str  # the access key id that signed it, or "anonymous"
    operation: str
    source_ip: str = ""
    request_id: str = ""
    # a streaming operation's body (S3's PutObject, UploadPart): an async iterator of its
    # decoded bytes, checked as it streams, with ``md5_hex``, ``size`` and ``checksums`` once
    # read (raybus.gateway.aws.payload); None for every other operation
    payload: Any = None

    def arn(self, service: str, resource: str) -> str:
        return self.settings.arn(service, resource)


Operation = Callable[[Call, dict[str, Any]], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class ErrorMap:
    """Native error codes → ``(AWS code, HTTP status, query-compatible code)``; anything not
    listed is an internal failure, retriable when the native error is."""

    codes: Mapping[str, tuple[str, int, str | None]]
    internal: tuple[str, int] = ("InternalFailure", 500)
    unavailable: tuple[str, int] = ("ServiceUnavailable", 503)
    throttled: tuple[str, int] = ("ThrottlingException", 400)

    def __call__(self, error: RaybusError) -> AwsError:
        known = self.codes.get(error.code)
        if known is not None:
            code, status, query_code = known
            return AwsError(code, error.message, status=status, query_code=query_code)
        if error.code == "Throttled":
            code, status = self.throttled
            return AwsError(
                code,
                error.message,
                status=status,
                query_code=code,
                headers={"Retry-After": str(int(error.details.get("retry_after_s", 1)))},
            )
        code, status = self.unavailable if error.retriable else self.internal
        return AwsError(code, error.message, status=status, sender_fault=False)


@dataclass(frozen=True, slots=True)
class AwsService:
    name: str  # botocore's service name
    operations: Mapping[str, Operation]
    error: Callable[[RaybusError], AwsError]
    # operations served without a signature even where credentials are configured
    unsigned: frozenset[str] = frozenset()
    # the code a request breaking the model's constraints gets (SQS: InvalidParameterValue, also
    # as its query code; the query services: ValidationError; the JSON ones: the default)
    validation_code: str = "ValidationException"
    validation_query_code: str | None = None
    # string shapes whose model enum the real service does not enforce (the operation checks
    # the values itself, with the service's own error)
    lenient_enums: frozenset[str] = frozenset()
    # fills in what the request's path says before the model's checks (SQS's query clients
    # post to the queue URL instead of naming it): (params, members of the operation's
    # input, path, base URL) -> None
    from_path: Callable[[dict[str, Any], Collection[str], str, str], None] | None = None
    # operations whose body the front streams to the operation (``Call.payload``) instead of
    # reading it whole
    streaming: frozenset[str] = frozenset()


def arn_resource(arn: object, service: str, settings: AwsSettings, what: str) -> str:
    """The resource part of ``arn:aws:<service>:<region>:<account>:<resource>`` when the ARN
    is this endpoint's (its region and account), else ``InvalidParameterValue``."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    if (
        len(parts) != 6
        or parts[0] != "arn"
        or parts[2] != service
        or parts[3] != settings.region
        or parts[4] != settings.account_id
        or not parts[5]
    ):
        raise AwsError("InvalidParameterValue", f"{what} is not an ARN of this endpoint: {arn!r}")
    return parts[5]
