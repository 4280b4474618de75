"""Never lag: with an analysis step slower than ``--fps``, a paced file (``--realtime``, the demo) and a live stream
drop the frames the worker cannot keep up with, always analyse the newest one, and the dropped frames are stored as
each interval's skipped frames. The slow step is the real Haar detector plus a sleep; storage is a real database."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.schema import Interval
from monitor.config import load_config
from monitor.detections import HaarDetector
from monitor.frame import Frame
from monitor.sources import open_source, parse_source
from monitor.worker import Prepared, Worker
from tests.helpers.classroom import compose_class, write_video
from tests.helpers.mjpeg_server import MjpegServer

pytestmark = pytest.mark.pipeline

SLOW_S = 0.5  # the analysis step takes this long: twice the sampling period of 4 frames/s


class SlowHaar(HaarDetector):
    def detect(self, frame: Frame):  # type: ignore[no-untyped-def]
        time.sleep(SLOW_S)
        return super().detect(frame)


def stored_intervals(url: str) -> list[Interval]:
    eng = make_engine(url)
    with session_factory(eng)() as s:
        rows = list(s.scalars(select(Interval).order_by(Interval.start)))
    eng.dispose()
    return rows


def run(source: str, url: str, classifier: object, stop: threading.Event, realtime: bool) -> tuple[Worker, object]:
    cfg = load_config(None, {"capture": {"source": source, "fps": 4.0, "realtime": realtime},
                             "storage": {"db_url": url}, "analysis": {"layout": "room", "interval_s": 2.0}})
    src = open_source(parse_source(source), cfg.capture.fps, realtime=realtime, stall_timeout_s=3.0)
    worker = Worker(Prepared(cfg, src, SlowHaar(), classifier, "emotion.keras"))  # type: ignore[arg-type]
    return worker, worker.run(stop)


def test_a_paced_file_drops_what_a_slow_worker_cannot_analyse(fer, classifier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: under load the demo fell 97 s behind real time, because a paced file never dropped a frame."""
    frames = [compose_class(fer[0], [1, 2, 3], 320, 240, seed=i)[0] for i in range(80)]
    video = write_video(tmp_path / "ten_seconds.avi", frames, fps=8)  # 10 s: 40 sampling slots at 4 frames/s
    url = f"sqlite:///{tmp_path / 'paced.sqlite3'}"
    t0 = time.monotonic()
    _, summary = run(str(video), url, classifier, threading.Event(), realtime=True)
    elapsed = time.monotonic() - t0
    # without dropping, 40 analyses of 0.5 s would take 20 s and end 10 s behind the wall clock
    assert summary.frames_analysed + summary.frames_skipped == 40  # every slot analysed or counted, none twice
    assert summary.frames_analysed <= 10 / SLOW_S + 2
    assert summary.frames_skipped >= 40 - (10 / SLOW_S + 2)
    assert elapsed < 18, f"a 10 s file took {elapsed:.1f} s at realtime"  # analysing all 40 takes 20 s at least
    intervals = stored_intervals(url)
    assert sum(i.frames_skipped for i in intervals) == summary.frames_skipped
    assert all(i.frames_skipped > 0 for i in intervals[:-1])  # dropped all along, not only at the end


def test_a_paced_file_with_a_fast_worker_drops_nothing(fer, classifier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frames = [compose_class(fer[0], [1, 2, 3], 320, 240, seed=i)[0] for i in range(16)]
    video = write_video(tmp_path / "two_seconds.avi", frames, fps=8)
    url = f"sqlite:///{tmp_path / 'fast.sqlite3'}"
    # 2 frames/s: a frame may take up to a whole 0.5 s period, so a shared, busy machine does not make it drop
    cfg = load_config(None, {"capture": {"source": str(video), "fps": 2.0, "realtime": True},
                             "storage": {"db_url": url}, "analysis": {"layout": "room"}})
    src = open_source(parse_source(str(video)), cfg.capture.fps, realtime=True)
    summary = Worker(Prepared(cfg, src, HaarDetector(), classifier, "emotion.keras")).run(threading.Event())
    assert (summary.frames_analysed, summary.frames_skipped) == (4, 0)


def test_a_live_stream_drops_what_a_slow_worker_cannot_analyse(classifier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = MjpegServer(fps=10.0)
    server.start()
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    stop = threading.Event()
    timer = threading.Timer(6.0, stop.set)
    try:
        timer.start()
        t0 = time.monotonic()
        _, summary = run(server.url, url, classifier, stop, realtime=False)
        elapsed = time.monotonic() - t0
    finally:
        timer.cancel()
        server.stop()
    assert summary.frames_analysed <= elapsed / SLOW_S + 2
    assert summary.frames_skipped >= 4  # about 4 slots/s offered, at most 2 analysed
    intervals = stored_intervals(url)
    assert sum(i.frames_skipped for i in intervals) == summary.frames_skipped
    assert np.isclose(sum(i.frames_analysed for i in intervals), summary.frames_analysed)
