"""Zoom gallery mode against its targets: grid found, names read and matched, no identity swap, camera-off tiles,
and the time per frame with 25 tiles. ``python bench/gallery_names.py [--frames 80] [--timing-frames 12]``

Frames are composed at run time (``tests.helpers.gallery_frames``): 4 to 49 tiles, dark and light themes, window
sizes from 1280x720 to 1920x1080, seven label fonts (OpenCV's Hershey fonts and the DejaVu fonts matplotlib ships)
at three label sizes, a speaker border, about one tile in eight with the camera off, and every frame JPEG-compressed
(quality 85) as a screen recording would be. Display names are realistic "First Last" names.

Every frame goes through ``monitor.analyse.FrameAnalyser``, the worker's one per-frame path (grid, names and camera
off, faces in the video tiles, attribution, the model), as in the other gallery benches:

* names read exactly: a fresh analyser per frame (no name cache), with the class list as roster and one sighting
  enough (a single frame, as ``bench/real_galleries.py``), over the tiles whose label is drawn;
* matched: the student the analyser gives each tile is the right one;
* identity: a class of 25 followed over 30 frames by one analyser configured as the worker's (no roster), in which
  the tiles reorder every frame, students leave and join and the gallery pages; a swap is a student given
  another's identity, a split a student given two (a tile with no student yet, its name read once or unreadable,
  is counted apart: it is no identity);
* camera off: tiles judged camera off among those drawn so, video tiles judged camera off, faces the detector finds
  in camera-off tiles that reach a student (must be 0);
* time: ``FrameAnalyser.analyse`` on a 1920x1080 gallery of 25 tiles, first frame (empty cache: one Tesseract call
  for 25 labels) and steady state (the class goes on; fresh JPEG noise every frame), wall clock and CPU (this
  process and its Tesseract children; on a 2-core machine shared with other jobs the CPU figure is the honest
  one), with the CPU of its stages (names, faces, model; the rest is the grid and attribution) timed around the
  analyser's own reader, detector and model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import numpy.typing as npt

from monitor.analyse import FrameAnalyser
from monitor.config import load_config
from monitor.detections import FaceDetector, make_detector
from monitor.frame import Frame
from monitor.gallery import find_grid
from monitor.identity import Roster
from monitor.predictions import Classifier
from tests.helpers.classroom import FER_DIR, fer_publictest
from tests.helpers.gallery_frames import LABEL_FONTS, TileTruth, compose_gallery

Image = npt.NDArray[np.uint8]
FIRST = ("Ava", "Ben", "Chloe", "Daniel", "Ella", "Finn", "Grace", "Hugo", "Isla", "Jack", "Kai", "Lena", "Mia",
         "Noah", "Omar", "Priya", "Quinn", "Rosa", "Samuel", "Tara", "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoe",
         "Amir", "Bea", "Carlos", "Dina", "Emil", "Fatima", "Georg", "Hana", "Ivan", "Julia", "Kofi", "Laila")
LAST = ("Thompson", "Okafor", "Martin", "Kim", "Novak", "O'Brien", "Liu", "Silva", "Berg", "Patel", "Nakamura",
        "Schmidt", "Garcia", "Rossi", "Haddad", "Kowalski", "Nguyen", "Andersen", "Mensah", "Dubois", "Costa",
        "Fischer", "Ivanova", "Jensen", "Lopez", "Moreau", "Ng", "Park", "Quinn-Reid", "Sato")
WINDOWS = [(1280, 720), (1920, 1080), (1600, 900), (1440, 900)]
COUNTS = [4, 6, 9, 12, 16, 20, 25, 30, 36, 49]


def class_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = f"{FIRST[int(rng.integers(len(FIRST)))]} {LAST[int(rng.integers(len(LAST)))]}"
        if name not in names:
            names.append(name)
    return names


def jpeg(image: Image, quality: int = 85) -> Image:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), dtype=np.uint8)


def detector() -> FaceDetector:
    det = load_config().detector
    return make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)


def analyser(detector: FaceDetector, classifier: Classifier | None, roster: Roster | None = None,
             single_frame: bool = False) -> FrameAnalyser:
    """The worker's per-frame path, configured as the worker configures it; ``single_frame``: one sighting makes a
    name and a seat (a frame with no before, as ``bench/real_galleries.py``)."""
    cfg = load_config()
    once = {"seat_min_hits": 1, "name_confirm": 1} if single_frame else {}
    return FrameAnalyser(detector, classifier, "gallery", tile_px=cfg.detector.gallery_tile_px, roster=roster,
                         name_match=cfg.analysis.name_match, seat_match=cfg.analysis.seat_match, **once)


def grid_exact(image: Image, truth: list[TileTruth]) -> bool:
    grid = find_grid(image)
    return grid is not None and [t.label for t in grid.tiles] == [t.label for t in truth] and all(
        t.iou((g.x, g.y, g.w, g.h)) > 0.9 for g, t in zip(grid.tiles, truth, strict=True)
    )


def names_and_states(rng: np.random.Generator, faces: list[Image], frames: int) -> dict[str, float]:
    tiles = exact = matched = found = grid_tiles = 0
    off_true = off_hit = video = video_off = 0
    misreads: list[str] = []
    faces_in = detector()
    for i in range(frames):
        n = COUNTS[i % len(COUNTS)]
        width, height = WINDOWS[int(rng.integers(len(WINDOWS)))]
        font = list(LABEL_FONTS)[i % len(LABEL_FONTS)]
        names = class_names(rng, n)
        off = {int(k) for k in np.flatnonzero(rng.random(n) < 0.125)}
        image, truth = compose_gallery(
            n, width=width, height=height, theme="dark" if i % 2 else "light", faces=faces or None, rng=rng,
            names=names, camera_off=off, font=font, label_scale=float(rng.choice([0.8, 1.0, 1.3])),
            speaker=int(rng.integers(n)),
        )
        image = jpeg(image)
        found += grid_exact(image, truth)
        roster = Roster(tuple((name, f"student:{name}") for name in names))
        view = analyser(faces_in, None, roster, single_frame=True).analyse(Frame(image, 0.0, 0)).view
        if view is None:  # no grid found
            tiles += n
            continue
        grid_tiles += n
        for t, r, s in zip(truth, view.readings, view.names, strict=True):
            tiles += 1
            exact += r.name == t.name
            matched += s == f"student:{t.name}"
            if s != f"student:{t.name}" and len(misreads) < 16:
                misreads.append(f"{t.name!r} read {r.name!r}, matched {s!r} ({font}, {n} tiles, {width}x{height})")
            off_true += t.camera_off
            off_hit += t.camera_off and r.camera_off
            video += not t.camera_off
            video_off += (not t.camera_off) and r.camera_off
    for line in misreads:
        print("  not matched:", line)
    return {
        "frames": frames, "grid found %": 100 * found / frames, "tiles": tiles,
        "names read exactly % (all tiles)": 100 * exact / tiles,
        "matched to the right student % (all tiles)": 100 * matched / tiles,
        "tiles in frames whose grid was found": grid_tiles,
        "names read exactly % (tiles of found grids)": 100 * exact / max(1, grid_tiles),
        "matched to the right student % (tiles of found grids)": 100 * matched / max(1, grid_tiles),
        "camera-off tiles judged camera off %": 100 * off_hit / max(1, off_true),
        "video tiles judged camera off %": 100 * video_off / max(1, video),
    }


def identities(rng: np.random.Generator, faces: list[Image]) -> dict[str, float]:
    """A class of 25 (and 10 more on a second page) over 30 frames; no roster: identities are the names read."""
    everyone = class_names(rng, 35)
    follow = analyser(detector(), None)
    reader = follow.gallery.reader
    given: dict[str, set[str]] = {}
    owners: dict[str, set[str]] = {}
    calls_before = unresolved = 0
    for i in range(30):
        if i in (10, 11):
            present = everyone[25:]  # the gallery pages to the second page and back
        else:
            present = [n for n in everyone[:25] if not (15 <= i < 22 and n in everyone[:3])]  # three leave a while
        order = list(rng.permutation(present))
        image, _ = compose_gallery(len(order), width=1920, height=1080, faces=faces or None, names=order,
                                   camera_off={0}, font=list(LABEL_FONTS)[i % 3 + 3], speaker=i % len(order))
        calls_before = reader.stats.calls
        view = follow.analyse(Frame(jpeg(image), float(i), i)).view
        if view is None:
            continue
        for name, student in zip(order, view.names, strict=True):
            if student is None:  # no student yet (a name read once, or not readable): no identity, so no swap
                unresolved += 1
                continue
            given.setdefault(name, set()).add(student)
            owners.setdefault(student, set()).add(name)
    return {
        "students followed": len(given),
        "tile-frames without a student yet (name pending or unread)": unresolved,
        "identity swaps (an identity shared by two students)": sum(len(v) - 1 for v in owners.values()),
        "identity splits (a student under two identities)": sum(len(v) - 1 for v in given.values()),
        "OCR calls on the last frame": reader.stats.calls - calls_before,
        "OCR calls in 30 frames": reader.stats.calls,
    }


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (each Tesseract call is a child process)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Timed:
    """CPU milliseconds spent in a callable, summed until read (``take``)."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.ms = fn, 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = cpu_s()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.ms += 1000 * (cpu_s() - start)

    def take(self) -> float:
        ms, self.ms = self.ms, 0.0
        return ms


