"""How small a face can be and still have its expression read: the real labelled photos shrunk, through the worker's
own classify step. ``python bench/small_faces.py [--faces ../shared/data/real/faces] [--every 1]``

Each photo of ``../shared/data/real/faces`` (read its README; never copied into the repository) is searched by the
worker's default detector (YuNet) at full size; its largest face is then shrunk with the whole photo (``INTER_AREA``,
as a camera's sensor or a gallery's scaling does) until the face box is ``W`` px wide, and the worker's classify step
(``monitor.predictions.classify``: its two crops and their mirror images, the shipped model) reads it from the box
and eyes scaled alike, so the detector's own recall at that size plays no part. Printed per width: agreement with
the photo's label, and, on the calm photos (neutral and happy), the mean share the model puts on angry, sad, fear
and disgust and how many it reads as at least half negative: what a class of small faces would show a teacher.
``model.min_read_px`` (24) is where agreement comes within a few points of the full photo's: under it a face's
student is present with the face not visible (``monitor.analyse.FrameAnalyser``), never given an expression.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np

from bench.real_faces import FACES, load_labels, worker_detector
from db.emotions import EMOTIONS
from models.classifier import EmotionClassifier
from monitor.config import MIN_READ_PX, load_config
from monitor.detections import FaceDetections
from monitor.frame import Frame
from monitor.predictions import classify

WIDTHS = (12, 16, 20, 24, 28, 32, 48, 0)  # 0: the photo as it is
NEGATIVE = [EMOTIONS.index(e) for e in ("angry", "sad", "fear", "disgust")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--faces", type=Path, default=FACES)
    parser.add_argument("--every", type=int, default=1, help="every k-th photo (a quicker look)")
    args = parser.parse_args()
    if not (args.faces / "labels.csv").is_file():
        print(f"skipped: {args.faces} not found")
        return 0
    cfg = load_config()
    clf = EmotionClassifier(cfg.model.path, batch_size=cfg.model.batch_size, engine=cfg.model.engine)
    detect = worker_detector()
    hits = dict.fromkeys(WIDTHS, 0)
    calm: dict[int, list[float]] = {w: [] for w in WIDTHS}
    photos = 0
    for row in load_labels(args.faces)[:: args.every]:
        image = cv2.imread(str(args.faces / row["file"]))
        found = detect(image) if image is not None else None
        if found is None:
            continue
        box, eyes = found
        photos += 1
        label = EMOTIONS.index(row["emotion"])
        for width in WIDTHS:
            k = 1.0 if width == 0 else width / box[2]
            img = image if width == 0 else cv2.resize(image, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
            faces = FaceDetections(
                np.array([[round(v * k) for v in box]], np.int32), np.ones(1, np.float32),
                None if eyes is None else np.array([[[v * k for v in e] for e in eyes]], np.float32),
            )
            read = classify(Frame(img, 0.0, 0), faces, clf)
            if not len(read):
                continue
            probs = np.asarray(read.probs[0])
            hits[width] += int(np.argmax(probs) == label)
            if row["emotion"] in ("neutral", "happy"):
                calm[width].append(float(probs[NEGATIVE].sum()))
    print(f"{photos} real photos with a face found (YuNet at full size); model {cfg.model.path.name}, "
          f"engine {cfg.model.engine}")
    print(f"{'face width':>12} {'agreement':>10} {'calm: mean negative':>20} {'calm: >= 0.5 negative':>22}")
    for width in WIDTHS:
        neg = np.asarray(calm[width])
        mark = "  <- model.min_read_px" if width == MIN_READ_PX else ""
        print(f"{(str(width) + ' px') if width else 'as taken':>12} {hits[width] / max(1, photos):>10.3f} "
              f"{neg.mean() if neg.size else float('nan'):>20.3f} {(neg >= 0.5).mean() if neg.size else float('nan'):>22.3f}"
              f"{mark}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
