"""One Zoom gallery frame as the worker sees it: who is in each tile, the faces in the video tiles, who is present
without a face. Shared by the worker, ``monitor preview`` and the gallery benchmark, so all three run one path.

The order matters: names and camera-off come first, then only the tiles with video are searched for faces (each
tile on its own, ``FaceDetector.detect_in``), so a camera-off tile can never yield a face.

Track, then detect: with YuNet, a tile whose face was found in the last frame is searched only in a window around
that face (about a third of the tile's pixels), and every tile in full again every ``FULL_SEARCH_S`` seconds of the
source, in any frame where its window finds no face, and whenever the grid moves. A 1080p 5x5 gallery's search
took 87 ms of CPU a frame in full and about 35 ms through the windows (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from monitor.detections import FaceDetections, FaceDetector, Region
from monitor.frame import Frame
from monitor.gallery import GalleryGrid, Tile
from monitor.identity import NameBook, TileAssigner
from monitor.names import NameReader, TileReading


@dataclass(frozen=True)
class GalleryView:
    readings: list[TileReading]  # one per tile, in the grid's order
    names: list[str | None]  # per tile: the student the name resolved to, None when it could not be read
    faces: FaceDetections  # in the video tiles only
    face_students: list[str | None]  # per face: its tile's student (None: off the tiles, or a second face)
    presence: dict[str, str]  # student -> "camera_off" or "face_not_visible"
    face_tiles: list[str | None] = field(default_factory=list)  # per face: its tile's position label (``Tile R-C``)

    def student(self, i: int) -> str:
        """Tile ``i``'s student: the resolved name, else the tile's position label (``Tile R-C``)."""
        return self.names[i] or self.readings[i].fallback

    @property
    def camera_off(self) -> int:
        return sum(r.camera_off for r in self.readings)


FULL_SEARCH_S = 2.0  # every tile searched in full at least this often (seconds of the source): a second face, a
# better box than the window's; between, a tile whose face is known is searched around it only
WINDOW_PAD_X, WINDOW_PAD_Y = 0.75, 0.5  # the window: the last face box grown by these shares of its width / height
# on each side (a face moves far less than that between two frames of a video call; 25 composed tiles, the window
# found the face in every tile at these pads and missed one at 0.5 / 0.35)


@dataclass
class _Seen:
    """A tile's face as last found: the tile's rectangle then, the face box (frame pixels) and the source time of
    the tile's last full search."""

    tile: Region
    box: Region
    full_at: float


STILL_PX = (32, 18)  # a tile's thumbnail at least this big ...
STILL_CELL = 8  # ... and each of its pixels the mean of at most about 8x8 tile pixels, whatever the tile's size: a
# small face leaving a big tile (a 2x2 gallery at 1080p) must move whole thumbnail pixels, not a diluted share of one
STILL_DIFF = 6  # grey levels: a thumbnail pixel that moved more than this is a tile that changed (a face moving,
# arriving or leaving moves dozens; webcam and H.264 noise, averaged over the thumbnail's pixel, one or two)


