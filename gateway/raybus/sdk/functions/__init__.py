"""The function kind (Lambda): functions, their code and invocations.

``ops.py``: the operations as pure requests and answers; ``_aio.py``: the client methods and
handle with coroutines, the source; ``_sync.py``: the same, generated from it.
"""

from raybus.sdk.functions._aio import AsyncFunction, AsyncFunctionMethods
from raybus.sdk.functions._sync import Function, FunctionMethods

__all__ = ["AsyncFunction", "AsyncFunctionMethods", "Function", "FunctionMethods"]
