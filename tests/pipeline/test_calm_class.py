"""A calm class raises no per-student flag in its first 10 minutes (issue 11).

The demo class (matplotlib's portrait of Grace Hopper in six seats) used to be read as angry 39-43% and had 5 of 6
students flagged after two minutes. It now runs through the real worker (detection, the worker's crop, the shipped
model, seats, aggregation, the flag engine with the default settings) for 10 minutes of video, and no student flag
may open.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory, upgrade
from db.schema import Flag, StudentInterval
from db.settings import FlagSettings
from monitor.aggregate import IntervalAggregate, StudentAggregate
from monitor.demo import demo_video
from monitor.detections import MtcnnDetector
from monitor.flags import STUDENT_RULES, FlagEngine
from monitor.frame import Frame
from monitor.predictions import classify
from tests.pipeline.conftest import REPO, run_cli

REAL_FACES = Path(os.environ.get("CLASSMOOD_REAL_FACES", REPO.parent / "shared" / "data" / "real" / "faces"))

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]


def test_the_demo_class_raises_no_student_flag_in_ten_minutes(tmp_path: Path) -> None:
    video = demo_video(600, tmp_path)
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)  # default flag settings: nothing stored
    r = run_cli("monitor", "run", "--source", str(video), "--db", url, "--interval", "10", "--fps", "0.3",
                "--layout", "room", timeout=900)
    assert r.returncode == 0, r.stderr
    with session_factory(engine)() as s:
        flags = [(f.rule, f.student, f.reason) for f in s.scalars(select(Flag)) if f.rule in STUDENT_RULES]
        rows = list(s.scalars(select(StudentInterval)))
    engine.dispose()
    assert len({row.student for row in rows}) >= 5  # the class was seen: six seats (one steps out for a while)
    assert sum(row.frames_seen for row in rows) >= 600  # about 3 frames per seat and interval for 10 minutes
    assert flags == []


@pytest.mark.xfail(
    strict=True,
    reason="the shipped model reads 76 of the 298 real neutral photos (26%, YuNet's boxes) as 0.6 or more negative, "
    "and 6 of this test's 60 students (MTCNN's boxes; models/README.md); this passes, and must then lose this marker, "
    "once a stronger model ships",
)
def test_a_class_of_real_neutral_and_happy_photos_raises_no_student_flag(classifier) -> None:  # type: ignore[no-untyped-def]
    """Every 10th neutral and happy photo of the real set is a student, seen in every 10-second interval for 10
    minutes (20 frames each) with what the worker reads in the photo; the default flag settings judge them."""
    if not (REAL_FACES / "labels.csv").is_file():
        pytest.skip(f"real faces not found at {REAL_FACES}")
    with (REAL_FACES / "labels.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["emotion"] in ("neutral", "happy")][::10]
    detector = MtcnnDetector(min_face_px=20)
    readings: list[tuple[float, ...]] = []
    for row in rows:
        frame = Frame(cv2.imread(str(REAL_FACES / row["file"])), 0.0, 0)
        faces = detector.detect(frame)
        if len(faces):
            readings.append(tuple(float(v) for v in classify(frame, faces, classifier).probs[0]))
    assert len(readings) >= 50
    engine = FlagEngine(FlagSettings())
    t0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
    step = dt.timedelta(seconds=10)
    events = []
    for i in range(60):
        students = tuple(StudentAggregate(f"Seat {k + 1}", 20, p) for k, p in enumerate(readings))
        events += engine.observe(IntervalAggregate(t0 + i * step, t0 + (i + 1) * step, 20, 0, students))
    assert [e.reason for e in events if e.rule in STUDENT_RULES] == []
