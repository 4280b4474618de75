"""The worker's start-up objects are kept out of the collector's walks for the class, and given back after."""

from __future__ import annotations

import gc

import pytest

from monitor.startup import startup_frozen


def test_objects_alive_at_the_start_are_frozen_for_the_class_and_given_back_after() -> None:
    gc.unfreeze()
    loaded = [[n] for n in range(1000)]  # what the model, detector and database left alive
    with startup_frozen():
        assert gc.get_freeze_count() >= len(loaded)
        made = [[n] for n in range(100)]  # what the class makes
        walked = {id(o) for o in gc.get_objects()}  # what a collection walks
        assert not any(id(o) in walked for o in loaded)
        assert all(id(o) in walked for o in made)
    assert gc.get_freeze_count() == 0
    walked = {id(o) for o in gc.get_objects()}
    assert all(id(o) in walked for o in loaded)


def test_a_run_that_fails_still_gives_them_back() -> None:
    with pytest.raises(RuntimeError), startup_frozen():
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the class ended badly")
    assert gc.get_freeze_count() == 0


def test_a_process_frozen_already_is_left_as_it_is() -> None:
    gc.unfreeze()
    gc.freeze()  # the dashboard's own start-up, say, in the same process
    try:
        before = gc.get_freeze_count()
        with startup_frozen():
            assert gc.get_freeze_count() == before
        assert gc.get_freeze_count() == before  # not given back by the class: not its to give
    finally:
        gc.unfreeze()
