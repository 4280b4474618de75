"""The worker's first run and its faults from the command line, as a newcomer and a hostile tester meet them (issue 13
items 4 and 13): a source that never opens, TensorFlow's start-up chatter, and a worker killed with SIGKILL."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.schema import ClassSession, Interval, SourceStatus
from tests.helpers.classroom import write_video
from tests.pipeline.conftest import REPO

pytestmark = pytest.mark.pipeline
INTERVAL_LINE = re.compile(r"INFO interval (\d\d:\d\d:\d\d)-(\d\d:\d\d:\d\d)")


def worker_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "CLASSMOOD_HOME": str(home), **extra}
    for name in ("DATABASE_URL", "DISPLAY", "TF_CPP_MIN_LOG_LEVEL"):  # a newcomer's shell: none of these set
        env.pop(name, None)
    return env


@pytest.fixture(scope="module")
def noise_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 seconds at 4 fps of seeded noise: no faces, but frames to analyse and intervals to close."""
    rng = np.random.default_rng(13)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(48)]
    return write_video(tmp_path_factory.mktemp("noise") / "noise.avi", frames, fps=4)


@pytest.mark.parametrize(
    ("source", "message"),
    [("7", "error: camera 7: cannot open: no such camera"), ("screen", "error: screen (primary monitor): cannot open")],
    ids=["no-such-camera", "screen-without-display"],
)
def test_a_source_that_never_opens_is_one_line_and_exit_2(source: str, message: str, tmp_path: Path) -> None:
    """`--source 7` and `--source screen` with no display retried for ever and left empty sessions."""
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    r = subprocess.run([sys.executable, "-m", "monitor", "run", "--source", source, "--db", url], cwd=REPO,
                       env=worker_env(tmp_path), capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and r.stderr.startswith(message), r.stderr
    eng = make_engine(url)
    with session_factory(eng)() as s:
        assert s.scalars(select(ClassSession)).first() is None  # no empty session left behind
    eng.dispose()


def test_a_start_prints_no_tensorflow_chatter(noise_video: Path, tmp_path: Path) -> None:
    """absl's "before InitializeLog()", oneDNN and "Could not find cuda drivers" came on every start, twice, despite
    TF_CPP_MIN_LOG_LEVEL=3; the worker's own lines are all a teacher should see."""
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    r = subprocess.run([sys.executable, "-m", "monitor", "run", "--source", str(noise_video), "--db", url,
                        "--interval", "4"], cwd=REPO, env=worker_env(tmp_path), capture_output=True, text=True,
                       timeout=240, check=False)
    assert r.returncode == 0, r.stderr
    for noise in ("absl", "oneDNN", "cuda", "I0000", "W0000", "Traceback"):
        assert noise not in r.stderr, r.stderr
    assert not (tmp_path / "journal").exists() or not list((tmp_path / "journal").iterdir())  # finished: removed


@pytest.mark.slow
def test_a_worker_killed_and_restarted_mid_session_loses_and_duplicates_nothing(noise_video: Path,
                                                                                 tmp_path: Path) -> None:
    """Issue 13 item 4: kill -9 left the session running for ever and lost what was not yet written. The killed
    worker's intervals are all in the database after the next worker starts, once each, and its session is closed
    as interrupted at the end of its last interval; a second replay changes nothing."""
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    env = worker_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--source", str(noise_video), "--db", url, "--interval", "2",
         "--realtime", "--layout", "room", "--name", "killed"],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )
    closed: list[str] = []
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 180
        while len(closed) < 3 and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            if m := INTERVAL_LINE.search(line):
                closed.append(m.group(1))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(closed) == 3, "the worker never closed three intervals"
    (journal,) = (tmp_path / "journal").glob("*.jsonl")

    again = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--source", str(noise_video), "--db", url, "--interval", "4",
         "--layout", "room", "--name", "next"], cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert not journal.exists()
    eng = make_engine(url)
    with session_factory(eng)() as s:
        killed = s.scalars(select(ClassSession).where(ClassSession.name == "killed")).one()
        starts = list(s.scalars(select(Interval.start).where(Interval.session_id == killed.id)))
        assert len(starts) == len(set(starts)) >= 3
        local = {st.astimezone().strftime("%H:%M:%S") for st in starts}
        assert set(closed) <= local  # every interval closed before the kill
        last_end = s.scalar(select(Interval.end).where(Interval.session_id == killed.id)
                            .order_by(Interval.end.desc()))
        assert killed.ended_at == last_end
        status = s.get(SourceStatus, killed.id)
        assert status is not None and status.state == "interrupted"
        assert s.scalars(select(ClassSession).where(ClassSession.ended_at.is_(None))).first() is None
        before = len(starts)
    eng.dispose()
    r = subprocess.run([sys.executable, "-m", "monitor", "replay", "--pending"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and "no unfinished journal" in r.stderr, r.stderr
    eng = make_engine(url)
    with session_factory(eng)() as s:
        assert len(list(s.scalars(select(Interval.start).where(Interval.session_id == killed.id)))) == before
    eng.dispose()
    assert isinstance(killed.ended_at, dt.datetime)
