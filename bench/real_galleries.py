"""The gallery mode on real meeting screenshots, through the worker's own per-frame path (``FrameAnalyser``), and
its speed at 1080p with 25 tiles. ``python bench/real_galleries.py [--names] [--timing-frames 10]``

Material: ``../shared/data/real/galleries`` (10 real screenshots with counts made by eye in ``labels.csv``; read its
README; never copied into the repository). Each file is analysed on its own under ``--layout auto``, as
``python -m monitor analyse`` does. Per file: the grid found against the by-eye grid and tile count (the collage
``app=other`` must give no grid), faces attributed or found against the by-eye ``faces_visible``, names read
against ``names_visible``. ``--names`` prints every name read so a person can check them against the image (no
transcription of the real names is kept in the repository).

Timing: a composed 1920x1080 Zoom gallery of 25 tiles (FER2013 faces from ../shared when present), JPEG 85 with
fresh noise every frame; the first frame (empty OCR cache) and the steady state, wall clock and CPU (this process
and its Tesseract children).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from monitor.analyse import FrameAnalyser, read_image
from monitor.frame import Frame

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "galleries"


def cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def make_analyser() -> FrameAnalyser:
    from models.classifier import EmotionClassifier
    from monitor.config import load_config
    from monitor.detections import make_detector

    cfg = load_config()
    det = cfg.detector
    detector = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)
    return FrameAnalyser(detector, EmotionClassifier(cfg.model.path), "auto", tile_px=det.gallery_tile_px,
                         name_match=cfg.analysis.name_match, seat_min_hits=1, name_confirm=1,
                         ocr=cfg.gallery.ocr, tesseract_lang=cfg.gallery.tesseract_lang)


def expected_tiles(grid: str) -> int:
    if "x" in grid:
        r, c = grid.split("x")
        return int(r) * int(c)
    return sum(int(n) for n in grid.split("+"))


def real_screenshots(analyser: FrameAnalyser, show_names: bool) -> None:
    with open(REAL / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    print(f"material: {REAL} ({len(rows)} files)")
    print(f"{'file':<44} {'by eye':<10} {'found':<12} {'faces':>9} {'named':>7} {'ms':>6}")
    galleries = found_ok = rejected = 0
    faces_total = faces_eye = names_total = names_eye = 0
    for row in rows:
        image = read_image(REAL / row["file"])
        analyser.reset()
        t0 = time.perf_counter()
        result = analyser.analyse(Frame(image, 0.0, 0))
        ms = 1000 * (time.perf_counter() - t0)
        tiles = result.tiles()
        named = [t["name"] for t in tiles if t["name"] is not None]
        grid = result.grid
        found = f"{grid.rows}x{grid.cols} ({len(grid.tiles)})" if grid is not None else "none"
        gallery = row["app"] != "other"
        n_tiles = expected_tiles(row["grid"])
        if gallery:
            galleries += 1
            found_ok += grid is not None and len(grid.tiles) == n_tiles
            names_total += len(named)
            names_eye += int(row["names_visible"])
        else:
            rejected += grid is None
        faces_total += len(result.faces)
        faces_eye += int(row["faces_visible"])
        by_eye = f"{row['grid']} ({n_tiles})" if gallery else "collage"
        print(f"{row['file'][:44]:<44} {by_eye:<10} {found:<12} {len(result.faces):>4}/{row['faces_visible']:<4} "
              f"{len(named):>3}/{row['names_visible']:<3} {ms:>6.0f}")
        if show_names and named:
            print("    names: " + " | ".join(named))
    print(f"grid found with the by-eye tile count: {found_ok}/{galleries}; collage rejected: {rejected}/"
          f"{len(rows) - galleries}")
    print(f"faces found: {faces_total}/{faces_eye} by eye ({100 * faces_total / max(1, faces_eye):.0f}%); "
          f"names read (any text): {names_total}/{names_eye}")


def timing(analyser: FrameAnalyser, frames: int) -> None:
    import cv2

    from bench.gallery_names import class_names, jpeg
    from tests.helpers.classroom import FER_DIR, fer_publictest
    from tests.helpers.gallery_frames import compose_gallery

    faces = list(fer_publictest()[0][:25]) if (FER_DIR / "fer2013_publictest.npz").is_file() else None
    rng = np.random.default_rng(5)
    base, _ = compose_gallery(25, width=1920, height=1080, faces=faces, names=class_names(rng, 25),
                              camera_off={3, 17}, font="dejavu-sans", speaker=4)
    analyser.reset()
    analyser.analyse(Frame(jpeg(base), 0.0, 0))  # TensorFlow and the detector warm up before anything is timed
    analyser.reset()
    walls, cpus = [], []
    for i in range(frames + 1):
        noisy = np.clip(base.astype(np.int16) + rng.integers(-2, 3, base.shape), 0, 255).astype(np.uint8)
        image = jpeg(noisy)
        w0, c0 = time.perf_counter(), cpu_s()
        result = analyser.analyse(Frame(image, float(i), i))
        walls.append(1000 * (time.perf_counter() - w0))
        cpus.append(1000 * (cpu_s() - c0))
        assert result.grid is not None and len(result.grid.tiles) == 25
    print(f"1920x1080, 25 tiles (cv2 threads {cv2.getNumThreads()}): first frame {walls[0]:.0f} ms wall, "
          f"{cpus[0]:.0f} ms CPU; steady state median of {frames}: {statistics.median(walls[1:]):.0f} ms wall "
          f"({1000 / statistics.median(walls[1:]):.1f} frames/s), {statistics.median(cpus[1:]):.0f} ms CPU")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", action="store_true", help="print the names read on each screenshot")
    parser.add_argument("--timing-frames", type=int, default=10, help="steady-state frames timed (0: none)")
    args = parser.parse_args()
    analyser = make_analyser()
    if (REAL / "labels.csv").is_file():
        real_screenshots(analyser, args.names)
    else:
        print(f"skipped the real screenshots: {REAL} not found")
    if args.timing_frames:
        timing(analyser, args.timing_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