def _thumb(image: npt.NDArray[np.uint8], tile: Tile) -> npt.NDArray[np.int16]:
    crop = image[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w]
    size = (max(STILL_PX[0], -(-tile.w // STILL_CELL)), max(STILL_PX[1], -(-tile.h // STILL_CELL)))
    return np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.int16)


@dataclass
class _Searched:
    """A tile's last search: its rectangle and thumbnail then, when (source seconds) and the faces it found."""

    tile: Region
    thumb: npt.NDArray[np.int16]
    at: float
    faces: FaceDetections


@dataclass
class GalleryAnalyser:
    """Keeps what must last across frames: the OCR cache, the names already seen, the tile assignment and each
    tile's last face (where its next search looks first)."""

    detector: FaceDetector
    tile_px: int
    book: NameBook
    reader: NameReader = field(default_factory=NameReader)
    tiles: TileAssigner = field(default_factory=TileAssigner)
    full_search_s: float = FULL_SEARCH_S  # 0: every tile in full in every frame
    seen: dict[str, _Seen] = field(default_factory=dict)  # tile label -> its face as last found
    searched: dict[str, _Searched] = field(default_factory=dict)  # tile label -> its last search

    def analyse(self, frame: Frame, grid: GalleryGrid) -> GalleryView:
        readings = self.reader.read(frame.image, grid)
        names = self.book.resolve(
            [r.name for r in readings], [r.tile.label for r in readings],
            [r.label_box[2] if r.label_box is not None else None for r in readings], [r.settled for r in readings],
        )
        for i in self.book.conflicts:  # two tiles, one name: have the loser's label read again, not guessed
            self.reader.doubt(i)
        off = {r.tile.label for r in readings if r.camera_off}
        video_tiles = [t for t in grid.tiles if t.label not in off]
        thumbs = {t.label: _thumb(frame.image, t) for t in video_tiles}
        still = self._still(frame.t, video_tiles, thumbs)
        searched = [t for t in video_tiles if t.label not in still]
        video = [(t.x, t.y, t.w, t.h) for t in searched]
        windows = self._windows(frame.t, searched)
        if any(w is not None for w in windows):
            # only YuNet takes windows: ``_windows`` hands the other detectors none
            heights = [self.seen[t.label].box[3] for t, w in zip(searched, windows, strict=True) if w is not None]
            found = self.detector.detect_in(frame, video, self.tile_px, windows=windows,  # type: ignore[call-arg]
                                            face_px=float(np.median(heights)))
        else:
            found = self.detector.detect_in(frame, video, self.tile_px)
        faces = FaceDetections.concat([found, *still.values()])
        tile_of_face = self.tiles.assign(faces, grid, skip=off)
        self._remember(frame.t, searched, windows, faces, tile_of_face, keep=still.keys())
        self._keep_searched(frame.t, searched, found, thumbs)
        # A tile whose name was read but is no student yet (read once so far) is counted for no one this frame;
        # ``Tile R-C`` is for a tile whose name was never readable.
        student_of: dict[str, str | None] = {
            r.tile.label: None if i in self.book.pending else names[i] or r.fallback for i, r in enumerate(readings)
        }
        with_face = set(tile_of_face)
        presence = {
            student: "camera_off" if r.camera_off else "face_not_visible"
            for r in readings
            if (r.camera_off or r.tile.label not in with_face) and (student := student_of[r.tile.label]) is not None
        }
        face_students = [student_of[t] if t is not None else None for t in tile_of_face]
        return GalleryView(readings, names, faces, face_students, presence, list(tile_of_face))

    def _still(
        self, t: float, tiles: Sequence[Tile], thumbs: dict[str, npt.NDArray[np.int16]]
    ) -> dict[str, FaceDetections]:
        """The tiles whose picture has not changed since their last search (screen capture and H.264 repeat still
        regions), with the faces that search found there (none, or the face): they are not searched again until
        ``full_search_s`` after it. A face's emotion is still read from this frame's pixels: it never freezes."""
        if self.full_search_s <= 0:
            return {}
        out: dict[str, FaceDetections] = {}
        for tile in tiles:
            last = self.searched.get(tile.label)
            if (last is not None and last.tile == (tile.x, tile.y, tile.w, tile.h)
                    and 0 <= t - last.at < self.full_search_s
                    and int(np.abs(thumbs[tile.label] - last.thumb).max()) <= STILL_DIFF):
                out[tile.label] = last.faces
        return out

    def _keep_searched(
        self, t: float, tiles: Sequence[Tile], found: FaceDetections, thumbs: dict[str, npt.NDArray[np.int16]]
    ) -> None:
        """Keep each searched tile's thumbnail and faces, for ``_still`` in the next frames."""
        if self.full_search_s <= 0:
            return
        centres = found.boxes[:, :2] + found.boxes[:, 2:] / 2
        for tile in tiles:
            inside = ((centres[:, 0] >= tile.x) & (centres[:, 0] < tile.x + tile.w)
                      & (centres[:, 1] >= tile.y) & (centres[:, 1] < tile.y + tile.h))
            self.searched[tile.label] = _Searched((tile.x, tile.y, tile.w, tile.h), thumbs[tile.label], t,
                                                  found.subset(np.flatnonzero(inside)))

    def _windows(self, t: float, tiles: Sequence[Tile]) -> list[Region | None]:
        """Per video tile, the window to search (around its last face), or ``None`` to search the whole tile: no
        face known there, the tile moved, its full search is due, the source's time went back, or a detector that
        searches whole tiles only."""
        if self.full_search_s <= 0 or not getattr(self.detector, "takes_windows", False):
            return [None] * len(tiles)
        out: list[Region | None] = []
        for tile in tiles:
            seen = self.seen.get(tile.label)
            rect = (tile.x, tile.y, tile.w, tile.h)
            if seen is None or seen.tile != rect or not 0 <= t - seen.full_at < self.full_search_s:
                out.append(None)
                continue
            x, y, w, h = seen.box
            x0, y0 = max(tile.x, round(x - WINDOW_PAD_X * w)), max(tile.y, round(y - WINDOW_PAD_Y * h))
            x1 = min(tile.x + tile.w, round(x + w + WINDOW_PAD_X * w))
            y1 = min(tile.y + tile.h, round(y + h + WINDOW_PAD_Y * h))
            out.append((x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None)
        return out

    def _remember(
        self, t: float, tiles: Sequence[Tile], windows: Sequence[Region | None], faces: FaceDetections,
        tile_of_face: Sequence[str | None], keep: Collection[str] = (),
    ) -> None:
        """Keep each tile's face for the next frame's window; a tile searched in full restarts its clock (a window
        that found nothing was searched in full by the detector, and its tile is forgotten here until a face is
        found again); the tiles of ``keep`` (not searched: still) keep theirs."""
        box_of = {label: tuple(int(v) for v in faces.boxes[i]) for i, label in enumerate(tile_of_face)
                  if label is not None}
        seen = {label: self.seen[label] for label in keep if label in self.seen}
        for tile, window in zip(tiles, windows, strict=True):
            box = box_of.get(tile.label)
            if box is None:
                continue
            before = self.seen.get(tile.label)
            full_at = before.full_at if window is not None and before is not None else t
            seen[tile.label] = _Seen((tile.x, tile.y, tile.w, tile.h), (box[0], box[1], box[2], box[3]), full_at)
        self.seen = seen
