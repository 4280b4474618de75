"""The grid finder on real meeting screenshots (../shared/data/real/galleries, never copied into the repository).

Each screenshot's tile count and shape were counted by eye (labels.csv). The shared collage of portraits (``app``
other) has no gutters and no labels: it must not be taken for a gallery. Skipped when the material is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.gallery import find_grid

pytestmark = pytest.mark.unit

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real" / "galleries"
ROWS = list(csv.DictReader((REAL / "labels.csv").open(encoding="utf-8"))) if (REAL / "labels.csv").is_file() else []
needs_real = pytest.mark.skipif(not ROWS, reason=f"real screenshots not found at {REAL}")


def per_row(grid: str) -> list[list[int]]:
    """The tiles per row the by-eye count allows: ``5+5+3`` -> [[5, 5, 3]]; ``RxC`` either way round, since one
    count (the 2-row, 3-column webinar written ``3x2``) gives the columns first."""
    if "x" in grid:
        a, b = (int(v) for v in grid.split("x"))
        return [[b] * a, [a] * b]
    return [[int(v) for v in grid.split("+")]]


def image(name: str) -> np.ndarray:
    img = cv2.imread(str(REAL / name))
    assert img is not None, name
    return img


@needs_real
@pytest.mark.parametrize("row", [r for r in ROWS if r["app"] != "other"], ids=lambda r: r["file"][:40])
def test_the_grid_is_found_on_a_real_gallery(row: dict[str, str]) -> None:
    img = image(row["file"])
    grid = find_grid(img)
    assert grid is not None, row["file"]
    assert len(grid.tiles) == int(row["tiles"])
    sizes = {(t.w, t.h) for t in grid.tiles}
    assert len(sizes) == 1  # Zoom's tiles are all one size
    w, h = sizes.pop()
    assert 1.2 <= w / h <= 1.95
    boxes = np.array([(t.x, t.y, t.x + t.w, t.y + t.h) for t in grid.tiles])
    for i, a in enumerate(boxes):  # no two tiles overlap
        for b in boxes[i + 1 :]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])
    rows: dict[int, int] = {}
    for t in grid.tiles:
        rows[t.row] = rows.get(t.row, 0) + 1
    assert list(rows.values()) in per_row(row["grid"])
    assert list(rows) == sorted(rows)  # row counted from the top


@needs_real
def test_the_collage_of_portraits_is_not_a_gallery() -> None:
    (collage,) = [r for r in ROWS if r["app"] == "other"]
    assert find_grid(image(collage["file"])) is None


@needs_real
@pytest.mark.parametrize("quality", [85, 60])
def test_a_recompressed_real_gallery_keeps_its_grid(quality: int) -> None:
    """A screenshot passed on as JPEG again (a shared capture, a recording's frame) still has its grid."""
    row = next(r for r in ROWS if r["file"].startswith("gommy15_zoom_korean_a"))
    ok, buf = cv2.imencode(".jpg", image(row["file"]), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    grid = find_grid(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    assert grid is not None and len(grid.tiles) == int(row["tiles"])
