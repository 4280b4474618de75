"""``dashboard.shared_cache.SharedCache``: expiry, one computation per key at a time, errors never cached, a bound on
its size. A hand-driven clock, so nothing depends on how fast the machine is."""

from __future__ import annotations

import gc
import threading

import pytest

from dashboard.data import freeze_startup_objects
from dashboard.shared_cache import SharedCache

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_value_is_reused_until_its_ttl_is_over_then_computed_again() -> None:
    clock = Clock()
    cache = SharedCache(clock=clock)
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert cache.get("k", compute, ttl_s=2.0) == 1
    clock.now += 1.9
    assert cache.get("k", compute, ttl_s=2.0) == 1
    clock.now += 0.1  # 2.0 s after it was computed: too old
    assert cache.get("k", compute, ttl_s=2.0) == 2
    assert (cache.hits, cache.misses) == (1, 2)


def test_different_keys_never_share_a_value() -> None:
    cache = SharedCache(clock=Clock())
    assert cache.get(("school", "smith"), lambda: "smith's rooms", 5.0) == "smith's rooms"
    assert cache.get(("school", "jones"), lambda: "jones's rooms", 5.0) == "jones's rooms"
    assert cache.get(("school", None), lambda: "every room", 5.0) == "every room"
    assert cache.get(("school", "smith"), lambda: "recomputed", 5.0) == "smith's rooms"


def test_an_error_is_raised_to_the_caller_and_not_cached() -> None:
    cache = SharedCache(clock=Clock())

    def fail() -> int:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        cache.get("k", fail, 5.0)
    assert cache.get("k", lambda: 7, 5.0) == 7
    assert len(cache) == 1


def test_concurrent_requests_for_one_key_compute_it_once() -> None:
    """Twenty viewers opening one room at once: the first computes, the others wait for its result."""
    cache = SharedCache(clock=Clock())
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(timeout=30)
        return "drawn once"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("room", slow, 5.0)))
    first.start()
    assert started.wait(timeout=30)  # the first request is computing now
    others = [threading.Thread(target=lambda: results.append(cache.get("room", slow, 5.0))) for _ in range(5)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(timeout=30)
    assert results == ["drawn once"] * 6
    assert calls == [1]


def test_the_least_recently_used_entries_go_first_beyond_the_bound() -> None:
    cache = SharedCache(max_entries=2, clock=Clock())
    cache.get("a", lambda: 1, 60.0)
    cache.get("b", lambda: 2, 60.0)
    cache.get("a", lambda: -1, 60.0)  # a used again: b is now the oldest
    cache.get("c", lambda: 3, 60.0)
    assert len(cache) == 2
    assert cache.get("a", lambda: -1, 60.0) == 1
    assert cache.get("b", lambda: 22, 60.0) == 22  # evicted, so computed again


def test_turned_off_it_computes_every_time() -> None:
    cache = SharedCache(clock=Clock(), enabled=False)
    values = iter(range(10))
    assert [cache.get("k", lambda: next(values), 60.0) for _ in range(3)] == [0, 1, 2]


def test_expired_entries_are_dropped_when_a_new_one_is_stored() -> None:
    """A room's data is keyed by its version: the superseded versions must not pile up until the size bound."""
    clock = Clock()
    cache = SharedCache(clock=clock)
    for version in range(5):
        cache.get(("live", 1, version), lambda: "old", 5.0)
    clock.now += 5.0
    cache.get(("live", 1, 99), lambda: "new", 5.0)
    assert len(cache) == 1


def test_freeze_startup_objects_takes_the_built_app_out_of_the_collectors_walks() -> None:
    """The server freezes what is alive once the app is built (``dashboard.data.freeze_startup_objects``), so the
    full collections a page draw triggers no longer walk Dash's, Plotly's and pandas' ~200,000 objects."""
    built = [{"a component": n} for n in range(1000)]
    gc.unfreeze()
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(built)
    finally:
        gc.unfreeze()
