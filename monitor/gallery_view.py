"""One Zoom gallery frame as the worker sees it: who is in each tile, the faces in the video tiles, who is present
without a face. Shared by the worker, ``monitor preview`` and the gallery benchmark, so all three run one path.

The order matters: names and camera-off come first, then only the tiles with video are searched for faces (each
tile on its own, ``FaceDetector.detect_in``), so a camera-off tile can never yield a face.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.detections import FaceDetections, FaceDetector
from monitor.frame import Frame
from monitor.gallery import GalleryGrid
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


@dataclass
class GalleryAnalyser:
    """Keeps what must last across frames: the OCR cache, the names already seen and the tile assignment."""

    detector: FaceDetector
    tile_px: int
    book: NameBook
    reader: NameReader = field(default_factory=NameReader)
    tiles: TileAssigner = field(default_factory=TileAssigner)

    def analyse(self, frame: Frame, grid: GalleryGrid) -> GalleryView:
        readings = self.reader.read(frame.image, grid)
        names = self.book.resolve(
            [r.name for r in readings], [r.tile.label for r in readings],
            [r.label_box[2] if r.label_box is not None else None for r in readings], [r.settled for r in readings],
        )
        for i in self.book.conflicts:  # two tiles, one name: have the loser's label read again, not guessed
            self.reader.doubt(i)
        off = {r.tile.label for r in readings if r.camera_off}
        video = [(t.x, t.y, t.w, t.h) for t in grid.tiles if t.label not in off]
        faces = self.detector.detect_in(frame, video, self.tile_px)
        tile_of_face = self.tiles.assign(faces, grid, skip=off)
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
