"""A real MJPEG-over-HTTP stream read through OpenCV's FFMPEG backend: frames arrive, the stream drops (server
stopped) or stalls (server silent) and comes back, and the source reports each change exactly once.

The consumer runs in a background thread that records events with their arrival time; the test thread drives the
server and waits on the record with a deadline, so nothing here can hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import cv2
import pytest

from monitor.frame import Frame, SourceEvent, SourceState
from monitor.sources import LiveSource, open_source, parse_source
from tests.helpers.mjpeg_server import MjpegServer

pytestmark = [
    pytest.mark.pipeline,
    pytest.mark.skipif("FFMPEG:                      YES" not in cv2.getBuildInformation(), reason="no FFMPEG"),
]


class Collector:
    """Consumes ``source.events`` in a thread; ``wait_for`` polls what arrived until a condition or a deadline."""

    def __init__(self, source: LiveSource) -> None:
        self.source = source
        self.stop = threading.Event()
        self.events: list[SourceEvent] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for event in self.source.events(self.stop):
            with self._lock:
                self.events.append(event)

    def snapshot(self) -> list[SourceEvent]:
        with self._lock:
            return list(self.events)

    def wait_for(self, what: str, condition: Callable[[list[SourceEvent]], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition(self.snapshot()):
                return
            time.sleep(0.05)
        pytest.fail(f"timed out after {timeout_s} s waiting for {what}; got {summary(self.snapshot())}")

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "events() did not end after stop"


def summary(events: list[SourceEvent]) -> list[str]:
    return [
        f"{'online' if e.online else 'offline'}@{e.t:.1f}" if isinstance(e, SourceState) else "frame" for e in events
    ]


def states(events: list[SourceEvent]) -> list[bool]:
    return [e.online for e in events if isinstance(e, SourceState)]


def frames_since_state(events: list[SourceEvent], n_states: int) -> int:
    """Frames after the ``n_states``-th state change."""
    seen = 0
    for i, e in enumerate(events):
        if isinstance(e, SourceState):
            seen += 1
            if seen == n_states:
                return sum(isinstance(x, Frame) for x in events[i:])
    return 0


@pytest.fixture
def server() -> Iterator[MjpegServer]:
    srv = MjpegServer(fps=10.0)
    srv.start()
    yield srv
    srv.stop()


def open_stream(url: str) -> LiveSource:
    source = open_source(parse_source(url), fps=5.0, stall_timeout_s=1.0, reconnect_initial_s=0.2, reconnect_max_s=0.8)
    assert isinstance(source, LiveSource) and source.live
    return source


def test_stream_drop_and_reconnect(server: MjpegServer) -> None:
    collector = Collector(open_stream(server.url))
    try:
        collector.wait_for(
            "online and 5 frames", lambda ev: states(ev) == [True] and frames_since_state(ev, 1) >= 5, 10
        )
        first = [e for e in collector.snapshot() if isinstance(e, Frame)]
        assert all(f.image.shape == (240, 320, 3) for f in first)

        server.stop()
        collector.wait_for("offline", lambda ev: states(ev) == [True, False], 5)
        time.sleep(1.5)  # several failed reconnects (connection refused) happen here
        down = collector.snapshot()
        assert states(down) == [True, False], "offline must be reported once, not once per failed reconnect"
        assert frames_since_state(down, 2) == 0
        offline = [e for e in down if isinstance(e, SourceState)][1]
        assert offline.detail and "\n" not in offline.detail
        assert collector.source.stats.reconnects >= 2

        server.start()
        collector.wait_for(
            "online again and 5 frames",
            lambda ev: states(ev) == [True, False, True] and frames_since_state(ev, 3) >= 5,
            10,
        )
    finally:
        collector.close()
    events = collector.snapshot()
    assert states(events) == [True, False, True]
    times = [e.t for e in events]
    assert times == sorted(times), "events must come out in time order"


def test_stream_stall_is_reported_once_and_recovers(server: MjpegServer) -> None:
    """The connection stays open but no frame comes (a frozen camera): the stall timeout must fire."""
    collector = Collector(open_stream(server.url))
    try:
        collector.wait_for(
            "online and 3 frames", lambda ev: states(ev) == [True] and frames_since_state(ev, 1) >= 3, 10
        )
        server.pause()
        paused_at = time.monotonic()
        collector.wait_for("offline after the stall", lambda ev: states(ev) == [True, False], 5)
        assert time.monotonic() - paused_at >= 0.8, "went offline before the stall timeout"
        time.sleep(1.0)
        assert states(collector.snapshot()) == [True, False]
        server.resume()
        collector.wait_for(
            "online again and 3 frames",
            lambda ev: states(ev) == [True, False, True] and frames_since_state(ev, 3) >= 3,
            15,
        )
    finally:
        collector.close()
    stalled = next(e for e in collector.snapshot() if isinstance(e, SourceState) and not e.online)
    assert "no frame" in stalled.detail or "read failed" in stalled.detail


def test_stream_not_up_yet_starts_offline_then_comes_online() -> None:
    server = MjpegServer(fps=10.0)  # not started: connection refused
    collector = Collector(open_stream(server.url))
    try:
        collector.wait_for("offline at start", lambda ev: states(ev) == [False], 5)
        server.start()
        collector.wait_for(
            "online and 2 frames", lambda ev: states(ev) == [False, True] and frames_since_state(ev, 2) >= 2, 10
        )
    finally:
        collector.close()
        server.stop()
    offline = next(e for e in collector.snapshot() if isinstance(e, SourceState))
    assert offline.detail == "cannot open: stream not reachable"
