"""Loading a function's handler: an import path (``package.module:attr.sub``), uploaded code
(a cloudpickled callable, see :mod:`raybus.core.code`), or Lambda's handler ``module.function``
of a deployment package (:func:`load_lambda_handler`, with the archive importable: see
:mod:`raybus.functions.archive`).

Errors are ``InvalidParameterValue`` (the controller checks handlers at registration with
:func:`check_handler`), with ``details["runtime_error"]`` naming the error Lambda's runtime
reports for the same fault when it happens at invocation time:
``Runtime.ImportModuleError`` (the module does not import), ``Runtime.HandlerNotFound`` (no
such attribute, or not callable), ``Runtime.UserCodeSyntaxError`` (a syntax error in the
module), ``Runtime.MalformedHandlerName`` (a Lambda handler without a ``.``). The messages
are those of Lambda's Python runtime interface client (awslambdaric's ``bootstrap.py``).

Loading runs user code (module import, unpickling) in the calling process; that is the point in
a worker, and is accepted in the controller for handler paths (same trust as the code itself).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

from raybus.core.code import code_sha256, serialize_handler
from raybus.core.errors import RaybusError

__all__ = [
    "check_handler",
    "code_sha256",
    "load_handler",
    "load_lambda_handler",
    "serialize_handler",
]


def _error(parameter: str, runtime_error: str, message: str) -> RaybusError:
    return RaybusError(
        "InvalidParameterValue", message, parameter=parameter, runtime_error=runtime_error
    )


def _from_path(handler: str) -> Callable[..., Any]:
    module_name, sep, attribute = handler.partition(":")
    if not sep or not module_name or not attribute:
        raise _error(
            "handler",
            "Runtime.HandlerNotFound",
            f"Bad handler '{handler}': expected package.module:function.",
        )
    return _import(module_name, attribute)


def load_lambda_handler(handler: str) -> Callable[..., Any]:
    """Lambda's Python handler ``module.function`` (the module may be a path,
    ``dir/module.function``), imported from ``sys.path`` as it is now."""
    module_name, sep, attribute = handler.rpartition(".")
    if not sep:
        raise _error(
            "handler",
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': not enough values to unpack (expected 2, got 1)",
        )
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _error(
            "handler",
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    return _import(module_name, attribute)


def _import(module_name: str, attribute: str) -> Callable[..., Any]:
    try:
        target: Any = importlib.import_module(module_name)
    except SyntaxError as exc:
        raise _error(
            "handler",
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {exc}",
        ) from exc
    except Exception as exc:
        raise _error(
            "handler",
            "Runtime.ImportModuleError",
            f"Unable to import module '{module_name}': {exc}",
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise _error(
                "handler",
                "Runtime.HandlerNotFound",
                f"Handler '{attribute}' missing on module '{module_name}'",
            ) from exc
    if not callable(target):
        raise _error(
            "handler",
            "Runtime.HandlerNotFound",
            f"Handler '{attribute}' on module '{module_name}' is not callable",
        )
    return target  # type: ignore[no-any-return]


def _from_code(code: bytes) -> Callable[..., Any]:
    import cloudpickle  # only hosts and workers load code

    try:
        target = cloudpickle.loads(code)
    except Exception as exc:
        raise _error(
            "code",
            "Runtime.ImportModuleError",
            f"Unable to load the function's code: {type(exc).__name__}: {exc} (code is "
            "unpickled with the cluster's Python and libraries; they must match the SDK's)",
        ) from exc
    if not callable(target):
        raise _error("code", "Runtime.HandlerNotFound", "The function's code is not a callable.")
    return target  # type: ignore[no-any-return]


def load_handler(handler: str | None, code: bytes | None) -> Callable[..., Any]:
    """The callable for a function: exactly one of ``handler`` and ``code`` is given."""
    if (handler is None) == (code is None):
        raise RaybusError(
            "InvalidParameterValue",
            "Give exactly one of handler (module:function) and code.",
            parameter="handler",
        )
    return _from_path(handler) if handler is not None else _from_code(code)  # type: ignore[arg-type]


def check_handler(handler: str) -> None:
    """Import ``handler`` in this process; raise the error :func:`load_handler` would."""
    _from_path(handler)
