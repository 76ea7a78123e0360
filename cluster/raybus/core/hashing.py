"""Stable hashing for routing. Never Python's salted ``hash()``.

Keys map to a 128-bit integer by MD5, as Kinesis maps partition keys to hash keys, and the
128-bit space is cut into ``n`` equal contiguous ranges, so partition ``i`` owns
``[i * 2**128 // n, (i + 1) * 2**128 // n)``. The result depends only on the key bytes and ``n``.
"""

from __future__ import annotations

import hashlib

__all__ = ["HASH_SPACE", "hash_key", "partition_for"]

HASH_SPACE = 1 << 128


def hash_key(key: str | bytes) -> int:
    """The 128-bit MD5 hash key of ``key`` (UTF-8 for text), as Kinesis computes it."""
    data = key.encode("utf-8") if isinstance(key, str) else key
    return int.from_bytes(hashlib.md5(data, usedforsecurity=False).digest(), "big")


def partition_for(key: str | bytes, partitions: int) -> int:
    """The index in ``[0, partitions)`` whose hash-key range holds ``hash_key(key)``."""
    if partitions < 1:
        raise ValueError("partitions must be >= 1")
    return (hash_key(key) * partitions) >> 128
