"""raybus.storage: the Ray-free durable partition log (see :mod:`raybus.storage.api`)."""

from raybus.storage.api import FsyncPolicy, PartitionLog, RecordReader, RecoveryReport, SegmentInfo

__all__ = ["FsyncPolicy", "PartitionLog", "RecordReader", "RecoveryReport", "SegmentInfo"]
