"""Three real workers (``python -m monitor run``) writing at once into one PostgreSQL, each with its own classroom,
then the school overview in Chromium showing each room in its state: one class that ran to its end, one running in
real time, one whose camera stream dropped.

Slow (three TensorFlow workers on one machine); needs PostgreSQL (``CLASSMOOD_TEST_PG_URL``), FER2013 PublicTest
faces for the composed video (skipped without them, failed under CI) and Chromium.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from sqlalchemy import func, select

from dashboard import ids
from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession, Interval, SourceStatus
from db.settings import FlagSettings, save_flag_settings
from tests.browser.helpers import ROOT, run_dashboard, wait_for
from tests.helpers.classroom import FER_DIR, compose_class, fer_publictest, write_video
from tests.helpers.mjpeg_server import MjpegServer

pytestmark = [pytest.mark.browser, pytest.mark.pipeline, pytest.mark.slow]

RULES = ("sustained_negative", "baseline_shift", "not_visible", "class_negative", "class_mood_drop")


@pytest.fixture(scope="module")
def faces_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 seconds at 4 fps, 640x360, four real faces (any labels: this test is about rooms, not emotions)."""
    if not (FER_DIR / "fer2013_publictest.npz").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"FER2013 data missing at {FER_DIR} under CI")
        pytest.skip(f"FER2013 data not found at {FER_DIR}")
    x, _y = fer_publictest()
    frames = [compose_class(x, [3, 10, 25, 40], 640, 360, cols=4, jitter=2, seed=i)[0] for i in range(480)]
    return write_video(tmp_path_factory.mktemp("school-video") / "class.avi", frames, fps=4)


def worker(db_url: str, classroom: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--db", db_url, "--classroom", classroom, "--name",
         f"Lesson in {classroom}", "--layout", "room", "--detector", "haar", *args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def status_of(db_url: str) -> dict[str, tuple[str | None, int]]:
    """classroom -> (source state, intervals written)."""
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            n = select(func.count(Interval.id)).where(Interval.session_id == ClassSession.id).scalar_subquery()
            rows = s.execute(
                select(ClassSession.classroom, SourceStatus.state, n).outerjoin(
                    SourceStatus, SourceStatus.session_id == ClassSession.id
                )
            ).all()
    finally:
        engine.dispose()
    return {str(room): (state, int(count)) for room, state, count in rows}


def shown_rooms(driver: Chrome) -> dict[str, str]:
    rows = driver.find_elements(By.CSS_SELECTOR, f"#{ids.SCHOOL_ROOMS} tr.room-row")
    return {str(r.get_attribute("data-classroom")): str(r.get_attribute("data-state")) for r in rows}


Workers = tuple[str, dict[str, subprocess.Popen[str]], MjpegServer]


@pytest.fixture
def workers(pg_url: str, faces_video: Path, tmp_path: Path) -> Iterator[Workers]:
    """Room 1 analyses the video as fast as it can (and ends), Room 2 in real time (two minutes), Room 3 reads an
    MJPEG camera stream; all three at once, into one PostgreSQL database with every flag rule off."""
    engine = make_engine(pg_url)
    upgrade(engine)  # once, before three workers race to migrate the same empty database
    off = FlagSettings.model_validate({rule: {"enabled": False} for rule in RULES})
    with session_factory(engine)() as s, s.begin():
        save_flag_settings(s, off)  # no flag may turn a running room into "flagged" while the test looks
    engine.dispose()
    camera = MjpegServer(fps=8)
    camera.start()
    cfg = tmp_path / "stream.toml"
    cfg.write_text("[capture]\nstall_timeout_s = 1.5\nreconnect_initial_s = 0.5\nreconnect_max_s = 1.0\n"
                   "[storage]\nheartbeat_s = 0.5\n")  # fmt: skip
    procs = {
        "Room 1": worker(pg_url, "Room 1", "--source", str(faces_video), "--interval", "5", "--fps", "1"),
        "Room 2": worker(pg_url, "Room 2", "--source", str(faces_video), "--interval", "3", "--fps", "1", "--realtime"),
        "Room 3": worker(
            pg_url, "Room 3", "--source", camera.url, "--interval", "3", "--fps", "1", "--config", str(cfg)
        ),
    }
    try:
        yield pg_url, procs, camera
    finally:
        camera.stop()
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


def test_three_workers_write_into_one_postgresql_and_the_school_page_shows_each_room(
    page: Chrome, workers: Workers, tmp_path: Path
) -> None:
    pg_url, procs, camera = workers

    def ready() -> dict[str, tuple[str | None, int]] | None:
        states = status_of(pg_url)
        started = all(states.get(room, (None, 0))[1] >= 1 for room in ("Room 1", "Room 2"))
        camera_seen = states.get("Room 3", (None, 0))[0] == "online"
        return states if started and camera_seen and procs["Room 1"].poll() is not None else None

    states = wait_for(ready, timeout=240, what="Room 1 to finish, Room 2 to write, Room 3's stream to be online")
    assert procs["Room 1"].returncode == 0, procs["Room 1"].communicate()[1]
    assert states["Room 1"] == ("ended", 24)  # 120 s of video in 5-s intervals, on the file's own clock
    camera.stop()  # Room 3's camera loses power
    wait_for(lambda: status_of(pg_url)["Room 3"][0] == "offline", timeout=60, what="Room 3 to record offline")

    with run_dashboard(pg_url, tmp_path / "dashboard.log") as server:
        page.get(server.url + "/school")
        expected = {"Room 1": "ended", "Room 2": "running", "Room 3": "offline"}
        shown = wait_for(lambda: shown_rooms(page) == expected and shown_rooms(page), timeout=30, what="3 rooms")
        assert list(shown) == ["Room 3", "Room 2", "Room 1"]  # the offline room first, the ended one last
        page.get("about:blank")  # stop polling before the dashboard stops
    assert procs["Room 2"].poll() is None, "Room 2's real-time class should still be running"
    for room in ("Room 2", "Room 3"):
        procs[room].send_signal(signal.SIGTERM)
        _out, err = procs[room].communicate(timeout=90)
        assert procs[room].returncode == 0, err
    final = status_of(pg_url)
    assert {room: state for room, (state, _n) in final.items()} == dict.fromkeys(expected, "ended")
