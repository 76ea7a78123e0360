"""Where a partition's files live in a host's data directory (shared by the hosts of a node)."""

from __future__ import annotations

import os

from raybus.core.registry import kind

__all__ = ["partition_directory"]


def partition_directory(
    data_dir: str, kind_name: str, key: str, incarnation: int, partition: int
) -> str:
    """``<data>/<kind's plural>/<key>/<incarnation>/p<partition>``."""
    return os.path.join(
        data_dir, kind(kind_name).plural, key, f"{incarnation:016x}", f"p{partition:04d}"
    )
