"""Find the video tiles of a Zoom-style gallery view in a screen capture, so faces can be named by their tile.

A gallery capture is a grid of equally sized video tiles (1x1 up to 7x7, 4:3 to 16:9) on a background of one
uniform colour (dark or light theme) that also fills the thin gaps between tiles; window chrome (title bar,
toolbar) sits around it, the last row may be partly filled and centred, and the active speaker's tile carries a
coloured border. :func:`find_grid` returns the tiles in reading order, or ``None`` when the image is not a gallery
(a room photo, a single full-frame camera image); that decision picks the layout under ``--layout auto``, so every
doubt (a tile missed, a grid that does not add up) ends in ``None`` rather than in wrong tiles.

How: try the image's commonest colours as the background. Mark that colour's pixels as background at full
resolution (gaps can be 2 px wide; luma is matched closely and colour loosely, so a compressed recording works
too), pool the mask to at most ``_ANALYSIS_SIDE`` px without losing a gap line, and label the connected regions of
content: gap lines enclose each tile. Keep the regions of the commonest tile size, arrange them on Zoom's lattice
(even pitch, full rows, a centred last row; a tile that blends into the background is inferred from its cell),
refine the edges on the full-resolution mask, then check that the tiles are clean rectangles edged by background
and that no tile was missed beside the grid. Where no colour gives a grid of several tiles at the strict
tolerances, once more at a loose one (a recompressed or blurred capture's thin gutters), checked again for missed
tiles on the strict mask; last, the strict masks at half the pooling (thin gutters that pooling broke). 5-10 ms for
a 1920x1080 gallery (``python bench/gallery_grid.py``); a frame that is no gallery, or a lone tile, pays every pass
(about 35 ms for a 1280x720 photo).
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

MAX_GRID_SIDE = 7
"""Zoom shows at most 7x7 tiles per gallery page."""

_ANALYSIS_SIDE = 640  # longest side of the pooled mask, at most; gap lines survive pooling
_SAMPLE_PIXELS = 20_000  # pixels sampled to rank the candidate background colours
_PRECHECK_ROW_STEP = 4  # rows skipped by the quick test for a background column
_MIN_BACKGROUND_LINE = 0.5  # some row and some column of a gallery are at least this share background
_MAX_CANDIDATES = 3  # background colours tried, most common first
_MIN_COLOUR_SHARE = 0.01  # a background colour fills at least this share of the image (margins and gaps)
_MIN_EDGE_SHARE = 0.5  # or at least this share of the image's outermost pixels (a gallery without chrome)
_LUMA_TOL = 8  # tolerance on the luma of a background pixel (a screen capture is exact; JPEG or video is not)
_EXACT_LUMA_TOL = 4  # then this, below the 8 levels between the dark gallery and its tiles' flat surfaces
_LOOSE_LUMA_TOL = 24  # and, where no background colour gave a grid of several tiles at those, this: a JPEG-50 or
# blurred capture's thin gutters ring 10-20 levels off the background beside bright tiles (the real 3x2 and 7x7
# screenshots re-saved at JPEG 50, halved or blurred: found at 24, not at 8); tried after every colour failed the
# strict passes (one tile found there is kept as the fallback), so a desktop around the meeting is not taken for its
# gutters at a loose tolerance first; only a grid of several tiles is taken from it
_LOOSE_PROBE_PX = 6  # a loose grid's bands beyond it are probed this much further out, on the strict mask
_GUTTER_LEVELS = 48  # a blurred gutter line stays this close to the background's luma on most of its length
_GUTTER_SHARE = 0.4  # and this much closer than the tile's typical line
_BLOCK_GUTTER_SHARE = 0.45  # a tile of a found grid holding gutters along both axes, at any level (``_holds_blocks``)
_THIN_SIDE = (2, 3)  # a thin gutter's sides are looked at this many px away (the nearest to the background of the two)
_THIN_SHARE = 0.6  # a thin gutter's pixel is at most this share of its sides' distance from the background's luma
_THIN_CONTRAST = 16  # and its sides are at least this far from it (else nothing tells a gutter there)
_THIN_MAX_SIDE = 2560  # and only in captures this size or smaller: one shrunk enough to blend its gutters
# (a 4K frame paid 90 ms more a call, every frame of a room whose layout is still undecided)
_FLAT_LEVELS = 10  # a cell of a tile more than this off the tile's median is content (``_mostly_flat``)
_FLAT_CELLS = 0.1  # a tile with less than this share of such cells is one flat surface
_CHANNEL_TOL = 40  # and on each of its channels: compression smears the tiles' colour into thin gaps
_DISTINCT_COLOURS = 8  # candidate colours closer than this on every channel are one background
_LUMA_WEIGHTS = np.array([0.114, 0.587, 0.299])  # BGR, as cv2.COLOR_BGR2GRAY
_MIN_TILE_W, _MIN_TILE_H = 32, 18  # px; a 7x7 gallery in a 640x360 window still has 64x36 px tiles
_MIN_ASPECT, _MAX_ASPECT = 1.2, 1.95  # tiles are 4:3 (1.33) to 16:9 (1.78)
_SIZE_TOL = 0.04  # relative tolerance on tile width/height and lattice pitch
_MAX_GAP_RATIO = 0.4  # the gap between tiles is small next to the tile
_PILLARBOX = 0.7  # a tile's content region may be this much narrower than the tile (a 4:3 video in 16:9: 0.75)
_BORDER_GROWTH = 1.12  # or this much larger both ways (a speaker's border drawn round it)
_MIN_FILL = 0.5  # share of a tile's box that is content (not background colour) at analysis scale
_EDGE_MIN_SHOWN = 0.5  # a tile cut by the capture's edge is kept when this share of its width (height) shows
_EDGE_CONTENT = 0.5  # a tile's edge line is where at least this share of the pixels along it is content
_MIN_OUTER_RING_GAP = 0.7  # mean share of background colour on the 1-px ring just outside each tile
_MIN_INNER_RING_CONTENT = 0.6  # mean share of content on each tile's own outermost pixels: tiles are rectangles
_OUTLINE_SAMPLES = 32  # points per side of a tile for those two checks
_MIN_GRID_COVER = 0.15  # the tiles' bounding box covers at least this share of the image
_MIN_SINGLE_COVER = 0.1  # a lone tile covers at least this share of the image
_MIN_SINGLE_FILL = 0.8  # a lone tile is mostly content at analysis scale
_MIN_HOLE_CONTENT = 0.05  # a lattice cell without a tile of the common size becomes one if this much is content
_MAX_EMPTY_CONTENT = 0.5  # beside the grid (and a partly filled last row) a tile-sized patch has less content
_MAX_RIVAL = 0.25  # a lone tile has no other content of this share of its area clear of the image's edges
_MAX_LINE_BACKGROUND = 0.5  # nor a row or column across it with this share of background

_X, _Y, _W, _H, _AREA = (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA)

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Tile:
    """One video tile: its 1-based grid position in reading order and its rectangle in image pixels."""

    row: int
    col: int
    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if self.row < 1 or self.col < 1:
            raise ValueError(f"Tile row and col are 1-based, got {self.row}-{self.col}")
        if self.w <= 0 or self.h <= 0:
            raise ValueError(f"Tile size must be positive, got {self.w}x{self.h}")

    @property
    def label(self) -> str:
        """The tile's pseudonymous student label, e.g. ``"Tile 2-3"``."""
        return f"Tile {self.row}-{self.col}"

    def contains(self, px: float, py: float) -> bool:
        """Whether the point lies inside the tile (left/top edges inclusive, right/bottom exclusive)."""
        return self.x <= px < self.x + self.w and self.y <= py < self.y + self.h


