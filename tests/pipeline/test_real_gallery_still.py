"""A real Zoom screenshot held still for seconds, as a screen capture of a quiet class shows it, through
``python -m monitor run``: every tile's student must be stored, one per tile.

A newcomer's review found the worker storing 22 students for the 23 tiles of a real gallery and 6 for 7 (a label
read once, not surely, was never looked at again on the same pixels, so its student was never named). The
screenshots come from ../shared (skipped when absent); the video is written to the test's temporary folder and
removed with it. No name is written here: the students are counted, not compared.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest
from sqlalchemy import select

from db.engine import make_engine, session_factory
from db.schema import StudentInterval, StudentPresence
from tests.helpers.classroom import write_video
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.pipeline

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "galleries"
ROWS = {r["file"]: r for r in csv.DictReader((REAL / "labels.csv").open(encoding="utf-8"))} \
    if (REAL / "labels.csv").is_file() else {}


@pytest.mark.skipif(not ROWS, reason=f"real screenshots not found at {REAL}")
@pytest.mark.parametrize("name", ["DeepSE_face-emotion_face1.jpg", "gommy15_zoom_korean_a.png"])
def test_every_tile_of_a_still_real_gallery_is_one_stored_student(name: str, tmp_path: Path) -> None:
    row = ROWS[name]
    assert row["names_visible"] == row["tiles"]  # every tile shows its name: every tile is a named student
    image = cv2.imread(str(REAL / name))
    assert image is not None
    video = write_video(tmp_path / "still.avi", [image] * 32, fps=4.0)  # 8 s, the same pixels in every frame
    db = tmp_path / "class.sqlite3"
    r = run_cli("monitor", "run", "--source", str(video), "--db", f"sqlite:///{db}", "--interval", "4",
                env={"CLASSMOOD_HOME": str(tmp_path / "home")}, timeout=300)
    assert r.returncode == 0, r.stderr
    engine = make_engine(f"sqlite:///{db}")
    with session_factory(engine)() as s:
        students = set(s.scalars(select(StudentInterval.student))) | set(s.scalars(select(StudentPresence.student)))
    engine.dispose()
    assert len(students) == int(row["tiles"]), sorted(len(x) for x in students)
    assert not any(x.startswith("Tile ") for x in students)  # every name was read
