"""The grid of a source over time (``GridKeeper``): kept while the gutters stay, found afresh when the layout
changes, on the clock, and never carried between separate images. Composed galleries (no shared data)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from monitor.gallery import find_grid
from monitor.grid_keeper import GRID_RECHECK_S, GridKeeper
from tests.helpers.gallery_frames import compose_gallery, smooth_noise

Image = npt.NDArray[np.uint8]


def _jpeg(image: Image, quality: int = 80) -> Image:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)


def _noisy(image: Image, rng: np.random.Generator) -> Image:
    """The same capture a moment later: sensor noise over everything, re-encoded."""
    return _jpeg(np.clip(image.astype(np.int16) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_still_layout_keeps_its_grid_through_video_noise(theme: str) -> None:
    rng = np.random.default_rng(1)
    base, _ = compose_gallery(16, 4, 1280, 720, theme=theme)  # type: ignore[arg-type]
    keeper = GridKeeper()
    first = keeper.find(_noisy(base, rng), 0.0)
    assert first is not None and len(first.tiles) == 16
    for i in range(1, 8):
        assert keeper.find(_noisy(base, rng), 0.2 * i) == first
    assert (keeper.found, keeper.kept) == (1, 7)


@pytest.mark.parametrize("after", [15, 9, 20, 25], ids=["one left", "seven left", "a row more", "a bigger grid"])
def test_a_new_layout_is_found_in_its_first_frame(after: int) -> None:
    keeper = GridKeeper()
    before, _ = compose_gallery(16, None, 1280, 720)
    assert keeper.find(before, 0.0) is not None
    changed, _ = compose_gallery(after, None, 1280, 720)
    grid = keeper.find(changed, 0.5)
    assert grid == find_grid(changed) and grid is not None and len(grid.tiles) == after
    assert keeper.found == 2


def test_a_screen_shared_over_the_gallery_is_no_gallery_at_once() -> None:
    keeper = GridKeeper()
    gallery, _ = compose_gallery(9, 3, 1280, 720)
    assert keeper.find(gallery, 0.0) is not None
    assert keeper.find(smooth_noise(1280, 720), 0.5) is None
    assert keeper.find(gallery, 1.0) is not None and keeper.found == 3


def test_the_grid_is_found_afresh_on_the_clock_and_for_separate_images() -> None:
    keeper = GridKeeper()
    image, _ = compose_gallery(9, 3, 1280, 720)
    keeper.find(image, 0.0)
    keeper.find(image, GRID_RECHECK_S / 2)
    keeper.find(image, GRID_RECHECK_S + 0.1)  # due
    assert (keeper.found, keeper.kept) == (2, 1)
    images = GridKeeper()
    for _ in range(3):  # separate images all carry one time: none borrows another's grid
        images.find(image, 0.0)
    assert images.found == 3
    back = GridKeeper()
    back.find(image, 5.0)
    back.find(image, 4.0)  # a source that restarted
    assert back.found == 2


@pytest.mark.parametrize("gone", [15, 5])
def test_a_tile_that_turns_into_gutter_is_noticed_at_once(gone: int) -> None:
    """A tile painted over with the gutters' colour changes no pixel outside any tile (found by review): the five
    pixels inside each tile tell it, and the grid is found afresh in that frame."""
    image, truth = compose_gallery(16, 4, 1280, 720)
    keeper = GridKeeper()
    assert keeper.find(image, 0.0) is not None
    after = image.copy()
    t = truth[gone]
    after[t.y : t.y + t.h, t.x : t.x + t.w] = image[truth[0].y - 2, truth[0].x + 5]
    assert keeper.find(after, 0.5) == find_grid(after)
    assert keeper.found == 2
