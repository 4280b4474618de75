"""Attention flags end to end: a composed class video in which one student turns from happy to sad raises exactly
that student's flag, through the real detector, model, worker and database, with the rules read from the database."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory, upgrade
from db.schema import ClassSession, Flag, Interval, StudentInterval
from db.settings import FlagSettings, save_flag_settings
from models.preprocess import to_batch
from monitor.config import load_config
from monitor.detections import make_detector
from tests.helpers.classroom import compose_class, reads_surely, worker_reading, write_video
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.pipeline

# eight students: one change among eight moves the class mood by 0.25, under the class_mood_drop threshold (0.3),
# and one sad student in eight stays far below class_negative's share, so only the student's own rules may fire
STEADY = ["happy", "neutral", "happy", "neutral", None, "neutral", "happy", "neutral"]
CHANGER = 4  # seat index (reading order) of the student who turns from happy to sad


def confident_detectable(fer, classifier, emotion: str, n: int, exclude: set[int]) -> list[int]:  # type: ignore[no-untyped-def]
    """``n`` faces of ``emotion`` that the worker's own path (detector box, ``WORKER_VIEWS``, model) reads as that
    emotion at 0.6 or more, alone in a frame and in this test's class layout."""
    det_cfg = load_config().detector
    detector = make_detector(det_cfg.kind, det_cfg.min_face_px, det_cfg.max_side_px, det_cfg.min_confidence)
    x, y = fer
    probs = classifier.predict(to_batch(x[:2000]))
    k = EMOTIONS.index(emotion)
    out: list[int] = []
    for i in (int(i) for i in np.argsort(-probs[:, k])):
        if len(out) == n or probs[i, k] < 0.8:
            break
        if y[i] != k or i in exclude:
            continue
        reads = (worker_reading(x, i, detector, classifier),
                 worker_reading(x, i, detector, classifier, seats=8, width=960, height=540, cols=4))
        if all(reads_surely(r, k) for r in reads):
            out.append(i)
    assert len(out) == n, f"not enough confident, detectable {emotion} faces"
    return out


def test_student_turning_sad_raises_exactly_their_flag(fer, classifier, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    happy = confident_detectable(fer, classifier, "happy", 4, set())
    neutral = confident_detectable(fer, classifier, "neutral", 4, set(happy))
    sad = confident_detectable(fer, classifier, "sad", 1, set(happy) | set(neutral))
    pools = {"happy": iter(happy), "neutral": iter(neutral)}
    seats = [next(pools[e]) if e else -1 for e in STEADY]
    seats[CHANGER] = happy[3]
    before = list(seats)
    after = list(seats)
    after[CHANGER] = sad[0]
    # 150 s at 1 frame/s: happy for the first 60 s, sad for the last 90 s
    frames = [compose_class(fer[0], before if t < 60 else after, 960, 540, cols=4, jitter=2, seed=t)[0]
              for t in range(150)]
    video = write_video(tmp_path / "class.avi", frames, fps=1)

    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    settings = FlagSettings.model_validate({
        "sustained_negative": {"window_min": 1, "threshold": 0.6},
        "baseline_shift": {"baseline_min": 1, "recent_min": 1, "threshold": 0.35},
        "min_duration_min": 0.25, "cooldown_min": 0.5, "min_frames": 5,
    })
    with session_factory(engine)() as s, s.begin():
        save_flag_settings(s, settings)

    r = run_cli("monitor", "run", "--source", str(video), "--db", url, "--interval", "5", "--fps", "1",
                "--layout", "room", timeout=400)
    assert r.returncode == 0, r.stderr
    with session_factory(engine)() as s:
        flags = list(s.scalars(select(Flag)))
        cs = s.scalars(select(ClassSession)).one()
        student = flags[0].student if flags else None
        rows = list(s.scalars(select(StudentInterval).join(Interval)
                              .where(StudentInterval.student == student).order_by(Interval.start)))
    engine.dispose()
    assert flags, "no flag was raised"
    assert {f.student for f in flags} == {student} and student is not None, [(f.rule, f.student) for f in flags]
    # the flagged seat is the student who turned sad, and the flag came after the change
    # (a single interval may still tip to happy while the face changes)
    trace = " ".join(f"{r.dominant}:{r.p_sad:.2f}/{r.p_happy:.2f}" for r in rows)
    assert "sustained_negative" in {f.rule for f in flags}, ([(f.rule, f.start, f.reason) for f in flags], trace)
    assert {f.rule for f in flags} <= {"sustained_negative", "baseline_shift"}
    later = rows[len(rows) // 2 :]  # the change came 60 of 150 s in: the later half is all after it
    assert rows[0].dominant == "happy", trace
    assert sum(r.dominant == "sad" for r in later) >= 0.75 * len(later), trace
    assert all((f.start - cs.started_at).total_seconds() >= 55 for f in flags)
    assert all(f.frames >= 5 and student in f.reason for f in flags)
    assert all(f.end is not None and f.end <= cs.ended_at for f in flags)  # the session's end closes them all
