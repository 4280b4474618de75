"""Analysed frames per second and time per stage, on the path the worker really runs.

``python bench/pipeline.py [--frames N] [--detector yunet|mtcnn|haar] [--model FILE]``

For a 1280x720 frame with 16 faces and a 1920x1080 frame with 25 faces (real FER2013 PublicTest faces from
../shared, composed at run time): decode (a real MJPG video read by OpenCV), detect, classify (crop, preprocess and
the compiled model on the batch of faces), and seat assignment plus aggregation. The target is 2 analysed frames
per second with 25 faces on a 2-core CPU, so that ``--fps 2`` keeps up in real time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np

from models.classifier import DEFAULT_MODEL, EmotionClassifier
from monitor.aggregate import Aggregator
from monitor.detections import make_detector
from monitor.frame import Frame
from monitor.identity import SeatAssigner
from monitor.predictions import classify
from tests.helpers.classroom import compose_class, fer_publictest, write_video

SIZES = [(1280, 720, 16), (1920, 1080, 25)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--detector", default="yunet", choices=["yunet", "mtcnn", "haar"])
    ap.add_argument("--max-side", type=int, default=960, help="detector downscale (config detector.max_side_px)")
    ap.add_argument("--min-face", type=int, default=0, help="config detector.min_face_px (0: follows the frame)")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = ap.parse_args()
    x, _ = fer_publictest()
    clf = EmotionClassifier(args.model)
    det = make_detector(args.detector, args.min_face, args.max_side)
    rng = np.random.default_rng(1)
    print(f"detector={args.detector} max_side={args.max_side} min_face={args.min_face} cores={os.cpu_count()}")
    print(f"{'frame':>10} {'faces':>5} {'found':>5} {'decode':>8} {'detect':>8} {'classify':>9} {'assign+agg':>10} "
          f"{'total ms':>9} {'frames/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h, n in SIZES:
            frames = [compose_class(x, list(rng.choice(len(x), n, replace=False)), w, h, jitter=4, seed=i)[0]
                      for i in range(args.frames)]
            video = write_video(Path(tmp) / f"{w}x{h}.avi", frames, fps=2)
            seats = SeatAssigner()
            agg = Aggregator(dt.datetime.now(dt.UTC), 10.0, 0.5)
            cap = cv2.VideoCapture(str(video))
            times = np.zeros(4)
            found = 0
            for i in range(args.frames + 1):  # the first frame warms up and is not counted
                t0 = time.perf_counter()
                ok, img = cap.read()
                if not ok:
                    break
                frame = Frame(img, i * 0.5, i)
                t1 = time.perf_counter()
                faces = det.detect(frame)
                t2 = time.perf_counter()
                preds = classify(frame, faces, clf)
                t3 = time.perf_counter()
                labels = seats.assign(faces)
                agg.add_frame(frame.t, [(labels[j], preds.probs[r]) for r, j in enumerate(preds.index)
                                        if labels[j] is not None])
                t4 = time.perf_counter()
                if i:
                    times += [t1 - t0, t2 - t1, t3 - t2, t4 - t3]
                    found += len(faces)
            cap.release()
            ms = times / args.frames * 1000
            total = ms.sum()
            print(f"{f'{w}x{h}':>10} {n:>5} {found / args.frames:>5.1f} {ms[0]:>8.1f} {ms[1]:>8.1f} {ms[2]:>9.1f} "
                  f"{ms[3]:>10.1f} {total:>9.1f} {1000 / total:>9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