def timing(faces: list[Image], frames: int) -> list[tuple[str, float, float, float]]:
    from models.classifier import DEFAULT_MODEL, EmotionClassifier

    worker = analyser(detector(), EmotionClassifier(DEFAULT_MODEL))
    rng = np.random.default_rng(5)
    names = class_names(rng, 25)
    base, _ = compose_gallery(25, width=1920, height=1080, faces=faces or None, names=names, camera_off={3, 17},
                              font="dejavu-sans", speaker=4)
    # TensorFlow and the detector warm up on a frame before anything is timed, in an analyser thrown away after
    analyser(worker.detector, worker.classifier).analyse(Frame(jpeg(base), 0.0, 0))
    # the stages, timed around the analyser's own parts (instance attributes: the path itself is unchanged)
    reader = worker.gallery.reader
    names_cpu = reader.read = Timed(reader.read)  # type: ignore[method-assign]
    faces_cpu = worker.detector.detect_in = Timed(worker.detector.detect_in)  # type: ignore[method-assign]
    assert worker.classifier is not None
    model_cpu = worker.classifier.predict = Timed(worker.classifier.predict)  # type: ignore[method-assign]
    rows: list[tuple[str, float, float, float]] = []
    steady: list[tuple[float, float, float]] = []
    stages: list[tuple[float, float, float, float]] = []  # CPU ms: names, faces, model, the rest
    for i in range(frames + 1):
        noisy = np.clip(base.astype(np.int16) + rng.integers(-2, 3, base.shape), 0, 255).astype(np.uint8)
        image = jpeg(noisy)
        wall0, cpu0 = time.perf_counter(), cpu_s()
        result = worker.analyse(Frame(image, float(i), i))
        wall, cpu = 1000 * (time.perf_counter() - wall0), 1000 * (cpu_s() - cpu0)
        assert result.grid is not None
        parts = (names_cpu.take(), faces_cpu.take(), model_cpu.take())
        stages.append((*parts, cpu - sum(parts)))
        if i == 0:
            rows.append((f"first frame ({len(result.preds)} faces)", wall, cpu, parts[0]))
        else:
            steady.append((wall, cpu, parts[0]))
    rows.append((
        f"steady state, median of {frames}",
        statistics.median(s[0] for s in steady), statistics.median(s[1] for s in steady),
        statistics.median(s[2] for s in steady),
    ))
    rows.append(("OCR calls in steady state", float(reader.stats.calls - 1), 0.0, 0.0))
    for k, stage in enumerate(("CPU ms: names + camera off", "CPU ms: faces in video tiles", "CPU ms: the model",
                               "CPU ms: grid, attribution, the rest")):
        rows.append((f"{stage} (first / steady median)", stages[0][k], statistics.median(s[k] for s in stages[1:]),
                     -1.0))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=80, help="gallery frames for names and camera off (0: timing only)")
    parser.add_argument("--timing-frames", type=int, default=12, help="steady-state frames timed")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    faces: list[Image] = []
    if (FER_DIR / "fer2013_publictest.npz").is_file():
        x, _ = fer_publictest()
        faces = list(x[np.random.default_rng(0).choice(len(x), 64, replace=False)])
    else:
        print(f"(no FER2013 at {FER_DIR}: tiles without faces)")
    rng = np.random.default_rng(args.seed)
    if args.frames > 0:
        print(f"{'measure':<56} {'value':>10}")
        for name, value in {**names_and_states(rng, faces, args.frames), **identities(rng, faces)}.items():
            print(f"{name:<56} {value:>10.1f}" if isinstance(value, float) else f"{name:<56} {value:>10}")
    if not args.skip_timing:
        print(f"\n{'per-frame time, 25 tiles at 1920x1080':<40} {'wall ms':>9} {'cpu ms':>9} {'names ms':>9} {'fps':>6}")
        for name, wall, cpu, names_ms in timing(faces, args.timing_frames):
            if name.startswith("OCR"):
                print(f"{name:<40} {int(wall):>9}")
            elif names_ms < 0:
                print(f"{name:<52} {wall:>9.1f} / {cpu:.1f}")
            else:
                print(f"{name:<40} {wall:>9.0f} {cpu:>9.0f} {names_ms:>9.1f} {1000 / wall:>6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
