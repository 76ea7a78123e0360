"""Shipping a Python callable as a function's code (``create_function(name, handler=fn)``).

The serialisation is :func:`raybus.core.code.serialize_handler` (cloudpickle; the program's
local modules travel by value, installed libraries by reference — see that module for what
users must know); this adapter only turns its failures into the SDK's typed errors, and a
missing ``cloudpickle`` into an ``InvalidParameterValue`` that says what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raybus.core import code
from raybus.core.errors import RaybusError
from raybus.sdk.errors import InvalidParameterValue, error_class

__all__ = ["serialize_handler"]


def serialize_handler(handler: Callable[..., Any]) -> bytes:
    """The bytes the gateway stores as the function's code."""
    if not callable(handler):
        raise InvalidParameterValue(
            "handler is an import path 'package.module:function' or a callable.",
            parameter="handler",
        )
    try:
        return code.serialize_handler(handler)
    except ImportError as exc:
        raise InvalidParameterValue(
            "Uploading a Python callable needs the cloudpickle package (pip install "
            "cloudpickle); or give the handler as an import path 'package.module:function'.",
            parameter="handler",
        ) from exc
    except RaybusError as exc:
        typed = error_class(exc.code)(exc.message)
        typed.details = {**exc.details, "parameter": "handler"}
        raise typed from exc