@dataclass(frozen=True)
class GalleryGrid:
    """The tiles of one gallery capture, in reading order, and the grid's shape (``cols`` of the full rows)."""

    tiles: tuple[Tile, ...]
    rows: int
    cols: int

    def __post_init__(self) -> None:
        if not self.tiles:
            raise ValueError("GalleryGrid needs at least one tile")
        if not (1 <= self.rows <= MAX_GRID_SIDE and 1 <= self.cols <= MAX_GRID_SIDE):
            raise ValueError(
                f"GalleryGrid shape must be within {MAX_GRID_SIDE}x{MAX_GRID_SIDE}, got {self.rows}x{self.cols}"
            )
        outside = [t.label for t in self.tiles if t.row > self.rows or t.col > self.cols]
        if outside:
            raise ValueError(f"Tiles outside the {self.rows}x{self.cols} grid: {outside}")
        if len({t.label for t in self.tiles}) != len(self.tiles):
            raise ValueError("GalleryGrid tiles must have distinct positions")

    def tile_at(self, px: float, py: float) -> Tile | None:
        """The tile containing the point, or ``None`` for a point on a gap, the chrome or a non-finite point."""
        return next((t for t in self.tiles if t.contains(px, py)), None)

    def label_for_box(self, x: float, y: float, w: float, h: float) -> str | None:
        """The label of the tile containing the centre of the box (a face detection), or ``None``."""
        tile = self.tile_at(x + w / 2, y + h / 2)
        return tile.label if tile is not None else None


@dataclass(frozen=True)
class _Rect:
    """A rectangle in full-resolution pixels, with the fractional centre used to line tiles up."""

    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


def find_grid(image: Image) -> GalleryGrid | None:
    """Detect the gallery tiles in a BGR ``uint8`` ``[H, W, 3]`` screen capture; ``None`` when it is no gallery.

    Deterministic and pure. Raises ``ValueError`` for an array that is not a BGR image.
    """
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"find_grid needs a BGR uint8 [H, W, 3] image, got {getattr(image, 'shape', type(image))}")
    height, width = int(image.shape[0]), int(image.shape[1])
    if width < 2 * _MIN_TILE_W or height < 2 * _MIN_TILE_H:
        logger.debug("image %dx%d is too small for a gallery", width, height)
        return None
    gray = np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    grid = _find_whole_tiles(image, gray)
    return _with_edge_tiles(gray, grid) if grid is not None and len(grid.tiles) > 1 else grid


