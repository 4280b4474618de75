"""Google Meet and Microsoft Teams galleries through ``monitor analyse`` (the worker's own path): the grid finder was
built on Zoom, and a school may meet on either. Meet draws wide gutters, rounded tiles and the name straight on the
video; Teams narrow gutters and the name on a dark pill (``tests.helpers.gallery_frames``, ``app=``)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from monitor.identity import match_key
from tests.helpers.gallery_frames import App, Theme, compose_gallery
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.pipeline

FIRST = ("Amira", "Bruno", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hiroshi", "Ines", "Jonas", "Kalinda",
         "Lucia", "Marek", "Nadia", "Oskar", "Paloma", "Rafael", "Sanna", "Tobias", "Ulla", "Viktor", "Wanda", "Yusuf")
LAST = ("Achebe", "Berger", "Castillo", "Duarte", "Eriksen", "Fontaine", "Gallo", "Haddad", "Ivanova", "Jansen",
        "Kowalczyk", "Lindqvist", "Moreau", "Novak", "Okoro", "Petrov", "Quist", "Romero", "Santos", "Tanaka",
        "Urban", "Vargas", "Weber")
# (app, theme, width, height, tiles, speaker)
FRAMES: list[tuple[App, Theme, int, int, int, int]] = [
    ("meet", "dark", 1920, 1080, 9, 4),
    ("meet", "dark", 1920, 1080, 23, 0),  # 5x5 with a centred last row of three
    ("teams", "dark", 1280, 720, 16, 7),
    ("teams", "light", 1920, 1080, 12, 2),
]


def findable(fer: tuple[np.ndarray, np.ndarray], count: int) -> list[np.ndarray]:
    """FER2013 faces the default detector finds in a Zoom tile (its recall on 48 px crops is the benchmarks' matter:
    here only the other apps' drawing may differ)."""
    from monitor.analyse import FrameAnalyser
    from monitor.config import load_config
    from monitor.detections import make_detector
    from monitor.frame import Frame

    det = load_config().detector
    analyser = FrameAnalyser(make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence), None,
                             "gallery", tile_px=det.gallery_tile_px)
    x, _ = fer
    found: list[np.ndarray] = []
    for start in range(0, 900, 9):
        batch = list(x[start : start + 9])
        image, truth = compose_gallery(9, width=1280, height=720, faces=batch)
        analyser.reset()
        result = analyser.analyse(Frame(image, 0.0, 0))
        assert result.grid is not None
        tiles = {result.grid.label_for_box(*map(float, box)) for box in result.faces.boxes}
        found += [face for face, t in zip(batch, truth, strict=True) if t.label in tiles]
        if len(found) >= count:
            return found[:count]
    raise AssertionError(f"only {len(found)} findable faces")


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory, fer) -> list[tuple[dict, list]]:  # type: ignore[no-untyped-def]
    faces = findable(fer, max(n for *_, n, _ in FRAMES))
    rng = np.random.default_rng(5)
    folder = tmp_path_factory.mktemp("apps")
    truths = []
    for k, (app, theme, width, height, n, speaker) in enumerate(FRAMES):
        names = [f"{FIRST[i]} {LAST[(i * 7 + k) % len(LAST)]}" for i in range(n)]
        picked = [faces[i] for i in rng.permutation(len(faces))[:n]]
        image, truth = compose_gallery(n, width=width, height=height, theme=theme, app=app, speaker=speaker,
                                       faces=picked, names=names, font="dejavu-sans", rng=np.random.default_rng(k))
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])  # as a screen capture is kept
        assert ok
        (folder / f"{k}_{app}_{theme}.jpg").write_bytes(data.tobytes())
        truths.append(truth)
    r = run_cli("monitor", "analyse", str(folder), "--layout", "auto", "--json", "-", timeout=600)
    assert r.returncode == 0, r.stderr
    docs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(docs) == len(FRAMES)
    return list(zip(docs, truths, strict=True))


@pytest.mark.parametrize("k", range(len(FRAMES)), ids=[f"{a}-{t}-{w}x{h}-{n}" for a, t, w, h, n, _ in FRAMES])
def test_meet_and_teams_galleries_give_their_tiles_faces_and_names(analysed: list[tuple[dict, list]], k: int) -> None:
    doc, truth = analysed[k]
    rows, cols = max(t.row for t in truth), max(t.col for t in truth)
    assert doc["layout"] == "gallery"
    assert doc["grid"] == {"rows": rows, "cols": cols, "tiles": len(truth)}
    for tile, true in zip(doc["tiles"], truth, strict=True):
        assert (tile["row"], tile["col"]) == (true.row, true.col)
        x, y, w, h = tile["box"]
        assert abs(x - true.x) <= 4 and abs(y - true.y) <= 4 and abs(w - true.w) <= 6 and abs(h - true.h) <= 6
        assert tile["state"] == "face"
    read = [t["name"] for t in doc["tiles"]]
    exact = sum(match_key(n or "") == match_key(t.name) for n, t in zip(read, truth, strict=True))
    assert exact >= 0.85 * len(truth), list(zip(read, [t.name for t in truth], strict=True))
    # every face found, each in its own tile and given that tile's student
    assert len(doc["faces"]) == len(truth)
    by_tile = {}
    for face in doc["faces"]:
        fx, fy, fw, fh = face["box"]
        cx, cy = fx + fw / 2, fy + fh / 2
        tile = next((t for t in doc["tiles"] if t["box"][0] <= cx < t["box"][0] + t["box"][2]
                     and t["box"][1] <= cy < t["box"][1] + t["box"][3]), None)
        assert tile is not None, f"a face outside every tile: {face['box']}"
        by_tile[(tile["row"], tile["col"])] = face["student"]
        if tile["name"] is not None:
            assert face["student"] == tile["name"]
    assert len(by_tile) == len(truth)
