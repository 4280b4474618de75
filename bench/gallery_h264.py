"""Gallery recordings as Zoom writes them (H.264 at about 1 Mbit/s for 1280x720): students invented, names matched
and face tiles covered, through ``FrameAnalyser`` (the worker's path). ``python bench/gallery_h264.py``

Composed classes (real face photos from ../shared/data/real/faces, or FER2013's 48x48 faces with ``--faces fer``; names ``Student 01``.. as in issue 10, the easiest to misread
into each other; DejaVu Sans labels; dark and light themes; one camera off; every ``--phase`` seconds the tiles
reorder and, half way, one student leaves and one joins), encoded with libx264 through PyAV at Zoom's bits per frame,
decoded with OpenCV and analysed at 2 frames/s without a roster. Per class: students at the end (must equal the
people shown), names matched (a tile's student is its true name as the matcher compares names, ``match_key``: OCR
may drop a space; the share displayed exactly as written is printed too, over tiles and frames after the first
second), face tiles covered (a video tile with a face whose face was attributed to its true student), and, to tell
the two apart, faces found (a face tile where the detector found the face) and faces attributed (of the faces found,
those given to their tile's true student).

The real photos are the issue's "real face photos": colour press photos and film stills, turned gray, the face
filling most of the picture, so a tile looks more like a webcam than a 48x48 FER2013 crop (which is a detector's
worst case: tight, low-resolution, many turned or covered faces; with ``--faces fer`` faces found is about 85%).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from bench.real_galleries import make_analyser
from monitor.frame import Frame
from monitor.gallery_view import FULL_SEARCH_S
from monitor.identity import match_key
from tests.helpers.classroom import fer_publictest, write_h264

REAL_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "faces"


def face_pool(kind: str) -> list[np.ndarray]:
    """Gray face pictures to compose with: the real photos (when ../shared has them) or FER2013 PublicTest."""
    if kind == "real" and (REAL_FACES / "labels.csv").is_file():
        import csv

        with (REAL_FACES / "labels.csv").open(newline="") as fh:
            files = sorted(row["file"] for row in csv.DictReader(fh))
        pool = [cv2.imread(str(REAL_FACES / f), cv2.IMREAD_GRAYSCALE) for f in files[::7]]
        return [p for p in pool if p is not None]
    if kind == "real":
        print(f"({REAL_FACES} not found: FER2013 faces instead)")
    return list(fer_publictest()[0])
from tests.helpers.gallery_frames import compose_gallery

RECORDING_FPS, ANALYSED_FPS = 4, 2


def run_class(n: int, width: int, height: int, theme: str, seconds: int, phase: int, seed: int,
              verbose: bool = False, faces: str = "real", full_search_s: float = FULL_SEARCH_S) -> str:
    rng = np.random.default_rng(seed)
    faces_all = face_pool(faces)
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
    analyser.full_search_s = full_search_s
    analyser.reset()
    students: set[str] = set()
    matched = shown_as_is = tiles = covered = face_tiles = found = attributed = 0
    misses: list[tuple[int, str, str | None]] | None = [] if verbose else None
    with tempfile.TemporaryDirectory() as d:
        video = Path(d) / "class.mp4"
        write_h264(video, frames, RECORDING_FPS, 1_000_000 * width * height // (1280 * 720) * RECORDING_FPS // 25)
        cap = cv2.VideoCapture(str(video))
        k = analysed = 0
        cpu = 0.0
        t0 = time.perf_counter()
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if k % (RECORDING_FPS // ANALYSED_FPS) == 0:
                c0 = time.process_time()
                result = analyser.analyse(Frame(image, k / RECORDING_FPS, k))
                cpu += time.process_time() - c0
                analysed += 1
                students.update(label for label, _ in result.labelled)
                students.update(result.presence)
                order, truth = truths[k]
                if k >= RECORDING_FPS and result.view is not None:  # after the first second (names confirmed)
                    by_pos = {(t["row"], t["col"]): t for t in result.tiles()}
                    face_students = {match_key(s) for s in result.students if s is not None}
                    face_tile_labels = {t for t in (result.view.face_tiles or []) if t is not None}
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
                            if f"Tile {tt.row}-{tt.col}" in face_tile_labels:
                                found += 1
                                attributed += match_key(name) in face_students
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
            f"covered {100 * covered / max(1, face_tiles):.1f}% (faces found {100 * found / max(1, face_tiles):.1f}%, "
            f"attributed {100 * attributed / max(1, found):.1f}% of those; {seconds_spent:.0f} s, "
            f"{1000 * cpu / max(1, analysed):.0f} ms CPU an analysed frame)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--phase", type=int, default=8, help="seconds between reorders")
    parser.add_argument("--faces", choices=["real", "fer"], default="real",
                        help="compose with the real photos of ../shared/data/real/faces (default) or FER2013's")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the tiles whose name was not matched")
    parser.add_argument("--full-search-s", type=float, default=FULL_SEARCH_S,
                        help="every tile searched in full this often, between around its last face (0: every frame)")
    parser.add_argument("--seed", type=int, default=None,
                        help="compose both classes with this seed (faces, reorders, noise; default 1 for the 16-tile "
                             "class, 2 for the 25-tile one)")
    args = parser.parse_args()
    for n, w, h, theme, seed in [(16, 1280, 720, "dark", 1), (25, 1920, 1080, "light", 2)]:
        seed = seed if args.seed is None else args.seed
        print(f"seed {seed}: ", end="")
        print(run_class(n, w, h, theme, args.seconds, args.phase, seed, args.verbose, args.faces,
                        args.full_search_s), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
