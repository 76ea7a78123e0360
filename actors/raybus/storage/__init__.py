"""raybus.storage: the Ray-free durable partition log (see :mod:`raybus.storage.api`).

- :class:`FileLog` — segment files with CRC-checked frames, group commit, recovery, snapshots;
  on-disk format in :mod:`raybus.storage.format`.
- :class:`MemoryLog` — the same behaviour in memory, for engine unit tests.
- :class:`GroupCommitter` — asyncio waiters share one write + fsync.
- :func:`plan_compaction` — which sealed segments to drop or rewrite.
"""

from raybus.storage.api import FsyncPolicy, PartitionLog, RecordReader, RecoveryReport, SegmentInfo
from raybus.storage.compaction import CompactionPlan, plan_compaction
from raybus.storage.file_log import FileLog
from raybus.storage.format import MAX_RECORD_BYTES, FormatError
from raybus.storage.group_commit import GroupCommitter
from raybus.storage.memory_log import MemoryLog

__all__ = [
    "MAX_RECORD_BYTES",
    "CompactionPlan",
    "FileLog",
    "FormatError",
    "FsyncPolicy",
    "GroupCommitter",
    "MemoryLog",
    "PartitionLog",
    "RecordReader",
    "RecoveryReport",
    "SegmentInfo",
    "plan_compaction",
]
