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

from bench.grid_degraded import DEGRADATIONS
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


@needs_real
@pytest.mark.parametrize(
    ("prefix", "how"),
    [("gregoryfdel", "jpeg50"), ("gregoryfdel", "blur+jpeg70"), ("gregoryfdel", "scale0.5"), ("gregoryfdel", "scale0.75"),
     ("chamathpali", "jpeg50"), ("gommy15_zoom_korean_a", "jpeg50"), ("gommy15_zoom_korean_a", "blur+jpeg70"),
     ("gommy15_zoom_korean_b", "jpeg50"), ("gommy15_zoom_korean_b", "blur+jpeg70")],
)
def test_a_degraded_real_gallery_with_thin_gutters_keeps_its_grid(prefix: str, how: str) -> None:
    """Thin gutters beside bright tiles ring 10-20 levels off the background once a capture is re-saved at JPEG 50,
    blurred or scaled: the 3x2 webinar (3-px black gutters between bright blue tiles) lost its grid in all four, the
    640x400 7x7 at JPEG 50. A looser luma tolerance is tried once every background colour failed the strict ones.
    The Korean class's pillarboxed tiles (their bars 8 levels off the dark background) and its speaker's border
    came out narrower or larger than the other tiles at JPEG 50: they join the lattice at the tile size. Every tile
    stays within 3 px of where it is on the original."""
    row = next(r for r in ROWS if r["file"].startswith(prefix))
    original = find_grid(image(row["file"]))
    grid = find_grid(DEGRADATIONS[how](image(row["file"])))
    assert grid is not None and len(grid.tiles) == int(row["tiles"])
    if how.startswith(("jpeg", "blur")) and original is not None:  # same pixel grid: the tiles stay put
        for a, b in zip(original.tiles, grid.tiles, strict=True):
            assert max(abs(a.x - b.x), abs(a.y - b.y), abs(a.w - b.w), abs(a.h - b.h)) <= 3, (a, b)


@needs_real
@pytest.mark.parametrize("prefix", ["ReynaldiGev_Facial-Emotion-Recognition_zoom.", "ReynaldiGev_Facial-Emotion-Recognition_zoomtest",
                                    "ReynaldiGev_Facial-Emotion-Recognition_Screenshot", "gregoryfdel", "DeepSE_face-emotion_faces"])
def test_a_real_gallery_cropped_by_hand_keeps_the_tiles_its_edge_cut(prefix: str) -> None:
    """The screenshot without its top 1/30 and left 1/40: the first column (and row) of tiles is cut by the edge, yet
    shows most of each student. Those tiles were lost (a 5x5 gallery gave 4x4, the 3x2 webinar no grid at all: its
    speaker's border spoiled a quarter of the 2x2 outline left); each keeps its place, as large as what shows."""
    row = next(r for r in ROWS if r["file"].startswith(prefix))
    img = image(row["file"])
    top, left = img.shape[0] // 30, img.shape[1] // 40
    original = find_grid(img)
    grid = find_grid(DEGRADATIONS["edges cropped"](img))
    assert original is not None and grid is not None
    assert (grid.rows, grid.cols, len(grid.tiles)) == (original.rows, original.cols, len(original.tiles))
    for a, b in zip(original.tiles, grid.tiles, strict=True):
        x, y = max(0, a.x - left), max(0, a.y - top)
        want = (x, y, a.x + a.w - left - x, a.y + a.h - top - y)
        assert (a.row, a.col) == (b.row, b.col)
        assert max(abs(p - q) for p, q in zip(want, (b.x, b.y, b.w, b.h), strict=True)) <= 8, (want, b)  # a cut speaker tile with its border: 4 px more all round


@needs_real
@pytest.mark.parametrize("crop", [(slice(0, 335), slice(51, None)), (slice(None), slice(51, None)),
                                  (slice(20, None), slice(0, -40))])
def test_the_7x7_gallery_cut_through_its_faint_gutters_is_numbered_right(crop: tuple[slice, slice]) -> None:
    """The 640x400 7x7 gallery's 1-px gutters are faint: a review's crops gave a cut cell a row of its own, every row
    below it numbered one too many, and tiles overlapping. Whatever is kept now, the numbering follows the tiles."""
    from tests.unit.test_gallery import assert_consistent

    row = next(r for r in ROWS if r["file"].startswith("chamathpali"))
    grid = find_grid(np.ascontiguousarray(image(row["file"])[crop]))
    assert grid is not None and len(grid.tiles) >= 36
    assert_consistent(grid)


