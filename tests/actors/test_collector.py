"""A serving process's garbage collector, settled once it has started."""

from __future__ import annotations

import gc

from raybus.actors.collector import YOUNG_THRESHOLD, settle_collector


def test_settling_freezes_what_exists_and_collects_young_objects_less_often() -> None:
    threshold = gc.get_threshold()
    made_before = [object()]
    try:
        settle_collector()
        assert gc.get_threshold() == (YOUNG_THRESHOLD, threshold[1], threshold[2])
        assert gc.get_freeze_count() > 0
        # frozen: in the permanent generation, which no collection (and get_objects) visits
        assert not any(o is made_before for o in gc.get_objects())
        made_after = [object()]
        assert any(o is made_after for o in gc.get_objects())
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
