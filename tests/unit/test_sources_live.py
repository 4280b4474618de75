"""LiveSource's threads with fake devices: offline/online once per change, backoff, the stall watchdog, abandoning a
stuck capture thread, the stale rule, and stopping promptly. No camera, network or video decoding involved.

Every wait is bounded: ``run_until`` stops the source after a deadline, so a broken source fails, never hangs.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from monitor.frame import CorruptFrame, Frame, SourceEvent, SourceState
from monitor.sources import REASON_STALE, LiveSource, parse_source
from monitor.sources.base import Image
from monitor.sources.live import CaptureFailed, Reader

pytestmark = pytest.mark.unit

SPEC = parse_source("0")


class FakeReader:
    """Delivers a frame every ``interval_s``; fails after ``fail_after`` frames; blocks forever (until released)
    after ``block_after`` frames."""

    min_interval_s = 0.0

    def __init__(self, interval_s: float = 0.01, fail_after: int | None = None, block_after: int | None = None) -> None:
        self.interval_s = interval_s
        self.fail_after = fail_after
        self.block_after = block_after
        self.released = threading.Event()
        self.reads = 0
        self.closed = False
        self.closed_in: str | None = None

    def read(self) -> Image:
        if self.fail_after is not None and self.reads >= self.fail_after:
            raise CaptureFailed("read failed: cable pulled")
        if self.block_after is not None and self.reads >= self.block_after:
            self.released.wait(30)
            raise CaptureFailed("read failed: released")
        time.sleep(self.interval_s)
        self.reads += 1
        return np.full((4, 4, 3), self.reads % 256, np.uint8)

    def close(self) -> None:
        self.closed = True
        self.closed_in = threading.current_thread().name


class ScriptedOpener:
    """Each call pops the next item: an exception to raise or a reader to return (the last item repeats)."""

    def __init__(self, *script: FakeReader | Exception) -> None:
        self.script = list(script)
        self.calls: list[float] = []

    def __call__(self) -> Reader:
        self.calls.append(time.monotonic())
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, Exception):
            raise item
        return item


def run_until(
    source: LiveSource,
    done: Callable[[list[SourceEvent]], bool],
    timeout_s: float = 8.0,
    on_event: float = 0.0,
    before_close: Callable[[], object] | None = None,
) -> list[SourceEvent]:
    """Collect events until ``done(events)`` (checked after each event and every 20 ms) or ``timeout_s``.

    ``on_event`` sleeps after each frame (a slow consumer); ``before_close`` runs before the source is closed.
    """
    stop = threading.Event()
    events: list[SourceEvent] = []
    deadline = time.monotonic() + timeout_s

    def watch() -> None:
        while not stop.wait(0.02):
            if done(list(events)) or time.monotonic() > deadline:
                stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stream = source.events(stop)  # held, so that breaking out does not close the source before ``before_close``
    try:
        for event in stream:
            events.append(event)
            if done(events):
                break
            if on_event and isinstance(event, Frame):
                time.sleep(on_event)
    finally:
        stop.set()
        watcher.join()
        if before_close is not None:
            before_close()
        source.close()
    return events


def states(events: list[SourceEvent]) -> list[bool]:
    return [e.online for e in events if isinstance(e, SourceState)]


def frames_after_last_online(events: list[SourceEvent]) -> int:
    last = max(i for i, e in enumerate(events) if isinstance(e, SourceState) and e.online)
    return sum(isinstance(e, Frame) for e in events[last:])


def test_first_frame_brings_it_online_and_frames_follow() -> None:
    source = LiveSource(SPEC, fps=20.0, opener=ScriptedOpener(FakeReader()))
    events = run_until(source, lambda ev: sum(isinstance(e, Frame) for e in ev) >= 5)
    assert isinstance(events[0], SourceState) and events[0].online
    frames = [e for e in events if isinstance(e, Frame)]
    assert len(frames) == 5
    assert [f.index for f in frames] == sorted({f.index for f in frames}), "a frame was yielded twice"
    assert all(b.t > a.t for a, b in itertools.pairwise(frames))
    assert source.stats.frames_dropped > 0, "the device is faster than fps: older frames must be dropped and counted"


def test_missing_device_starts_offline_once_then_comes_online_with_backoff(caplog: pytest.LogCaptureFixture) -> None:
    """The waits doubling are read from what the source logs; the clock only bounds them from below (a loaded
    machine stretches a sleep, never shortens it)."""
    caplog.set_level(logging.INFO, logger="monitor.sources.live")
    opener = ScriptedOpener(
        CaptureFailed("no camera"), CaptureFailed("no camera"), CaptureFailed("no camera"), FakeReader()
    )
    source = LiveSource(SPEC, fps=20.0, reconnect_initial_s=0.1, reconnect_max_s=1.0, opener=opener)
    events = run_until(source, lambda ev: sum(isinstance(e, Frame) for e in ev) >= 2)
    assert states(events) == [False, True], "offline must be reported once, however many retries fail"
    offline = events[0]
    assert isinstance(offline, SourceState) and offline.detail == "no camera"
    gaps = [b - a for a, b in itertools.pairwise(opener.calls)]
    assert len(gaps) == 3
    waits = [float(m.group(1)) for r in caplog.records if (m := re.search(r"reconnecting in ([0-9.]+) s", r.getMessage()))]
    assert waits == [0.1, 0.2, 0.4], waits
    for gap, expected in zip(gaps, waits, strict=True):
        assert gap >= expected * 0.9, f"backoff gaps {gaps}"


def test_backoff_is_capped(caplog: pytest.LogCaptureFixture) -> None:
    """The waits the source asks for double up to the cap and stay there. Read from what it logs, not from the
    clock: under a loaded CI machine a 0.2 s wait measured 0.47 s, and the wall-clock bound failed."""
    caplog.set_level(logging.INFO, logger="monitor.sources.live")
    opener = ScriptedOpener(CaptureFailed("no camera"))
    source = LiveSource(SPEC, fps=5.0, reconnect_initial_s=0.05, reconnect_max_s=0.2, opener=opener)
    run_until(source, lambda ev: len(opener.calls) >= 7, timeout_s=10.0)
    assert len(opener.calls) >= 7
    waits = [float(m.group(1)) for r in caplog.records if (m := re.search(r"reconnecting in ([0-9.]+) s", r.getMessage()))]
    assert len(waits) >= 6 and max(waits) <= 0.2, waits
    assert waits[:4] == sorted(waits[:4]) and waits[-1] == 0.2, f"backoff should have reached the cap: {waits}"
    gaps = [b - a for a, b in itertools.pairwise(opener.calls)]
    assert min(gaps[-3:]) >= 0.18, f"the capped waits were really waited: {gaps}"  # a lower bound holds under load


def test_read_failure_goes_offline_once_and_reconnects() -> None:
    failing = FakeReader(fail_after=5)
    opener = ScriptedOpener(failing, CaptureFailed("refused"), FakeReader())
    source = LiveSource(SPEC, fps=20.0, reconnect_initial_s=0.05, opener=opener)
    events = run_until(source, lambda ev: states(ev) == [True, False, True] and frames_after_last_online(ev) >= 2)
    assert states(events) == [True, False, True]
    offline = next(e for e in events if isinstance(e, SourceState) and not e.online)
    assert offline.detail == "read failed: cable pulled"
    assert failing.closed  # the failed reader was released


def test_stall_is_detected_by_the_watchdog() -> None:
    """A read that blocks without failing (a frozen stream, a camera that hangs) must still mark the source
    offline after stall_timeout_s, and only once."""
    stuck = FakeReader(block_after=3)
    opener = ScriptedOpener(stuck, FakeReader())
    source = LiveSource(SPEC, fps=20.0, stall_timeout_s=0.3, reconnect_initial_s=0.05, stuck_after_s=60, opener=opener)
    calls_when_offline: list[int] = []

    def before_close() -> None:
        calls_when_offline.append(len(opener.calls))
        stuck.released.set()

    try:
        events = run_until(
            source,
            lambda ev: states(ev) == [True, False],
            timeout_s=5.0,
            before_close=before_close,
        )
    finally:
        stuck.released.set()
    offline = events[-1]
    assert isinstance(offline, SourceState) and not offline.online
    assert offline.detail == "no frame for 0.3 s"
    assert calls_when_offline == [1], "the capture thread is still blocked: it cannot have reopened yet"


def test_slow_open_past_the_stall_timeout_is_kept() -> None:
    """Regression: an RTSP open that took longer than stall_timeout_s set the reconnect request while it ran, and
    the connection it finally made was closed at once and reopened, forever."""
    opener = ScriptedOpener(FakeReader())
    slow_calls: list[float] = []

    def slow_open() -> Reader:
        slow_calls.append(time.monotonic())
        time.sleep(0.5)
        return opener()

    source = LiveSource(SPEC, fps=20.0, stall_timeout_s=0.2, reconnect_initial_s=0.05, opener=slow_open)
    events = run_until(source, lambda ev: states(ev) == [False, True] and frames_after_last_online(ev) >= 3)
    assert states(events) == [False, True]
    offline = events[0]
    assert isinstance(offline, SourceState) and offline.detail == "no frame for 0.2 s"
    assert len(slow_calls) == 1


def test_capture_thread_stuck_in_a_call_is_abandoned() -> None:
    stuck = FakeReader(block_after=2)
    opener = ScriptedOpener(stuck, FakeReader())
    source = LiveSource(SPEC, fps=20.0, stall_timeout_s=0.2, reconnect_initial_s=0.05, stuck_after_s=0.5, opener=opener)
    closed_while_stuck: list[bool] = []
    try:
        events = run_until(
            source,
            lambda ev: states(ev) == [True, False, True] and frames_after_last_online(ev) >= 2,
            before_close=lambda: closed_while_stuck.append(stuck.closed),
        )
    finally:
        stuck.released.set()
    assert states(events) == [True, False, True]
    assert len(opener.calls) == 2
    assert closed_while_stuck == [False], "another thread must never release a reader that is in use"
    deadline = time.monotonic() + 2
    while not stuck.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stuck.closed, "the abandoned thread releases its own reader once its call returns"
    assert stuck.closed_in is not None and "#1" in stuck.closed_in


def test_slow_consumer_gets_one_stale_report_per_missed_slot() -> None:
    source = LiveSource(SPEC, fps=10.0, opener=ScriptedOpener(FakeReader()))
    # Each frame takes 0.25 s to "analyse": 2.5 slots of 0.1 s, so the 2 slots wholly inside it are missed.
    events = run_until(source, lambda ev: sum(isinstance(e, Frame) for e in ev) >= 5, on_event=0.25)
    frames = [e for e in events if isinstance(e, Frame)]
    stale = [e for e in events if isinstance(e, CorruptFrame)]
    assert all(e.reason == REASON_STALE for e in stale)
    assert 2 * 4 - 2 <= len(stale) <= 2 * 4 + 2, f"{len(stale)} stale reports for 4 slow analyses"
    assert source.stats.stale == len(stale) == source.stats.corrupt
    slot_times = [round(e.t * 10) for e in stale]
    assert len(slot_times) == len(set(slot_times)), "a slot was reported stale twice"
    assert len(frames) == 5


def test_fast_consumer_gets_no_stale_reports() -> None:
    source = LiveSource(SPEC, fps=10.0, opener=ScriptedOpener(FakeReader()))
    events = run_until(source, lambda ev: sum(isinstance(e, Frame) for e in ev) >= 8, on_event=0.02)
    assert not any(isinstance(e, CorruptFrame) for e in events)


def test_slow_device_frames_are_not_repeated() -> None:
    source = LiveSource(SPEC, fps=20.0, opener=ScriptedOpener(FakeReader(interval_s=0.2)))
    events = run_until(source, lambda ev: sum(isinstance(e, Frame) for e in ev) >= 4)
    indices = [e.index for e in events if isinstance(e, Frame)]
    assert len(indices) == len(set(indices))


@pytest.mark.parametrize("how", ["stop", "close"])
def test_ends_promptly_while_waiting_to_reconnect(how: str) -> None:
    opener = ScriptedOpener(CaptureFailed("no camera"))
    source = LiveSource(SPEC, fps=2.0, reconnect_initial_s=30.0, reconnect_max_s=30.0, opener=opener)
    stop = threading.Event()
    events = source.events(stop)
    first = next(events)
    assert isinstance(first, SourceState) and not first.online
    threading.Timer(0.2, stop.set if how == "stop" else source.close).start()
    started = time.monotonic()
    assert list(events) == []
    assert time.monotonic() - started < 1.5
    assert len(opener.calls) == 1
    for _, thread in source._threads:
        thread.join(timeout=1.0)
        assert not thread.is_alive(), f"{thread.name} outlived the source"


def test_unexpected_exception_in_the_driver_marks_offline_not_crash() -> None:
    opener = ScriptedOpener(RuntimeError("driver bug\nwith two lines"), FakeReader())
    source = LiveSource(SPEC, fps=20.0, reconnect_initial_s=0.05, opener=opener)
    events = run_until(source, lambda ev: states(ev) == [False, True])
    offline = events[0]
    assert isinstance(offline, SourceState) and offline.detail == "cannot open: driver bug with two lines"


@pytest.mark.parametrize(
    "kwargs",
    [{"stall_timeout_s": 0.0}, {"reconnect_initial_s": -1.0}, {"reconnect_max_s": float("nan")},
     {"reconnect_initial_s": 5.0, "reconnect_max_s": 1.0}, {"fps": 0.0}],
)  # fmt: skip
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    fps = kwargs.pop("fps", 2.0)
    with pytest.raises(ValueError):
        LiveSource(SPEC, fps, opener=ScriptedOpener(FakeReader()), **kwargs)


@pytest.mark.parametrize(("failures", "opens"), [(1, True), (2, True), (3, False)])
def test_a_device_that_fails_its_first_open_is_tried_again_before_it_is_refused(
    monkeypatch: pytest.MonkeyPatch, failures: int, opens: bool
) -> None:
    """At start a camera or the screen is probed ``PROBE_TRIES`` times: an X server that dropped one connection
    under load (seen once in a test run beside another) is no refusal; a device that is not there still is."""
    from monitor import sources

    calls: list[int] = []

    def opener(spec, fps, stall):  # type: ignore[no-untyped-def]
        def open_() -> FakeReader:
            calls.append(1)
            if len(calls) <= failures:
                raise CaptureFailed("cannot open the screen: Cannot connect to display")
            return FakeReader()
        return open_

    monkeypatch.setattr(sources, "default_opener", opener)
    monkeypatch.setattr(sources, "PROBE_WAIT_S", 0.01)
    if opens:
        assert isinstance(sources.open_source(SPEC, fps=5.0), LiveSource)
        assert len(calls) == failures + 1
    else:
        with pytest.raises(sources.SourceError, match="Cannot connect to display"):
            sources.open_source(SPEC, fps=5.0)
        assert len(calls) == sources.PROBE_TRIES
