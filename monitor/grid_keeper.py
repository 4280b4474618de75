"""The gallery grid of a source over time: ``find_grid`` once, then a check per frame that its gutters are still there.

A meeting's layout changes when someone joins or leaves, the window is resized or the view switched, and not in
between; yet ``find_grid`` on every frame cost 5-8 ms of a 1080p 5x5 gallery's frame. So after a grid is found, each
frame compares the pixels just outside every tile's four edges (the gutters and margins: ``_POINTS_PER_EDGE`` per
edge) with those of the frame the grid was found on, and looks at five pixels inside each tile: a re-layout moves
tiles over the gutters, a window resized or a shared screen replaces them, a tile gone leaves the gutters' colour
where it was, and then the grid is found afresh. Whatever the check says, the grid is found afresh at least
every ``recheck_s`` seconds of the source (a tile added where the check does not look, an empty slot of the last
row), on a new frame size, on a source whose time goes back, and for separate images (all at one time): they never
borrow each other's grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from monitor.gallery import GalleryGrid, find_grid

GRID_RECHECK_S = 2.0  # the grid found afresh at least this often (seconds of the source), as the tiles' full search
_POINTS_PER_EDGE = 8  # pixels looked at just outside each edge of each tile
_GUTTER_TOL = 24  # grey levels on any channel: JPEG and H.264 noise on a flat gutter stays well under it, a tile's
# video or another window over it does not


def _inside_points(grid: GalleryGrid) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(rows, cols) of five pixels inside each tile (its centre and the centres of its quarters), tile by tile."""
    at = np.array([[0.5, 0.5], [0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]])
    ys = np.concatenate([t.y + at[:, 1] * t.h for t in grid.tiles]).astype(np.intp)
    xs = np.concatenate([t.x + at[:, 0] * t.w for t in grid.tiles]).astype(np.intp)
    return ys, xs


def _gutter_points(grid: GalleryGrid, shape: tuple[int, ...]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(rows, cols) of the pixels one pixel outside each tile's edges, inside the image and on no tile."""
    ys: list[npt.NDArray[np.float64]] = []
    xs: list[npt.NDArray[np.float64]] = []
    along = (np.arange(_POINTS_PER_EDGE) + 0.5) / _POINTS_PER_EDGE
    for t in grid.tiles:
        across_x, across_y = t.x + along * t.w, t.y + along * t.h
        for y in (t.y - 1, t.y + t.h):  # above and below
            ys.append(np.full(_POINTS_PER_EDGE, float(y)))
            xs.append(across_x)
        for x in (t.x - 1, t.x + t.w):  # left and right
            ys.append(across_y)
            xs.append(np.full(_POINTS_PER_EDGE, float(x)))
    y = np.concatenate(ys).astype(np.intp)
    x = np.concatenate(xs).astype(np.intp)
    inside = (y >= 0) & (y < shape[0]) & (x >= 0) & (x < shape[1])
    for t in grid.tiles:
        inside &= ~((y >= t.y) & (y < t.y + t.h) & (x >= t.x) & (x < t.x + t.w))
    return y[inside], x[inside]


@dataclass
class GridKeeper:
    """One source's gallery grid, found afresh only when the gutters say the layout changed or the clock is due."""

    recheck_s: float = GRID_RECHECK_S
    found: int = 0  # frames that ran ``find_grid``, and frames that kept the grid: for the benchmarks and tests
    kept: int = 0
    _grid: GalleryGrid | None = None
    _points: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] = field(
        default_factory=lambda: (np.zeros(0, np.intp), np.zeros(0, np.intp)))
    _colours: npt.NDArray[np.int16] = field(default_factory=lambda: np.zeros((0, 3), np.int16))
    _inside: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] = field(
        default_factory=lambda: (np.zeros(0, np.intp), np.zeros(0, np.intp)))
    _filled: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))  # tiles not gutter-coloured
    _at: float | None = None
    _shape: tuple[int, ...] = ()

    def find(self, image: npt.NDArray[np.uint8], t: float) -> GalleryGrid | None:
        """The grid on this frame (``None``: no gallery), as ``find_grid`` would give it."""
        if (self._grid is not None and self._at is not None and image.shape == self._shape
                and 0 < t - self._at < self.recheck_s and len(self._colours)):
            now = image[self._points].astype(np.int16)
            if (int(np.abs(now - self._colours).max()) <= _GUTTER_TOL
                    and not (self._filled & self._gutter_like(image, now)).any()):
                self.kept += 1
                return self._grid
        grid = find_grid(image)
        self.found += 1
        self._grid, self._at, self._shape = grid, t, image.shape
        if grid is not None:
            self._points = _gutter_points(grid, image.shape)
            self._colours = image[self._points].astype(np.int16)
            self._inside = _inside_points(grid)
            self._filled = ~self._gutter_like(image, self._colours)
        return grid

    def _gutter_like(self, image: npt.NDArray[np.uint8], gutters: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
        """Per tile, whether all five of its inside points are the colour of ``gutters`` (this frame's gutter
        pixels): a tile that left the layout with nothing moved over the gutters (the last tile of a row gone)
        changes no gutter pixel, only its own."""
        if not len(gutters):
            return np.zeros(len(self._inside[0]) // 5, bool)
        gutter = np.median(gutters, axis=0)
        inside = image[self._inside].astype(np.int16).reshape(-1, 5, 3)
        return np.asarray((np.abs(inside - gutter).max(axis=2) <= _GUTTER_TOL).all(axis=1), bool)
