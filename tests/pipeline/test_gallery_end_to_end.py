"""A Zoom gallery class end to end: a composed gallery video (real FER2013 faces, names drawn on the tiles) through
``python -m monitor run --layout gallery --roster FILE``: the real detector, model, Tesseract and database.

The class: seven students, one with the camera off; half way the tiles reorder, one student leaves, one joins and
one walks away from the camera. Every student must be stored under their roster name (never ``Tile R-C``), keep
their identity through the reorder (their face's emotion follows them), and the camera-off and face-not-visible
states must be stored per interval, the camera-off student never counted as a face.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory
from db.schema import ClassSession, Interval, RosterStudent, StudentInterval, StudentPresence
from tests.helpers.classroom import write_video
from tests.helpers.gallery_frames import compose_gallery
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.pipeline

DISPLAY = ["Ava Thompson", "Ben Okafor", "Chloe Martin", "Daniel Kim", "Ella Novak", "Finn O'Brien", "Grace Liu",
           "Hugo Silva"]
ROSTER = {d: f"{d.split()[1]}, {d.split()[0]}" for d in DISPLAY} | {"Zara Ahmed": "Ahmed, Zara"}
FIRST = ["Ava Thompson", "Ben Okafor", "Chloe Martin", "Daniel Kim", "Ella Novak", "Finn O'Brien", "Grace Liu"]
SECOND = ["Grace Liu", "Hugo Silva", "Ella Novak", "Finn O'Brien", "Ava Thompson", "Daniel Kim", "Chloe Martin"]
CAMERA_OFF, FACELESS_LATER = "Finn O'Brien", "Ella Novak"
SECONDS_PER_PHASE, INTERVAL = 8, 4


def detectable_faces(fer: tuple[np.ndarray, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """A face per student that the default detector finds in a gallery tile of this test's size."""
    from monitor.config import load_config
    from monitor.detections import make_detector
    from monitor.frame import Frame
    from monitor.gallery import find_grid

    det = load_config().detector
    detector = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)
    x, _ = fer
    chosen: list[np.ndarray] = []
    for start in range(0, 400, 8):
        batch = list(x[start : start + 8])
        image, truth = compose_gallery(8, faces=batch, names=DISPLAY)
        grid = find_grid(image)
        assert grid is not None
        found = detector.detect(Frame(image, 0.0, 0))
        labels = {grid.label_for_box(*(int(v) for v in box)) for box in found.boxes}
        chosen += [batch[i] for i, t in enumerate(truth) if t.label in labels]
        if len(chosen) >= n:
            return dict(zip(DISPLAY, chosen[:n], strict=True))
    pytest.fail("not enough detectable faces in PublicTest")


def test_gallery_class_is_stored_by_name_through_reorder_and_camera_off(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    faces = detectable_faces(fer, len(DISPLAY))
    frames = []
    for t in range(2 * SECONDS_PER_PHASE):
        order = FIRST if t < SECONDS_PER_PHASE else SECOND
        image, _ = compose_gallery(
            len(order), names=order, faces=[faces[n] for n in order], speaker=t % len(order),
            camera_off={order.index(CAMERA_OFF)},
            faceless={order.index(FACELESS_LATER)} if t >= SECONDS_PER_PHASE else set(),
            font="dejavu-sans", rng=None,
        )
        frames.append(image)
    video = write_video(tmp_path / "gallery.avi", frames, fps=1)
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["display_name", "student"])
        writer.writerows(ROSTER.items())

    url = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    r = run_cli("monitor", "run", "--source", str(video), "--db", url, "--interval", str(INTERVAL), "--fps", "1",
                "--layout", "gallery", "--roster", str(roster), timeout=400)
    assert r.returncode == 0, r.stderr

    engine = make_engine(url)
    with session_factory(engine)() as s:
        cs = s.scalars(select(ClassSession)).one()
        assert cs.expected_students == len(ROSTER)
        assert sorted(s.scalars(select(RosterStudent.student))) == sorted(ROSTER.values())
        intervals = list(s.scalars(select(Interval).order_by(Interval.start)))
        assert len(intervals) == 2 * SECONDS_PER_PHASE // INTERVAL
        seen = [{si.student: si for si in iv.students} for iv in intervals]
        presence = [
            {p.student: p for p in s.scalars(select(StudentPresence).where(StudentPresence.interval_id == iv.id))}
            for iv in intervals
        ]
    engine.dispose()

    half = len(intervals) // 2
    for k, (faced, there) in enumerate(zip(seen, presence, strict=True)):
        order = FIRST if k < half else SECOND
        with_face = {ROSTER[n] for n in order if n != CAMERA_OFF and (k < half or n != FACELESS_LATER)}
        assert set(faced) == with_face, f"interval {k}"
        assert all(si.frames_seen == INTERVAL for si in faced.values()), f"interval {k}"
        off = there[ROSTER[CAMERA_OFF]]
        assert (off.state, off.frames_camera_off, off.frames_face_not_visible) == ("camera_off", INTERVAL, 0)
        if k >= half:
            away = there[ROSTER[FACELESS_LATER]]
            assert (away.state, away.frames_face_not_visible) == ("face_not_visible", INTERVAL)
        assert set(there) == {ROSTER[CAMERA_OFF]} | ({ROSTER[FACELESS_LATER]} if k >= half else set())

    # no identity swap: each student's face (and so their emotion estimate) followed them through the reorder
    for name in set(FIRST) & set(SECOND) - {CAMERA_OFF, FACELESS_LATER}:
        before = np.array([getattr(seen[half - 1][ROSTER[name]], f"p_{e}") for e in EMOTIONS])
        after = np.array([getattr(seen[half][ROSTER[name]], f"p_{e}") for e in EMOTIONS])
        assert np.abs(before - after).sum() < 0.2, name
