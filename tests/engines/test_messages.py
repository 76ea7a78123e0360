"""Message ids and per-message validation details."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from raybus.engines import message_id_for


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**62 - 1))
def test_message_ids_are_rfc_uuids_carrying_the_seq(tag: int, seq: int) -> None:
    parsed = uuid.UUID(message_id_for(tag, seq))
    assert parsed.variant == uuid.RFC_4122 and parsed.version == 8
    assert parsed.int & (2**62 - 1) == seq


@given(st.integers(0, 2**60 - 1), st.integers(0, 2**60 - 1), st.integers(0, 2**62 - 1))
def test_different_tags_never_share_an_id(one: int, two: int, seq: int) -> None:
    if one != two:
        assert message_id_for(one, seq) != message_id_for(two, seq)


def test_message_ids_differ_across_partitions_and_sequence_numbers() -> None:
    ids = {message_id_for(tag, seq) for tag in (1, 2, 2**40 + 7) for seq in range(1, 500)}
    assert len(ids) == 3 * 499
