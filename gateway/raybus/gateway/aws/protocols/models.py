"""botocore's service models, loaded once: the ones botocore ships, and the legacy SQS query model.

botocore >= 1.34.90 describes SQS with the json protocol only; clients older than that still
send SQS requests in the query protocol. That model is vendored here
(``data/sqs-query-2012-11-05.json.gz``, see ``data/README.md``) and loaded for
``service_model("sqs", "query")``. It also holds the query error codes
(``AWS.SimpleQueueService.NonExistentQueue``) that SQS's json answers carry in
``x-amzn-query-error``, which the json model no longer states (:func:`modeled_error`).

botocore ships no type information: its classes are re-exported here as ``Any`` so that the
rest of the package imports them from one place.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any

from botocore.loaders import Loader  # type: ignore[import-untyped]
from botocore.model import (  # type: ignore[import-untyped]
    OperationModel,
    ServiceModel,
    Shape,
)

from raybus.gateway.aws.protocols.errors import AwsError

__all__ = [
    "LEGACY_MODELS",
    "OperationModel",
    "ServiceModel",
    "Shape",
    "error_shape",
    "modeled_error",
    "service_model",
]

# (service, protocol) -> the vendored model file for a protocol botocore no longer ships.
LEGACY_MODELS: dict[tuple[str, str], str] = {("sqs", "query"): "sqs-query-2012-11-05.json.gz"}


@functools.cache
def _loader() -> Any:
    # botocore's own data only (not ~/.aws/models): the server answers the models it ships.
    return Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)


def _vendored(name: str) -> dict[str, Any]:
    data = resources.files("raybus.gateway.aws.protocols").joinpath("data", name).read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


@functools.cache
def service_model(service_name: str, protocol: str | None = None) -> Any:
    """The :class:`botocore.model.ServiceModel` of ``service_name`` for ``protocol`` (its own
    protocol when None). ``ValueError`` when botocore has no such model and none is vendored."""
    legacy = LEGACY_MODELS.get((service_name, protocol or ""))
    if legacy is not None:
        return ServiceModel(_vendored(legacy), service_name=service_name)
    try:
        description = _loader().load_service_model(service_name, "service-2")
    except Exception as error:  # botocore's UnknownServiceError and data errors
        raise ValueError(f"no service model for {service_name!r}: {error}") from error
    model = ServiceModel(description, service_name=service_name)
    if protocol is not None and protocol != model.protocol:
        raise ValueError(f"{service_name!r} has no {protocol!r} model (it speaks {model.protocol})")
    return model


def error_shape(service: Any, name: str) -> Any:
    """The modeled error shape called ``name`` or whose error code is ``name``, else None."""
    if name in service.shape_names:
        shape = service.shape_for(name)
        if shape.metadata.get("exception", False):
            return shape
    return service.shape_for_error_code(name)


def _error_metadata(service: Any, shape: Any) -> dict[str, Any]:
    """The shape's ``error`` trait (code, HTTP status, fault), completed from the vendored
    query model of the same service when this model omits it (SQS's json model does)."""
    found: dict[str, Any] = dict(shape.metadata.get("error", {}))
    if "code" in found:
        return found
    for name, protocol in LEGACY_MODELS:
        if name == service.service_name and protocol != service.protocol:
            legacy = service_model(name, protocol)
            if shape.name in legacy.shape_names:
                older = legacy.shape_for(shape.name).metadata.get("error", {})
                found = {**older, **found}
    return found


def modeled_error(service: Any, name: str, message: str = "", **fields: Any) -> AwsError:
    """An :class:`AwsError` for the service's modeled error ``name`` (shape name or error code),
    with the model's HTTP status, fault and query code; ``fields`` are further members of the
    error shape. ``service`` is a ServiceModel or a service name. ``KeyError`` if unmodeled.

    ``modeled_error("sqs", "QueueDoesNotExist", "...")`` has status 400, Sender, and query code
    ``AWS.SimpleQueueService.NonExistentQueue``; ``"PurgeQueueInProgress"`` status 403 — both
    from the vendored query model, as SQS's json model no longer states them.
    """
    model = service_model(service) if isinstance(service, str) else service
    shape = error_shape(model, name)
    if shape is None:
        raise KeyError(f"{model.service_name} models no error {name!r}")
    error = _error_metadata(model, shape)
    sender = error.get("senderFault")
    code = error.get("code")
    return AwsError(
        shape.name,
        message,
        status=int(error.get("httpStatusCode", 400)),
        sender_fault=None if sender is None else bool(sender),
        query_code=str(code) if code else None,
        fields=fields,
    )
