"""Shipping a Python callable to the cluster as function code.

The SDK turns a handler into bytes with :func:`serialize_handler` (cloudpickle) and uploads
them with the function; hosts load them with :func:`raybus.functions.load_handler`. It lives in
``raybus.core`` because the SDK may import only ``raybus.core`` (and never Ray); ``cloudpickle``
is imported on first use, so importing this module stays stdlib-only.

What ships by value. A cluster cannot import the modules of the program that registers a
function (a script, a test file, a notebook, the user's own project): the SDK may even run on
another machine. So every *local* module the program has loaded — one whose file lies outside
the interpreter's standard library and installed site-packages, and is not raybus — is pickled
by value for the call, as is ``__main__``; installed libraries (and raybus) are pickled by
reference and must be installed on the cluster. Consequences users should know:

- the cluster needs the same Python minor version as the SDK (pickled code objects are
  version-specific) and the same installed libraries the handler imports;
- module-level state of local modules is copied as it is at serialisation time, and classes of
  local modules become copies (``isinstance`` against the cluster's own import differs).
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import sysconfig
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from raybus.core.errors import RaybusError

__all__ = ["code_sha256", "local_modules", "serialize_handler"]

_LOCK = threading.Lock()  # cloudpickle's by-value registry is process-global


def code_sha256(code: bytes) -> str:
    """The hex SHA-256 of uploaded code (what FunctionConfig.code_sha256 holds)."""
    return hashlib.sha256(code).hexdigest()


def _installed_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    roots.update(site.getsitepackages())
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        roots.add(user_site)
    return tuple(os.path.realpath(root) + os.sep for root in roots if root)


def local_modules() -> list[ModuleType]:
    """Top-level modules loaded in this process whose source is local (not the standard
    library, not an installed distribution, not raybus): those to ship by value."""
    roots = _installed_roots()
    found = []
    for name, module in list(sys.modules.items()):
        if "." in name or name in ("__main__", "raybus") or module is None:
            continue
        file = getattr(module, "__file__", None)
        if not isinstance(file, str):
            continue  # built-in, frozen, or a namespace package with no file of its own
        path = os.path.realpath(file)
        if not path.startswith(roots):
            found.append(module)
    return found


def serialize_handler(fn: Callable[..., Any]) -> bytes:
    """Pickle ``fn`` (a function, closure, lambda, bound method, ``functools.partial`` or
    callable object) with cloudpickle, local modules by value (see the module docstring).

    Raises ``InvalidParameterValue`` if ``fn`` is not callable or cannot be pickled (it holds a
    lock, a socket, an open file...). Thread-safe."""
    if not callable(fn):
        raise RaybusError("InvalidParameterValue", "A handler is a callable.", parameter="code")
    import cloudpickle  # stdlib-only at import time: loaded on first use

    with _LOCK:
        registered = []
        try:
            for module in local_modules():
                if not _is_registered(cloudpickle, module):
                    cloudpickle.register_pickle_by_value(module)
                    registered.append(module)
            data: bytes = cloudpickle.dumps(fn)
        except Exception as exc:
            raise RaybusError(
                "InvalidParameterValue",
                f"The handler cannot be serialised: {type(exc).__name__}: {exc}",
                parameter="code",
            ) from exc
        finally:
            for module in registered:
                cloudpickle.unregister_pickle_by_value(module)
    return data


def _is_registered(cloudpickle: Any, module: ModuleType) -> bool:
    check = getattr(cloudpickle.cloudpickle, "_is_registered_pickle_by_value", None)
    return bool(check(module)) if check is not None else False
