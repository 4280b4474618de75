"""A Zoom gallery recording encoded as Zoom's are (H.264 at about 1 Mbit/s for 1280x720 at 25 frames/s), through
``python -m monitor run --layout gallery`` without a roster: the students stored must be exactly the people shown.

The issue behind it: on such recordings the worker stored 41 students for 16 tiles (``Student 01 Py``,
``Student O07``, ``Student 05 (8)``): every OCR misread of a label the codec had smeared became a student. Here ten
students named ``Student 01`` .. ``Student 10`` (the names a misread turns into each other most easily), real
FER2013 faces, one camera off throughout; half way the tiles reorder, one student leaves and one joins.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.schema import StudentInterval, StudentPresence
from tests.helpers.classroom import write_h264
from tests.helpers.gallery_frames import compose_gallery
from tests.pipeline.conftest import run_cli

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]
pytest.importorskip("av", reason="PyAV (requirements-dev.txt) writes the H.264 recording")

NAMES = [f"Student {k:02d}" for k in range(1, 11)]
FIRST = NAMES[:9]
SECOND = ["Student 05", "Student 10", "Student 01", "Student 08", "Student 02", "Student 07", "Student 04",
          "Student 09", "Student 06"]  # reordered; Student 03 left, Student 10 joined
CAMERA_OFF = "Student 06"
SECONDS_PER_PHASE, FPS, RECORDING_FPS = 8, 2, 4
BITRATE = 1_000_000 * RECORDING_FPS // 25  # Zoom's ~1 Mbit/s at 25 frames/s: the same bits per frame


def test_an_h264_gallery_recording_stores_exactly_the_people_shown(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.pipeline.test_gallery_end_to_end import detectable_faces

    faces = dict(zip(NAMES, detectable_faces(fer, 8).values(), strict=False))
    faces |= {n: fer[0][400 + k] for k, n in enumerate(NAMES) if n not in faces}  # two more, found or not
    rng = np.random.default_rng(3)
    frames = []
    for t in range(2 * SECONDS_PER_PHASE):
        order = FIRST if t < SECONDS_PER_PHASE else SECOND
        image, _ = compose_gallery(len(order), names=order, faces=[faces[n] for n in order], speaker=t % len(order),
                                   camera_off={order.index(CAMERA_OFF)}, font="dejavu-sans", theme="light")
        for _ in range(RECORDING_FPS):  # the picture moves a little every frame, as a camera's does
            noisy = np.clip(image.astype(np.int16) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8)
            frames.append(noisy)
    video = write_h264(tmp_path / "gallery.mp4", frames, RECORDING_FPS, BITRATE)

    url = f"sqlite:///{tmp_path / 'g.sqlite3'}"
    r = run_cli("monitor", "run", "--source", str(video), "--db", url, "--interval", "4", "--fps", str(FPS),
                "--layout", "gallery", timeout=500)
    assert r.returncode == 0, r.stderr
    engine = make_engine(url)
    with session_factory(engine)() as s:
        with_face = set(s.scalars(select(StudentInterval.student)))
        present = set(s.scalars(select(StudentPresence.student)))
    engine.dispose()
    assert with_face | present == set(NAMES), f"invented: {(with_face | present) - set(NAMES)}"
    assert CAMERA_OFF not in with_face
