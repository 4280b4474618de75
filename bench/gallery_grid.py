"""How often does ``find_grid`` find the Zoom gallery, exactly, and how fast? ``python bench/gallery_grid.py``

Composes randomised gallery captures (1 to 49 tiles, dark and light themes, window sizes from 640x360 to 2560x1440
and odd ones, 16:9 and 4:3 tiles, speaker borders, chrome on or off, FER2013 faces from ../shared when present,
plain rooms otherwise) plus non-gallery frames (smooth noise, a classroom of faces, a plain textured wall, the
matplotlib sample photo if installed). A gallery is "found" when a grid comes back and "exact" when every tile
matches the truth with IoU > 0.9 and the same label; for non-gallery frames "found" is a false positive. Times are
per call to ``find_grid``: wall clock, and the process's CPU time (the honest figure on a busy machine).
``--stress jpeg90 jpeg75 scale0.75`` also runs every gallery compressed or rescaled; "found" minus "exact" there
is the share of wrong grids.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
import numpy.typing as npt

from monitor.gallery import GalleryGrid, find_grid
from tests.helpers.classroom import background, compose_class, fer_publictest
from tests.helpers.gallery_frames import Theme, TileTruth, compose_gallery, smooth_noise

Image = npt.NDArray[np.uint8]
WINDOWS = [(1280, 720), (1920, 1080), (1000, 800), (1440, 900), (640, 360), (2560, 1440), (800, 1000)]


@dataclass
class Tally:
    frames: int = 0
    found: int = 0
    exact: int = 0
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def add(self, grid: GalleryGrid | None, exact: bool, wall_ms: float, cpu_ms: float) -> None:
        self.frames += 1
        self.found += grid is not None
        self.exact += exact
        self.wall_ms.append(wall_ms)
        self.cpu_ms.append(cpu_ms)

    def row(self, name: str) -> str:
        pct = 100 / max(1, self.frames)
        return (
            f"{name:<22} {self.frames:>6} {self.found * pct:>8.1f} {self.exact * pct:>8.1f} "
            f"{np.mean(self.wall_ms):>8.2f} {np.percentile(self.wall_ms, 95):>8.2f} {np.mean(self.cpu_ms):>8.2f}"
        )


def degraded(image: Image, truth: list[TileTruth], kind: str) -> tuple[Image, list[TileTruth]]:
    """The frame as a video recording or a rescaled capture would show it, and the truth to match."""
    if kind.startswith("jpeg"):
        _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(kind[4:])])
        return np.asarray(cv2.imdecode(data, cv2.IMREAD_COLOR), dtype=np.uint8), truth
    scale = float(kind[5:])
    small = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return small, [
        replace(t, x=round(t.x * scale), y=round(t.y * scale), w=round(t.w * scale), h=round(t.h * scale))
        for t in truth
    ]


def timed(image: Image) -> tuple[GalleryGrid | None, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    grid = find_grid(image)
    return grid, (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def matches(grid: GalleryGrid | None, truth: list[TileTruth]) -> bool:
    if grid is None or len(grid.tiles) != len(truth):
        return False
    return all(t.label == d.label and t.iou((d.x, d.y, d.w, d.h)) > 0.9 for t, d in zip(truth, grid.tiles, strict=True))


def random_gallery(rng: np.random.Generator, faces: Image | None) -> tuple[Image, list[TileTruth], list[str]]:
    n = int(rng.integers(1, 50))
    if rng.random() < 0.2:
        width, height = int(rng.integers(640, 2561)), int(rng.integers(400, 1441))
    else:
        width, height = WINDOWS[int(rng.integers(len(WINDOWS)))]
    theme: Theme = "dark" if rng.random() < 0.5 else "light"
    with_faces = faces is not None and rng.random() < 0.6
    crops = list(faces[rng.choice(len(faces), n, replace=False)]) if with_faces and faces is not None else None
    image, truth = compose_gallery(
        n,
        width=width,
        height=height,
        theme=theme,
        speaker=int(rng.integers(n)) if rng.random() < 0.5 else None,
        faces=crops,
        toolbar=rng.random() < 0.8,
        rng=rng,
        aspect=16 / 9 if rng.random() < 0.8 else 4 / 3,
    )
    size = "1-4 tiles" if n <= 4 else "5-16 tiles" if n <= 16 else "17-49 tiles"
    return (
        image,
        truth,
        [
            "gallery: all",
            f"gallery: {theme}",
            f"gallery: {'faces' if crops else 'plain'}",
            f"gallery: {size}",
            f"gallery: {window_group(width, height)}",
        ],
    )


def window_group(width: int, height: int) -> str:
    if (width, height) == (1920, 1080):
        return "1920x1080"
    return "smaller windows" if width * height < 1920 * 1080 else "larger windows"


def non_galleries(rng: np.random.Generator, faces: Image | None, count: int) -> list[tuple[str, Image]]:
    makers: list[tuple[str, Callable[[int], Image]]] = [
        ("non-gallery: noise", lambda i: smooth_noise(1280, 720, rng)),
        ("non-gallery: wall", lambda i: background(1920, 1080, seed=i)),
    ]
    if faces is not None:
        makers.append(
            (
                "non-gallery: classroom",
                lambda i: compose_class(
                    faces, list(rng.choice(len(faces), 16, replace=False)), 1280, 720, jitter=8, seed=i
                )[0],
            )
        )
    photo = sample_photo()
    if photo is not None:
        makers.append(("non-gallery: photo", lambda i: np.asarray(cv2.resize(photo, (1280, 720)), dtype=np.uint8)))
    return [(makers[i % len(makers)][0], makers[i % len(makers)][1](i)) for i in range(count)]


def sample_photo() -> Image | None:
    try:
        from matplotlib import cbook
    except ImportError:
        return None
    image = cv2.imread(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    return None if image is None else np.asarray(image, dtype=np.uint8)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--frames", type=int, default=200, help="gallery frames (default 200)")
    ap.add_argument("--negatives", type=int, default=40, help="non-gallery frames (default 40)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--stress",
        nargs="*",
        default=[],
        metavar="KIND",
        help="also run each gallery degraded: jpeg90, jpeg75 (a recording), scale0.75 (a rescaled capture)",
    )
    args = ap.parse_args()
    try:
        faces: Image | None = fer_publictest()[0]
    except FileNotFoundError:
        faces = None
        print("FER2013 not found: galleries use plain rooms only, no classroom negatives", file=sys.stderr)
    rng = np.random.default_rng(args.seed)
    find_grid(compose_gallery(4)[0])  # warm up
    tallies: dict[str, Tally] = {}
    misses: list[str] = []
    for i in range(args.frames):
        image, truth, groups = random_gallery(rng, faces)
        grid, wall, cpu = timed(image)
        exact = matches(grid, truth)
        if not exact:
            got = "none" if grid is None else f"{grid.rows}x{grid.cols}/{len(grid.tiles)}"
            misses.append(
                f"frame {i}: {len(truth)} tiles {image.shape[1]}x{image.shape[0]} ({groups[1]}, {groups[2]}): got {got}"
            )
        for g in groups:
            tallies.setdefault(g, Tally()).add(grid, exact, wall, cpu)
        for kind in args.stress:
            worse, worse_truth = degraded(image, truth, kind)
            grid, wall, cpu = timed(worse)
            tallies.setdefault(f"degraded: {kind}", Tally()).add(grid, matches(grid, worse_truth), wall, cpu)
    for name, image in non_galleries(rng, faces, args.negatives):
        grid, wall, cpu = timed(image)
        for g in ("non-gallery: all", name):
            tallies.setdefault(g, Tally()).add(grid, False, wall, cpu)
    print(f"{'set':<22} {'frames':>6} {'found %':>8} {'exact %':>8} {'ms mean':>8} {'ms p95':>8} {'cpu ms':>8}")
    order = ("gallery", "degraded", "non-gallery")
    for name in sorted(tallies, key=lambda k: (order.index(k.split(":")[0]), not k.endswith(": all"), k)):
        print(tallies[name].row(name))
    for line in misses:
        print("  miss", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
