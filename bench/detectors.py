"""Which face detector finds more real faces? ``python bench/detectors.py [--real] [--frames N]``

``--real``: every real photo, meeting screenshot and classroom-clip frame in ../shared/data/real that
bench/faces_real.json labels (boxes checked by hand), through each detector as the worker configures it. A face
counts as found when a detection overlaps it with IoU >= 0.3; a detection centred in an ``ignore`` region does not
count; every other detection is a false positive. Prints recall, false positives (share of detections) and time.

Real faces: FER2013 PublicTest crops (from ../shared, at run time only) seated in classroom frames of 1280x720 with
16 faces and 1920x1080 with 25 faces. A face counts as found when a detection overlaps it with IoU >= 0.3; every
other detection is a false positive. Prints one table row per detector and frame size.
"""

from __future__ import annotations

import argparse
import json
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


REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
LABELS = Path(__file__).resolve().parent / "faces_real.json"


def real_images() -> list[tuple[str, np.ndarray, dict[str, list[list[int]]]]]:
    """(name, BGR image, labels) for each labelled image; classroom frames are read from the clip by number."""
    import cv2

    labels = json.loads(LABELS.read_text())["images"]
    out = []
    clips: dict[str, list[np.ndarray]] = {}
    for name, lab in labels.items():
        path, _, frame_no = name.partition("#")
        if frame_no:
            if path not in clips:
                cap = cv2.VideoCapture(str(REAL / path))
                clips[path] = []
                while True:
                    ok, img = cap.read()
                    if not ok:
                        break
                    clips[path].append(img)
            img = clips[path][int(frame_no)]
        else:
            img = cv2.imread(str(REAL / path))
        out.append((name, img, lab))
    return out


def score(boxes: np.ndarray, lab: dict[str, list[list[int]]]) -> tuple[int, int, int]:
    """(faces found, false positives, detections counted) of one image against its hand labels."""
    truth = lab["faces"]
    matched: set[int] = set()
    false_pos = counted = 0
    for box in boxes:
        x, y, w, h = (int(v) for v in box)
        cx, cy = x + w / 2, y + h / 2
        hits = [k for k, tb in enumerate(truth) if k not in matched and iou((x, y, w, h), tuple(tb)) >= 0.3]  # type: ignore[arg-type]
        if hits:
            matched.add(max(hits, key=lambda k: iou((x, y, w, h), tuple(truth[k]))))  # type: ignore[arg-type]
            counted += 1
        elif any(ix <= cx <= ix + iw and iy <= cy <= iy + ih for ix, iy, iw, ih in lab["ignore"]):
            continue
        else:
            false_pos += 1
            counted += 1
    return len(matched), false_pos, counted


def main_real(kinds: list[str], max_side: int, min_face: int, verbose: bool) -> int:
    if not LABELS.exists() or not REAL.is_dir():
        print(f"error: needs {REAL} and {LABELS}", file=sys.stderr)
        return 2
    images = real_images()
    groups = {"photos": "rooms/gommy", "galleries": "galleries/", "classroom": "rooms/blue_eye"}
    print(f"real material: {len(images)} images, {sum(len(x[2]['faces']) for x in images)} hand-labelled faces; "
          f"max_side={max_side} min_face={min_face or 'auto'}")
    print(f"{'detector':<8} {'material':<10} {'faces':>6} {'found':>6} {'recall':>7} {'false+':>7} {'fp %':>6} "
          f"{'ms/img':>7}")
    for kind in kinds:
        det = make_detector(kind, min_face, max_side, CONF.get(kind))
        det.detect(Frame(images[0][1], 0.0, 0))  # warm-up
        totals = [0, 0, 0, 0, 0.0]
        for group, prefix in groups.items():
            faces = found = fps = counted = 0
            elapsed = 0.0
            for name, img, lab in images:
                if not name.startswith(prefix):
                    continue
                t = time.perf_counter()
                got = det.detect(Frame(img, 0.0, 0))
                elapsed += time.perf_counter() - t
                f, fp, c = score(got.boxes, lab)
                if verbose and (f < len(lab["faces"]) or fp):
                    print(f"  {kind} {name}: {f}/{len(lab['faces'])} found, {fp} false")
                faces, found, fps, counted = faces + len(lab["faces"]), found + f, fps + fp, counted + c
                n = sum(1 for x in images if x[0].startswith(prefix))
            for i, v in enumerate((faces, found, fps, counted, elapsed)):
                totals[i] += v
            print(f"{kind:<8} {group:<10} {faces:>6} {found:>6} {found / faces:>7.1%} {fps:>7} "
                  f"{fps / max(counted, 1):>6.1%} {elapsed / n * 1000:>7.1f}", flush=True)
        faces, found, fps, counted, elapsed = totals
        print(f"{kind:<8} {'all':<10} {faces:>6} {found:>6} {found / faces:>7.1%} {fps:>7} "
              f"{fps / max(counted, 1):>6.1%} {elapsed / len(images) * 1000:>7.1f}", flush=True)
    return 0


CONF: dict[str, float] = {}  # --conf for yunet; otherwise each detector's default


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20, help="frames per size (default 20)")
    ap.add_argument("--detectors", default="yunet,mtcnn,haar")
    ap.add_argument("--max-side", type=int, default=960, help="config detector.max_side_px (default 960)")
    ap.add_argument("--min-face", type=int, default=0, help="config detector.min_face_px (default 0: auto)")
    ap.add_argument("--real", action="store_true", help="hand-labelled real material instead of composed frames")
    ap.add_argument("--conf", type=float, default=None, help="yunet: minimum score (default: its own)")
    ap.add_argument("-v", "--verbose", action="store_true", help="--real: list each image with a miss or a false one")
    args = ap.parse_args()
    if args.conf is not None:
        CONF["yunet"] = args.conf
    if args.real:
        return main_real(args.detectors.split(","), args.max_side, args.min_face, args.verbose)
    x, _ = fer_publictest()
    rng = np.random.default_rng(0)
    print(f"max_side={args.max_side} min_face={args.min_face}")
    print(f"{'detector':<8} {'frame':>10} {'faces':>6} {'found':>6} {'recall':>7} {'false+':>7} {'ms/frame':>9}")
    for kind in args.detectors.split(","):
        det = make_detector(kind, min_face_px=args.min_face, max_side_px=args.max_side)
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
