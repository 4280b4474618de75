"""Compose Zoom-like gallery screen captures with their ground truth, for tests and benchmarks.

``compose_gallery`` lays tiles out the way Zoom does (the column count that gives the largest tiles, at most 7x7;
the last row partly filled and centred) inside a window with a title bar, a top strip and a toolbar; each tile has
a slightly different room behind it, a name label in its bottom-left corner, optionally a FER2013 face in its
centre and, for the active speaker, a coloured highlight border. Faces come from ``classroom.fer_publictest`` at run
time only and are never written anywhere.

    frame, truth = compose_gallery(12, theme="light", speaker=3, faces=faces, rng=np.random.default_rng(7))
    truth[3].label, truth[3].box  # "Tile 1-4", (x, y, w, h)

Without ``rng`` the frame is the same on every call, in Zoom's default colours; with one, colours, gap width,
names and decorations vary (the grid geometry is always set by the arguments).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
from matplotlib import get_data_path
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from tests.helpers.classroom import iou, paste_face

Theme = Literal["dark", "light"]
App = Literal["zoom", "meet", "teams"]
Image = npt.NDArray[np.uint8]
Colour = tuple[int, int, int]

MAX_SIDE = 7  # Zoom shows at most 7x7 tiles per page
_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Dan",
    "Ella",
    "Finn",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kai",
    "Lena",
    "Mia",
    "Noah",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vik",
    "Wen",
    "Xavi",
    "Yara",
    "Zoe",
)
_FONT = cv2.FONT_HERSHEY_SIMPLEX
TTF_DIR = Path(get_data_path()) / "fonts" / "ttf"  # fonts shipped inside matplotlib: no system fonts needed
LABEL_FONTS: dict[str, int | str] = {
    "hershey-simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "hershey-duplex": cv2.FONT_HERSHEY_DUPLEX,
    "hershey-complex": cv2.FONT_HERSHEY_COMPLEX,
    "dejavu-sans": "DejaVuSans.ttf",
    "dejavu-sans-bold": "DejaVuSans-Bold.ttf",
    "dejavu-serif": "DejaVuSerif.ttf",
    "dejavu-mono": "DejaVuSansMono.ttf",
}
"""Fonts for the tiles' name labels: OpenCV's Hershey fonts and the DejaVu TrueType fonts matplotlib ships."""
CAMERA_OFF_TILE: Colour = (54, 54, 54)  # Zoom's tile without video: flat dark grey with the name in the middle
_SPEAKER_COLOURS: tuple[Colour, ...] = ((35, 217, 87), (0, 210, 255))  # Zoom's green and its older yellow (BGR)


@dataclass(frozen=True)
class TileTruth:
    """Where a tile was drawn: 1-based grid position, rectangle, the name on it and the face box (if any)."""

    row: int
    col: int
    x: int
    y: int
    w: int
    h: int
    name: str
    speaker: bool = False
    face: tuple[int, int, int, int] | None = None
    camera_off: bool = False

    @property
    def label(self) -> str:
        return f"Tile {self.row}-{self.col}"

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    def iou(self, box: tuple[int, int, int, int]) -> float:
        """Intersection over union of the tile with an ``(x, y, w, h)`` box."""
        return iou(self.box, box)


@dataclass(frozen=True)
class _Palette:
    gap: Colour  # gallery background, also between tiles
    title: Colour
    toolbar: Colour
    ink: Colour  # chrome text and icons
    gap_px: int


def grid_shape(n_tiles: int, width: int, height: int, aspect: float = 16 / 9) -> tuple[int, int]:
    """``(rows, cols)`` Zoom would choose for ``n_tiles`` in a ``width`` x ``height`` gallery area: largest tiles."""
    _check_count(n_tiles)
    best: tuple[float, int] = (-1.0, 1)
    for cols in range(1, MAX_SIDE + 1):
        rows = math.ceil(n_tiles / cols)
        if rows > MAX_SIDE or cols > n_tiles:
            continue
        tile_w = min(width / cols, height / rows * aspect)
        if tile_w > best[0]:
            best = (tile_w, cols)
    return math.ceil(n_tiles / best[1]), best[1]


def compose_gallery(
    n_tiles: int,
    cols: int | None = None,
    width: int = 1280,
    height: int = 720,
    theme: Theme = "dark",
    speaker: int | None = None,
    faces: Sequence[Image] | None = None,
    toolbar: bool = True,
    rng: np.random.Generator | None = None,
    *,
    aspect: float = 16 / 9,
    names: Sequence[str] | None = None,
    camera_off: Collection[int] = (),
    faceless: Collection[int] = (),
    font: str = "hershey-simplex",
    label_scale: float = 1.0,
    app: App = "zoom",
) -> tuple[Image, list[TileTruth]]:
    """A ``height`` x ``width`` BGR gallery capture of ``n_tiles`` tiles and the truth for each, in reading order.

    ``cols``: tiles per full row (default: Zoom's choice for the window). ``speaker``: index of the tile with the
    highlight border. ``faces``: grayscale 48x48 crops, used in turn. ``toolbar``: draw the window chrome (title
    bar, top strip, bottom toolbar); without it the gallery fills the image. ``aspect``: tile width / height.
    ``names``: the display name of each tile (default: a first name and the tile's number). ``camera_off``: indexes
    of tiles drawn without video (flat grey, the name large in the middle, no face); ``faceless``: tiles with video
    but nobody in it (an empty chair). ``font``: a key of
    ``LABEL_FONTS`` for the name labels; ``label_scale`` scales the label (Zoom's label grows with the tile).
    ``app``: how the meeting app draws its gallery. ``"zoom"``; ``"meet"`` (Google Meet: wide gutters on #202124,
    tiles with rounded corners, the name in white straight on the video, a blue speaker outline); ``"teams"``
    (Microsoft Teams: slightly rounded tiles, the name on a dark rounded pill, a purple speaker outline).
    """
    if names is not None and len(names) < n_tiles:
        raise ValueError(f"{len(names)} names for {n_tiles} tiles")
    if font not in LABEL_FONTS:
        raise ValueError(f"unknown label font {font!r}; known: {sorted(LABEL_FONTS)}")
    _check_count(n_tiles)
    if speaker is not None and not 0 <= speaker < n_tiles:
        raise ValueError(f"speaker must index one of the {n_tiles} tiles, got {speaker}")
    crops = list(faces) if faces is not None else []
    if any(np.asarray(c).dtype != np.uint8 or np.asarray(c).ndim != 2 for c in crops):
        raise ValueError("faces must be grayscale uint8 crops [H, W]")
    randomise = rng is not None
    rng = rng if rng is not None else np.random.default_rng(0)
    pal = _random_palette(theme, width, rng) if randomise else _default_palette(theme, width)
    if app != "zoom":
        pal = _app_palette(app, theme, width, pal)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = pal.gap

    top, bottom = 0, height
    if toolbar:
        title_h = int(np.clip(round(height * 0.035), 18, 36))
        strip_h = int(np.clip(round(height * 0.035), 16, 32))
        bar_h = int(np.clip(round(height * 0.08), 36, 72))
        _draw_title_bar(image, title_h, pal)
        _draw_top_strip(image, title_h, strip_h, pal)
        _draw_toolbar(image, height - bar_h, bar_h, pal, rng)
        top, bottom = title_h + strip_h, height - bar_h

    gap = pal.gap_px
    area_w, area_h = width - 2 * gap, bottom - top - 2 * gap
    if cols is None:
        rows, cols = grid_shape(n_tiles, area_w, area_h, aspect)
    elif not 1 <= cols <= MAX_SIDE or math.ceil(n_tiles / cols) > MAX_SIDE:
        raise ValueError(f"{n_tiles} tiles in {cols} columns do not fit a {MAX_SIDE}x{MAX_SIDE} grid")
    else:
        rows = math.ceil(n_tiles / cols)
    tile_w = int(min((area_w - (cols - 1) * gap) / cols, (area_h - (rows - 1) * gap) / rows * aspect))
    tile_h = int(tile_w / aspect)
    if tile_h < 16:
        raise ValueError(f"{width}x{height} is too small for {rows}x{cols} tiles")
    x0 = (width - (cols * tile_w + (cols - 1) * gap)) // 2
    y0 = top + (bottom - top - (rows * tile_h + (rows - 1) * gap)) // 2

    pool = list(rng.permutation(_NAMES)) if randomise else list(_NAMES)
    truth: list[TileTruth] = []
    for index in range(n_tiles):
        r, c = divmod(index, cols)
        in_row = min(cols, n_tiles - r * cols)
        x = x0 + (cols - in_row) * (tile_w + gap) // 2 + c * (tile_w + gap)
        y = y0 + r * (tile_h + gap)
        tile = image[y : y + tile_h, x : x + tile_w]
        name = names[index] if names is not None else f"{pool[index % len(pool)]} {index + 1}"
        off = index in camera_off
        face_box = None
        if off:
            tile[:] = CAMERA_OFF_TILE
            _draw_label_text(tile, name, font, max(8, tile_h // 8), centre=True)
        else:
            _draw_room(tile, rng)
            if crops and index not in faceless:
                fx, fy, fs = _draw_person(tile, crops[index % len(crops)], rng)
                face_box = (x + fx, y + fy, fs, fs)
        if app == "zoom":
            _draw_name(tile, name, font, label_scale)
        else:
            _draw_app_name(tile, name, font, label_scale, app)
        if index == speaker:
            colour = _SPEAKER_COLOURS[int(rng.integers(len(_SPEAKER_COLOURS)))] if randomise else _SPEAKER_COLOURS[0]
            colour = _APP_SPEAKER.get(app, colour)
            _draw_border(tile, colour, max(2, tile_h // 60))
        if app != "zoom":
            _round_corners(tile, max(2, tile_h // (14 if app == "meet" else 30)), pal.gap)
        truth.append(TileTruth(r + 1, c + 1, x, y, tile_w, tile_h, name, index == speaker, face_box, off))
    return image, truth


def smooth_noise(width: int = 1280, height: int = 720, rng: np.random.Generator | None = None) -> Image:
    """A non-gallery frame: smooth colour noise over a gradient, like an out-of-focus camera image."""
    rng = rng if rng is not None else np.random.default_rng(0)
    coarse = rng.uniform(0, 255, (9, 16, 3)).astype(np.float32)
    field = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(-40, 40, width, dtype=np.float32)[None, :, None]
    grain = rng.normal(0, 4, (height, width, 1)).astype(np.float32)
    return np.asarray(np.clip(field + ramp + grain, 0, 255), dtype=np.uint8)


def _check_count(n_tiles: int) -> None:
    if not 1 <= n_tiles <= MAX_SIDE * MAX_SIDE:
        raise ValueError(f"n_tiles must be 1..{MAX_SIDE * MAX_SIDE}, got {n_tiles}")


def _default_palette(theme: Theme, width: int) -> _Palette:
    gap_px = max(2, round(width / 320))
    if theme == "dark":
        return _Palette(gap=(26, 26, 26), title=(45, 45, 45), toolbar=(12, 12, 12), ink=(220, 220, 220), gap_px=gap_px)
    return _Palette(
        gap=(240, 240, 240), title=(222, 222, 222), toolbar=(252, 252, 252), ink=(60, 60, 60), gap_px=gap_px
    )


def _random_palette(theme: Theme, width: int, rng: np.random.Generator) -> _Palette:
    base = int(rng.integers(12, 46)) if theme == "dark" else int(rng.integers(226, 253))
    gap = _tinted(base, rng)
    # Zoom's toolbar is sometimes the gallery colour itself, sometimes a shade apart.
    shift = int(rng.choice([0, -12, 12]))
    toolbar = gap if shift == 0 else _tinted(int(np.clip(base + shift, 0, 255)), rng)
    title = _tinted(base + 20 if theme == "dark" else base - 20, rng)
    ink = (225, 225, 225) if theme == "dark" else (50, 50, 50)
    gap_px = int(rng.integers(2, max(3, round(width / 200)) + 1))
    return _Palette(gap=gap, title=title, toolbar=toolbar, ink=ink, gap_px=gap_px)


_APP_SPEAKER: dict[str, Colour] = {"meet": (248, 180, 138), "teams": (245, 133, 127)}  # BGR


def _app_palette(app: App, theme: Theme, width: int, pal: _Palette) -> _Palette:
    """Meet's and Teams' gallery background and gutter width (Meet's gutters are wide, Teams' narrow)."""
    if app == "meet":
        gap: Colour = (36, 33, 32) if theme == "dark" else (244, 243, 241)
        return _Palette(gap=gap, title=pal.title, toolbar=gap, ink=pal.ink, gap_px=max(6, round(width / 170)))
    gap = (31, 31, 31) if theme == "dark" else (245, 245, 245)
    return _Palette(gap=gap, title=pal.title, toolbar=pal.toolbar, ink=pal.ink, gap_px=max(4, round(width / 300)))


def _draw_app_name(tile: Image, name: str, font: str, scale: float, app: App) -> None:
    """Meet: white text straight on the video, bottom left; Teams: white text on a dark rounded pill."""
    h, w = tile.shape[:2]
    box_h, size = _label_size(h, scale)
    box_w = min(w - 8, _label_width(name, font, size) + 10)
    y0 = h - box_h - 6
    region = tile[y0 : y0 + box_h, 6 : 6 + box_w]
    if app == "teams":
        pill = np.zeros(region.shape[:2], np.uint8)
        r = box_h // 3
        cv2.rectangle(pill, (r, 0), (box_w - 1 - r, box_h - 1), 255, -1)
        cv2.rectangle(pill, (0, r), (box_w - 1, box_h - 1 - r), 255, -1)
        for cx, cy in ((r, r), (box_w - 1 - r, r), (r, box_h - 1 - r), (box_w - 1 - r, box_h - 1 - r)):
            cv2.circle(pill, (cx, cy), r, 255, -1)
        inside = pill > 0
        region[inside] = (region[inside].astype(np.float32) * 0.35).astype(np.uint8)
    _draw_label_text(region, name, font, size)


def _round_corners(tile: Image, radius: int, colour: Colour) -> None:
    """Paint the tile's corners outside a quarter circle of ``radius`` with the background ``colour``."""
    h, w = tile.shape[:2]
    yy, xx = np.mgrid[0:radius, 0:radius]
    outside = (xx - radius + 0.5) ** 2 + (yy - radius + 0.5) ** 2 > radius**2
    for ys, xs in ((slice(0, radius), slice(0, radius)), (slice(0, radius), slice(w - radius, w)),
                   (slice(h - radius, h), slice(0, radius)), (slice(h - radius, h), slice(w - radius, w))):
        corner = tile[ys, xs]
        mask = outside[:: 1 if ys.start == 0 else -1, :: 1 if xs.start == 0 else -1]
        corner[mask] = colour


def _tinted(level: int, rng: np.random.Generator) -> Colour:
    b, g, r = (int(np.clip(level + rng.integers(-3, 4), 0, 255)) for _ in range(3))
    return (b, g, r)


def _text(image: Image, text: str, x: int, y: int, height: int, colour: Colour) -> None:
    """Draw ``text`` with its baseline at ``y`` and a cap height of about ``height`` px."""
    cv2.putText(image, text, (x, y), _FONT, max(0.25, height / 22), colour, 1, cv2.LINE_AA)


def _text_width(text: str, height: int) -> int:
    return int(cv2.getTextSize(text, _FONT, max(0.25, height / 22), 1)[0][0])


def _draw_title_bar(image: Image, h: int, pal: _Palette) -> None:
    image[:h] = pal.title
    for i, colour in enumerate(((94, 95, 255), (46, 188, 254), (64, 200, 40))):  # close, minimise, zoom
        cv2.circle(image, (h // 2 + i * (h * 3 // 4), h // 2), max(3, h // 5), colour, -1, cv2.LINE_AA)
    size = max(6, h // 2)
    _text(
        image, "Zoom Meeting", (image.shape[1] - _text_width("Zoom Meeting", size)) // 2, (h + size) // 2, size, pal.ink
    )


def _draw_top_strip(image: Image, y: int, h: int, pal: _Palette) -> None:
    cv2.circle(image, (h, y + h // 2), max(3, h // 4), (80, 190, 60), -1, cv2.LINE_AA)  # the encryption shield
    size = max(6, h // 2)
    x = image.shape[1] - 5 * size
    cv2.rectangle(image, (x - 6, y + 2), (image.shape[1] - 6, y + h - 3), pal.ink, 1, cv2.LINE_AA)
    _text(image, "View", x, y + (h + size) // 2, size, pal.ink)


def _draw_toolbar(image: Image, y: int, h: int, pal: _Palette, rng: np.random.Generator) -> None:
    image[y:] = pal.toolbar
    width = image.shape[1]
    labels = ("Mute", "Stop Video", "Security", "Participants", "Chat", "Share Screen", "Record", "Reactions")
    count = max(2, min(len(labels), (width - 120) // 95))
    step = (width - 120) / count
    icon = max(5, h // 6)
    for i, label in enumerate(labels[:count]):
        cx = int(step * (i + 0.5))
        if i % 2:
            cv2.rectangle(image, (cx - icon, y + h // 3 - icon), (cx + icon, y + h // 3 + icon), pal.ink, 2)
        else:
            cv2.circle(image, (cx, y + h // 3), icon, pal.ink, 2, cv2.LINE_AA)
        size = max(5, h // 7)
        _text(image, label, cx - _text_width(label, size) // 2, y + h - h // 6, size, pal.ink)
    end_w = int(rng.integers(56, 72))
    cv2.rectangle(image, (width - end_w - 20, y + h // 4), (width - 20, y + 3 * h // 4), (45, 45, 220), -1)
    _text(image, "End", width - end_w - 8, y + h // 2 + h // 12, max(6, h // 5), (255, 255, 255))


def _draw_room(tile: Image, rng: np.random.Generator) -> None:
    """A wall with a light falloff and a door, shelf or picture: the room behind a student."""
    h, w = tile.shape[:2]
    hsv = np.array([[[rng.integers(0, 180), rng.integers(25, 150), rng.integers(90, 196)]]], np.uint8)
    wall = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)
    light = np.linspace(1.05, 0.85, h, dtype=np.float32)[:, None, None]
    tile[:] = np.clip(wall * light, 0, 255).astype(np.uint8)
    fw, fh = int(w * rng.uniform(0.15, 0.3)), int(h * rng.uniform(0.25, 0.6))
    fx, fy = int(rng.integers(0, max(1, w - fw))), int(rng.integers(0, max(1, h // 3)))
    shade = (wall * rng.uniform(0.6, 0.8)).astype(int)
    cv2.rectangle(tile, (fx, fy), (fx + fw, fy + fh), tuple(int(v) for v in shade), -1)


def _draw_person(tile: Image, face: Image, rng: np.random.Generator) -> tuple[int, int, int]:
    """Shoulders and a face in the tile's centre; returns the face's ``(x, y, size)`` within the tile."""
    h, w = tile.shape[:2]
    size = max(8, int(h * 0.42))
    x, y = (w - size) // 2, (h - size) // 2 - h // 20
    shirt = tuple(int(v) for v in rng.integers(40, 200, 3))
    cv2.ellipse(tile, (w // 2, h), (int(size * 0.9), int(size * 0.55)), 0, 180, 360, shirt, -1, cv2.LINE_AA)
    paste_face(tile, face, x, y, size)  # clips to the tile, so the face never spills into the gaps
    return x, y, size


def _draw_name(tile: Image, name: str, font: str = "hershey-simplex", scale: float = 1.0) -> None:
    """Zoom's name label: white text on a translucent dark box in the bottom-left corner."""
    h, w = tile.shape[:2]
    box_h, size = _label_size(h, scale)
    box_w = min(w - 4, _label_width(name, font, size) + 8)
    y0 = h - box_h - 2
    region = tile[y0 : h - 2, 2 : 2 + box_w]
    region[:] = (region.astype(np.float32) * 0.4).astype(np.uint8)
    _draw_label_text(tile[y0 : h - 2, 2 : 2 + box_w], name, font, size)


def _label_size(tile_h: int, scale: float) -> tuple[int, int]:
    """A name label's height and its text's cap height for a tile ``tile_h`` px tall: the label text keeps a readable
    size however small the tile (about 9 px capitals at the least)."""
    box_h = int(np.clip(round(tile_h * 0.1 * scale), min(15, tile_h // 4), 40))
    return box_h, max(5, int(box_h * 0.6))


@lru_cache(maxsize=64)
def _ttf(file: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(TTF_DIR / file), px)


def _label_width(text: str, font: str, size: int) -> int:
    spec = LABEL_FONTS[font]
    if isinstance(spec, int):
        return int(cv2.getTextSize(text, spec, max(0.25, size / 22), 1)[0][0])
    return int(_ttf(spec, max(6, round(size * 1.35))).getlength(text))


def _draw_label_text(region: Image, text: str, font: str, size: int, centre: bool = False) -> None:
    """White ``text`` of cap height about ``size`` px, 4 px from the left of ``region`` and centred vertically
    (or centred both ways); Hershey fonts through OpenCV, TrueType fonts through Pillow."""
    h, w = region.shape[:2]
    spec = LABEL_FONTS[font]
    width = _label_width(text, font, size)
    x = (w - width) // 2 if centre else 4
    if isinstance(spec, int):
        cv2.putText(region, text, (x, (h + size) // 2), spec, max(0.25, size / 22), (255, 255, 255), 1, cv2.LINE_AA)
        return
    ttf = _ttf(spec, max(6, round(size * 1.35)))
    canvas = PILImage.fromarray(np.ascontiguousarray(region[:, :, ::-1]))
    ImageDraw.Draw(canvas).text((x, h // 2), text, font=ttf, fill=(255, 255, 255), anchor="lm")
    region[:] = np.asarray(canvas)[:, :, ::-1]


def _draw_border(tile: Image, colour: Colour, thickness: int) -> None:
    """The active speaker's highlight, drawn over the tile's own edge as Zoom does."""
    tile[:thickness] = colour
    tile[-thickness:] = colour
    tile[:, :thickness] = colour
    tile[:, -thickness:] = colour
