"""Which face detector finds more real faces? ``python bench/detectors.py [--frames N]``

Real faces: FER2013 PublicTest crops (from ../shared, at run time only) seated in classroom frames of 1280x720 with
16 faces and 1920x1080 with 25 faces. A face counts as found when a detection overlaps it with IoU >= 0.3; every
other detection is a false positive. Prints one table row per detector and frame size.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from monitor.detections import make_detector
from monitor.frame import Frame
from tests.helpers.classroom import compose_class, fer_publictest, iou

SIZES = [(1280, 720, 16), (1920, 1080, 25)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20, help="frames per size (default 20)")
    ap.add_argument("--detectors", default="haar,mtcnn")
    ap.add_argument("--max-side", type=int, default=960, help="config detector.max_side_px (default 960)")
    ap.add_argument("--min-face", type=int, default=32, help="config detector.min_face_px (default 32)")
    args = ap.parse_args()
    x, _ = fer_publictest()
    rng = np.random.default_rng(0)
    print(f"max_side={args.max_side} min_face={args.min_face}")
    print(f"{'detector':<8} {'frame':>10} {'faces':>6} {'found':>6} {'recall':>7} {'false+':>7} {'ms/frame':>9}")
    for kind in args.detectors.split(","):
        det = make_detector(kind, min_face_px=args.min_face, max_side_px=args.max_side, min_confidence=0.9)
        for w, h, n in SIZES:
            frames = [compose_class(x, list(rng.choice(len(x), n, replace=False)), w, h, jitter=8, seed=i)
                      for i in range(args.frames)]
            det.detect(Frame(frames[0][0], 0.0, 0))  # warm-up (graph tracing for mtcnn)
            found = false_pos = 0
            elapsed = 0.0
            for i, (img, placed) in enumerate(frames):
                t = time.perf_counter()
                got = det.detect(Frame(img, 0.0, i))
                elapsed += time.perf_counter() - t
                truth = [(p.x, p.y, p.size, p.size) for p in placed]
                matched = set()
                for box in got.boxes:
                    b = tuple(int(v) for v in box)
                    hits = [k for k, tb in enumerate(truth) if k not in matched and iou(b, tb) >= 0.3]  # type: ignore[arg-type]
                    if hits:
                        matched.add(hits[0])
                    else:
                        false_pos += 1
                found += len(matched)
            total = n * len(frames)
            print(f"{kind:<8} {f'{w}x{h}':>10} {total:>6} {found:>6} {found / total:>7.1%} "
                  f"{false_pos:>7} {elapsed / len(frames) * 1000:>9.1f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
