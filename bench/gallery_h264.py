"""Gallery recordings as Zoom writes them (H.264 at about 1 Mbit/s for 1280x720): students invented, names matched
and face tiles covered, through ``FrameAnalyser`` (the worker's path). ``python bench/gallery_h264.py``

Composed classes (real FER2013 faces from ../shared; names ``Student 01``.. as in issue 10, the easiest to misread
into each other; DejaVu Sans labels; dark and light themes; one camera off; every ``--phase`` seconds the tiles
reorder and, half way, one student leaves and one joins), encoded with libx264 through PyAV at Zoom's bits per frame,
decoded with OpenCV and analysed at 2 frames/s without a roster. Per class: students at the end (must equal the
people shown), names matched (a tile's student is its true name as the matcher compares names, ``match_key``: OCR
may drop a space; the share displayed exactly as written is printed too, over tiles and frames after the first second), and
face tiles covered (a video tile with a face whose face was attributed to its true student).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from bench.real_galleries import make_analyser
from monitor.frame import Frame
from monitor.identity import match_key
from tests.helpers.classroom import fer_publictest
from tests.helpers.gallery_frames import compose_gallery

RECORDING_FPS, ANALYSED_FPS = 4, 2


def encode(path: Path, frames: list[np.ndarray], bit_rate: int) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(RECORDING_FPS, 1))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def run_class(n: int, width: int, height: int, theme: str, seconds: int, phase: int, seed: int,
              verbose: bool = False) -> str:
    rng = np.random.default_rng(seed)
    faces_all = fer_publictest()[0]
    names = [f"Student {k:02d}" for k in range(1, n + 2)]
    face_of = {name: faces_all[int(rng.integers(len(faces_all)))] for name in names}
    shown = names[:n]
    off = names[n // 3]
    truths, frames = [], []
    order = list(shown)
    for t in range(seconds):
        if t and t % phase == 0:
            order = list(rng.permutation(order))
            if t >= seconds // 2 and names[n] not in order:  # one leaves, one joins
                order[order.index(names[1])] = names[n]
        image, truth = compose_gallery(len(order), width=width, height=height, theme=theme, names=order,  # type: ignore[arg-type]
                                       faces=[face_of[x] for x in order], camera_off={order.index(off)},
                                       font="dejavu-sans", speaker=t % len(order))
        for _ in range(RECORDING_FPS):
            frames.append(np.clip(image.astype(np.int16) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8))
            truths.append((order, truth))
    people = {x for order, _ in truths for x in order}
    analyser = make_analyser()
    analyser.layout = analyser.requested = "gallery"
    analyser.name_confirm = 2
    analyser.seat_min_hits = 2
    analyser.reset()
    students: set[str] = set()
    matched = shown_as_is = tiles = covered = face_tiles = 0
    misses: list[tuple[int, str, str | None]] | None = [] if verbose else None
    with tempfile.TemporaryDirectory() as d:
        video = Path(d) / "class.mp4"
        encode(video, frames, 1_000_000 * width * height // (1280 * 720) * RECORDING_FPS // 25)
        cap = cv2.VideoCapture(str(video))
        k = 0
        t0 = time.perf_counter()
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if k % (RECORDING_FPS // ANALYSED_FPS) == 0:
                result = analyser.analyse(Frame(image, k / RECORDING_FPS, k))
                students.update(label for label, _ in result.labelled)
                students.update(result.presence)
                order, truth = truths[k]
                if k >= RECORDING_FPS and result.view is not None:  # after the first second (names confirmed)
                    by_pos = {(t["row"], t["col"]): t for t in result.tiles()}
                    face_students = {match_key(s) for s in result.students if s is not None}
                    for name, tt in zip(order, truth, strict=True):
                        tile = by_pos.get((tt.row, tt.col))
                        tiles += 1
                        read = tile["name"] if tile is not None else None
                        same = read is not None and match_key(read) == match_key(name)
                        matched += same
                        shown_as_is += read == name
                        if not same and misses is not None:
                            misses.append((k, name, read))
                        if name != off and tt.face is not None:
                            face_tiles += 1
                            covered += match_key(name) in face_students
            k += 1
        seconds_spent = time.perf_counter() - t0
    # a student is a name as the matcher compares names (``match_key``: OCR may drop a space, "Student01")
    invented = sorted(s for s in students if match_key(s) not in {match_key(p) for p in people})
    missing = sorted(p for p in people if match_key(p) not in {match_key(s) for s in students})
    if misses:
        print("  misses (frame, truth, read):", misses[:40])
    return (f"{n:>3} tiles {width}x{height} {theme:<5}: students {len(students)} for {len(people)} people "
            f"(invented {invented or 'none'}; never a student {missing or 'none'}), names matched {100 * matched / max(1, tiles):.1f}% (displayed exactly as written, spaces "
            f"included: {100 * shown_as_is / max(1, tiles):.1f}%), face tiles "
            f"covered {100 * covered / max(1, face_tiles):.1f}% ({seconds_spent:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--phase", type=int, default=8, help="seconds between reorders")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the tiles whose name was not matched")
    args = parser.parse_args()
    for n, w, h, theme, seed in [(16, 1280, 720, "dark", 1), (25, 1920, 1080, "light", 2)]:
        print(run_class(n, w, h, theme, args.seconds, args.phase, seed, args.verbose), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