def _find_whole_tiles(image: Image, gray: Image) -> GalleryGrid | None:
    """``find_grid`` without the tiles the capture's edge cuts."""
    height, width = int(image.shape[0]), int(image.shape[1])
    factor = 1 << max(0, math.ceil(math.log2(max(width, height) / _ANALYSIS_SIDE)))  # pooling halves the mask
    candidates = _background_candidates(image)
    # The background runs down most of the image in some column (a side margin, a gap between columns), and columns
    # survive skipping rows: a quarter of the work rules out most colours of a camera image.
    colours = [c for c in candidates
               if _runs_down(_gap_mask(image[::_PRECHECK_ROW_STEP], gray[::_PRECHECK_ROW_STEP], c))]
    strict: list[Image] = []  # per colour, its mask at _LUMA_TOL
    grid, lone = _grid_at(image, gray, colours, factor, strict)
    if grid is not None and not _holds_blocks(gray, grid):
        return grid
    # Pooling keeps a gap line that is background along its whole length; a 1-2 px gutter that compression or
    # scaling left only partly within tolerance can fall apart in the pooled blocks (a 640x400 7x7 gallery window
    # on a bigger screen). So where no pass gave a grid of several tiles, each colour's strict mask is looked at once
    # more at half the pooling (a photo pays one more labelling a colour: ``bench/gallery_grid.py``).
    if factor > 1:
        for mask in strict:
            grid = _grid_for_gap_mask(mask, factor // 2)
            if grid is not None and len(grid.tiles) > 1 and not _holds_blocks(gray, grid):
                return grid
    # Last, gutters that scaling blended into the tiles beside them (a capture saved at 0.75x: a 2 px gutter is
    # 1.5 px of mixed pixels, none within tolerance of the background): the thin lines nearer the background's luma
    # than the pixels a few px away on both sides (``_thin_gutters``) join each candidate colour's strict mask, and
    # the test above, which such a gallery's narrow margins can fail, is made again on the joined mask.
    masks = dict(zip((c.tobytes() for c in colours), strict, strict=False))  # stops at a colour whose grid was blocks
    for colour in candidates if max(width, height) <= _THIN_MAX_SIDE else ():
        luma = float(np.dot(colour, _LUMA_WEIGHTS))
        mask = masks.get(colour.tobytes())
        if mask is None:
            rows = image[::_PRECHECK_ROW_STEP], gray[::_PRECHECK_ROW_STEP]  # vertical lines survive skipping rows
            if not _runs_down(cv2.bitwise_or(_gap_mask(*rows, colour), _thin_gutters(rows[1], luma, rows_too=False))):
                continue
            mask = _gap_mask(image, gray, colour, _LUMA_TOL)
        joined = cv2.bitwise_or(mask, _thin_gutters(gray, luma))
        grid = _grid_for_gap_mask(joined, factor)
        if grid is not None and len(grid.tiles) > 1 and not _holds_blocks(gray, grid) and not _mostly_flat(gray, grid):
            return grid
    return lone


def _with_edge_tiles(gray: Image, grid: GalleryGrid) -> GalleryGrid:
    """``grid`` with the tiles that the capture's edge cuts: a screenshot cropped by hand, a meeting window partly off
    the screen. The finder's tiles have background all round; a column (row) of tiles cut by the left edge (any edge)
    is there when no whole tile fits between the grid and that edge, at least ``_EDGE_MIN_SHOWN`` of a tile shows,
    and, beside every row of the grid that starts at the grid's first column (but the last row, which may be short),
    the cut cell is judged as a tile is: mostly content, its outline inside content and just outside it (above,
    below, towards the grid) the gutters' colour, which is the median of the pixels just outside the tiles. A cut
    tile is at most as large as what shows and takes the row (column) of the tile it lies beside; two passes round
    the four edges give the corner a tile cut both ways. Any doubt (a cell that overlaps another tile, a row left
    without its cut tile) keeps the grid of whole tiles, whose numbering is then still Zoom's."""
    tiles = grid.tiles
    luma = _gutter_luma(gray, grid)
    beside = [b.x - a.x - a.w for a, b in itertools.pairwise(tiles) if a.row == b.row]
    below = [b.y - a.y - a.h for a in tiles for b in tiles if b.row == a.row + 1 and abs(b.x - a.x) <= 2]
    if luma is None or not (beside or below):
        return grid
    space_x = int(statistics.median(beside or below))  # one gutter width when the grid has one row or column
    space_y = int(statistics.median(below or beside))
    tile_w = int(statistics.median(t.w for t in tiles))
    tile_h = int(statistics.median(t.h for t in tiles))
    height, width = gray.shape
    shown = (min(t.x for t in tiles) - space_x, width - max(t.x + t.w for t in tiles) - space_x,
             min(t.y for t in tiles) - space_y, height - max(t.y + t.h for t in tiles) - space_y)
    if not any(_EDGE_MIN_SHOWN * size <= room < size + 2
               for room, size in zip(shown, (tile_w, tile_w, tile_h, tile_h), strict=True)):
        return grid  # no edge close enough to cut a tile: the usual capture, with chrome or margins round the grid
    background = cv2.compare(cv2.absdiff(gray, np.full_like(gray, round(luma))), _LUMA_TOL, cv2.CMP_LE)
    # each tile with its place in the lattice: (row, column), a cut tile's one before the first or after the last
    placed: list[tuple[_Rect, tuple[int, int]]] = [(_Rect(t.x, t.y, t.w, t.h), (t.row, t.col)) for t in tiles]
    for _ in range(2):
        for transpose, flip in ((False, False), (False, True), (True, False), (True, True)):
            # each edge looked at as the left one: the mask (and rectangles) transposed for top and bottom,
            # mirrored for right and bottom
            view = background.T if transpose else background
            view = view[:, ::-1] if flip else view
            span = view.shape[1]
            size, space = (tile_h, space_y) if transpose else (tile_w, space_x)
            turned = [_mirrored(_transposed(r, transpose), flip, span) for r, _ in placed]
            step = 1 if flip else -1
            for cell, k in _left_edge_cells(view, turned, size, space, short_last=not transpose):
                row, col = placed[k][1]
                placed.append((_transposed(_mirrored(cell, flip, span), transpose),
                               (row + step, col) if transpose else (row, col + step)))
    if len(placed) == len(tiles):
        return grid
    rects = [r for r, _ in placed]
    if any(min(a.x + a.w, b.x + b.w) > max(a.x, b.x) and min(a.y + a.h, b.y + b.h) > max(a.y, b.y)
           for a, b in itertools.combinations(rects, 2)):
        return grid  # a cut cell ran over a faint gutter into its neighbour's: no tiles rather than wrong ones
    keys = sorted({row for _, (row, _) in placed})
    rows = [sorted((p for p in placed if p[1][0] == key), key=lambda p: p[1][1]) for key in keys]
    if len(rows) > MAX_GRID_SIDE or max(len(row) for row in rows) > MAX_GRID_SIDE:
        return grid
    logger.debug("%d tiles cut by the capture's edge", len(rects) - len(tiles))
    return GalleryGrid(
        tiles=tuple(Tile(row=i + 1, col=j + 1, x=r.x, y=r.y, w=r.w, h=r.h)
                    for i, row in enumerate(rows) for j, (r, _) in enumerate(row)),
        rows=len(rows),
        cols=max(len(row) for row in rows),
    )


def _transposed(r: _Rect, yes: bool) -> _Rect:
    return _Rect(r.y, r.x, r.h, r.w) if yes else r


def _mirrored(r: _Rect, yes: bool, span: int) -> _Rect:
    """``r`` mirrored left to right in an image ``span`` px wide (its own inverse, as ``_transposed`` is)."""
    return _Rect(span - r.x - r.w, r.y, r.w, r.h) if yes else r


def _left_edge_cells(
    background: Image, rects: list[_Rect], tile_w: int, space: int, short_last: bool
) -> list[tuple[_Rect, int]]:
    """The cells of the tiles cut by the left edge of ``background`` (255: the gutters' colour), each with the index
    in ``rects`` of the tile it lies beside; none unless every tile at the grid's left edge has one (with
    ``short_last``, the lowest may lack it: a last row that is short)."""
    x0 = min(r.x for r in rects)
    shown = x0 - space
    if shown >= tile_w + 2 or shown < _EDGE_MIN_SHOWN * tile_w:
        return []  # a whole tile with background round it fits there (the finder judged that side), or too little shows
    height = background.shape[0]
    reach = space + 3  # the grid's edges and gutter are off by a pixel or two in a blurred or bordered capture
    first = sorted((k for k, r in enumerate(rects) if abs(r.x - x0) <= max(2, _SIZE_TOL * tile_w)),
                   key=lambda k: rects[k].y)
    cells: list[tuple[_Rect, int]] = []
    for k in first:
        r = rects[k]
        # the cell's edges where its content ends, as the finder refines a row's (``_refine_row``)
        inset = r.h // 4
        across = _content_profile(background[r.y + inset : r.y + r.h - inset, : min(x0, shown + reach)], axis=0)
        right = _outer_edges(across, 0, shown, reach)[1]
        lo_y = max(0, r.y - reach)
        down = _content_profile(background[lo_y : min(height, r.y + r.h + reach), :right], axis=1)
        top, bottom = (lo_y + e for e in _outer_edges(down, r.y - lo_y, r.y + r.h - lo_y, reach))
        cell = _Rect(0, top, right, bottom - top)
        if (_EDGE_MIN_SHOWN * tile_w <= right <= tile_w + 1 and abs(top - r.y) <= reach
                and abs(bottom - r.y - r.h) <= reach and _is_edge_tile(background, cell)):
            cells.append((cell, k))
        elif not (short_last and k == first[-1] and len(first) > 1):
            # Zoom fills every row but the last: a cut column has a tile beside each; the window's chrome or a
            # toolbar at that edge has content beside a few at most
            return []
    return cells


def _is_edge_tile(background: Image, cell: _Rect) -> bool:
    """Whether ``cell``, at the left edge of ``background``, is a tile: mostly content, its own outline (top, bottom,
    right) content and the lines just outside those sides the gutters' colour (per side the better of 1 and 2 px
    out). The side that fares worst is left out of the outer ring when all three are in the image: a speaker's border
    drawn round the tile beside it lies on one."""
    height = background.shape[0]
    x1, y1 = cell.x + cell.w, cell.y + cell.h
    if _content_share(background, cell) < _MIN_FILL:
        return False

    # the top (bottom) side only where the lines up to 2 px beyond it are in the image: the same sides at every d
    ends = [(y, step) for y, step in ((cell.y, -1), (y1 - 1, 1)) if 0 <= y + 2 * step < height]

    def sides(d: int) -> list[float]:  # the share of the gutters' colour on each side's line, ``d`` px out
        lines = [background[cell.y : y1, x1 - 1 + d]] + [background[y + step * d, cell.x : x1] for y, step in ends]
        return [float(np.count_nonzero(line)) / max(1, line.size) for line in lines]

    outer = np.max([sides(d) for d in (1, 2)], axis=0)
    inner = 1.0 - min(float(np.mean(sides(-d))) for d in (0, 1))
    return _trimmed_mean(outer) >= _MIN_OUTER_RING_GAP and inner >= _MIN_INNER_RING_CONTENT


def _gutter_luma(gray: Image, grid: GalleryGrid) -> float | None:
    """The median luma of the pixels just above and left of the tiles (the gutters'), ``None`` if there are none."""
    ring = [gray[t.y - 1, t.x : t.x + t.w] for t in grid.tiles if t.y > 0]
    ring += [gray[t.y : t.y + t.h, t.x - 1] for t in grid.tiles if t.x > 0]
    return float(np.median(np.concatenate(ring))) if ring else None


def _mostly_flat(gray: Image, grid: GalleryGrid) -> bool:
    """Whether most tiles of ``grid`` are one flat surface: a wall of ceramic tiles (its grout lines are thin
    lines near the wall's colour too, and a review's probe got a 6x7 grid of them from a room camera), not a
    gallery, whose tiles show video. A tile is flat when under ``_FLAT_CELLS`` of a coarse grid of cells over its
    inside differ from their median by more than ``_FLAT_LEVELS``. (A gallery mostly of cameras that are off, and
    rescaled until its gutters blended away, is refused with it: no grid rather than a wall's.)"""
    flat = 0
    for t in grid.tiles:
        inset_x, inset_y = t.w // 10, t.h // 10
        inside = gray[t.y + inset_y : t.y + t.h - inset_y, t.x + inset_x : t.x + t.w - inset_x]
        if inside.size == 0:
            continue
        cells = cv2.resize(inside, (16, 9), interpolation=cv2.INTER_AREA).astype(np.int16)
        flat += float((np.abs(cells - np.median(cells)) > _FLAT_LEVELS).mean()) < _FLAT_CELLS
    return flat * 2 > len(grid.tiles)


def _runs_down(mask: Image) -> bool:
    """Whether some column of ``mask`` is at least ``_MIN_BACKGROUND_LINE`` background."""
    return float(cv2.reduce(mask, 0, cv2.REDUCE_AVG, dtype=cv2.CV_32F).max()) >= _MIN_BACKGROUND_LINE * 255


def _thin_gutters(gray: Image, luma: float, rows_too: bool = True) -> Image:
    """255 on the pixels of thin lines (1-2 px, either axis) that stay near the background's ``luma``
    (``_GUTTER_LEVELS``) and are much nearer it (``_THIN_SHARE``) than the pixels ``_THIN_SIDE`` px away on both
    sides across the line, themselves at least ``_THIN_CONTRAST`` levels from it: what is left of a gutter whose
    pixels a rescaled capture mixed with the tiles'. Content gives such lines too (an edge, a name label's box), but
    seldom along a whole tile's side, which the grid checks after it ask for. ``rows_too=False``: vertical lines
    only (on every ``k``-th row of an image, for a quick test)."""
    dist = cv2.absdiff(gray, np.full_like(gray, round(luma)))
    near = cv2.compare(dist, _GUTTER_LEVELS, cv2.CMP_LE)
    reach = max(_THIN_SIDE)
    out = np.zeros_like(gray)
    for ksize in ((2 * reach + 1, 1), (1, 2 * reach + 1))[: 2 if rows_too else 1]:  # across vertical lines, then rows
        kernel = np.zeros(ksize[::-1], np.uint8).reshape(-1)
        kernel[[reach - k for k in _THIN_SIDE] + [reach + k for k in _THIN_SIDE]] = 1
        # the nearer to the background of the pixels _THIN_SIDE px before and after (an erosion is a minimum)
        side = cv2.erode(dist, kernel.reshape(ksize[::-1]), borderType=cv2.BORDER_CONSTANT, borderValue=255)
        line = cv2.bitwise_and(cv2.compare(dist, cv2.multiply(side, _THIN_SHARE, dtype=cv2.CV_8U), cv2.CMP_LE),
                               cv2.compare(side, _THIN_CONTRAST, cv2.CMP_GE))
        out = cv2.bitwise_or(out, line)
    return np.asarray(cv2.bitwise_and(out, near), dtype=np.uint8)


def _holds_blocks(gray: Image, grid: GalleryGrid) -> bool:
    """Whether the tiles of ``grid`` are blocks of smaller tiles whose gutters blurred into them (an upscaled
    capture's 1-px gutters: a 7x7 gallery came back as two 3x4 blocks): every tile crossed by lines near the
    gutters' luma at every ``k / c`` of its width and every ``k / r`` of its height, the same ``c`` and ``r`` (2 or
    more) in every tile, cutting it into video-tile shapes. Lines along one axis only are content (a shelf, a door
    frame), and a pattern behind one student (a tiled wall) is not in every tile: both count for nothing. The
    gutters' luma is the median of the pixels just above and left of the tiles."""
    luma = _gutter_luma(gray, grid)
    if luma is None:
        return False
    shapes: set[tuple[int, int]] = set()
    for t in grid.tiles:
        tile = gray[t.y : t.y + t.h, t.x : t.x + t.w]
        step = max(1, min(t.w, t.h) // 64)  # every line, but only some of its pixels: a share is all that counts
        cols = _split_lines(_line_level(tile[::step], luma, 0), levels=255.0, share=_BLOCK_GUTTER_SHARE)
        rows = _split_lines(_line_level(tile[:, ::step], luma, 1), levels=255.0, share=_BLOCK_GUTTER_SHARE)
        w, h = t.w / len(cols), t.h / len(rows)
        shapes.add((len(cols), len(rows)))
        if (len(cols) < 2 or len(rows) < 2 or len(shapes) > 1 or w < _MIN_TILE_W or h < _MIN_TILE_H
                or not _MIN_ASPECT <= w / h <= _MAX_ASPECT):
            return False  # a whole tile, or blocks of another make: a real gallery's tiles
    return True


def _line_level(pixels: Image, luma: float, axis: int) -> npt.NDArray[np.float32]:
    """Per line across ``axis`` of ``pixels``, the 80th percentile of their distance from ``luma`` (the nearest
    rank, by partition: cheaper than ``np.percentile``'s interpolation, which a share threshold does not need)."""
    dist = np.abs(pixels.astype(np.float32) - luma)
    k = int(0.8 * (dist.shape[axis] - 1))
    return np.asarray(np.take(np.partition(dist, k, axis=axis), k, axis=axis), dtype=np.float32)


def _grid_at(
    image: Image, gray: Image, colours: list[npt.NDArray[np.int32]], factor: int, strict: list[Image]
) -> tuple[GalleryGrid | None, GalleryGrid | None]:
    """``find_grid``'s passes at one pooling ``factor``: a grid of several tiles, else ``(None, lone tile or
    None)``; ``strict`` is filled with each colour's mask at ``_LUMA_TOL``."""
    lone: GalleryGrid | None = None  # the first one-tile result: kept while a grid of several tiles is looked for
    retry: list[Image] = []  # strict and exact masks on which several tile-shaped regions gave no grid
    for loose in (False, True):
        for k, colour in enumerate(colours):
            if not loose:
                strict.append(_gap_mask(image, gray, colour, _LUMA_TOL))
            # At the loose tolerance a whole tile can blend into the gaps, and the checks beside the grid with it:
            # only the strict passes' masks are looked at again below.
            grid = _grid_for_colour(image, gray, colour, factor, strict[k], loose, None if loose else retry)
            if grid is None:
                continue
            if len(grid.tiles) > 1:
                return grid, None
            # one tile: a one-person call, or the whole meeting window on a desktop of another colour whose own
            # background (the gallery's gutters) is a later colour; or a gallery whose gutters were blurred away
            split = _split_blurred(gray, float(np.dot(colour, _LUMA_WEIGHTS)), grid)
            if len(split.tiles) > 1:
                return split, None
            lone = lone or split
    # Last, tiles whose content region is not the tile: a pillarboxed 4:3 video in a 16:9 tile, whose bars blend into
    # the background of a compressed capture (the same height, narrower), or the active speaker's border (a few px
    # larger all round). Only once every colour failed every pass above do they join the commonest size's regions,
    # each in the lattice cell it lies in; the lattice and every check after it judge them as any other tile. Only
    # the strict and exact masks on which several tile-shaped regions gave no grid are looked at again (a photo
    # seldom has any), in the order of the passes above.
    for mask in retry:
        grid = _grid_for_gap_mask(mask, factor, framed=True)
        if grid is not None and len(grid.tiles) > 1:
            return grid, None
    return None, lone


def _grid_for_colour(
    image: Image, gray: Image, colour: npt.NDArray[np.int32], factor: int, strict: Image, loose: bool,
    partial: list[Image] | None = None,
) -> GalleryGrid | None:
    """The gallery on ``colour``'s background at the strict tolerances (``strict``: its mask at ``_LUMA_TOL``) or at
    the loose one (``_LOOSE_LUMA_TOL``).

    Strict: the tolerance a compressed capture needs first; then the exact colour, for a lossless capture whose
    tiles hold surfaces within a few levels of the background (Zoom paints the bars of a pillarboxed 4:3 tile 8
    levels lighter than the dark gallery, 34 against 26, and those would read as gaps). Loose, only once every colour
    failed the strict ones, and only a grid of several tiles (at 24 levels a dark video merges into the gaps): one
    found there is checked again for missed tiles on the strict mask (``_loose_grid_holds``). ``partial`` collects the
    masks tried on which several tile-shaped regions gave no grid."""
    if loose:
        grid = _grid_for_gap_mask(_gap_mask(image, gray, colour, _LOOSE_LUMA_TOL), factor, partial=partial)
        return grid if grid is not None and len(grid.tiles) > 1 and _loose_grid_holds(strict, grid) else None
    return (_grid_for_gap_mask(strict, factor, partial=partial)
            or _grid_for_gap_mask(_gap_mask(image, gray, colour, _EXACT_LUMA_TOL), factor, partial=partial))


def _loose_grid_holds(strict: Image, grid: GalleryGrid) -> bool:
    """Whether a grid found at the loose tolerance missed no tile, judged on the strict mask: no tile-sized content
    beyond it (``_misses_tiles``, its band ends probed ``_LOOSE_PROBE_PX`` further out), and none beside any of its
    rows up to the image's edge (a gallery filling the window, whose outer tiles merged into the gaps at 24 levels,
    left only its middle column)."""
    rows = [[_Rect(t.x, t.y, t.w, t.h) for t in grid.tiles if t.row == r] for r in range(1, grid.rows + 1)]
    rows = [row for row in rows if row]
    if _misses_tiles(strict, rows, slack=_LOOSE_PROBE_PX):
        return False
    width = strict.shape[1]
    tile_w, tile_h = rows[0][0].w, rows[0][0].h
    for row in rows:
        left, right = row[0].x - _LOOSE_PROBE_PX, row[-1].x + row[-1].w + _LOOSE_PROBE_PX
        for x0, x1 in ((max(0, left - tile_w), left), (right, min(width, right + tile_w))):
            if x1 - x0 >= tile_w // 2 and _content_share(strict, _Rect(x0, row[0].y, x1 - x0, tile_h)) >= _MAX_EMPTY_CONTENT:
                return False
    return True


def _gap_mask(image: Image, gray: Image, colour: npt.NDArray[np.int32], luma_tol: float = _LUMA_TOL) -> Image:
    """255 where a pixel has the background colour: its luma within a few levels, each channel roughly.

    A screen capture is exact, but a compressed one (JPEG, video) is not: luma stays within a few levels while
    4:2:0 chroma smears the tiles' colour into thin gaps, and a gap line that breaks merges two tiles.
    """
    luma = float(np.dot(colour, _LUMA_WEIGHTS))
    near_luma = cv2.inRange(gray, max(0.0, luma - luma_tol), min(255.0, luma + luma_tol))
    near_colour = cv2.inRange(image, np.clip(colour - _CHANNEL_TOL, 0, 255), np.clip(colour + _CHANNEL_TOL, 0, 255))
    return np.asarray(cv2.bitwise_and(near_luma, near_colour), dtype=np.uint8)


def _background_candidates(image: Image) -> list[npt.NDArray[np.int32]]:
    """Colours to try as the background: the image's commonest, then the commonest round its edge.

    A gallery without chrome has only a thin margin of background, too little to stand out in a sample of the
    whole image but all of the image's outermost pixels.
    """
    height, width = image.shape[:2]
    step = max(1, math.isqrt(height * width // _SAMPLE_PIXELS))
    candidates = _commonest_colours(image[::step, ::step].reshape(-1, 3), _MIN_COLOUR_SHARE, _MAX_CANDIDATES)
    edge = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    for colour in _commonest_colours(edge, _MIN_EDGE_SHARE, 1):
        if all(np.abs(colour - c).max() > _DISTINCT_COLOURS for c in candidates):
            candidates.append(colour)
    return candidates


def _commonest_colours(pixels: Image, min_share: float, limit: int) -> list[npt.NDArray[np.int32]]:
    """Up to ``limit`` distinct colours, each filling ``min_share`` of ``pixels`` [N, 3], most common first.

    Counted in 5-bit bins; each colour is its bin's mean.
    """
    q = (pixels >> 3).astype(np.int32)
    keys = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    counts = np.bincount(keys, minlength=1 << 15)
    common = np.flatnonzero(counts >= min_share * len(keys))
    colours: list[npt.NDArray[np.int32]] = []
    for key in common[np.argsort(-counts[common], kind="stable")][: 3 * limit]:
        colour = np.rint(pixels[keys == key].mean(axis=0)).astype(np.int32)
        # A colour on a bin boundary fills two bins: the second is the same background.
        if all(np.abs(colour - c).max() > _DISTINCT_COLOURS for c in colours):
            colours.append(colour)
        if len(colours) == limit:
            break
    return colours


def _grid_for_gap_mask(
    gap: Image, factor: int, framed: bool = False, partial: list[Image] | None = None
) -> GalleryGrid | None:
    """The gallery whose background is the 255 pixels of ``gap`` (full resolution), or ``None``. With ``framed``,
    the regions that are a tile seen otherwise join the commonest size's (``_with_framed_tiles``). ``partial``: where
    several tile-shaped regions give no grid, ``gap`` is appended to it."""
    height, width = gap.shape
    pooled = gap[: height // factor * factor, : width // factor * factor]
    # Block means by halving (the fast path of INTER_AREA): a gap line of any width leaves at least 1/factor of gap
    # in every block it crosses, so no gap line is lost.
    for _ in range(factor.bit_length() - 1):
        pooled = np.asarray(cv2.resize(pooled, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    pooled_h, pooled_w = pooled.shape
    background = pooled >= 0.9 * 255 / factor
    # Compression drops pixels from thin gap lines: close one-block breaks along rows and along columns.
    closed = background.copy()
    closed[:, 1:-1] |= background[:, :-2] & background[:, 2:]
    closed[1:-1, :] |= background[:-2, :] & background[2:, :]
    # Background runs across most of some row (a margin, a gap between rows), not just down a column.
    if float(closed.mean(axis=1).max()) < _MIN_BACKGROUND_LINE or not 0.005 <= float(closed.mean()) <= 0.97:
        return None
    content = np.asarray(~closed, dtype=np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(content, connectivity=8)
    stats = stats[1:]  # label 0 is the background
    x, y, w, h, area = (stats[:, i] for i in (_X, _Y, _W, _H, _AREA))
    inside = (x > 0) & (y > 0) & (x + w < pooled_w) & (y + h < pooled_h)  # tiles have background all round
    keep = (
        inside
        & (w * factor >= _MIN_TILE_W)
        & (h * factor >= _MIN_TILE_H)
        & (w >= 1.05 * h)
        & (w <= 2.2 * h)
        & (area >= _MIN_FILL * w * h)
    )
    if not keep.any():
        return None
    boxes = _commonest_size(stats[keep])
    if framed:
        joined, added = _with_framed_tiles(stats[keep], boxes, {tuple(r) for r in boxes.tolist()})
        if not added:
            return None  # no framed tile joined: the first attempt already judged these regions
        boxes = joined
    rows = _grid_rows(gap, boxes, factor)
    if rows is None:
        if partial is not None and int(keep.sum()) > 1:
            partial.append(gap)
        return None
    if framed and _content_around(gap, rows):
        return None
    if len(rows) == 1 and len(rows[0]) == 1 and not _is_lone_tile(gap, boxes[0], stats[inside], rows[0][0]):
        return None
    tiles = tuple(
        Tile(row=i + 1, col=j + 1, x=r.x, y=r.y, w=r.w, h=r.h) for i, row in enumerate(rows) for j, r in enumerate(row)
    )
    return GalleryGrid(tiles=tiles, rows=len(rows), cols=max(len(row) for row in rows))


def _grid_rows(gap: Image, boxes: npt.NDArray[np.int32], factor: int) -> list[list[_Rect]] | None:
    """The lattice of tiles behind ``boxes`` (analysis scale), refined on the full-resolution mask and checked."""
    rows = _lattice_rows(
        [_Rect(int(b[_X]) * factor, int(b[_Y]) * factor, int(b[_W]) * factor, int(b[_H]) * factor) for b in boxes],
        factor,
        gap,
    )
    if rows is None:
        return None
    rows = _uniform_size([_refine_row(gap, row, factor) for row in rows])
    if not _looks_like_tiles(gap, rows) or _misses_tiles(gap, rows):
        return None
    return rows


def _with_framed_tiles(
    candidates: npt.NDArray[np.int32], common: npt.NDArray[np.int32], common_rows: set[tuple[int, ...]]
) -> tuple[npt.NDArray[np.int32], bool]:
    """``common`` (boxes of the commonest size) joined by the ``candidates`` that are one tile seen otherwise, all at
    one tile size: boxes of the same height from ``_PILLARBOX`` of the width up to its inverse (a 4:3 video in a
    16:9 tile whose bars, or one of them, were taken for background: 0.75; the widest of them are whole tiles), and
    boxes up to ``_BORDER_GROWTH`` larger in both directions (a speaker's border drawn round the tile).

    Each box is put in the cell of the lattice the whole tiles span (half a pitch across in the last row, which Zoom
    centres) when it lies inside that cell: a bar may be taken for background on one side only, so a narrow box's
    centre is up to half the missing width off its tile's; a narrow box the columns do not place is left out. A whole or
    larger box keeps its own centre where no lattice places it, and ``_lattice_rows`` judges it as it is. Also
    returns whether any box beyond ``common_rows`` (``common``'s rows) joined."""
    width, height = float(np.median(common[:, _W])), float(np.median(common[:, _H]))
    tol_h = max(1.5, _SIZE_TOL * height)
    w, h = candidates[:, _W].astype(np.float64), candidates[:, _H].astype(np.float64)
    same_height = (np.abs(h - height) <= tol_h) & (w >= _PILLARBOX * width) & (w <= width / _PILLARBOX)
    tile_w = float(w[same_height].max()) if same_height.any() else width
    tol_w = max(1.5, _SIZE_TOL * tile_w)
    whole = same_height & (w >= tile_w - tol_w)
    bordered = (w > tile_w) & (w <= tile_w * _BORDER_GROWTH) & (h > height + tol_h) & (h <= height * _BORDER_GROWTH)
    chosen = same_height | bordered
    cx = candidates[:, _X] + w / 2
    cy = candidates[:, _Y] + h / 2
    # how far a box's centre may be from its cell's: half of what it lacks (or has more) of the tile, and the slack
    reach_x = np.abs(tile_w - w) / 2 + tol_w
    reach_y = np.abs(height - h) / 2 + tol_h
    pitch_x, pitch_y = _even_pitch(cx[whole], tile_w), _even_pitch(cy[whole], height)
    if pitch_y is not None:
        row_y = float(cy[whole].min())
        k = np.round((cy - row_y) / pitch_y)
        cy = np.where(np.abs(row_y + k * pitch_y - cy) <= reach_y, row_y + k * pitch_y, cy)
    # a narrow box is a tile only where the whole tiles' columns place it: its own centre may be half a bar off,
    # enough for a lattice of the wrong pitch to pass
    placed = np.zeros(len(candidates), dtype=bool)
    if pitch_x is not None:
        last = cy >= float(cy[chosen].max()) - tol_h  # the last row: its tiles may sit between the columns
        body = whole & ~last
        col_x = float(cx[body].min()) if body.any() else float(cx[whole].min())
        unit = np.where(last, pitch_x / 2, pitch_x)
        k = np.round((cx - col_x) / unit)
        placed = np.abs(col_x + k * unit - cx) <= reach_x
        cx = np.where(placed, col_x + k * unit, cx)
    chosen &= whole | bordered | placed
    added = any(tuple(r) not in common_rows for r in candidates[chosen].tolist())
    out = candidates[chosen].copy()
    out[:, _X] = np.rint(cx[chosen] - tile_w / 2).astype(np.int32)
    out[:, _Y] = np.rint(cy[chosen] - height / 2).astype(np.int32)
    out[:, _W] = round(tile_w)
    out[:, _H] = round(height)
    return np.asarray(out, dtype=np.int32), added


def _content_around(gap: Image, rows: list[list[_Rect]]) -> bool:
    """Whether a tile-sized patch right beside the grid (above, below, left or right, as far as the image goes) is
    mostly content. ``_misses_tiles`` lets the chrome pass (a band running on to the image's edges, a band at an
    edge); a grid built with framed tiles gets no such benefit of the doubt, so a subset of a gallery filling its
    window is refused."""
    height, width = gap.shape
    rects = [r for row in rows for r in row]
    tile_w, tile_h = rects[0].w, rects[0].h
    x0, y0 = min(r.x for r in rects), min(r.y for r in rects)
    x1, y1 = max(r.x + r.w for r in rects), max(r.y + r.h for r in rects)
    space = max(2, tile_h // 50)
    bands = (
        (_Rect(x0, max(0, y0 - space - tile_h), x1 - x0, max(0, y0 - space) - max(0, y0 - space - tile_h)), True),
        (_Rect(x0, y1 + space, x1 - x0, min(height, y1 + space + tile_h) - (y1 + space)), True),
        (_Rect(max(0, x0 - space - tile_w), y0, max(0, x0 - space) - max(0, x0 - space - tile_w), y1 - y0), False),
        (_Rect(x1 + space, y0, min(width, x1 + space + tile_w) - (x1 + space), y1 - y0), False),
    )
    for band, across in bands:
        if (band.h if across else band.w) < (tile_h if across else tile_w) // 2:
            continue  # less than half a tile of image there: no tile can be missed
        length, size = (band.w, tile_w) if across else (band.h, tile_h)
        for k in range(0, max(1, length - size + 1), max(1, size // 2)):
            cell = (_Rect(band.x + k, band.y, tile_w, band.h) if across else _Rect(band.x, band.y + k, band.w, tile_h))
            if _content_share(gap, cell) >= _MAX_EMPTY_CONTENT:
                return True
    return False


def _even_pitch(centres: npt.NDArray[np.float64], size: float) -> float | None:
    """The spacing of the columns (rows) whose centres are ``centres``: the smallest step of a tile or more between
    distinct centres, refined over every step as a whole number of it. ``None`` without two columns."""
    if centres.size < 2:
        return None
    lines = np.sort(centres)
    lines = lines[np.concatenate([[True], np.diff(lines) > max(2.0, _SIZE_TOL * size)])]
    steps = np.diff(lines)
    steps = steps[steps >= 0.9 * size]
    if not steps.size:
        return None
    first = float(steps.min())
    return float(np.median(steps / np.round(steps / first)))


def _commonest_size(boxes: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """The boxes whose size matches the size shared by most boxes (ties: the larger), at analysis scale."""
    w = boxes[:, _W].astype(np.float64)
    h = boxes[:, _H].astype(np.float64)
    tol_w = np.maximum(1.5, _SIZE_TOL * w)
    tol_h = np.maximum(1.5, _SIZE_TOL * h)
    same = (np.abs(w[:, None] - w[None, :]) <= tol_w[:, None]) & (np.abs(h[:, None] - h[None, :]) <= tol_h[:, None])
    votes = same.sum(axis=1) * 1e9 + w * h  # most matches first, then the larger
    return np.asarray(boxes[same[int(np.argmax(votes))]], dtype=np.int32)


def _lattice_rows(rects: list[_Rect], factor: int, gap: Image) -> list[list[_Rect]] | None:
    """Arrange the rectangles into rows in reading order if they form a Zoom gallery lattice, else ``None``.

    Rows are evenly spaced, and so are the tiles of every row, at one pitch; the rows above the last share their
    columns, and the last may hold fewer tiles, centred. A tile whose edges match the background (a student before
    a white wall in the light theme) leaves a hole: its cell becomes a tile if some of it is content, for up to a
    third as many holes as tiles found.
    """
    tile_w = statistics.median(r.w for r in rects)
    tile_h = statistics.median(r.h for r in rects)

    def tol(size: float) -> float:  # pooling moves an edge by less than ``factor`` px
        return max(2.0 * factor, _SIZE_TOL * size)

    rows: list[list[_Rect]] = []
    for rect in sorted(rects, key=lambda r: (r.cy, r.cx)):
        if rows and rect.cy - rows[-1][0].cy <= tile_h / 2:
            rows[-1].append(rect)
        else:
            rows.append([rect])
    rows = [sorted(row, key=lambda r: r.cx) for row in rows]
    row_ys = [statistics.median(r.cy for r in row) for row in rows]
    if len(rows) > MAX_GRID_SIDE or any(
        abs(r.cy - y) > tol(tile_h) for row, y in zip(rows, row_ys, strict=True) for r in row
    ):
        return None
    if _pitch([b - a for a, b in itertools.pairwise(row_ys)], tile_h, tol, holes=False) is None:
        return None
    pitch = _pitch([b.cx - a.cx for row in rows for a, b in itertools.pairwise(row)], tile_w, tol, holes=True)
    if pitch is None:
        return None

    def slots(row: list[_Rect], origin: float, step: float = pitch) -> list[int] | None:
        """Index of each tile's centre in steps from ``origin``, if every tile sits on a step."""
        found = [round((r.cx - origin) / step) if step else 0 for r in row]
        on_pitch = all(abs(r.cx - origin - k * step) <= tol(tile_w) for r, k in zip(row, found, strict=True))
        return found if on_pitch and found[0] >= 0 and len(set(found)) == len(found) else None

    body, last = rows[:-1], rows[-1]
    origin = min((row[0].cx for row in body), default=last[0].cx)  # the centre of column 1
    body_slots = [slots(row, origin) for row in body]
    halves = slots(last, origin, step=pitch / 2)  # the last row in half pitches: it may sit between columns
    if halves is None or any(s is None for s in body_slots) or len({h % 2 for h in halves}) > 1:
        return None
    cols = max([s[-1] + 1 for s in body_slots if s] + [(halves[-1] + 1) // 2 + 1])  # no row is wider than the grid
    # Centred: the last row's tiles sit symmetrically about the grid's middle, (cols - 1) half pitches from column
    # 1, so a tile missing at either end of it still has its cell.
    first, end = min(halves[0], 2 * (cols - 1) - halves[-1]), max(halves[-1], 2 * (cols - 1) - halves[0])
    if cols > MAX_GRID_SIDE or first < 0:
        return None

    # Each row from its first tile's centre, ``count`` tiles long; a missing tile's cell must hold some content.
    layout = [(row, y, found or [], origin, cols) for row, y, found in zip(body, row_ys[:-1], body_slots, strict=True)]
    last_slots = slots(last, origin) if body and len(last) < cols and all(h % 2 == 0 for h in halves) else None
    if last_slots is not None and all(
        _content_share(gap, _Rect(round(origin + k * pitch - tile_w / 2), round(row_ys[-1] - tile_h / 2),
                                  int(tile_w), int(tile_h))) >= _MAX_EMPTY_CONTENT
        for k in range(cols)
    ):
        # Zoom leaves only background beside a partly filled last row: content in every column means the row is
        # full and its other tiles were missed (merged with the toolbar below, a speaker's border).
        layout.append((last, row_ys[-1], last_slots, origin, cols))
    else:
        layout.append(
            (last, row_ys[-1], [(h - first) // 2 for h in halves], origin + first * pitch / 2, (end - first) // 2 + 1)
        )
    filled: list[list[_Rect]] = []
    unframed = 0  # holes without a gap all round them
    for row, y, found, start, count in layout:
        by_slot = dict(zip(found, row, strict=True))
        for k in set(range(count)) - set(by_slot):
            cell = _Rect(round(start + k * pitch - tile_w / 2), round(y - tile_h / 2), int(tile_w), int(tile_h))
            if not _has_content(gap, cell):
                return None
            unframed += not _is_framed(gap, cell, max(2, min(round(pitch - tile_w), int(tile_h) // 8)))
            by_slot[k] = cell
        filled.append([by_slot[k] for k in range(count)])
    # A hole framed by the gap lines on all four sides is a tile whose inside blends into the background (the bars
    # of a pillarboxed 4:3 tile, a camera-off tile, a speaker's border): the lattice's own evidence. Only holes
    # without that frame are limited, to a third as many as the tiles found.
    return filled if unframed <= len(rects) // 3 else None


def _pitch(steps: list[float], size: float, tol: Callable[[float], float], holes: bool) -> float | None:
    """The even spacing behind ``steps`` between neighbouring centres: a tile's size plus a small gap.

    With ``holes``, a step may span several pitches (a tile missing in between). ``None`` when the steps are
    uneven; ``0.0`` when there is none.
    """
    if not steps:
        return 0.0
    single = [s for s in steps if size - tol(size) <= s <= size * (1 + _MAX_GAP_RATIO) + tol(size)]
    if not single:
        return None
    pitch = statistics.median(single)
    for step in steps:
        k = round(step / pitch)
        if k < 1 or (k > 1 and not holes) or abs(step - k * pitch) > k * tol(pitch):
            return None
    return pitch


def _has_content(gap: Image, cell: _Rect) -> bool:
    """Whether some of a lattice cell inside the image is not background: a tile that blends in."""
    height, width = gap.shape
    inside = cell.x >= 0 and cell.y >= 0 and cell.x + cell.w <= width and cell.y + cell.h <= height
    return inside and _content_share(gap, cell) >= _MIN_HOLE_CONTENT


def _is_framed(gap: Image, cell: _Rect, reach: int) -> bool:
    """Whether some ring around a lattice cell, up to ``reach`` px outside it (the gap's width: the cell is placed
    from the pitch at analysis scale, a few px off), is background: the cell is edged by gap lines."""
    box = np.array([(cell.x, cell.y, cell.w, cell.h)], dtype=np.int64)
    height, width = gap.shape
    if cell.x < reach or cell.y < reach or cell.x + cell.w + reach > width or cell.y + cell.h + reach > height:
        return False
    ring = max(_outline_share(gap, box + np.array([-d, -d, 2 * d, 2 * d])) for d in range(1, reach + 1))
    return ring >= _MIN_OUTER_RING_GAP


def _refine_row(gap: Image, row: list[_Rect], factor: int) -> list[_Rect]:
    """Move the edges of one row of tiles found at analysis scale onto the full-resolution tile edges.

    An edge found at analysis scale is off by less than ``factor`` px (more where compression blurs a thin gap),
    so each edge is searched from inside the tile outwards, over lines that are mostly content, up to ``factor`` px
    beyond it: one profile across the row for the sides, one down it (the row shares its top and bottom).
    """
    if factor == 1:
        return row
    height, width = gap.shape
    top = int(statistics.median(r.y for r in row))
    bottom = int(statistics.median(r.y + r.h for r in row))
    left, right = row[0].x, row[-1].x + row[-1].w
    lo_x, hi_x = max(0, left - factor), min(width, right + factor)
    lo_y, hi_y = max(0, top - factor), min(height, bottom + factor)
    inset = min(factor, (bottom - top) // 4)  # the sides are measured on the rows every tile of the row covers
    across = _content_profile(gap[top + inset : bottom - inset, lo_x:hi_x], axis=0)
    down = _content_profile(gap[lo_y:hi_y, left:right], axis=1)
    y0, y1 = _outer_edges(down, top - lo_y, bottom - lo_y, factor)
    refined = []
    for r in row:
        x0, x1 = _outer_edges(across, r.x - lo_x, r.x + r.w - lo_x, factor)
        refined.append(_Rect(lo_x + x0, lo_y + y0, x1 - x0, y1 - y0))
    return refined


def _content_profile(gap: Image, axis: int) -> npt.NDArray[np.bool_]:
    """Which lines (columns for ``axis=0``, rows for 1) of a gap mask are mostly content, not background."""
    share = cv2.reduce(gap, axis, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    return np.asarray(share <= (1.0 - _EDGE_CONTENT) * 255)


def _outer_edges(solid: npt.NDArray[np.bool_], start: int, stop: int, reach: int) -> tuple[int, int]:
    """The run of ``solid`` lines around ``[start, stop)``, each edge searched within ``reach`` of its guess."""
    lo, hi = max(0, start - reach), min(len(solid), stop + reach)
    first = min(start + reach, stop - 1)
    while first > lo and solid[first - 1]:
        first -= 1
    last = max(stop - reach, first + 1)
    while last < hi and solid[last]:
        last += 1
    return first, last


def _uniform_size(rows: list[list[_Rect]]) -> list[list[_Rect]]:
    """Give every tile the median size about its own centre, so a highlight border can't make one tile bigger."""
    tile_w = int(statistics.median(r.w for row in rows for r in row))
    tile_h = int(statistics.median(r.h for row in rows for r in row))

    def snapped(r: _Rect) -> _Rect:
        x = r.x if abs(r.w - tile_w) <= 1 else round(r.cx - tile_w / 2)
        y = r.y if abs(r.h - tile_h) <= 1 else round(r.cy - tile_h / 2)
        return _Rect(x, y, tile_w, tile_h)

    return [[snapped(r) for r in row] for row in rows]


def _looks_like_tiles(gap: Image, rows: list[list[_Rect]]) -> bool:
    """Full-resolution checks: tile shape and size, clean rectangles edged by background, enough of the image."""
    height, width = gap.shape
    rects = [r for row in rows for r in row]
    tile_w, tile_h = rects[0].w, rects[0].h
    if tile_w < _MIN_TILE_W or tile_h < _MIN_TILE_H or not _MIN_ASPECT <= tile_w / tile_h <= _MAX_ASPECT:
        return False
    x0, y0 = min(r.x for r in rects), min(r.y for r in rects)
    x1, y1 = max(r.x + r.w for r in rects), max(r.y + r.h for r in rects)
    if x0 < 1 or y0 < 1 or x1 > width - 1 or y1 > height - 1:
        return False  # the tiles must have background all round; a camera image fills the frame
    if (x1 - x0) * (y1 - y0) < _MIN_GRID_COVER * width * height:
        return False
    box = np.array([(r.x, r.y, r.w, r.h) for r in rects], dtype=np.int64)
    # Compression smears a tile's edge over a pixel or two: take the better of two outlines on each side of it.
    # The active speaker's border is drawn in the gutters round one tile (and its neighbours' outlines cross it): with
    # three tiles or more, the outline that fares worst is left out (in a 2x2 call the border is a quarter of it).
    outer = max(_trimmed_mean(_outline_shares(gap, box + np.array([-d, -d, 2 * d, 2 * d]))) for d in (1, 2))
    inner = 1.0 - min(_outline_share(gap, box + np.array([d, d, -2 * d, -2 * d])) for d in (0, 1))
    return outer >= _MIN_OUTER_RING_GAP and inner >= _MIN_INNER_RING_CONTENT


def _misses_tiles(gap: Image, rows: list[list[_Rect]], slack: int = 0) -> bool:
    """Whether the lattice missed tiles whose gaps merged (a compressed or rescaled capture); ``slack`` moves the
    probes of each band's ends that much further out.

    Beyond the grid (above, below, left, right) that shows as a tile-sized patch of content in a tile-deep band
    with background at both its ends; the title bar and toolbar border the grid too, but run on to the image's
    edges. Beside a partly filled last row, Zoom leaves only background.
    """
    height, width = gap.shape
    rects = [r for row in rows for r in row]
    tile_w, tile_h = rects[0].w, rects[0].h
    x0, y0 = min(r.x for r in rects), min(r.y for r in rects)
    x1, y1 = max(r.x + r.w for r in rects), max(r.y + r.h for r in rects)
    spacings = [b.x - a.x - a.w for row in rows for a, b in itertools.pairwise(row)]
    spacings += [b[0].y - a[0].y - a[0].h for a, b in itertools.pairwise(rows)]
    space = int(statistics.median(spacings)) if spacings else max(2, tile_h // 50)
    last = rows[-1]
    if len(last) < len(rows[0]):
        beside = (
            _content_share(gap, _Rect(x0, last[0].y, last[0].x - space - x0, tile_h)),
            _content_share(
                gap, _Rect(last[-1].x + tile_w + space, last[0].y, x1 - last[-1].x - tile_w - space, tile_h)
            ),
        )
        if max(beside) >= _MAX_EMPTY_CONTENT:
            return True
    reach = 1 + space // 2 + slack  # band ends are checked mid-gap, clear of a compressed tile edge
    bands = (
        (_Rect(x0, y0 - space - tile_h, x1 - x0, tile_h), True),
        (_Rect(x0, y1 + space, x1 - x0, tile_h), True),
        (_Rect(x0 - space - tile_w, y0, tile_w, y1 - y0), False),
        (_Rect(x1 + space, y0, tile_w, y1 - y0), False),
    )
    for band, across in bands:
        bx0, by0, bx1, by1 = band.x, band.y, band.x + band.w, band.y + band.h
        if bx0 < reach or by0 < reach or bx1 + reach > width or by1 + reach > height:
            continue  # tiles never touch the image's edges
        ends = (
            (gap[by0:by1, bx0 - reach], gap[by0:by1, bx1 + reach - 1])
            if across
            else (gap[by0 - reach, bx0:bx1], gap[by1 + reach - 1, bx0:bx1])
        )
        if sum(np.count_nonzero(e) for e in ends) < _MIN_OUTER_RING_GAP * sum(e.size for e in ends):
            continue
        length, size = (band.w, tile_w) if across else (band.h, tile_h)
        starts = range(0, max(1, length - size + 1), max(1, size // 2))  # every half tile along the band
        cells = (_Rect(bx0 + k, by0, tile_w, tile_h) if across else _Rect(bx0, by0 + k, tile_w, tile_h) for k in starts)
        if any(_content_share(gap, cell) >= _MAX_EMPTY_CONTENT for cell in cells):
            return True
    return False


def _content_share(gap: Image, rect: _Rect) -> float:
    """Share of content (non-background) pixels in a rectangle, sampled every 4 px; 0.0 for an empty one."""
    sample = gap[max(0, rect.y) : max(0, rect.y + rect.h) : 4, max(0, rect.x) : max(0, rect.x + rect.w) : 4]
    return 1.0 - float(np.count_nonzero(sample)) / sample.size if sample.size else 0.0


def _trimmed_mean(shares: npt.NDArray[np.float64]) -> float:
    """The mean of ``shares`` without the lowest one, when there are three or more."""
    return float(np.sort(shares)[1:].mean()) if shares.size >= 3 else float(shares.mean())


def _outline_shares(mask: Image, boxes: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Per ``(x, y, w, h)`` box, the share of nonzero ``mask`` pixels among points sampled evenly along its outline."""
    x, y, w, h = (boxes[:, i : i + 1] for i in range(4))
    t = np.linspace(0.0, 1.0, _OUTLINE_SAMPLES)[None, :]
    along_x = np.rint(x + t * (w - 1)).astype(np.int64)
    along_y = np.rint(y + t * (h - 1)).astype(np.int64)
    side = along_x.shape
    xs = np.concatenate([along_x, along_x, np.broadcast_to(x, side), np.broadcast_to(x + w - 1, side)], axis=1)
    ys = np.concatenate([np.broadcast_to(y, side), np.broadcast_to(y + h - 1, side), along_y, along_y], axis=1)
    # a line beyond the image's edge is read on its outermost pixels (a grid 1 px from the edge of a cropped capture)
    ys, xs = np.clip(ys, 0, mask.shape[0] - 1), np.clip(xs, 0, mask.shape[1] - 1)
    return np.asarray(np.count_nonzero(mask[ys, xs], axis=1) / xs.shape[1], dtype=np.float64)


def _outline_share(mask: Image, boxes: npt.NDArray[np.int64]) -> float:
    """Share of nonzero mask pixels among points sampled evenly along the outlines of ``(x, y, w, h)`` boxes."""
    return float(_outline_shares(mask, boxes).mean())


def _is_lone_tile(gap: Image, box: npt.NDArray[np.int32], others: npt.NDArray[np.int32], rect: _Rect) -> bool:
    """A single tile needs more evidence than a lattice: large, nearly all content, the only large content, and
    no line across it mostly background.

    ``box`` and ``others`` are component statistics at analysis scale (``others`` clear of the image's edges,
    ``box`` among them). A grid whose gaps all blurred away (a rescaled capture) merges into one block with the
    remains of its gap lines inside; a grid partly merged leaves other blocks beside it.
    """
    height, width = gap.shape
    fill = float(box[_AREA]) / float(box[_W] * box[_H])
    rivals = int(np.count_nonzero(others[:, _AREA] >= _MAX_RIVAL * box[_AREA])) - 1
    if fill < _MIN_SINGLE_FILL or rivals > 0 or rect.w * rect.h < _MIN_SINGLE_COVER * width * height:
        return False
    inset = max(2, rect.h // 20)  # clear of the tile's edges and of its name label's margin
    interior = gap[rect.y + inset : rect.y + rect.h - inset, rect.x + inset : rect.x + rect.w - inset]
    lines = (cv2.reduce(interior, axis, cv2.REDUCE_AVG, dtype=cv2.CV_32F).max() for axis in (0, 1))
    return max(float(v) for v in lines) < _MAX_LINE_BACKGROUND * 255


def _split_blurred(gray: Image, luma: float, grid: GalleryGrid) -> GalleryGrid:
    """A lone tile that is really a gallery whose gutters were blurred away (an upscaled or re-encoded capture):
    split it where evenly spaced lines across it stay close to the background, else keep it.

    A gutter line is a column (row) whose pixels are nearly all near the background's luma (``_GUTTER_LEVELS``)
    while the typical line of the tile is far from it; the tile splits into ``c`` columns only if a gutter lies at
    every ``k / c`` of its width (the largest such ``c`` wins), and likewise into rows; the tiles must keep a video
    tile's shape.
    """
    (tile,) = grid.tiles
    sub = np.abs(gray[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w].astype(np.float32) - luma)
    cols = _split_lines(np.percentile(sub, 80, axis=0))
    rows = _split_lines(np.percentile(sub, 80, axis=1))
    if len(cols) == 1 and len(rows) == 1:
        return grid
    edges_x = [(tile.x + a, tile.x + b) for a, b in cols]
    edges_y = [(tile.y + a, tile.y + b) for a, b in rows]
    tile_w = min(b - a for a, b in edges_x)
    tile_h = min(b - a for a, b in edges_y)
    if tile_w < _MIN_TILE_W or tile_h < _MIN_TILE_H or not _MIN_ASPECT <= tile_w / tile_h <= _MAX_ASPECT:
        return grid
    if len(rows) > MAX_GRID_SIDE or len(cols) > MAX_GRID_SIDE:
        return grid
    tiles = tuple(
        Tile(row=i + 1, col=j + 1, x=x0, y=y0, w=tile_w, h=tile_h)
        for i, (y0, _) in enumerate(edges_y)
        for j, (x0, _) in enumerate(edges_x)
    )
    return GalleryGrid(tiles=tiles, rows=len(rows), cols=len(cols))


def _split_lines(
    profile: npt.NDArray[np.floating], levels: float = _GUTTER_LEVELS, share: float = _GUTTER_SHARE
) -> list[tuple[int, int]]:
    """The spans between gutters along one axis of a tile (``profile``: a line's typical distance from the
    background's luma), for the most pieces ``n <= MAX_GRID_SIDE`` with a gutter at every ``k / n``; one span
    (the whole) when there is none."""
    size = len(profile)
    typical = float(np.median(profile))
    gutter = (profile <= levels) & (profile <= share * typical)
    for n in range(MAX_GRID_SIDE, 1, -1):
        reach = max(2, size // (n * 25))
        cuts: list[tuple[int, int]] = []
        for k in range(1, n):
            centre = round(k * size / n)
            window = np.flatnonzero(gutter[max(0, centre - reach) : centre + reach + 1])
            if window.size == 0:
                break
            lo = hi = max(0, centre - reach) + int(window[len(window) // 2])
            while lo > 0 and gutter[lo - 1]:
                lo -= 1
            while hi + 1 < size and gutter[hi + 1]:
                hi += 1
            cuts.append((lo, hi + 1))
        else:
            starts = [0] + [b for _, b in cuts]
            stops = [a for a, _ in cuts] + [size]
            return list(zip(starts, stops, strict=True))
    return [(0, size)]
