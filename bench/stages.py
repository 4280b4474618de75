"""Where a frame's time goes on the worker's path: ``python bench/stages.py [--frames 10] [--full-search-s 2]``

Runs ``FrameAnalyser`` (what the worker runs on every frame) with YuNet and the shipped model over composed 1920x1080
frames with 25 real FER2013 PublicTest faces (from ../shared, composed at run time), in both layouts: a classroom
(new faces in the same seats every frame) and a 5x5 Zoom gallery (new faces in the same tiles every frame, so no
tile is ever still). Frames carry the wall-clock time since the first, as a live source's do. Each stage is timed
where it is called, in CPU milliseconds (this process, all threads: the figure another load hardly moves) and wall
milliseconds per frame. Stages nest: ``detect_in`` holds the tile ``resize``, ``classify`` holds ``model``.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from models.classifier import DEFAULT_MODEL, EmotionClassifier
from monitor import analyse, detections, identity, names
from monitor.detections import make_detector
from monitor.frame import Frame
from monitor.gallery_view import FULL_SEARCH_S
from tests.helpers.classroom import compose_class, fer_publictest
from tests.helpers.gallery_frames import compose_gallery

CPU: collections.Counter[str] = collections.Counter()
WALL: collections.Counter[str] = collections.Counter()


def timed(owner: Any, attr: str, stage: str) -> None:
    """Replace ``owner.attr`` by the same callable, timed into ``stage``."""
    inner: Callable[..., Any] = getattr(owner, attr)

    def run(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            CPU[stage] += time.process_time() - cpu
            WALL[stage] += time.perf_counter() - wall

    setattr(owner, attr, run)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--full-search-s", type=float, default=FULL_SEARCH_S,
                    help="gallery: every tile in full this often, around its face between (0: in full every frame)")
    args = ap.parse_args()
    try:
        x, _ = fer_publictest()
    except FileNotFoundError as exc:
        print(f"error: FER2013 PublicTest not found ({exc})", file=sys.stderr)
        return 2
    clf = EmotionClassifier(DEFAULT_MODEL)
    det = make_detector("yunet", 0, 960)
    timed(analyse, "find_grid", "find_grid")
    timed(names.NameReader, "read", "names + camera off")
    timed(detections.YuNetDetector, "detect", "detect (room)")
    timed(detections.YuNetDetector, "detect_in", "detect_in (tiles)")
    timed(detections, "_crops", "  resize tiles")
    timed(identity.SeatAssigner, "assign", "seats")
    timed(identity.TileAssigner, "assign", "tiles")
    timed(analyse, "classify", "classify")
    timed(clf, "predict", "  model")
    rng = np.random.default_rng(2)
    print(f"1920x1080, 25 faces, {args.frames} frames, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}, full_search_s {args.full_search_s}")
    for layout in ("room", "gallery"):
        if layout == "room":
            frames = [compose_class(x, list(rng.choice(len(x), 25, replace=False)), 1920, 1080, jitter=4, seed=i)[0]
                      for i in range(args.frames + 1)]
        else:
            frames = [compose_gallery(25, 5, 1920, 1080, faces=list(x[rng.choice(len(x), 25, replace=False)]))[0]
                      for _ in range(args.frames + 1)]
        analyser = analyse.FrameAnalyser(det, clf, layout, full_search_s=args.full_search_s)  # type: ignore[arg-type]
        start = time.perf_counter()
        analyser.analyse(Frame(frames[0], 0.0, 0))  # warm-up: OCR cache, first trace
        CPU.clear()
        WALL.clear()
        cpu, found = time.process_time(), 0
        t0 = time.perf_counter()
        for i, image in enumerate(frames[1:], 1):
            found += len(analyser.analyse(Frame(image, time.perf_counter() - start, i)).faces)
        n = args.frames
        wall_ms, cpu_ms = (time.perf_counter() - t0) / n * 1000, (time.process_time() - cpu) / n * 1000
        print(f"\n{layout}: {found / n:.1f} faces a frame, {cpu_ms:.0f} ms CPU and {wall_ms:.0f} ms wall a frame "
              f"({1000 / wall_ms:.1f} frames/s)")
        print(f"  {'stage':<22} {'cpu ms':>7} {'wall ms':>8}")
        for stage in CPU:
            print(f"  {stage:<22} {CPU[stage] / n * 1000:>7.1f} {WALL[stage] / n * 1000:>8.1f}")
        other = cpu_ms - sum(v for k, v in CPU.items() if not k.startswith("  ")) / n * 1000
        print(f"  {'the rest':<22} {other:>7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
