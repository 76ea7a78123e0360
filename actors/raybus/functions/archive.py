"""Lambda deployment packages: zip archives of a function's code.

- :func:`check_archive` — what the controller checks when an archive is uploaded, with
  Lambda's errors: it is a readable zip (every member's CRC checked), every member stays inside
  the archive's directory once extracted (no absolute paths, no ``..``), and it unzips to at
  most 250 MB (Lambda's limit, 262,144,000 bytes).
- :func:`extracted` — the directory an archive is extracted to, once per SHA-256 per machine,
  under the node's code cache (``$RAYBUS_CODE_CACHE``, else ``<tmp>/raybus-code-<uid>``).
  Extraction goes to a private temporary directory renamed into place, so concurrent workers
  never see a half-extracted archive; a digest already there is used as it is.
- :class:`ArchiveModules` — the modules one function imported from its archive, kept apart
  from every other function's: while the function loads or runs, its directory is first on
  ``sys.path`` and its modules are in ``sys.modules``; afterwards both are taken out again.
  Two functions whose archives both hold ``lambda_function.py`` therefore each get their own,
  in the same worker process. Modules from outside the archive (the standard library, boto3)
  are shared, as Lambda's runtime shares what it has imported itself.

Pure (no Ray); not thread-safe — a worker runs one invocation at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from io import BytesIO
from types import ModuleType

from raybus.core.errors import RaybusError

__all__ = [
    "CODE_CACHE_ENV",
    "MAX_UNZIPPED_BYTES",
    "ArchiveModules",
    "cache_root",
    "check_archive",
    "extracted",
]

MAX_UNZIPPED_BYTES = 262_144_000
CODE_CACHE_ENV = "RAYBUS_CODE_CACHE"
UNZIP_ERROR = "Could not unzip uploaded file. Please check your file, then try to upload again."


def _invalid(message: str) -> RaybusError:
    return RaybusError("InvalidParameterValue", message, parameter="code")


def _unsafe(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":")


def check_archive(data: bytes) -> int:
    """The archive's unzipped size; ``InvalidParameterValue`` when Lambda would refuse it."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            members = archive.infolist()
            broken = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise _invalid(UNZIP_ERROR) from exc
    except NotImplementedError as exc:  # a compression method Python cannot read
        raise _invalid(UNZIP_ERROR) from exc
    if broken is not None:
        raise _invalid(UNZIP_ERROR)
    unsafe = [m.filename for m in members if _unsafe(m.filename)]
    if unsafe:
        raise _invalid(f"The archive's member {unsafe[0]!r} would extract outside its directory.")
    size = sum(m.file_size for m in members)
    if size > MAX_UNZIPPED_BYTES:
        raise _invalid(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    return size


def cache_root() -> str:
    """The node's code cache directory (created on first use)."""
    root = os.environ.get(CODE_CACHE_ENV) or os.path.join(
        tempfile.gettempdir(), f"raybus-code-{os.getuid()}"
    )
    os.makedirs(root, exist_ok=True)
    return root


def extracted(sha256: str, code: Callable[[], bytes], root: str | None = None) -> str:
    """The directory holding the archive ``sha256``, extracting ``code()`` (the archive's
    bytes, fetched only when needed) if this machine has not yet. ``InternalError`` when the
    bytes do not match the digest (never extracted under a name they do not have)."""
    root = root or cache_root()
    target = os.path.join(root, sha256)
    if os.path.isdir(target):
        return target
    data = code()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise RaybusError("InternalError", f"Archive {sha256[:12]} does not match its digest.")
    try:
        staging = tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=root)
        try:
            with zipfile.ZipFile(BytesIO(data)) as archive:
                archive.extractall(staging)
            with contextlib.suppress(OSError):  # another process extracted it first
                os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except (OSError, zipfile.BadZipFile) as exc:
        raise RaybusError(
            "InternalError",
            f"Lambda was not able to unzip the function's archive: {exc}",
            runtime_error="InvalidZipFileException",
        ) from exc
    if not os.path.isdir(target):
        raise RaybusError(
            "InternalError",
            "Lambda was not able to unzip the function's archive.",
            runtime_error="InvalidZipFileException",
        )
    return target


def _under(module: ModuleType, root: str) -> bool:
    """Whether ``module`` was loaded from ``root`` (a file below it, or a namespace package
    whose every path is)."""
    prefix = root.rstrip(os.sep) + os.sep
    file = getattr(module, "__file__", None)
    if isinstance(file, str):
        return file.startswith(prefix)
    paths = list(getattr(module, "__path__", None) or ())
    return bool(paths) and all(str(path).startswith(prefix) for path in paths)


class ArchiveModules:
    """The modules one function imported from its archive directory ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.modules: dict[str, ModuleType] = {}

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Make the archive importable (first on ``sys.path``) and its modules current for the
        block; take both out again afterwards, keeping what the block imported from it."""
        hidden = {
            name: module
            for name, module in sys.modules.items()
            if name in self.modules and module is not self.modules[name]
        }
        sys.modules.update(self.modules)
        sys.path.insert(0, self.root)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):
                sys.path.remove(self.root)
            for name, module in list(sys.modules.items()):
                if module is not None and _under(module, self.root):
                    self.modules[name] = module
                    del sys.modules[name]
            sys.modules.update(hidden)
