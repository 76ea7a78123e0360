"""Engine records: a msgpack array whose first element is the kind's record type (each kind's
``RecordType`` enum, append-only: a value, once written to disk, keeps its meaning and layout
forever). The layouts are documented with each kind (:mod:`raybus.engines.queue.records`,
:mod:`raybus.engines.topic.records`)."""

from __future__ import annotations

from typing import Any

import msgpack

__all__ = ["decode", "encode"]


_packer = msgpack.Packer(use_bin_type=True)


def encode(record: list[Any]) -> bytes:
    data: bytes = _packer.pack(record)
    return data


def decode(payload: bytes) -> list[Any]:
    record = msgpack.unpackb(payload, raw=False, use_list=True, strict_map_key=False)
    if not isinstance(record, list) or not record or not isinstance(record[0], int):
        raise ValueError("not an engine record")
    return record
