"""The room layout on the real classroom CCTV (../shared/data/real/rooms/blue_eye_classroom.mp4, 640x352, 15
students, most looking down, faces 12-30 px; skipped when absent): the whole worker with the default detector and
the shipped model, into a real database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.schema import StudentInterval, StudentPresence
from monitor.config import load_config
from monitor.worker import Worker, prepare

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

CLIP = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "rooms" / "blue_eye_classroom.mp4"


def test_students_looking_down_are_present_with_face_not_visible_not_given_an_emotion(tmp_path: Path) -> None:
    if not CLIP.is_file():
        pytest.skip(f"real classroom clip not found at {CLIP}")
    url = f"sqlite:///{tmp_path / 'room.sqlite3'}"
    cfg = load_config(None, {"capture": {"source": str(CLIP), "fps": 2.0}, "storage": {"db_url": url},
                             "analysis": {"layout": "room", "interval_s": 5.0}})
    summary = Worker(prepare(cfg)).run(threading.Event())
    assert summary.frames_analysed == 22 and summary.frames_skipped == 0
    eng = make_engine(url)
    with session_factory(eng)() as s:
        read = list(s.scalars(select(StudentInterval)))
        unreadable = list(s.scalars(select(StudentPresence)))
    eng.dispose()
    seats_read = {r.student for r in read}
    seats = seats_read | {p.student for p in unreadable}
    # about 12 faces are visible at a time; the old default (MTCNN, 32 px minimum) found none of these students.
    # 15 students: a student leaning over a book gave a new seat each time (20 seats) until a new place near an
    # empty numbered seat was taken as that seat's student (17), and a place must be seen over 2 s to be numbered
    # (15: a hand over a book and a chair's back came and went; bench/seats.py)
    assert 10 <= len(seats) <= 16, sorted(seats)
    assert all(r.student.startswith("Seat ") for r in read + unreadable)
    assert unreadable and all(p.state == "face_not_visible" and p.frames_face_not_visible > 0 for p in unreadable)
    # the faces are 12 px wide on average: too small to read an expression (model.min_read_px, bench/small_faces.py:
    # two thirds of them were read as sad); their students are there, their faces not visible
    assert len(seats_read) <= 3, sorted(seats_read)
    assert sum(r.frames_seen for r in read) <= 5
    assert summary.students == len(seats)


LAB = CLIP.with_name("blue_eye_lab_b.mp4")


def test_a_hand_held_real_video_keeps_its_few_people_in_their_seats() -> None:
    """../shared's computer-lab clip b, filmed by hand (the camera pans about 50 px over 8 s), 2-4 people and a face
    on a poster: the worker's per-frame path at 2 frames/s numbered 17 seats while the pan moved every face off its
    seat; with the picture's own motion compensated (``camera_motion``), one per person and the poster."""
    if not LAB.is_file():
        pytest.skip(f"real lab clip not found at {LAB}")
    import cv2
    import numpy as np

    from monitor.analyse import FrameAnalyser
    from monitor.detections import make_detector
    from monitor.frame import Frame

    cfg = load_config()
    det = cfg.detector
    analyser = FrameAnalyser(make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence), None,
                             "room", seat_min_age_s=cfg.analysis.seat_min_age)  # the seat rules as the worker's
    cap = cv2.VideoCapture(str(LAB))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    i = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        if i % 10 == 0:
            analyser.analyse(Frame(np.asarray(image, np.uint8), i / fps, i))
        i += 1
    cap.release()
    assert i > 200
    assert 3 <= analyser.seats.seats <= 8
