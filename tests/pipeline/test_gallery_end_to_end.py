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
from db.schema import ClassSession, Interval, RosterStudent, StudentPresence
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
        found = detector.detect_in(Frame(image, 0.0, 0), [(t.x, t.y, t.w, t.h) for t in grid.tiles],
                                   det.gallery_tile_px)  # as the worker searches a gallery
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
        assert set(faced) | set(there) == {ROSTER[n] for n in order}, f"interval {k}: only the class, by name"
        for name in order:
            student = ROSTER[name]
            gone = there.get(student, None)
            if name == CAMERA_OFF:  # never counted as a face, always camera off
                assert student not in faced and gone is not None
                assert (gone.state, gone.frames_camera_off, gone.frames_face_not_visible) == ("camera_off", INTERVAL, 0)
            elif name == FACELESS_LATER and k >= half:  # video, nobody in it
                assert student not in faced and gone is not None
                assert (gone.state, gone.frames_camera_off, gone.frames_face_not_visible) == (
                    "face_not_visible", 0, INTERVAL)
            else:  # every frame either a face or (a detector miss) face not visible
                missed = gone.frames_face_not_visible if gone is not None else 0
                assert faced[student].frames_seen + missed == INTERVAL, f"interval {k}: {name}"
                assert faced[student].frames_seen >= INTERVAL - 1, f"interval {k}: {name} missed too often"
                assert gone is None or gone.frames_camera_off == 0

    # no identity swap: each student's face (and so their emotion estimate) followed them through the reorder: after
    # it, a student's probabilities are nearest to their own before it, of all students'
    both = sorted(set(FIRST) & set(SECOND) - {CAMERA_OFF, FACELESS_LATER})

    def probs(k: int, name: str) -> np.ndarray:
        return np.array([getattr(seen[k][ROSTER[name]], f"p_{e}") for e in EMOTIONS])

    for name in both:
        distances = {other: np.abs(probs(half, name) - probs(half - 1, other)).sum() for other in both}
        assert min(distances, key=lambda other: distances[other]) == name, (name, distances)


def test_preview_saves_one_annotated_frame_and_nothing_else(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import cv2

    faces = detectable_faces(fer, len(DISPLAY))
    image, _ = compose_gallery(7, names=FIRST, faces=[faces[n] for n in FIRST], camera_off={5}, font="dejavu-serif")
    folder = tmp_path / "capture"
    folder.mkdir()
    cv2.imwrite(str(folder / "frame.png"), image)
    out = tmp_path / "out" / "check.png"
    out.parent.mkdir()
    r = run_cli("monitor", "preview", "--source", str(folder), "--out", str(out), timeout=240)
    assert r.returncode == 0, r.stderr
    assert "3x3 gallery, 7 tile(s), 7 name(s) read, 1 camera off, 6 face(s)" in r.stderr
    saved = cv2.imread(str(out))
    assert saved is not None and saved.shape == image.shape and not np.array_equal(saved, image)
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["check.png", "frame.png"]

    bad = run_cli("monitor", "preview", "--source", str(folder), "--out", str(tmp_path / "x.txt"))
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error: --out")
    # the default detector is selectable by name, and a bad config file is refused before the source is opened
    yunet = run_cli("monitor", "preview", "--source", str(folder), "--out", str(out), "--detector", "yunet",
                    timeout=240)
    assert yunet.returncode == 0 and "3x3 gallery, 7 tile(s)" in yunet.stderr, yunet.stderr
    bad = run_cli("monitor", "preview", "--source", str(folder), "--out", str(out), "--config", str(tmp_path / "no.toml"))
    assert (bad.returncode, bad.stderr) == (2, f"error: config file not found: {tmp_path / 'no.toml'}\n"), bad.stderr
