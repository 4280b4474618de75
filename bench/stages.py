"""Where a frame's time goes on the worker's path: ``python bench/stages.py [--frames 10] [--full-search-s 2]
[--faces real|fer] [--scenario class|new]``

Runs ``FrameAnalyser`` (what the worker runs on every frame) with YuNet and the shipped model over composed 1920x1080
frames with 25 faces, in both layouts: a classroom and a 5x5 Zoom gallery (``bench/pipeline.py``'s
``scenario_frames``: by default the real photos of ../shared/data/real/faces, the same class moving a little from
frame to frame; ``--scenario new`` puts other faces in every seat and tile every frame, ``--faces fer`` FER2013's
48x48 crops, a detector's worst case). Frames carry the wall-clock time since the first, as a live source's do. Each
stage is timed where it is called, in CPU milliseconds (this process, all threads: the figure another load hardly
moves) and wall milliseconds per frame. Stages nest: ``detect_in`` holds the tile ``resize``, ``classify`` holds
``model``.
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

from bench.gallery_h264 import face_pool
from bench.pipeline import scenario_frames
from models.classifier import DEFAULT_MODEL, EmotionClassifier
from monitor import analyse, detections, grid_keeper, identity, names
from monitor.config import AnalysisConfig
from monitor.detections import make_detector
from monitor.frame import Frame
from monitor.gallery_view import FULL_SEARCH_S
from tests.helpers.classroom import fer_publictest

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
    ap.add_argument("--faces", choices=["real", "fer"], default="real",
                    help="compose with the real photos of ../shared/data/real/faces (default) or FER2013's")
    ap.add_argument("--scenario", choices=["class", "new"], default="class",
                    help="the same class moving a little (default), or new faces in every seat or tile every frame")
    args = ap.parse_args()
    try:
        x, _ = fer_publictest()
    except FileNotFoundError as exc:
        print(f"error: FER2013 PublicTest not found ({exc})", file=sys.stderr)
        return 2
    clf = EmotionClassifier(DEFAULT_MODEL)
    det = make_detector("yunet", 0, 960)
    timed(grid_keeper.GridKeeper, "find", "grid (found or kept)")
    timed(names.NameReader, "read", "names + camera off")
    timed(detections.YuNetDetector, "detect", "detect (room)")
    timed(detections.YuNetDetector, "detect_in", "detect_in (tiles)")
    timed(detections, "_crops", "  resize tiles")
    timed(detections.YuNetDetector, "detect_around", "detect_around (room)")
    timed(identity.SeatAssigner, "assign", "seats")
    timed(identity.TileAssigner, "assign", "tiles")
    timed(analyse, "classify", "classify")
    timed(clf, "predict", "  model")
    rng = np.random.default_rng(2)
    pool = face_pool(args.faces) if args.faces == "real" else list(x)
    print(f"1920x1080, 25 {args.faces} faces ({args.scenario}), {args.frames} frames, {os.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.1f}, full_search_s {args.full_search_s}")
    for layout in ("room", "gallery"):
        frames = scenario_frames(pool, layout, args.scenario, args.frames + 1, rng)
        analyser = analyse.FrameAnalyser(
            det, clf, layout, seat_min_age_s=AnalysisConfig().seat_min_age,
            full_search_s=args.full_search_s)
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
