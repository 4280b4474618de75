"""``python -m monitor analyse``: image files through the worker's own per-frame path, as JSON Lines or a table."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from tests.helpers.classroom import compose_class
from tests.helpers.gallery_frames import compose_gallery
from tests.pipeline.conftest import run_cli
from tests.pipeline.test_worker import LAYOUT, pick_faces

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, fer, classifier) -> tuple[Path, list]:  # type: ignore[no-untyped-def]
    """a_gallery.png (2x3 gallery of real faces, the last tile's camera off), b_notes.txt, c_room.jpg (three faces)."""
    idx = pick_faces(fer, classifier)
    faces = [fer[0][i] for i in idx]
    gallery, truth = compose_gallery(6, cols=3, width=1280, height=720, faces=faces, camera_off={5})
    room, _ = compose_class(fer[0], idx[:3], 960, 540, cols=3)
    d = tmp_path_factory.mktemp("analyse")
    assert cv2.imwrite(str(d / "a_gallery.png"), gallery)
    (d / "b_notes.txt").write_text("not an image\n")
    assert cv2.imwrite(str(d / "c_room.jpg"), room, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return d, truth


def test_folder_with_a_non_image_file_is_analysed_and_the_bad_file_reported(folder: tuple[Path, list]) -> None:
    d, truth = folder
    r = run_cli("monitor", "analyse", str(d), "--json", "-")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert errors[0] == f"error: {d / 'b_notes.txt'}: not an image OpenCV can decode", errors
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert [Path(doc["file"]).name for doc in docs] == ["a_gallery.png", "b_notes.txt", "c_room.jpg"]
    gallery, notes, room = docs
    assert notes == {"file": str(d / "b_notes.txt"), "error": "not an image OpenCV can decode"}

    assert (gallery["width"], gallery["height"], gallery["layout"]) == (1280, 720, "gallery")
    assert gallery["grid"] == {"rows": 2, "cols": 3, "tiles": 6}
    assert [(t["row"], t["col"]) for t in gallery["tiles"]] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    for tile, true in zip(gallery["tiles"], truth, strict=True):
        x, y, w, h = tile["box"]
        assert abs(x - true.x) <= 3 and abs(y - true.y) <= 3 and abs(w - true.w) <= 4 and abs(h - true.h) <= 4
    assert [t["state"] for t in gallery["tiles"]] == ["face"] * 5 + ["camera_off"]
    read = [t["name"] for t in gallery["tiles"]]
    assert sum(n == t.name for n, t in zip(read, truth, strict=True)) >= 5, read
    assert len(gallery["faces"]) == 5
    names = {t["name"] for t in gallery["tiles"][:5]}
    for face in gallery["faces"]:
        assert face["student"] in names
        assert face["emotion"] in face["probs"] and abs(sum(face["probs"].values()) - 1) < 1e-3
        assert 0 < face["score"] <= 1
    by_student = {f["student"]: f["emotion"] for f in gallery["faces"]}
    for tile, emotion in zip(gallery["tiles"][:5], LAYOUT, strict=False):
        assert by_student.get(tile["name"]) == emotion, (tile["name"], by_student)

    assert (room["layout"], room["grid"], room["tiles"]) == ("room", None, [])
    left_to_right = sorted(room["faces"], key=lambda f: f["box"][0])  # seats are numbered in reading order
    assert [f["student"] for f in left_to_right] == ["Seat 1", "Seat 2", "Seat 3"]
    assert [f["emotion"] for f in left_to_right] == LAYOUT[:3]


def test_table_without_json_and_a_forced_layout(folder: tuple[Path, list], tmp_path: Path) -> None:
    d, _ = folder
    out = tmp_path / "out.jsonl"
    r = run_cli("monitor", "analyse", str(d / "c_room.jpg"), "--layout", "gallery", "--json", str(out))
    assert r.returncode == 0, r.stderr
    (doc,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert (doc["layout"], doc["grid"], doc["faces"]) == ("gallery", None, [])  # no grid: nothing attributed
    r = run_cli("monitor", "analyse", str(d / "a_gallery.png"), str(d / "c_room.jpg"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:4] == ["file", "size", "layout", "grid"]
    assert lines[1].split()[:4] == ["a_gallery.png", "1280x720", "gallery", "2x3"]
    assert lines[2].split()[:3] == ["c_room.jpg", "960x540", "room"]


@pytest.mark.parametrize("args", [["nowhere.png"], ["{d}", "nowhere"], ["{d}", "--json", "{d}/no/such/out.jsonl"],
                                  ["{d}", "{empty}"]])
def test_bad_paths_are_one_error_line_and_exit_2_before_anything_runs(args: list[str], folder: tuple[Path, list],
                                                                      tmp_path: Path) -> None:
    d, _ = folder
    (tmp_path / "empty").mkdir()  # a folder with no file in it: exit 0 and a table header before
    r = run_cli("monitor", "analyse", *(a.format(d=d, empty=tmp_path / "empty") for a in args), timeout=60)
    assert r.returncode == 2
    assert r.stdout == ""
    assert [line for line in r.stderr.splitlines() if line.strip()][-1].startswith("error: ")
    assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1, r.stderr


@pytest.mark.parametrize("how", ["cut PNG", "cut JPEG", "text"])
def test_one_bad_image_is_one_error_line_and_no_table(how: str, folder: tuple[Path, list], tmp_path: Path) -> None:
    """A newcomer's review: one truncated file gave the table's header on stdout, its own error line, a summary
    "1 of 1 file(s)" line and, for a PNG, libpng's own "PNG input buffer is incomplete" on stderr."""
    d, _ = folder
    bad = tmp_path / ("bad.png" if how == "cut PNG" else "bad.jpg")
    if how == "text":
        bad.write_text("not an image\n")
    else:
        cv2.imwrite(str(tmp_path / ("whole" + bad.suffix)), cv2.imread(str(d / "a_gallery.png")))
        bad.write_bytes((tmp_path / ("whole" + bad.suffix)).read_bytes()[:3000])
    r = run_cli("monitor", "analyse", str(bad), timeout=120)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: "), r.stderr


@pytest.mark.parametrize(("shown", "then"), [("gallery", "gallery"), ("room", "room"), ("nameless lattice", "room")])
def test_auto_is_decided_by_what_the_frames_show(shown: str, then: str, fer, classifier) -> None:  # type: ignore[no-untyped-def]
    """A recording that opens on black (a fade-in, a camera's first dark frames) used to be decided as a room on that
    frame, and a Zoom gallery after it was then analysed as a room for the whole session. A frame with no grid and no
    face decides nothing; the first frame with a grid some tile of which shows a name makes a gallery, faces without
    one for ROOM_AFTER_S (a dark gallery fading in shows faces a frame or two before its gutters: found by review)
    make a room. A lattice whose tiles show no name (a room camera's wall of panels or lockers with people before it;
    a gallery with names hidden) is looked at as a room: under "auto" a gallery is for good."""
    import numpy as np

    from monitor.analyse import ROOM_AFTER_S, FrameAnalyser
    from monitor.detections import make_detector
    from monitor.frame import Frame

    idx = pick_faces(fer, classifier)
    if shown != "room":
        image, _ = compose_gallery(6, cols=3, width=1280, height=720, faces=[fer[0][i] for i in idx],
                                   names=[""] * 6 if shown == "nameless lattice" else None)
    else:
        image, _ = compose_class(fer[0], idx[:3], 1280, 720, cols=3)
    analyser = FrameAnalyser(make_detector("yunet", 0, 960), None, "auto")
    black = np.zeros_like(image)
    for i in range(3):
        result = analyser.analyse(Frame(black, i * 0.5, i))
        assert (result.layout, analyser.layout, len(result.faces)) == ("room", "auto", 0)
    result = analyser.analyse(Frame(image, 1.5, 3))
    assert result.layout == then and len(result.faces) >= 3
    assert analyser.layout == ("gallery" if then == "gallery" else "auto")  # faces alone: not yet
    result = analyser.analyse(Frame(image, 1.5 + ROOM_AFTER_S, 4))
    assert result.layout == analyser.layout == then
    assert analyser.analyse(Frame(black, 4.0, 5)).layout == then  # decided: kept
