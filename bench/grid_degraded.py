"""Does the grid survive what happens to a capture before it reaches us? ``python bench/grid_degraded.py``

Each real screenshot of ``../shared/data/real/galleries`` (read its README; never copied into the repository) is
degraded as the held-back captures may be: halved, scaled to 0.75 or 1.3, re-saved at JPEG 50, blurred then saved at
JPEG 70, put as a window on a dark or a light desktop with a taskbar and a chat panel, or its top and left edges
cropped. A degraded gallery counts when ``find_grid`` gives the same rows, columns and tiles as on the original; the
collage (not a gallery) and the real classroom photos and CCTV frame count when no grid of several tiles is found (a
photo framed as one window on a desktop is one tile, which the gallery analyser searches whole, as a room).
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import numpy.typing as npt

from monitor.gallery import find_grid

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
Image = npt.NDArray[np.uint8]


def _jpeg(img: Image, quality: int) -> Image:
    return np.asarray(cv2.imdecode(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_COLOR))


def _scaled(f: float) -> Callable[[Image], Image]:
    return lambda img: np.asarray(cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR))


def _desktop(colour: tuple[int, int, int]) -> Callable[[Image], Image]:
    def put(img: Image) -> Image:
        h, w = img.shape[:2]
        out = np.full((h + 120, w + 420, 3), colour, np.uint8)
        out[-40:] = (20, 20, 20)  # a taskbar
        out[40 : 40 + h, 60 : 60 + w] = img
        out[40 : 40 + h, 80 + w : 340 + w] = (245, 245, 245)  # a chat panel
        cv2.putText(out, "Chat", (100 + w, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (30, 30, 30), 2)
        return out

    return put


DEGRADATIONS: dict[str, Callable[[Image], Image]] = {
    "scale0.5": _scaled(0.5),
    "scale0.75": _scaled(0.75),
    "scale1.3": _scaled(1.3),
    "jpeg50": lambda img: _jpeg(img, 50),
    "blur+jpeg70": lambda img: _jpeg(np.asarray(cv2.GaussianBlur(img, (3, 3), 0.8), dtype=np.uint8), 70),
    "dark desktop": _desktop((40, 40, 45)),
    "light desktop": _desktop((235, 235, 235)),
    "edges cropped": lambda img: img[img.shape[0] // 30 :, img.shape[1] // 40 :],
}


def shape(img: Image) -> tuple[int, int, int] | None:
    grid = find_grid(img)
    return None if grid is None else (grid.rows, grid.cols, len(grid.tiles))


def main() -> int:
    labels = REAL / "galleries" / "labels.csv"
    if not labels.is_file():
        print(f"skipped: {labels.parent} not found")
        return 0
    rows = list(csv.DictReader(labels.open(encoding="utf-8")))
    print(f"{'file':<42} {'original':>10} " + " ".join(f"{k:>13}" for k in DEGRADATIONS))
    kept = total = 0
    for row in rows:
        read = cv2.imread(str(labels.parent / row["file"]))
        if read is None:
            print(f"error: cannot read {row['file']}", file=sys.stderr)
            return 2
        img = np.asarray(read, dtype=np.uint8)
        base = shape(img)
        cells = []
        for how in DEGRADATIONS.values():
            got = shape(how(img))
            ok = got == base if row["app"] != "other" else got is None or got[2] == 1
            kept += ok
            total += 1
            cells.append("same" if ok else ("none" if got is None else "x".join(map(str, got[:2])) + f"/{got[2]}"))
        name = row["file"][:42]
        print(f"{name:<42} {'none' if base is None else f'{base[0]}x{base[1]}/{base[2]}':>10} "
              + " ".join(f"{c:>13}" for c in cells))
    others = [np.asarray(im, dtype=np.uint8) for p in sorted((REAL / "rooms").glob("*.jpg"))
              if (im := cv2.imread(str(p))) is not None]
    capture = cv2.VideoCapture(str(REAL / "rooms" / "blue_eye_classroom.mp4"))
    ok, frame = capture.read()
    capture.release()
    others += [np.asarray(frame, dtype=np.uint8)] if ok else []
    several = sum((s := shape(how(img))) is not None and s[2] > 1 for img in others
                  for how in [lambda x: x, *DEGRADATIONS.values()])
    print(f"\ngalleries kept as on the original (collage: no grid of several tiles): {kept}/{total}")
    print(f"real classroom photos and CCTV, original and degraded: {several} of {len(others) * (1 + len(DEGRADATIONS))} "
          "given a grid of several tiles")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