def _real_rooms() -> list[np.ndarray]:
    """The real classroom photos and the first frame of the classroom CCTV (skipped when absent)."""
    rooms = REAL.parent / "rooms"
    if not (rooms / "blue_eye_classroom.mp4").is_file():
        pytest.skip(f"real rooms not found at {rooms}")
    photos = [cv2.imread(str(p)) for p in sorted(rooms.glob("*.jpg"))]
    capture = cv2.VideoCapture(str(rooms / "blue_eye_classroom.mp4"))
    ok, frame = capture.read()
    capture.release()
    assert photos and ok and all(p is not None for p in photos)
    return [*photos, frame]


@needs_real
@pytest.mark.parametrize("how", ["jpeg50", "blur+jpeg70", "scale0.5"])
def test_degraded_non_galleries_stay_non_galleries(how: str) -> None:
    """The looser tolerance finds no gallery in the collage or in real classroom photos and CCTV, degraded alike."""
    (collage,) = [r for r in ROWS if r["app"] == "other"]
    assert find_grid(DEGRADATIONS[how](image(collage["file"]))) is None
    for img in _real_rooms():
        assert find_grid(DEGRADATIONS[how](img)) is None


@needs_real
@pytest.mark.parametrize("how", ["dark desktop", "light desktop"])
def test_a_small_gallery_window_with_thin_gutters_on_a_bigger_screen_keeps_its_grid(how: str) -> None:
    """The 640x400 7x7 gallery's gutters are 1-2 px; on a 1060x520 desktop the mask is pooled 2:1 and they fell
    apart (no grid). Each colour's strict mask is looked at again at half the pooling: every tile where it is on the
    original, moved by where the window sits on the desktop (60, 40)."""
    row = next(r for r in ROWS if r["file"].startswith("chamathpali"))
    original = find_grid(image(row["file"]))
    grid = find_grid(DEGRADATIONS[how](image(row["file"])))
    assert original is not None and grid is not None and len(grid.tiles) == len(original.tiles) == 49
    for a, b in zip(original.tiles, grid.tiles, strict=True):
        assert max(abs(a.x + 60 - b.x), abs(a.y + 40 - b.y), abs(a.w - b.w), abs(a.h - b.h)) <= 2, (a, b)


@needs_real
def test_an_upscaled_gallery_whose_gutters_blurred_is_no_grid_rather_than_blocks_of_tiles() -> None:
    """The 640x400 7x7 gallery scaled by 1.3 (bilinear) blurs its 1-px gutters: two blocks of 3x4 tiles came back as
    a 1x2 grid, which would put twelve students in each tile. A grid whose tiles hold gutters along both axes is
    refused (no gallery found beats a wrong one); the real galleries keep theirs (the tests above)."""
    row = next(r for r in ROWS if r["file"].startswith("chamathpali"))
    grid = find_grid(DEGRADATIONS["scale1.3"](image(row["file"])))
    assert grid is None or len(grid.tiles) == 49


@needs_real
def test_a_meeting_window_on_a_dark_desktop_is_a_gallery_not_one_tile() -> None:
    """On a dark desktop the desktop's colour comes first and frames the whole meeting window as one tile; the
    gallery's own background, a later colour, gives the 5x5 grid, and a grid of several tiles wins."""
    row = next(r for r in ROWS if r["file"].startswith("ReynaldiGev_Facial-Emotion-Recognition_zoomtest"))
    grid = find_grid(DEGRADATIONS["dark desktop"](image(row["file"])))
    assert grid is not None and len(grid.tiles) == int(row["tiles"])


@needs_real
def test_a_loose_grid_that_left_out_tiles_beside_it_is_refused() -> None:
    """A gallery filling its window (tiles up to the image's left and right edges), real classroom photos in its six
    tiles, JPEG 50: at the loose tolerance the outer columns merged into the gaps and only the middle column was
    left, a grid of 2 tiles for 6. A grid found at the loose tolerance must show no tile-sized content beside its rows
    on the strict mask: no grid, rather than students left out."""
    from tests.helpers.gallery_frames import compose_gallery

    photos = _real_rooms()
    img, truth = compose_gallery(6, theme="dark", rng=np.random.default_rng(20))
    rng = np.random.default_rng(2006)
    for t in truth:  # each tile's video: a part of a real photo
        p = photos[rng.integers(len(photos))]
        ph, pw = p.shape[:2]
        y, x = rng.integers(0, ph // 3), rng.integers(0, pw // 3)
        img[t.y + 2 : t.y + t.h - 2, t.x + 2 : t.x + t.w - 2] = cv2.resize(p[y : y + ph // 2, x : x + pw // 2],
                                                                           (t.w - 4, t.h - 4))
    grid = find_grid(DEGRADATIONS["jpeg50"](img))
    assert grid is None or len(grid.tiles) == 6
