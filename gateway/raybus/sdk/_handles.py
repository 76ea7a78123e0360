"""Handles and targets: what every kind's handle shares, and how a handle names a resource.

A handle (``Queue``, ``Topic``, ``Subscription``, ``Function``, ``EventSourceMapping`` and
their async twins) is the client that made it plus ``config``, the resource's settings as the
gateway last reported them: a plain ``dict`` (keys a newer gateway adds pass through), replaced
by the handle's own ``update``. Building a handle does no I/O.

On the wire a resource is a target ``"<kind>:<name>"`` (``queue:orders``, ``topic:alerts``,
``function:resize``). The SDK accepts its handles wherever a target is expected: each handle
class names its kind in ``resource_kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar, cast

from raybus.sdk.errors import InvalidParameterValue

__all__ = ["Handle", "Named", "Target", "name_of", "target"]

C = TypeVar("C")
# A handle (a queue, topic or function) or a "<kind>:<name>" string.
Target: TypeAlias = Any


class Handle(Generic[C]):
    """The client that made the handle (``client``) and the resource's ``config``."""

    resource_kind: ClassVar[str]

    def __init__(self, client: C, config: Mapping[str, Any]) -> None:
        self._client = client
        self.config: dict[str, Any] = dict(config)

    @property
    def client(self) -> C:
        return self._client


class Named(Protocol):
    @property
    def name(self) -> str: ...


def name_of(resource: str | Named) -> str:
    """The name of a handle, or the string itself."""
    return resource if isinstance(resource, str) else resource.name


def target(value: object, parameter: str, allowed: tuple[str, ...]) -> str:
    """``"<kind>:<name>"`` for a handle of one of the ``allowed`` kinds, or a non-empty string
    as given (a bare name stays bare: the gateway reads it as a queue). Anything else raises
    :class:`~raybus.sdk.errors.InvalidParameterValue` naming ``parameter``."""
    kind = getattr(value, "resource_kind", None)
    if isinstance(kind, str):
        if kind not in allowed:
            raise InvalidParameterValue(
                f"{parameter} is one of: {', '.join(allowed)}; not a {kind}.", parameter=parameter
            )
        return f"{kind}:{name_of(cast(Any, value))}"
    if isinstance(value, str) and value:
        return value
    raise InvalidParameterValue(
        f"{parameter} is a resource handle or a string such as queue:<name>.", parameter=parameter
    )
