"""The bucket kind (S3's): buckets and their objects, streamed both ways.

``ops.py``: the operations as pure requests and answers, and the values they answer;
``_io.py``: the I/O of object bodies, once per flavour; ``_aio.py``: the client methods and
handles with coroutines, the source; ``_sync.py``: the same, generated from it.
"""

from raybus.sdk.buckets._aio import AsyncBucket, AsyncBucketMethods
from raybus.sdk.buckets._sync import Bucket, BucketMethods
from raybus.sdk.buckets.ops import (
    BucketDescription,
    CommonPrefix,
    CopyResult,
    DeleteResult,
    ObjectInfo,
    ObjectPage,
    ObjectSummary,
    PutResult,
)

__all__ = [
    "AsyncBucket",
    "AsyncBucketMethods",
    "Bucket",
    "BucketDescription",
    "BucketMethods",
    "CommonPrefix",
    "CopyResult",
    "DeleteResult",
    "ObjectInfo",
    "ObjectPage",
    "ObjectSummary",
    "PutResult",
]
