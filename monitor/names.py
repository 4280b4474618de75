"""Read the display name on each Zoom gallery tile, and tell a tile without video (camera off) from one with video.

Zoom writes each participant's display name in the bottom-left corner of their tile, white on a translucent dark
box. ``NameReader.read`` finds that text (bright pixels next to dark ones, in the tile's bottom strip), and reads it
with one of two engines (``gallery.ocr`` in the configuration):

* ``rapidocr`` (default): PP-OCRv4 recognition through ``rapidocr-onnxruntime`` (the ONNX models ship inside the
  wheel: nothing is downloaded), one batched recognition call for the new labels of a frame. Where the label box is
  not found (a grey box over a light background) or reads poorly, PP-OCRv4's text detector finds the label line in
  the tile's bottom strip (its bottom 35%, and for a small tile at a second, finer scale, the surer or fuller read
  kept; for a big tile at the finer scale where the first finds no line); the box it finds is remembered for that
  tile, so the next frames need no detection. A camera-off tile without a label is read by the big name in its
  middle. A new label whose crops (the line, the line with a wider
  margin, the contrast box) read exactly alike with every character sure is settled at once. The
  model knows Chinese and English but not Hangul: a label whose read is too short for its box or holds a Han
  character (how PP-OCR misreads Hangul) is read again by Tesseract with ``gallery.tesseract_lang`` (``eng+kor``).
* ``tesseract``: Debian's ``tesseract-ocr`` through ``pytesseract`` (the binary runs once per call), all new labels
  of a frame stacked into one image and read in ONE call, each line mapped back to its label by position.

A call costs tens to hundreds of ms, so labels are cached by their content: the binarised label, downscaled to a
fixed height, is hashed, and a label seen before costs a hash, not an OCR call. In a steady class nothing is read at
all. Nothing is written: the crops live in memory for the call only. ``python bench/real_names.py`` compares the
engines on real screenshots.

A tile with no video shows a flat grey surface (the name large in its middle, or initials): ``is_camera_off``
measures how much of the tile, label strip excluded, is one flat colour.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from monitor.gallery import GalleryGrid, Tile
from monitor.identity import match_key
from monitor.sources.base import one_line

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Signature = npt.NDArray[np.float32]

_STRIP = 0.22  # the label sits in the bottom this share of the tile
_STRIP_WIDTH = 0.9  # and starts near the left edge; long names reach across most of the tile
_BRIGHT = 180  # label text is white
_DARK = 120  # on a box darkened to 40%: text pixels lie next to dark ones
_BORDER_SHARE = 0.8  # a line of the strip this bright is the speaker's border
_START = 0.12  # the label text starts within this share of the tile's width from its left edge
_OCR_HEIGHT = 48  # px: text lines are scaled to this height for Tesseract (better than 32 or 36 on small labels)
_HASH_HEIGHT = 16  # px: labels are compared at this height
_BLOCK = 8  # px at that height: about one letter
_WIDTH_SLACK = 3  # px at that height: a label's crop may come out this much wider or narrower on another frame
_SCALE_SLACK = 0.15  # or this share of its width, when the text box came out a pixel taller or shorter
_SAME_LABEL = 24.0  # levels: the largest mean difference of a letter-wide block between two looks at one label
_CLEARLY_NEARER = 0.5  # a near copy goes to the nearest name read only when it is this much nearer than any other
#  name's nearest look (a second look at one label is 0-5 levels away, another name's 16 or more)
_MAX_LOOKS = 4  # a label is read again (on new pixels) until two reads agree, at most this many times
_MIN_CONF = 30.0  # Tesseract's mean word confidence below which a read is no read
_FLAT_TOL = 6  # levels: a camera-off tile is flat to within this, video is not
_FLAT_SHARE = 0.72  # share of the tile (label strip excluded) that is flat on a camera-off tile
_BLOWN_OUT = 245  # a tile flat at this level or above on every channel is a clipped camera image, not camera off
_NUMBERLIKE = re.compile(r"(?=.*\d)[\dlI|Oo]+|[lI|]{2,}")
_ZEROS = re.compile(r"[Oo]")
_ONES = re.compile(r"[lI|]")
_ALLOWED = re.compile(r"[^\w .,'\-()\[\]&@+]", re.UNICODE)
_RAPID_MIN_SCORE = 0.8  # PP-OCR's mean character score below which a label is looked for again by detection
_RAPID_SURE = 0.97  # a read this sure is not looked at again in another script
_RAPID_NO_READ = 0.5  # and below which a read is no read
_RAPID_LONGER = 0.75  # a read of the label's further reach must be this sure to add a word
_REDETECT = 10  # frames: a tile where detection found no label is searched again after this many
_CHAR_ASPECT = 0.62  # a Latin letter or digit of a label is at most this wide for its text height, on average
_BARE_ID = re.compile(r"\S{0,2}\s*\d{4,}(?:[\s_]+\S{1,2})*")  # a student ID and fragments: the name unread
_JOINED = re.compile(r"[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]|\][A-Za-z]")  # where PP-OCR's dropped spaces show
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # Han ideographs: PP-OCR's reading of Hangul it cannot read
_DET_STRIP = 128  # px: the bottom strip is scaled up to at least this height for PP-OCR's text detector
_DET_SHARE = 0.35  # the detector sees this bottom share of the tile: a tiny label needs the video above as context
_DET_WIDTH = 0.95  # and this share of its width from the left
_DET_SCALES = (_DET_STRIP, 2 * _DET_STRIP)  # px: a new label is looked for at the first, a small tile's at both
#  (DBNet finds a line best near one text height: 128 suits ~14 px labels, 256 the ~5 px labels of a 7x7 gallery at
#  640x400, and costs about 7 times as much); the surer read is kept
_FINE_BELOW = 3.0  # the finer scale too where the first enlarges the strip more than this (tiles under ~120 px)
_DET_MARGIN = 0.05  # of the line's height above and beside it: DBNet's boxes are already padded, and more video
#  around a tiny label misleads the recogniser
_DET_BELOW = 0.2  # and below it: an underscore ("15117032_Nazri") hangs under the box
_ALONE_MAX = 8  # labels read again alone by Tesseract per call, at most (see _read_rapid)
_TWICE_SURE = 0.95  # a read every character of which PP-OCR gives at least this, on two crops, is settled at once
_REACH_SLACK_PX = 2  # the contrast box's further reach may end this far past the line's reached ink
_FULLER_SLACK = 0.1  # a read that holds another and more wins when at most this much less sure
_WITNESS_SURER = 0.1  # a wider crop's read of an unsure line, as long, wins when this much surer
_REACH_GAP = 1.0  # text heights: the widest gap inside a label (a word space is a third to two thirds of one)
_REACH_BOX = 40  # levels: a column of the label's box is at most this much lighter at its darkest than behind the text
_REACH_TEXT = 50  # levels: a letter of the label is at its brightest this close to the found letters' level
_DOTS_MIN = 9  # px: a label's text this tall at least shows an ellipsis's three dots apart
_RED_ICON = 60  # levels: the red mute icon is this much redder than green and blue (masked before recognition)

Engine = Literal["rapidocr", "tesseract"]
ENGINES: tuple[Engine, ...] = ("rapidocr", "tesseract")


@dataclass(frozen=True)
class TileReading:
    """One tile of a frame: its place, the display name on it (``None``: no label or unreadable), camera off."""

    tile: Tile
    name: str | None
    camera_off: bool
    label_box: tuple[int, int, int, int] | None = None  # where the label text was found, image pixels
    settled: bool = True  # False while the label has been read once only (its text may still change)

    @property
    def fallback(self) -> str:
        """The position label used when the name cannot be read: ``Tile R-C``."""
        return self.tile.label


@dataclass
class OcrStats:
    """How much OCR a reader has done: batched OCR calls, labels read, labels answered from the cache."""

    calls: int = 0
    labels_read: int = 0
    cache_hits: int = 0
    second_looks: int = 0  # rapidocr: labels read again by Tesseract (a script PP-OCR does not know)
    alone_looks: int = 0  # of those, read once more alone (the sheet of several gave no Hangul)


def clean_name(text: str) -> str | None:
    """Tesseract's text as a display name: one line, stray symbols dropped, ``None`` without a letter or digit.

    A word after the first of digits among which Tesseract saw an ``l``, ``I`` or ``O`` ("Ava ll", "Room I2",
    "Student O1") is a number: small sans labels draw 1 and l, 0 and O alike.
    """
    text = _ALLOWED.sub("", " ".join(text.split())).strip(" .-'")
    words = [_ZEROS.sub("0", _ONES.sub("1", w)) if k and _NUMBERLIKE.fullmatch(w) else w
             for k, w in enumerate(text.split(" "))]
    text = " ".join(words)
    return text if any(ch.isalnum() for ch in text) else None


def is_camera_off(image: Image, tile: Tile) -> bool:
    """Whether the tile shows no video: most of it (label strip and edges left out) one flat colour."""
    inset_x, inset_y = max(2, tile.w // 20), max(2, tile.h // 20)
    body = image[tile.y + inset_y : tile.y + int(tile.h * (1 - _STRIP)), tile.x + inset_x : tile.x + tile.w - inset_x]
    if body.size == 0:
        return False
    small = np.asarray(cv2.resize(body, (32, 18), interpolation=cv2.INTER_AREA), dtype=np.int16).reshape(-1, 3)
    median = np.median(small, axis=0)
    if median.min() >= _BLOWN_OUT:
        # flat white is a camera's, not the app's: a bright window or wall behind a student, clipped (a real tile
        # with a clear face read as camera off); meeting apps paint a tile without video grey or dark
        return False
    flat = np.abs(small - median).max(axis=1) <= _FLAT_TOL
    return float(flat.mean()) >= _FLAT_SHARE


def find_label(image: Image, tile: Tile) -> tuple[int, int, int, int] | None:
    """The ``(x, y, w, h)`` of the name label's text in image pixels, or ``None`` when the tile shows none."""
    y0 = tile.y + int(tile.h * (1 - _STRIP))
    x1 = tile.x + int(tile.w * _STRIP_WIDTH)
    strip = np.asarray(cv2.cvtColor(image[y0 : tile.y + tile.h, tile.x : x1], cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if strip.size == 0:
        return None
    near = max(2, strip.shape[0] // 8)
    dark = cv2.dilate((strip <= _DARK).astype(np.uint8), np.ones((2 * near + 1, 2 * near + 1), np.uint8))
    bright = strip >= _BRIGHT
    # a light speaker border runs the whole height (and width) of the strip: lines, not letters
    bright[:, bright.mean(axis=0) > _BORDER_SHARE] = False
    bright[bright.mean(axis=1) > _BORDER_SHARE, :] = False
    text = bright & (dark > 0)
    # the first letters (near the left edge) give the line's rows; the rest of the strip (the student's shirt, a
    # bright face just above the label) is left out
    start = int(_START * tile.w) + near
    first_rows = np.flatnonzero(text[:, :start].any(axis=1))
    if first_rows.size == 0:
        return None
    reach = max(2, (int(first_rows[-1]) - int(first_rows[0]) + 1) // 2)
    top, bottom = max(0, int(first_rows[0]) - reach), int(first_rows[-1]) + reach + 1
    band = text[top:bottom]
    cols = np.flatnonzero(band.any(axis=0))
    if cols.size == 0 or cols[0] > start:
        return None
    # the text runs from its first column until a gap wider than a few letters' spacing
    max_gap = max(4, bottom - top)
    end = int(cols[0])
    for c in cols[1:]:
        if c - end > max_gap:
            break
        end = int(c)
    rows = top + np.flatnonzero(band[:, cols[0] : end + 1].any(axis=1))
    height = int(rows[-1] - rows[0] + 1)
    if height < 5 or end - cols[0] < 4:
        return None
    return tile.x + int(cols[0]), y0 + int(rows[0]), end - int(cols[0]) + 1, height


class NameReader:
    """Reads the names on a gallery's tiles through a content cache and one batched OCR call per frame.

    ``engine``: ``rapidocr`` or ``tesseract`` (see the module docstring); ``tesseract_lang``: Tesseract's languages,
    for the ``tesseract`` engine and for the labels PP-OCR cannot read (Hangul)."""

    def __init__(self, max_cache: int = 4096, engine: Engine = "rapidocr", tesseract_lang: str = "eng+kor") -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown OCR engine {engine!r} (expected one of {', '.join(ENGINES)})")
        self.max_cache = max_cache
        self.engine: Engine = engine
        self.tesseract_lang = tesseract_lang
        self._cache: dict[bytes, str | None] = {}  # labels read, by the exact key of what was read
        self._aliases: dict[bytes, bytes] = {}  # a near-identical label seen since (noise, a reorder) -> its read key
        self._by_width: dict[int, list[tuple[Signature, bytes]]] = {}
        self._votes: dict[bytes, Counter[str | None]] = {}  # each label's reads so far, by its read key
        self._still: Counter[bytes] = Counter()  # frames since its read that showed an unsettled label's very pixels
        self._refused: dict[str, set[str | None]] = {}  # tile position -> reads its label must not be taken for
        self._last: list[tuple[str, bytes, bytes] | None] = []  # per tile of the last frame: position, pixels, read key
        # rapidocr, by the tile's rectangle: the label box its detector found where the contrast finder finds none,
        # or the frame from which a tile without a label is searched again
        self._found: dict[tuple[int, int, int, int, int], tuple[int, int, int, int] | int] = {}
        self._centred: set[tuple[int, int, int, int]] = set()  # boxes of the big centred name of a camera-off tile
        self._fine: set[tuple[int, int, int, int]] = set()  # label boxes found at the finer scale
        self._fine_tried: set[tuple[int, int, int, int, int]] = set()  # tiles searched at the finer scale once
        self._frame = 0
        self.stats = OcrStats()

    def read(self, image: Image, grid: GalleryGrid) -> list[TileReading]:
        """A ``TileReading`` per tile of ``grid``, in its order."""
        self._frame += 1
        rapid = self.engine == "rapidocr"
        pending: dict[bytes, tuple[Image, Signature, bool]] = {}  # key -> crop, signature, a label not seen before
        found: list[tuple[Tile, bool, tuple[int, int, int, int] | None, bytes | None]] = []
        self._last = []
        where: dict[bytes, tuple[Tile, tuple[int, int, int, int], bool]] = {}  # a pending label's tile, box, by contrast
        still: set[bytes] = set()  # labels shown with the very pixels of their read (once a frame, however many tiles)
        for tile in grid.tiles:
            # the cache is keyed by the contrast finder's box; where it finds none (a grey box over a light
            # background) rapidocr's text detector finds the label once and the tile keeps that box
            label = find_label(image, tile)
            off = is_camera_off(image, tile)
            box = label if label is not None or not rapid else self._detect(image, tile, off)
            key = None
            if box is not None:
                crop = _ocr_crop(image, box)
                signature = _signature(crop)
                exact = _exact_key(signature)
                key, known = self._lookup(signature, exact, self._refused.get(tile.label, set()))
                if not known:
                    pending.setdefault(key, (crop, signature, True))
                elif not self._settled(key) and exact != key:
                    pending.setdefault(key, (crop, signature, False))  # another look at a label read only once
                else:
                    self.stats.cache_hits += 1
                    if exact == key:
                        still.add(key)  # the same pixels again: no other look is coming while they stay
                if key in pending:
                    where.setdefault(key, (tile, box, label is not None))
                self._last.append((tile.label, exact, key))
            else:
                self._last.append(None)
            found.append((tile, off, box, key))
        for key in still - pending.keys():
            if not self._settled(key):
                self._still[key] += 1
        if pending:
            twice = [False] * len(pending)
            if rapid:
                texts, twice = self._read_rapid(image, [where[k] for k in pending])
            else:
                texts = self._ocr([crop for crop, _, _ in pending.values()])
            if len(self._cache) + sum(new for _, _, new in pending.values()) > self.max_cache:
                self._cache.clear()  # a long class with ever-new names: start over rather than grow
                self._by_width.clear()
                self._aliases.clear()
                self._votes.clear()
                self._still.clear()
                self._refused.clear()
            for tile, _, _, key in found:  # read afresh: the read stands for itself now
                if key in pending:
                    self._refused.pop(tile.label, None)
            for (key, (_, signature, new)), text, sure in zip(pending.items(), texts, twice, strict=True):
                votes = self._votes.setdefault(key, Counter())
                votes[text] += 2 if sure else 1  # two crops that agree, every letter sure: settled at once
                self._still.pop(key, None)  # a fresh look: stillness counts from it
                self._cache[key] = _decided(votes)
                if new:
                    self._by_width.setdefault(signature.shape[1], []).append((signature, key))
        return [
            TileReading(tile, self._cache.get(key) if key is not None else None, off, box,
                        key is None or self._settled(key))
            for tile, off, box, key in found
        ]

    # ---- rapidocr ----

    def _detect(self, image: Image, tile: Tile, off: bool = False) -> tuple[int, int, int, int] | None:
        """The label line of a tile the contrast finder finds none on, by PP-OCR's text detector, remembered for
        the tile; a tile without one is searched again only after ``_REDETECT`` frames. A steady class runs no
        detection. A camera-off tile without a bottom-left label shows its name large in its middle
        (``detect_centre_name``), remembered apart: the tile's pixels are still while its camera is off."""
        rect = (tile.x, tile.y, tile.w, tile.h, int(off))
        known = self._found.get(rect)
        if isinstance(known, tuple):
            return known
        if known is not None and self._frame < known:
            return None
        box = detect_label(image, tile)
        if box is None and off:
            box = detect_centre_name(image, tile)
            if box is not None:
                self._centred.add(box)
        if box is None and rect not in self._fine_tried:
            # the finer scale where the first found no line: a big tile's label can still be small (a screenshot
            # scaled down). Once per tile (five times the first scale's cost): a tile without a label (names
            # hidden) is searched again every ``_REDETECT`` frames at the first scale only
            self._fine_tried.add(rect)
            box = detect_label(image, tile, _DET_SCALES[1])
            if box is not None:
                self._fine.add(box)
        if len(self._found) >= self.max_cache:
            self._found.clear()
            self._fine_tried.clear()
            self._fine.clear()
        self._found[rect] = box if box is not None else self._frame + _REDETECT
        return box

    def _read_rapid(self, image: Image, places: list[tuple[Tile, tuple[int, int, int, int], bool]]
                    ) -> tuple[list[str | None], list[bool]]:
        """Read every pending label: PP-OCR's detector finds its words in the tile (the contrast finder's box can
        stop short or run on), one batched recognition call reads them; a label that reads poorly is read on the
        other box too; one that may be in a script PP-OCR does not know goes to Tesseract, in one call.

        Also, per label, whether two of its crops from two boxes (the detector's lines at its two scales, the
        contrast finder's box: other boxes, other pixels for the recogniser) read exactly alike with every character at least ``_TWICE_SURE``
        sure, and the name kept is that read: independent evidence, as two frames would be. A recording copies a
        still label's pixels exactly, so waiting for a second look on new pixels left each label pending for its
        first seconds; a misread ("Student 0g") has an unsure character and waits as before."""
        # each label's candidate lines: the detector's (a tile without a contrast box already has the first-scale
        # box from ``_detect``; a small tile's strip is looked at at the finer scale too), else the contrast box; all
        # read in one batch, the surest kept. Witness crops, the first line with a wider margin and the contrast
        # finder's box (other pixels around the letters, another scale for the recogniser), are read in the same
        # batch: they only vote.
        candidates: list[list[tuple[int, int, int, int]]] = []
        for tile, box, by_contrast in places:
            sides: tuple[int, ...] = _DET_SCALES if tile.h * _DET_SHARE < _DET_SCALES[0] / _FINE_BELOW else _DET_SCALES[:1]
            sides = () if box in self._centred else sides if by_contrast else sides[1:]
            if not by_contrast and box in self._fine:
                sides = ()  # ``_detect`` found this line at the finer scale already
            found = [detect_label(image, tile, side) for side in sides]
            if by_contrast and sides == _DET_SCALES[:1] and found == [None]:
                # a big tile's label can still be small (a screenshot scaled down: 8 px names on 260 px tiles); the
                # finer scale where the first found no line, for a new label only
                found.append(detect_label(image, tile, _DET_SCALES[1]))
            lines = [b for b in ([] if by_contrast else [box]) + found if b is not None]
            # each line also reached over the rest of the label's ink (a tiny label's line comes in pieces)
            candidates.append(list(dict.fromkeys(lines + [_reach(image, tile, b) for b in lines])))
        flat: list[tuple[int, tuple[int, int, int, int], float | None]] = [
            (i, b, _DET_MARGIN) for i, found in enumerate(candidates) for b in found]
        flat += [(i, found[0], None) for i, found in enumerate(candidates) if found]  # the witnesses
        flat += [(i, box, None) for i, ((_, box, by_contrast), found) in enumerate(zip(places, candidates, strict=True))
                 if by_contrast and found and box != found[0]]  # and the contrast finder's box, where it found one
        first = _rapid_recognise_least([_colour_crop(image, b, m) for _, b, m in flat]) if flat else []
        boxes = [box for _, box, _ in places]
        sure: dict[int, tuple[str, float]] = {}
        # per label: for the match key of each read every character of which is sure, the boxes that read it. Two
        # reads count as two only from two boxes (another scale or the contrast finder's): the same box read again
        # with a wider margin is the same pixels, and would repeat a confident misread as readily as a name.
        agreed: dict[int, dict[str, set[tuple[int, int, int, int]]]] = {}
        for (i, b, margin), (text, score, least) in zip(flat, first, strict=True):
            read = (text, score)
            if least >= _TWICE_SURE and text.strip():
                agreed.setdefault(i, {}).setdefault(match_key(_ICON_READ.sub("", text.strip())), set()).add(b)
            if margin is not None and (i not in sure or _better(read, sure[i])):
                sure[i], boxes[i] = read, b
            elif margin is None and i in sure and b == boxes[i] and _holds_more(read, sure[i]):
                sure[i] = read  # the same line with a wider margin reads a glyph the tight crop cut ("1065" -> "065")
            elif margin is None and i in sure and b == boxes[i] and _surer_alike(read, sure[i]):
                sure[i] = read  # the same letters read differently, and clearly surer with more room around them
        missing = [i for i in range(len(places)) if i not in sure]  # no line detected: the contrast box
        # the detector can drop a narrow last glyph ("Ava 1"): where the contrast box runs further right, that
        # reach is read too, in the same call, and kept when it only adds a word to the detector's read
        longer: dict[int, tuple[int, int, int, int]] = {}
        for i, (b, (tile, box, _)) in enumerate(zip(boxes, places, strict=True)):
            reach = _extended(b, box)
            span = _reach_span(image, tile, b) if reach is not None else None
            if reach is not None and span is not None:
                # not past the end of the label's own box and ink as the line reaches it: the contrast box can run on
                # into the video beside a label, and the recogniser made a word of what it found there (a drawstring
                # read as " N"); where the line's band cannot be looked at, the contrast box's end is kept as before.
                # (A detector line that itself runs past the label is not trimmed here.)
                end = min(box[0] + box[2], span[0] + span[2] + _REACH_SLACK_PX)
                reach = _extended(b, (box[0], box[1], end - box[0], box[3]))
            if reach is not None:
                longer[i] = reach
        second = [_colour_crop(image, boxes[i]) for i in missing] + [_colour_crop(image, b, _DET_MARGIN)
                                                                       for b in longer.values()]
        more = _rapid_recognise(second) if second else []
        sure.update(zip(missing, more, strict=False))
        reads = [sure[i] for i in range(len(places))] + more[len(missing):]
        for i, (text, score) in zip(longer, reads[len(boxes):], strict=True):
            base = reads[i][0].strip()
            extra = text.strip()[len(base):]
            if score >= _RAPID_LONGER and text.strip().startswith(base) and extra[:1] == " " and extra[1:].isalnum():
                reads[i] = (text, min(score, reads[i][1]))  # a whole word more ("Ava" -> "Ava 1"), not a tail
        reads = reads[: len(boxes)]
        self.stats.calls += 1
        self.stats.labels_read += len(places)
        out: list[str | None] = []
        unknown: list[tuple[int, Image, str]] = []  # labels to read again in Tesseract's scripts (Hangul)
        for i, ((tile, box, _), det, (text, score)) in enumerate(zip(places, boxes, reads, strict=True)):
            if score < _RAPID_MIN_SCORE and det != box:
                (text2, score2), = _rapid_recognise([_colour_crop(image, box)])
                if score2 > score:
                    text, score = text2, score2
            text = _ICON_READ.sub("", text.strip())
            wide = _widened(det, box)
            wide_crop = _ocr_crop(image, wide if wide is not None else det)
            if _needs_hangul(text, score, wide_crop):
                unknown.append((i, wide_crop, text))
            elif score >= _RAPID_NO_READ and _JOINED.search(text):
                unknown.append((i, _ocr_crop(image, det), text))  # a space PP-OCR may have dropped
            out.append(clean_name(text) if score >= _RAPID_NO_READ else None)
        if unknown:  # one Tesseract call for all of them
            self.stats.second_looks += len(unknown)
            sheet = self._ocr([c for _, c, _ in unknown], count=False)
            # read on a sheet of several labels, Tesseract can take a line for Latin ("2021456 01S" for "2021456
            # 이호연" on the Korean gallery, read right alone): a label PP-OCR plainly could not read (a Han character,
            # a bare ID) and the sheet gave no Hangul is read again alone, at most _ALONE_MAX a call, only where
            # Tesseract reads Hangul at all and the sheet was read (a failing Tesseract is not called again)
            alone_left = _ALONE_MAX if len(unknown) > 1 and "kor" in self.tesseract_lang.split("+") and \
                any(o is not None for o in sheet) else 0
            for (i, crop, text), other in zip(unknown, sheet, strict=True):
                hangul = _hangul_name(other, text)
                if hangul is None and alone_left and (_HAN.search(text) or _BARE_ID.fullmatch(text.strip())):
                    alone_left -= 1
                    self.stats.alone_looks += 1
                    alone = self._ocr([crop], count=False)[0]
                    hangul = _hangul_name(alone, text)
                if hangul is not None:
                    out[i] = hangul
                elif other is not None and out[i] is not None and " " in other and \
                        match_key(other) == match_key(out[i] or ""):
                    out[i] = other  # the same name with the spaces Tesseract keeps ("Ava1" -> "Ava 1")
        twice = [o is not None and len(agreed.get(i, {}).get(match_key(o), ())) >= 2 for i, o in enumerate(out)]
        return out, twice

    def doubt(self, index: int) -> None:
        """Tile ``index`` of the last frame was given a name another tile of that frame holds: a read error.

        When the label was taken for a look-alike read before (an alias: after a reorder the translucent label box
        shows another background, and a recording's blur brings "Student 06" within reach of "Student 08"), that
        pairing is dropped and refused from now on, so the next frame reads the label itself instead of repeating
        the mistake for as long as the tiles stay put. The refusal is by text and by tile (the codec keeps changing
        the pixels): every label read as that name is passed over at that tile until its label is read afresh."""
        last = self._last[index] if 0 <= index < len(self._last) else None
        if last is None:
            return
        where, exact, key = last
        if exact != key and self._aliases.get(exact) == key:
            del self._aliases[exact]
            self._refused.setdefault(where, set()).add(self._cache.get(key))

    def _settled(self, key: bytes) -> bool:
        """Whether a label's text is settled: two looks at it (other pixels of the same label) read alike, or
        ``_MAX_LOOKS`` looks were taken. A codec's first frames are its worst: one read of them is no name yet. A
        frame showing the label's very pixels again since its last read counts as a look (``_still``, once a frame),
        while its reads all agree: a label drawn opaque on a screen capture, or a still recording, never shows other
        pixels, and waiting for them kept its student from ever being named (a still 23-tile gallery stored 22)."""
        votes = self._votes.get(key)
        if votes is None or _agreeing(votes) >= 2:
            return True
        looks = sum(votes.values())
        # frames of the same pixels stand for looks only while every read so far agrees: two reads that differ wait
        # for a look that decides between them (the first read is a codec's worst frame, not the tie-break)
        return looks >= _MAX_LOOKS or (_agreeing(votes) == looks and looks + self._still[key] >= _MAX_LOOKS)

    def _lookup(self, signature: Signature, key: bytes, refused: set[str | None] | frozenset[str | None] = frozenset()
                ) -> tuple[bytes, bool]:
        """The cache key of a label read before that looks the same, and True; else this label's own key and False.

        The same pixels is the fast path; otherwise every letter-sized block within a few levels (the translucent
        box shows another background after a reorder, and a recording adds noise), so two names differing in one
        letter stay apart; and only the name nearest by far (see below): a look-alike of two names is read. A near
        match is remembered as an alias, kept apart from the labels read, so a long noisy class fills and clears
        only the aliases and never throws away what Tesseract read. ``key`` is the signature's exact key
        (``_exact_key``), hashed once by the caller."""
        if key in self._cache:
            return key, True
        if key in self._aliases and self._cache.get(self._aliases[key]) not in refused:
            return self._aliases[key], True
        width = signature.shape[1]
        # a text box a pixel taller or shorter scales the whole signature: compare those at the query's width
        nearest: dict[str | None, tuple[float, bytes]] = {}  # per text read (as names match): its nearest look
        for w in sorted(self._by_width, key=lambda w: abs(w - width)):
            if abs(w - width) > max(_WIDTH_SLACK, _SCALE_SLACK * width):
                break
            for known, known_key in self._by_width[w]:
                if abs(w - width) > _WIDTH_SLACK:
                    known = np.asarray(cv2.resize(known, (width, _HASH_HEIGHT), interpolation=cv2.INTER_AREA),
                                       dtype=np.float32)
                difference = _label_difference(signature, known)
                text = _text_key(self._cache.get(known_key))
                if text not in nearest or difference < nearest[text][0]:
                    nearest[text] = (difference, known_key)
        ranked = sorted(nearest.items(), key=lambda item: item[1][0])
        # The nearest name read, and only when it is unambiguous: clearly nearer than the nearest look of any other
        # name, however far (not only the others within reach). After a reorder the translucent box shows another
        # background and the codec smears the label anew: on the 25-tile H.264 recording "Student 08" came out 17
        # levels from "Student 06"'s look and 25 from its own (beyond reach), and the look-alike held the twin's
        # name for the whole phase. A refused name still counts as the nearest: a label nearest to a name it must
        # not take is read, not given the next nearest.
        if ranked and ranked[0][1][0] <= _SAME_LABEL and not _text_key_in(ranked[0][0], refused) and (
                len(ranked) == 1 or ranked[0][1][0] <= _CLEARLY_NEARER * ranked[1][1][0]):
            if len(self._aliases) >= self.max_cache:
                self._aliases.clear()
            self._aliases[key] = ranked[0][1][1]
            return ranked[0][1][1], True
        return key, False

    def _ocr(self, crops: list[Image], count: bool = True) -> list[str | None]:
        """Read every crop (black text on white, ``_OCR_HEIGHT`` tall) in one Tesseract call."""
        import pytesseract

        pad, spacing = 12, _OCR_HEIGHT
        width = max(c.shape[1] for c in crops) + 2 * pad
        height = pad * 2 + len(crops) * _OCR_HEIGHT + (len(crops) - 1) * spacing
        sheet = np.full((height, width), 255, np.uint8)
        tops = []
        for i, crop in enumerate(crops):
            top = pad + i * (_OCR_HEIGHT + spacing)
            sheet[top : top + crop.shape[0], pad : pad + crop.shape[1]] = crop
            tops.append(top)
        try:
            data = pytesseract.image_to_data(sheet, lang=self.tesseract_lang, config="--psm 6",
                                             output_type=pytesseract.Output.DICT)
        except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as exc:
            log.warning("name labels not read: tesseract failed (%s)", one_line(exc))
            return [None] * len(crops)
        if count:
            self.stats.calls += 1
            self.stats.labels_read += len(crops)
        words: list[list[tuple[int, str, float]]] = [[] for _ in crops]
        for text, left, top, h, conf in zip(
            data["text"], data["left"], data["top"], data["height"], data["conf"], strict=True
        ):
            if not str(text).strip():
                continue
            centre = int(top) + int(h) / 2
            index = min(range(len(crops)), key=lambda i: abs(tops[i] + _OCR_HEIGHT / 2 - centre))
            words[index].append((int(left), str(text), float(conf)))
        out: list[str | None] = []
        for line in words:
            if not line or float(np.mean([c for _, _, c in line])) < _MIN_CONF:
                out.append(None)
                continue
            out.append(clean_name(" ".join(t for _, t, _ in sorted(line))))
        return out


@lru_cache(maxsize=4096)
def _text_key(text: str | None) -> str | None:
    """A read's text as names are matched (``match_key``); ``None`` for no read."""
    return match_key(text) if text is not None else None


def _text_key_in(text: str | None, refused: set[str | None] | frozenset[str | None]) -> bool:
    """Whether a matched text (``_text_key``) is one of the ``refused`` reads."""
    return any(_text_key(r) == text for r in refused)


def _groups(votes: Counter[str | None]) -> dict[str | None, list[tuple[str | None, int]]]:
    """A label's reads grouped by ``match_key`` (reads that differ only in a dropped space agree)."""
    out: dict[str | None, list[tuple[str | None, int]]] = {}
    for text, n in votes.items():  # insertion order: the first read first
        out.setdefault(match_key(text) if text is not None else None, []).append((text, n))
    return out


def _agreeing(votes: Counter[str | None]) -> int:
    """How many reads of a label agree, as names are matched."""
    return max(sum(n for _, n in group) for group in _groups(votes).values())


def _decided(votes: Counter[str | None]) -> str | None:
    """A label's text from its reads: the group read most (ties: the first read), shown with the most spaces any
    of its reads kept ("Ava 1" over "Ava1")."""
    groups = list(_groups(votes).values())
    best = max(groups, key=lambda g: sum(n for _, n in g))  # max keeps the first of equals
    return max(best, key=lambda v: (v[0] or "").count(" "))[0]


def _ocr_crop(image: Image, box: tuple[int, int, int, int]) -> Image:
    """The label text as dark on white, scaled so its height is ``_OCR_HEIGHT`` px minus a margin."""
    x, y, w, h = box
    margin = max(1, h // 5)
    gray = cv2.cvtColor(image[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin],
                        cv2.COLOR_BGR2GRAY)
    scale = (_OCR_HEIGHT - 4) / gray.shape[0]
    big = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    # the dark box is not uniform (it darkens the video behind it): stretch to the text's own contrast, clip the rest
    stretched = np.clip((big.astype(np.float32) - 110.0) * (255.0 / 145.0), 0, 255)
    return np.asarray(255 - stretched, dtype=np.uint8)


def _signature(crop: Image) -> Signature:
    """The label at a fixed height, as floats: what the cache compares."""
    width = max(1, round(crop.shape[1] * _HASH_HEIGHT / crop.shape[0]))
    return np.asarray(cv2.resize(crop, (width, _HASH_HEIGHT), interpolation=cv2.INTER_AREA), dtype=np.float32)


def _exact_key(signature: Signature) -> bytes:
    return hashlib.blake2b(signature.astype(np.uint8).tobytes() + signature.shape[1].to_bytes(2, "little"),
                           digest_size=16).digest()


def _label_difference(a: Signature, b: Signature) -> float:
    """``_max_block_difference`` of two signatures a pixel or two apart in width, at their best alignment: every
    shift and a row up or down (the box's top and bottom rows flicker), all in one numpy pass. Each frame of a
    25-tile gallery compares hundreds of pairs: one small numpy call per shift and block cost 70 ms of CPU a frame
    (JPEG'd 1080p gallery, ``bench/real_galleries.py``'s timing frames)."""
    if a.shape[1] < b.shape[1]:
        a, b = b, a
    width, rows = b.shape[1], _HASH_HEIGHT - 2
    windows = np.lib.stride_tricks.sliding_window_view(a, (rows, width))  # [dy + 1, shift, rows, width]
    diff = np.abs(windows - b[1:-1]).mean(axis=2)  # [dy + 1, shift, width]: per column
    return float(_block_means(diff).max(axis=-1).min())


def _block_means(diff: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """The mean of each letter-wide column block along the last axis, the blocks as ``np.array_split`` cuts them."""
    width = diff.shape[-1]
    blocks = max(1, width // _BLOCK)
    size, extra = divmod(width, blocks)
    lengths = np.array([size + 1] * extra + [size] * (blocks - extra))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.add.reduceat(diff.astype(np.float64), starts, axis=-1) / lengths


def _max_block_difference(a: Signature, b: Signature) -> float:
    """The largest mean absolute difference over letter-wide column blocks of two signatures of one shape."""
    return float(_block_means(np.abs(a - b).mean(axis=0)).max())


# ---- rapidocr (PP-OCRv4 on onnxruntime) ----

_LONE_FIRST = re.compile(r"\S\s+\S")  # a read starting with a one-character word
_HANGUL_NAME = re.compile(r"[\uac00-\ud7a3]{2,}")  # a Korean name: two syllables or more
_engine: Any = None
_engine_lock = threading.Lock()


def _rapid() -> Any:
    """The PP-OCRv4 engine, loaded once per process (the models ship in the wheel: nothing is downloaded). The
    detector runs on a tile's bottom strip, so its input is scaled to a ``_DET_STRIP`` px short side, not the default 736."""
    global _engine
    with _engine_lock:
        if _engine is None:
            from rapidocr_onnxruntime import RapidOCR

            logging.getLogger("RapidOCR").setLevel(logging.WARNING)
            _engine = RapidOCR(det_limit_side_len=_DET_STRIP, det_limit_type="min", print_verbose=False)
        return _engine


def _rapid_recognise(crops: list[Image]) -> list[tuple[str, float]]:
    """PP-OCRv4 recognition of single text lines, batched: ``(text, mean character score)`` per crop, with the
    spaces it dropped between a letter and a digit (or a lower and an upper case letter) put back where the crop
    shows a gap (``_spaced``)."""
    return [(text, score) for text, score, _ in _rapid_recognise_least(crops)]


def _rapid_recognise_least(crops: list[Image]) -> list[tuple[str, float, float]]:
    """``_rapid_recognise`` with, third, the score of its least sure character (spaces left out; 0 for no text)."""
    crops = [crop[:, : _before_ellipsis(crop)] for crop in crops]
    results, _ = _rapid().text_rec(crops, return_word_box=True)
    out = []
    for (text, score, info), crop in zip(results, crops, strict=True):
        chars = [c for word in info[1] for c in word] if len(info) > 4 else []
        scores = [float(v) for v in info[4]] if len(info) > 4 else []
        letters = [v for c, v in zip(chars, scores, strict=False) if c.strip()]
        read = _spaced(str(text), info, crop)
        if _LONE_FIRST.match(read) and letters and letters[0] < _RAPID_NO_READ:
            # a lone unsure glyph before the name: the mute icon (grey, not red, it is not painted over), read as
            # an "X" or a "Y" depending on the crop's margin
            read, letters = read[1:].lstrip(), letters[1:]
        out.append((read, float(score), min(letters) if letters else 0.0))
    return out


def _before_ellipsis(crop: Image) -> int:
    """Where a label cut with "..." ends before its dots (the crop's width when it shows none): PP-OCR reads the
    letter glued to Zoom's ellipsis as a dot or drops it ("Martin..." read "Marti."). The dots are the last three runs
    of light columns, each narrow and low (on the baseline), after a run that reaches above them (a letter). On
    labels under ``_DOTS_MIN`` px the dots merge and nothing is cut."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.int16)
    ink = gray > (np.median(gray) + gray.max()) / 2  # light text on the label's dark box
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0 or rows[-1] - rows[0] + 1 < _DOTS_MIN:
        return crop.shape[1]
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    inked = np.flatnonzero(ink.any(axis=0))
    runs = np.split(inked, np.flatnonzero(np.diff(inked) > 1) + 1)
    if len(runs) < 4:
        return crop.shape[1]

    def dot(run: npt.NDArray[np.intp]) -> bool:
        lit = np.flatnonzero(ink[:, run[0] : run[-1] + 1].any(axis=1))
        return len(run) <= 0.35 * height and lit[-1] - lit[0] + 1 <= 0.3 * height and lit[0] >= top + 0.5 * height

    if all(dot(run) for run in runs[-3:]) and not dot(runs[-4]):
        return int(runs[-3][0])
    return crop.shape[1]


def _spaced(text: str, info: list[Any], crop: Image) -> str:
    """``text`` with a space put back at each joined boundary (``_JOINED``) where the label's ink has a gap of at
    least a quarter of the text's height between the two characters (their places from PP-OCR's decoding columns)."""
    chars = [c for word in info[1] for c in word]
    cols = [int(c) for word in info[2] for c in word]
    if len(chars) != len(cols) or "".join(chars) != text or not _JOINED.search(text) or not info[0]:
        return text
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.int16)
    ink = gray > (np.median(gray) + gray.max()) / 2  # light text on the label's dark box
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return text
    height = int(rows[-1] - rows[0] + 1)
    inked = ink.any(axis=0)
    cell = crop.shape[1] / float(info[0])
    out = [chars[0]]
    for k in range(1, len(chars)):
        pair = chars[k - 1] + chars[k]
        if _JOINED.fullmatch(pair):
            a, b = int(cols[k - 1] * cell), int(cols[k] * cell) + 1
            run = longest = 0
            for filled in inked[max(0, a) : min(len(inked), b)]:
                run = 0 if filled else run + 1
                longest = max(longest, run)
            if longest >= max(2, height / 4):
                out.append(" ")
        out.append(chars[k])
    return "".join(out)


def _text_rects(region: Image, side: int) -> list[tuple[float, float, float, float]]:
    """PP-OCR's text detector on ``region`` scaled up to a ``side`` px short side: each text box as
    ``(x0, y0, x1, y1)`` in the region's own pixels (empty when it finds none)."""
    scale = max(1.0, side / region.shape[0])
    big = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else region
    boxes, _ = _rapid().text_det(big)
    if boxes is None or len(boxes) == 0:
        return []
    return [(float(b[:, 0].min()) / scale, float(b[:, 1].min()) / scale, float(b[:, 0].max()) / scale,
             float(b[:, 1].max()) / scale) for b in boxes]


def detect_label(image: Image, tile: Tile, side: int = _DET_STRIP) -> tuple[int, int, int, int] | None:
    """The ``(x, y, w, h)`` of the name label's text line by PP-OCR's text detector in the tile's bottom strip
    (scaled up to a ``side`` px short side): the lowest line with a box starting in the left part of the tile,
    extended over the boxes beside it."""
    y0 = tile.y + int(tile.h * (1 - _DET_SHARE))
    x1 = tile.x + int(tile.w * _DET_WIDTH)
    strip = image[y0 : tile.y + tile.h, tile.x : x1]
    if strip.shape[0] < 4 or strip.shape[1] < 16:
        return None
    rects = _text_rects(strip, side)
    if not rects:
        return None
    left = [r for r in rects if r[0] <= 0.4 * tile.w and r[3] - r[1] >= 3]
    if not left:
        return None
    line = max(left, key=lambda r: (r[1] + r[3]) / 2)  # Zoom's label is the lowest text starting at the left
    top, bottom = line[1], line[3]
    height = bottom - top
    same = sorted((r for r in rects if top <= (r[1] + r[3]) / 2 <= bottom or r[1] <= (top + bottom) / 2 <= r[3]),
                  key=lambda r: r[0])  # its words: boxes on the same line, left to right
    x0, x2 = same[0][0], same[0][2]
    if x0 > 0.4 * tile.w:
        return None
    top, bottom = min(top, same[0][1]), max(bottom, same[0][3])
    letters = _peak(strip, same[0])
    for r in same[1:]:  # up to a gap wider than two letters' height, or text of another colour
        if r[0] - x2 > 2 * height or _peak(strip, r) < letters - _REACH_TEXT:
            break  # the grey "Go to Settings" of a Windows watermark over the tile is not the white label
        x2 = max(x2, r[2])
        top, bottom = min(top, r[1]), max(bottom, r[3])
    # outward to whole pixels: on a 5 px label the row a truncation drops is a fifth of the letters
    start, up = int(np.floor(x0)), int(np.floor(top))
    return tile.x + start, y0 + up, max(1, int(np.ceil(x2)) - start), max(1, int(np.ceil(bottom)) - up)


def _peak(region: Image, rect: tuple[float, float, float, float]) -> float:
    """How bright the text of a detector box is: the 98th percentile of its pixels' brightest channel (coloured
    ClearType edges count as bright as white)."""
    x0, y0 = max(0, int(rect[0])), max(0, int(rect[1]))
    pixels = region[y0 : max(y0 + 1, int(np.ceil(rect[3]))), x0 : max(x0 + 1, int(np.ceil(rect[2])))]
    return float(np.percentile(pixels.max(axis=2), 98)) if pixels.size else 0.0


def _reach(image: Image, tile: Tile, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """``box`` widened over the rest of its label's ink (:func:`_reach_span`), or ``box`` where that cannot be told."""
    return _reach_span(image, tile, box) or box


def _reach_span(image: Image, tile: Tile, box: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """``box`` (a text line PP-OCR's detector found) widened left and right over the rest of the label's ink; None
    where the line's band cannot be looked at (outside the tile's label area, no letters found in it).

    On labels a few pixels tall the detector splits a name into pieces and keeps a part ("Chloe Ma" of a longer
    name, the last word alone): along the line's rows, a column is the label's ink when it changes across the row as
    much as the found letters do and is as bright as they are (within ``_REACH_TEXT``), and the label's box when its
    darkest pixel is as dark as the box behind the found text (within ``_REACH_BOX``). The line grows over ink up to
    a gap wider than ``_REACH_GAP`` text heights and never past a column that is not the label's box (the video
    beside a label)."""
    x, y, w, h = box
    lo, hi = tile.x + 1, tile.x + int(tile.w * _DET_WIDTH)
    if hi - lo < 4 or x < lo or x + w > hi:
        return None
    band = np.asarray(cv2.cvtColor(image[y : y + h, lo:hi], cv2.COLOR_BGR2GRAY), dtype=np.int16)
    top, bottom = band.max(axis=0), band.min(axis=0)
    # letters change across the row; the edges of the label's box and of the tile do not (a line's rows may take in
    # a row of the surface above or below the box: contrast down a column alone would run along those edges)
    across = np.abs(np.diff(band, axis=1)).max(axis=0)
    across = np.maximum(np.append(across, 0), np.insert(across, 0, 0))
    a, b = x - lo, x + w - lo
    background = float(np.median(bottom[a:b]))
    level = 0.5 * float(np.percentile(across[a:b], 75))
    found = top[a:b][across[a:b] >= level]
    if found.size == 0 or level <= 0:
        return None
    # the label's letters are one colour (Zoom's white): a column is ink when its brightest pixel reaches near
    # the found letters' level, not merely stands out (the video beside a label, a grey watermark over it)
    ink = (across >= level) & (top >= float(np.percentile(found, 90)) - _REACH_TEXT)
    boxed = bottom <= background + _REACH_BOX
    gap = max(2, round(_REACH_GAP * h))

    def walk(start: int, step: int) -> int:
        end = c = start
        run = 0
        while 0 <= c + step < band.shape[1] and boxed[c + step] and run <= gap:
            c += step
            run = 0 if ink[c] else run + 1
            end = c if ink[c] else end
        return end

    left, right = walk(a, -1), walk(b - 1, 1)
    return lo + left, y, right - left + 1, h


def detect_centre_name(image: Image, tile: Tile) -> tuple[int, int, int, int] | None:
    """The ``(x, y, w, h)`` of the big name Zoom writes in the middle of a camera-off tile, by PP-OCR's text
    detector on the tile's middle half: the line nearest the tile's centre, over the boxes beside it."""
    y0, x0 = tile.y + tile.h // 4, tile.x + tile.w // 20
    band = image[y0 : tile.y + 3 * tile.h // 4, x0 : tile.x + tile.w - tile.w // 20]
    if band.shape[0] < 8 or band.shape[1] < 16:
        return None
    rects = _text_rects(band, _DET_STRIP)
    if not rects:
        return None
    mid = (tile.y + tile.h / 2) - y0
    line = min(rects, key=lambda r: abs((r[1] + r[3]) / 2 - mid))
    same = [r for r in rects if line[1] <= (r[1] + r[3]) / 2 <= line[3]]
    left, top = min(r[0] for r in same), min(r[1] for r in same)
    right, bottom = max(r[2] for r in same), max(r[3] for r in same)
    if bottom - top < 4:
        return None
    start, up = int(np.floor(left)), int(np.floor(top))
    return x0 + start, y0 + up, max(1, int(np.ceil(right)) - start), max(1, int(np.ceil(bottom)) - up)


def _better(read: tuple[str, float], other: tuple[str, float]) -> bool:
    """Whether one PP-OCR read of a label (another crop of it) beats ``other``: a read holding the other whole and
    more ("Zach Mcintyre" over "Zach Mcinty": a detector box cut short at one scale) when it is nearly as sure
    (its mean character score does not count the letters the other missed), else the surer read."""
    a, b = read[0].replace(" ", ""), other[0].replace(" ", "")
    if len(a) > len(b) and b in a and read[1] >= other[1] - _FULLER_SLACK:
        return True
    if len(b) > len(a) and a in b and other[1] >= read[1] - _FULLER_SLACK:
        return False
    return read[1] > other[1]


def _surer_alike(read: tuple[str, float], other: tuple[str, float]) -> bool:
    """Whether ``read`` (the same line cropped with a wider margin) should replace an unsure ``other``: as many
    characters, another text, and at least ``_WITNESS_SURER`` surer where ``other`` is under ``_RAPID_MIN_SCORE``. On
    a 9-px label the tight crop read "vermi" at 0.73, the wider one "verni" at 0.84: a letter the tight crop's edge
    deformed. A read of another length is a cut or an addition, which :func:`_holds_more` decides."""
    a, b = read[0].strip(), other[0].strip()
    return (other[1] < _RAPID_MIN_SCORE and read[1] >= other[1] + _WITNESS_SURER and len(a) == len(b)
            and a.casefold() != b.casefold())


def _holds_more(read: tuple[str, float], other: tuple[str, float]) -> bool:
    """Whether ``read`` holds ``other`` whole and more and is nearly as sure (``_FULLER_SLACK``)."""
    a, b = read[0].replace(" ", ""), other[0].replace(" ", "")
    return len(a) > len(b) and b in a and read[1] >= other[1] - _FULLER_SLACK


def _hangul_name(text: str | None, rapid: str) -> str | None:
    """Tesseract's read of a label when it holds a Korean name (two Hangul syllables or more, written without the
    spaces Tesseract puts between syllables, anything after the name dropped) and agrees with PP-OCR's first word
    (the student ID before the name), with no Latin word before it (Tesseract's Hangul for the noise after a Latin
    name PP-OCR read: "Darlene Alvarez 나 개"); else ``None``."""
    if text is None:
        return None
    text = re.sub(r"(?<=[\uac00-\ud7a3]) (?=[\uac00-\ud7a3])", "", text)
    runs = list(_HANGUL_NAME.finditer(text))
    if not runs or re.search(r"[A-Za-z]{3,}", text[: runs[0].start()]):
        return None
    first = _HAN.sub("", rapid.strip().split(" ")[0]) if rapid.strip() else ""  # its Hangul misread left out
    if first and first not in text:
        return None
    return clean_name(text[: runs[-1].end()])


def _extended(box: tuple[int, int, int, int],
              label: tuple[int, int, int, int]) -> tuple[int, int, int, int] | None:
    """``box`` reaching right to the end of ``label`` when both lie on one line and ``label`` ends further right by
    more than a couple of pixels; else ``None``."""
    x, y, w, h = box
    lx, ly, lw, lh = label
    if box == label or not (ly <= y + h / 2 <= ly + lh) or lx + lw - (x + w) <= 2:
        return None
    return x, y, lx + lw - x, h


def _widened(box: tuple[int, int, int, int] | None,
             label: tuple[int, int, int, int] | None) -> tuple[int, int, int, int] | None:
    """``box`` reaching right to the end of ``label`` when both lie on one line and ``label`` reaches words
    further (either alone when one is None)."""
    if box is None or label is None:
        return box or label
    x, y, w, h = box
    lx, ly, lw, lh = label
    if not (ly <= y + h / 2 <= ly + lh) or lx + lw - (x + w) < max(3 * h, w // 3):
        return box  # a few pixels more are the contrast finder's slack (a shadow, the box's edge), not a word
    return x, y, lx + lw - x, h


# the mute icon read as a leading "X", "%", "X:", or as any lone letter before a student ID ("K 20200756")
_ICON_READ = re.compile(r"^(?:[^\w\s]|[Xx%]\W?)\s+(?=\S)|^\w\W?\s+(?=\d{4,})")


def _colour_crop(image: Image, box: tuple[int, int, int, int], share: float | None = None) -> Image:
    """The label for PP-OCR: its colour pixels with a margin (``share`` of the box's height; default a third, at
    least 2 px: the contrast finder's box is tight on the letters), the red mute icon painted over with the box's
    colour (PP-OCR reads the icon as an "X" or "%")."""
    x, y, w, h = box
    margin = max(2, h // 3) if share is None else max(1, round(share * h))
    below = margin if share is None else max(1, round(_DET_BELOW * h))
    crop = image[max(0, y - margin) : y + h + below, max(0, x - margin) : x + w + margin].copy()
    pixels = crop.astype(np.int16)
    red = (pixels[..., 2] - np.maximum(pixels[..., 0], pixels[..., 1])) > _RED_ICON
    if red.any():
        crop[red] = np.median(crop[~red], axis=0).astype(np.uint8) if (~red).any() else 0
    return crop


def _needs_hangul(text: str, score: float, gray: Image) -> bool:
    """Whether PP-OCR's read may be a label in a script it does not know: a Han character in it (how it misreads
    Hangul), a less than sure read, a student ID with nothing after it but a letter or two (the name it could not
    read: "20190723 0"), or far fewer characters than a label of that width holds."""
    if _HAN.search(text) or score < _RAPID_SURE or _BARE_ID.fullmatch(text.strip()):
        return True
    chars = len(text.replace(" ", ""))
    expected = gray.shape[1] / (_CHAR_ASPECT * _OCR_HEIGHT)  # the crop is ``_OCR_HEIGHT`` tall
    return chars < 0.65 * expected
