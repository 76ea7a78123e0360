"""Log record layout of the queue engines (the payload inside a storage frame, encoded by
:mod:`raybus.engines.records`).

Every record is a msgpack array whose first element is a :class:`RecordType`. The enum is
append-only: a value, once written to disk, keeps its meaning and layout forever; a new layout
gets a new value.

======================  ===================================================================
type                    fields after the type
======================  ===================================================================
SEND = 1                seq, sent_ms, visible_at_ms, message_id, body, attributes
                        (``[[name, data_type, value], ...]``), md5_of_body,
                        md5_of_attributes, group_id|nil, dedup_id|nil, system (map|nil)
RECEIVE = 2             now_ms, deadline_ms, [seq, ...]  (each receive count += 1)
DELETE = 3              [seq, ...]
CHANGE_VISIBILITY = 4   now_ms, [[seq, deadline_ms], ...]
PURGE = 5               now_ms, below_seq  (every message with seq < below_seq is gone)
EXPIRE = 6              [seq, ...]  (removed by retention)
HIDE = 7                now_ms, deadline_ms, [seq, ...]  (in flight, receive count unchanged:
                        a transfer that failed hides its messages until they are retried)
======================  ===================================================================

A SEND whose seq is below the engine's next seq is a *relocated copy* written by compaction:
replay only moves the live message's offset to it (see :mod:`raybus.partitions.durable`).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["RecordType"]


class RecordType(IntEnum):
    SEND = 1
    RECEIVE = 2
    DELETE = 3
    CHANGE_VISIBILITY = 4
    PURGE = 5
    EXPIRE = 6
    HIDE = 7
