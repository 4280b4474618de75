"""Capture a window by its title (``window:TITLE``) and a monitor by its number (``screen:N``), on a virtual X display.

The window is an ``xmessage`` (x11-utils, which also gives ``xwininfo``; ``.ci/run`` installs it) on Xvfb. Where the
platform cannot find windows by title the source string is refused in one line (tested in the unit layer below).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from monitor.frame import Frame, SourceState
from monitor.sources import SourceSpecError, parse_source
from monitor.sources.spec import find_window
from tests.pipeline.test_sources_screen import collect, xvfb_display  # noqa: F401 - the fixture

pytestmark = pytest.mark.pipeline
TITLE = "ClassMood test meeting"


@pytest.fixture
def window(xvfb_display: str) -> Iterator[tuple[int, int, int, int]]:  # noqa: F811 - the imported fixture
    if shutil.which("xmessage") is None or shutil.which("xwininfo") is None:
        pytest.fail("xmessage/xwininfo missing: apt-get install x11-utils")
    proc = subprocess.Popen(["xmessage", "-title", TITLE, "-geometry", "300x200+40+30", "gallery"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        found = None
        while found is None and time.monotonic() < deadline:
            found = find_window("test MEETING")  # a part of the title, any case
            time.sleep(0.1)
        assert found is not None, "the window never appeared"
        yield found
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_window_by_title_is_captured(window: tuple[int, int, int, int]) -> None:
    left, top, width, height = window
    assert (left, top) == (40, 30) and width >= 100 and height >= 50
    spec = parse_source("window:test meeting")
    assert spec.window == "test meeting" and spec.display == "window:test meeting"
    frames = [e for e in collect("window:test meeting", frames=2) if isinstance(e, Frame)]
    assert len(frames) == 2
    assert frames[0].image.shape == (height, width, 3)


def test_a_window_that_is_not_open_is_offline_not_a_crash(xvfb_display: str) -> None:  # noqa: F811
    events = collect("window:no such window", frames=1, timeout_s=3.0)
    first = events[0]
    assert isinstance(first, SourceState) and not first.online
    assert first.detail == "no window titled 'no such window' is open"


def test_monitor_by_number(xvfb_display: str) -> None:  # noqa: F811
    frames = [e for e in collect("screen:1", frames=1) if isinstance(e, Frame)]
    assert frames[0].image.shape == (480, 640, 3)
    events = collect("screen:2", frames=1, timeout_s=3.0)
    assert isinstance(events[0], SourceState) and not events[0].online
    assert events[0].detail == "cannot open the screen: no monitor 2 (1 found)"


def test_window_capture_needs_an_x_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(SourceSpecError, match="needs an X11 desktop"):
        parse_source("window:Zoom Meeting")


@pytest.mark.parametrize(
    ("text", "message"),
    [("screen:0", "monitors are numbered from 1"), ("window:", "expected window:TITLE"),
     ("screen:1,2", "expected screen:N or screen:LEFT,TOP,WIDTH,HEIGHT")],
)
def test_bad_monitor_and_window_strings(text: str, message: str) -> None:
    with pytest.raises(SourceSpecError, match=message):
        parse_source(text)
