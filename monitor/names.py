"""Read the display name on each Zoom gallery tile, and tell a tile without video (camera off) from one with video.

Zoom writes each participant's display name in the bottom-left corner of their tile, white on a translucent dark
box. ``NameReader.read`` finds that text (bright pixels next to dark ones, in the tile's bottom strip), and reads it
with Tesseract (Debian's ``tesseract-ocr`` through ``pytesseract``, which runs the binary once per call).

A call costs 100-300 ms, so labels are cached by their content: the binarised label, downscaled to a fixed height,
is hashed, and a label seen before costs a hash, not an OCR call. The labels not yet in the cache are stacked into
one image and read in ONE call, each line mapped back to its label by position; in a steady class nothing is read at
all. Nothing is written: the crops live in memory for the call only.

A tile with no video shows a flat grey surface (the name large in its middle, or initials): ``is_camera_off``
measures how much of the tile, label strip excluded, is one flat colour.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from monitor.gallery import GalleryGrid, Tile
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
_CLEARLY_NEARER = 0.7  # a near copy goes to the nearest label read only when it is this much nearer than the next
_MAX_LOOKS = 4  # a label is read again (on new pixels) until two reads agree, at most this many times
_MIN_CONF = 30.0  # Tesseract's mean word confidence below which a read is no read
_FLAT_TOL = 6  # levels: a camera-off tile is flat to within this, video is not
_FLAT_SHARE = 0.72  # share of the tile (label strip excluded) that is flat on a camera-off tile
_NUMBERLIKE = re.compile(r"(?=.*\d)[\dlI|Oo]+|[lI|]{2,}")
_ZEROS = re.compile(r"[Oo]")
_ONES = re.compile(r"[lI|]")
_ALLOWED = re.compile(r"[^\w .'\-()&@+]", re.UNICODE)


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
    """How much OCR a reader has done: calls to Tesseract, labels read, labels answered from the cache."""

    calls: int = 0
    labels_read: int = 0
    cache_hits: int = 0


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
    """Reads the names on a gallery's tiles, through a content cache and one batched Tesseract call per frame."""

    def __init__(self, max_cache: int = 4096) -> None:
        self.max_cache = max_cache
        self._cache: dict[bytes, str | None] = {}  # labels read by Tesseract, by the exact key of what was read
        self._aliases: dict[bytes, bytes] = {}  # a near-identical label seen since (noise, a reorder) -> its read key
        self._by_width: dict[int, list[tuple[Signature, bytes]]] = {}
        self._votes: dict[bytes, Counter[str | None]] = {}  # each label's reads so far, by its read key
        self._steady: set[bytes] = set()  # labels read once whose very pixels came back in a later frame
        self._refused: dict[str, set[str | None]] = {}  # tile position -> reads its label must not be taken for
        self._last: list[tuple[str, bytes, bytes] | None] = []  # per tile of the last frame: position, pixels, read key
        self._held: dict[str, bytes] = {}  # tile position -> the read key its label had last frame
        self._twins: dict[str, bool] = {}  # text read -> another text read differs from it by a letter or two
        self.stats = OcrStats()

    def read(self, image: Image, grid: GalleryGrid) -> list[TileReading]:
        """A ``TileReading`` per tile of ``grid``, in its order."""
        pending: dict[bytes, tuple[Image, Signature, bool]] = {}  # key -> crop, signature, a label not seen before
        found: list[tuple[Tile, bool, tuple[int, int, int, int] | None, bytes | None]] = []
        self._last = []
        for tile in grid.tiles:
            box = find_label(image, tile)
            key = None
            if box is not None:
                crop = _ocr_crop(image, box)
                signature = _signature(crop)
                key, known = self._lookup(signature, self._refused.get(tile.label, set()))
                exact = _exact_key(signature)
                if known and key != exact and self._held.get(tile.label) != key and self._has_twin(key):
                    # a look-alike of a label read elsewhere, whose name differs from another's by a letter or two
                    # ("Student 06", "Student 08"): likeness cannot tell those apart once the label moved over
                    # another background, so it is read instead (one batched call per reorder, none when still)
                    key, known = exact, False
                if not known:
                    pending.setdefault(key, (crop, signature, True))
                elif not self._settled(key) and _exact_key(signature) != key:
                    pending.setdefault(key, (crop, signature, False))  # another look at a label read only once
                else:
                    if not self._settled(key):  # the same pixels in a later frame: the codec is done with them
                        self._steady.add(key)
                    self.stats.cache_hits += 1
                self._last.append((tile.label, exact, key))
            else:
                self._last.append(None)
            found.append((tile, is_camera_off(image, tile), box, key))
        if pending:
            texts = self._ocr([crop for crop, _, _ in pending.values()])
            if len(self._cache) + sum(new for _, _, new in pending.values()) > self.max_cache:
                self._cache.clear()  # a long class with ever-new names: start over rather than grow
                self._by_width.clear()
                self._aliases.clear()
                self._votes.clear()
                self._steady.clear()
                self._refused.clear()
            for tile, _, _, key in found:  # read afresh: the read stands for itself now
                if key in pending:
                    self._refused.pop(tile.label, None)
            self._twins.clear()  # new texts: every text's twins are looked for again
            for (key, (_, signature, new)), text in zip(pending.items(), texts, strict=True):
                votes = self._votes.setdefault(key, Counter())
                votes[text] += 1
                self._cache[key] = votes.most_common(1)[0][0]  # ties: the first read, until a look decides
                if new:
                    self._by_width.setdefault(signature.shape[1], []).append((signature, key))
        self._held = {tile.label: key for tile, _, _, key in found if key is not None}
        return [
            TileReading(tile, self._cache.get(key) if key is not None else None, off, box,
                        key is None or self._settled(key))
            for tile, off, box, key in found
        ]

    def _has_twin(self, key: bytes) -> bool:
        """Whether the text read for ``key`` is within two edits of another text read (``Student 06``/``08``)."""
        from rapidfuzz.distance import Levenshtein

        text = self._cache.get(key)
        if not text:
            return False
        if text not in self._twins:
            folded = text.casefold()
            self._twins[text] = any(
                other and other != text and Levenshtein.distance(folded, other.casefold(), score_cutoff=2) <= 2
                for other in set(self._cache.values())
            )
        return self._twins[text]

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
        ``_MAX_LOOKS`` looks were taken, or the very pixels read came back unchanged in a later frame.

        A codec's first frames are its worst, so one read of them is no name yet while the codec is still refining
        the picture. But H.264 copies a still region exactly from frame to frame (skipped blocks): identical pixels
        in a later frame mean the label will not get any sharper, and reading them again would only repeat the read.
        Waiting for new pixels there kept a still tile nameless until something moved over it."""
        votes = self._votes.get(key)
        return (votes is None or key in self._steady or votes.most_common(1)[0][1] >= 2
                or sum(votes.values()) >= _MAX_LOOKS)

    def _lookup(self, signature: Signature, refused: set[str | None] | frozenset[str | None] = frozenset()
                ) -> tuple[bytes, bool]:
        """The cache key of a label read before that looks the same, and True; else this label's own key and False.

        The same pixels is the fast path; otherwise every letter-sized block within a few levels (the translucent
        box shows another background after a reorder, and a recording adds noise), so two names differing in one
        letter stay apart. A near match is remembered as an alias, kept apart from the labels read, so a long noisy
        class fills and clears only the aliases and never throws away what Tesseract read."""
        key = _exact_key(signature)
        if key in self._cache:
            return key, True
        if key in self._aliases and self._cache.get(self._aliases[key]) not in refused:
            return self._aliases[key], True
        width = signature.shape[1]
        # a text box a pixel taller or shorter scales the whole signature: compare those at the query's width
        near: list[tuple[float, bytes]] = []
        for w in sorted(self._by_width, key=lambda w: abs(w - width)):
            if abs(w - width) > max(_WIDTH_SLACK, _SCALE_SLACK * width):
                break
            for known, known_key in self._by_width[w]:
                if abs(w - width) > _WIDTH_SLACK:
                    known = np.asarray(cv2.resize(known, (width, _HASH_HEIGHT), interpolation=cv2.INTER_AREA),
                                       dtype=np.float32)
                if refused and self._cache.get(known_key) in refused:
                    continue
                difference = _label_difference(signature, known)
                if difference <= _SAME_LABEL:
                    near.append((difference, known_key))
        near.sort(key=lambda n: n[0])
        # The nearest label read, not the first within reach: a codec's blur brings "Student 03" within reach of
        # "Student 08", and a label as near to two read labels is read itself rather than guessed.
        if near and (len(near) == 1 or near[0][0] <= _CLEARLY_NEARER * near[1][0] or near[0][1] == near[1][1]):
            if len(self._aliases) >= self.max_cache:
                self._aliases.clear()
            self._aliases[key] = near[0][1]
            return near[0][1], True
        return key, False

    def _ocr(self, crops: list[Image]) -> list[str | None]:
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
            data = pytesseract.image_to_data(sheet, lang="eng", config="--psm 6", output_type=pytesseract.Output.DICT)
        except (pytesseract.TesseractError, pytesseract.TesseractNotFoundError, OSError) as exc:
            log.warning("name labels not read: tesseract failed (%s)", one_line(exc))
            return [None] * len(crops)
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
    """``_max_block_difference`` of two signatures a pixel or two apart in width, at their best alignment."""
    if a.shape[1] < b.shape[1]:
        a, b = b, a
    width, rows = b.shape[1], _HASH_HEIGHT - 2  # and a row up or down: the box's top and bottom rows flicker
    return min(
        _max_block_difference(a[1 + dy : 1 + dy + rows, shift : shift + width], b[1:-1])
        for shift in range(a.shape[1] - width + 1)
        for dy in (-1, 0, 1)
    )


def _max_block_difference(a: Signature, b: Signature) -> float:
    """The largest mean absolute difference over letter-wide column blocks of two signatures of one shape."""
    diff = np.abs(a - b).mean(axis=0)
    blocks = max(1, len(diff) // _BLOCK)
    return float(max(chunk.mean() for chunk in np.array_split(diff, blocks)))
