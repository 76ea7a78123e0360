"""Identifiers every kind's engine forms the same way: message ids from a partition's tag and
a sequence number, and FIFO message-group and deduplication ids (SQS's rules, which SNS shares).
"""

from __future__ import annotations

import re

from raybus.core.errors import RaybusError

__all__ = ["MAX_FIFO_ID_CHARS", "MessageIds", "check_fifo_id", "message_id_for"]

MAX_FIFO_ID_CHARS = 128
_TAG_MASK = (1 << 60) - 1
_SEQ_MASK = (1 << 62) - 1
# SQS: alphanumeric and punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
_FIFO_ID = re.compile(r"[A-Za-z0-9!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]+")


def message_id_for(tag: int, seq: int) -> str:
    """A UUID (version 8, RFC variant) unique per (partition incarnation ``tag``, ``seq``).

    Bits 0–61 hold ``seq`` (sequence numbers stay far below 2**62), bits 62–63 the variant,
    76–79 the version, and the other 60 bits the low 60 bits of ``tag``.
    """
    t = tag & _TAG_MASK
    value = ((t >> 12) << 80) | (0x8 << 76) | ((t & 0xFFF) << 64) | (0x2 << 62) | (seq & _SEQ_MASK)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class MessageIds:
    """``message_id_for(tag, seq)`` for one partition incarnation, at a quarter of the cost: the
    part fixed by ``tag`` is formatted once (sends form one id per message)."""

    __slots__ = ("_prefix", "tag")

    _SEQ_LIMIT = 1 << 48  # the seqs whose id differs from seq 0's only in its last 12 digits

    def __init__(self, tag: int) -> None:
        self.tag = tag
        self._prefix = message_id_for(tag, 0)[:-12]

    def __call__(self, seq: int) -> str:
        if seq < self._SEQ_LIMIT:
            return f"{self._prefix}{seq:012x}"
        return message_id_for(self.tag, seq)


def check_fifo_id(value: object, parameter: str) -> str:
    """A message-group or deduplication id: 1–128 alphanumerics and punctuation."""
    if not isinstance(value, str) or not value:
        raise RaybusError(
            "InvalidParameterValue", f"{parameter} must be a non-empty string.", parameter=parameter
        )
    if len(value) > MAX_FIFO_ID_CHARS:
        raise RaybusError(
            "InvalidParameterValue",
            f"{parameter} can be at most {MAX_FIFO_ID_CHARS} characters.",
            parameter=parameter,
        )
    if not _FIFO_ID.fullmatch(value):
        raise RaybusError(
            "InvalidParameterValue",
            f"{parameter} may contain only alphanumeric characters and punctuation.",
            parameter=parameter,
        )
    return value
