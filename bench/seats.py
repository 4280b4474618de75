"""How many seats does the room layout number on the real classroom clip? ``python bench/seats.py [--clip FILE]``

Runs the worker's per-frame path (``FrameAnalyser``, room layout, the configured detector and seat rules
(``analysis.seat_min_age_s``), no emotion model) over
``../shared/data/real/rooms/blue_eye_classroom.mp4`` (real CCTV, 15 students, faces 12-20 px; read its README, never
copied into the repository) at three sampling rates: every 10th frame (2 frames/s, the default ``--fps``), every
4th and every frame. Prints the seats numbered, the faces labelled per frame, the face readings per frame that reach
the stored intervals (the worker's ``Aggregator``: a face at a place numbered later in the same interval counts for
its seat), and in how many frames each seat was seen (a seat seen in a few frames only is a split student or a stray
detection).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from monitor.aggregate import Aggregator, IntervalAggregate
from monitor.analyse import FrameAnalyser
from monitor.config import load_config
from monitor.detections import make_detector
from monitor.frame import Frame
from monitor.room_search import FULL_SEARCH_S

CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "rooms" / "blue_eye_classroom.mp4"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=CLIP, help="room video (default: the real classroom CCTV)")
    ap.add_argument("--full-search-s", type=float, default=FULL_SEARCH_S,
                    help="the whole frame searched this often, around each known face between (0: every frame)")
    args = ap.parse_args()
    if not args.clip.is_file():
        print(f"error: {args.clip}: no such file", file=sys.stderr)
        return 2
    cfg = load_config()
    det = make_detector(cfg.detector.kind, cfg.detector.min_face_px, cfg.detector.max_side_px,
                        cfg.detector.min_confidence)
    print(f"{args.clip.name}, detector {cfg.detector.kind}, seat_match {cfg.analysis.seat_match}, "
          f"full search every {args.full_search_s} s")
    print(f"{'every':>5} {'analysed':>8} {'in full':>7} {'seats':>5} {'faces/frame':>11} {'stored':>6} {'present':>7}  "
          "frames each seat was seen in")
    for step in (10, 4, 1):
        analyser = FrameAnalyser(det, None, "room", seat_match=cfg.analysis.seat_match,
                                 seat_min_age_s=cfg.analysis.seat_min_age, full_search_s=args.full_search_s)
        cap = cv2.VideoCapture(str(args.clip))
        if not cap.isOpened():
            print(f"error: {args.clip}: OpenCV cannot read it", file=sys.stderr)
            return 2
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        agg = Aggregator(dt.datetime.now(dt.UTC), cfg.analysis.interval_s, step / fps, emotions=False)
        intervals: list[IntervalAggregate] = []
        none = np.zeros(0, np.float32)  # presence mode's readings: what counts here is whose they are
        seen: collections.Counter[str] = collections.Counter()
        labelled: list[int] = []
        present: list[int] = []
        i = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if i % step == 0:
                result = analyser.analyse(Frame(np.asarray(image, np.uint8), i / fps, i))
                students = {s for s in result.students if s is not None}
                seen.update(students | set(result.presence))
                labelled.append(len(students))
                present.append(len(students | set(result.presence)))
                intervals += agg.add_frame(i / fps, [(s, none) for s in result.students if s is not None], {},
                                           [(place, none) for place in result.pending.values()], result.promoted)
            i += 1
        cap.release()
        last = agg.flush()
        stored = sum(s.frames_seen for iv in intervals + ([last] if last else []) for s in iv.students)
        print(f"{step:>5} {len(labelled):>8} {analyser.room.full_searches:>7} {analyser.seats.seats:>5} "
              f"{sum(labelled) / len(labelled):>11.1f} {stored / len(labelled):>6.1f} {sum(present) / len(present):>7.1f}  "
              f"{sorted(seen.values(), reverse=True)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
