"""The worker's per-frame analysis as one object: grid -> gallery view, or detector + seats -> classify.

``FrameAnalyser`` is what ``Worker`` runs on every frame, what ``python -m monitor analyse`` runs on image files and
what the benchmarks time, so all of them measure one path. It holds the detector and the model (loaded once by the
caller) and what must last across frames of one source: the resolved layout, the seats, the gallery's name cache
and tile assignment. ``FrameResult.to_json`` is the ``monitor analyse --json`` schema (one object per image).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from monitor.camera_motion import CameraMotion
from monitor.config import MIN_READ_PX
from monitor.detections import FaceDetections, FaceDetector
from monitor.frame import Frame
from monitor.gallery import GalleryGrid
from monitor.gallery_view import FULL_SEARCH_S, GalleryAnalyser, GalleryView
from monitor.grid_keeper import GRID_RECHECK_S, GridKeeper
from monitor.identity import NameBook, Roster, SeatAssigner
from monitor.names import Engine, NameReader
from monitor.predictions import Classifier, EmotionPredictions, classify
from monitor.privacy import PresenceOnly
from monitor.room_search import RoomSearch

Layout = Literal["room", "gallery", "auto"]
_K = TypeVar("_K", str, int)

# auto: faces without a grid this long (seconds of the source) make a room: a dark gallery fading in shows its faces
# a frame or two before its gutters (the grid is looked for in every frame until the layout is decided)
ROOM_AFTER_S = GRID_RECHECK_S


@dataclass(frozen=True)
class FrameResult:
    """One analysed frame: the layout used, the grid and gallery view (gallery only), every face with its student
    (``None``: not attributed) and the predictions for the faces that could be cropped."""

    layout: str  # "room" or "gallery"; "gallery" with ``grid is None`` means no gallery on screen right now
    grid: GalleryGrid | None
    view: GalleryView | None
    faces: FaceDetections
    students: list[str | None]  # per face
    preds: EmotionPredictions
    presence: dict[str, str] = field(default_factory=dict)  # student -> camera_off | face_not_visible
    pending: dict[int, int] = field(default_factory=dict)  # room: face index -> a place not numbered yet
    promoted: dict[int, str] = field(default_factory=dict)  # room: place -> the new seat it became (so far)

    @property
    def waiting(self) -> list[tuple[int, npt.NDArray[np.float32]]]:
        """Each face waiting at a place not numbered yet: (place, probabilities), kept for that place's seat."""
        return self._readings(self.pending.get)

    @property
    def labelled(self) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """Each attributed face's probabilities, as the aggregator takes them."""
        return self._readings(self.students.__getitem__)

    def _readings(self, owner: Callable[[int], _K | None]) -> list[tuple[_K, npt.NDArray[np.float32]]]:
        """(owner, probabilities) of each classified face whose ``owner(face index)`` is not None."""
        out = []
        for row, face_index in enumerate(self.preds.index):
            key = owner(int(face_index))
            if key is not None:
                out.append((key, self.preds.probs[row]))
        return out

    def tiles(self) -> list[dict[str, Any]]:
        """Per tile, in reading order: position, box, the resolved name (``None`` when never read) and state."""
        if self.view is None:
            return []
        with_face = {t for t in self.view.face_tiles if t is not None}
        out = []
        for i, r in enumerate(self.view.readings):
            t = r.tile
            state = "camera_off" if r.camera_off else "face" if t.label in with_face else "face_not_visible"
            out.append({"row": t.row, "col": t.col, "box": [t.x, t.y, t.w, t.h], "name": self.view.names[i],
                        "state": state})
        return out

    def to_json(self, file: str, width: int, height: int) -> dict[str, Any]:
        probs_of = {int(i): self.preds.probs[row] for row, i in enumerate(self.preds.index)}
        faces = []
        for i, (box, score) in enumerate(zip(self.faces.boxes.tolist(), self.faces.scores.tolist(), strict=True)):
            p = probs_of.get(i)
            faces.append({
                "box": [int(v) for v in box], "score": round(float(score), 4), "student": self.students[i],
                "emotion": EMOTIONS[int(np.argmax(p))] if p is not None else None,
                "probs": {e: round(float(v), 4) for e, v in zip(EMOTIONS, p, strict=True)} if p is not None else None,
            })
        grid = None if self.grid is None else {
            "rows": self.grid.rows, "cols": self.grid.cols, "tiles": len(self.grid.tiles)
        }
        return {"file": file, "width": width, "height": height, "layout": self.layout, "grid": grid,
                "tiles": self.tiles(), "faces": faces}


class FrameAnalyser:
    """Runs one frame through the worker's path; keeps the per-source state between frames. Without a
    ``classifier`` (``monitor preview``) faces are found and attributed but not classified.

    ``layout="auto"`` is resolved by what the frames show and then kept, as the worker does for a session: the first
    frame with a grid some tile of which shows a name makes it a gallery (a lattice of nameless panels, a wall of
    tiles or lockers before a room camera, does not); faces or heads without such a grid for ``ROOM_AFTER_S`` of the
    source make it a room. Until then each frame is analysed as a room (a black first frame, a fade-in whose faces
    show before its gutters do, a camera's first dark frames decide nothing). A separate image (``monitor analyse``, one time for
    all) is analysed as a room when it shows no grid. ``reset`` starts over for an unrelated image.
    """

    def __init__(
        self,
        detector: FaceDetector,
        classifier: Classifier | None,
        layout: Layout = "auto",
        *,
        tile_px: int = 112,
        roster: Roster | None = None,
        name_match: float = 80.0,
        seat_match: float = 1.0,
        seat_min_hits: int = 2,
        seat_min_age_s: float = 0.0,
        name_confirm: int = 2,
        ocr: Engine = "rapidocr",
        tesseract_lang: str = "eng+kor",
        full_search_s: float = FULL_SEARCH_S,
        min_read_px: int = MIN_READ_PX,
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        self.min_read_px = min_read_px
        self.requested: Layout = layout
        self.layout: Layout = layout
        self.tile_px = tile_px
        self.roster = roster
        self.name_match = name_match
        self.seat_match = seat_match
        self.seat_min_hits = seat_min_hits
        self.seat_min_age_s = seat_min_age_s
        self.name_confirm = name_confirm
        self.ocr: Engine = ocr
        self.tesseract_lang = tesseract_lang
        # every gallery tile, and a room's whole frame, searched in full this often; between, around each known face
        self.full_search_s = full_search_s
        self.reset()

    def reset(self) -> None:
        """Forget everything learnt from earlier frames (another source); the detector and model stay loaded."""
        self.layout = self.requested
        self._faces_since: float | None = None  # auto, undecided: when faces were first seen without a grid
        self.seats = SeatAssigner(seat_match=self.seat_match, min_hits=self.seat_min_hits,
                                  min_age_s=self.seat_min_age_s)
        self.motion = CameraMotion()
        self.room = RoomSearch(self.detector, self.full_search_s)
        self.grids = GridKeeper()
        book = NameBook(self.roster, self.name_match, self.name_confirm)
        self.gallery = GalleryAnalyser(self.detector, self.tile_px, book,
                                       NameReader(engine=self.ocr, tesseract_lang=self.tesseract_lang),
                                       full_search_s=self.full_search_s)

    def analyse(self, frame: Frame) -> FrameResult:
        # found afresh when the gutters move (windows get resized, people join) and every few seconds
        grid = self.grids.find(frame.image, frame.t) if self.layout != "room" else None
        resolving = self.layout == "auto"
        view: GalleryView | None = None
        if resolving and grid is not None:
            view = self.gallery.analyse(frame, grid)
            if any(r.name is not None for r in view.readings):
                self.layout = "gallery"
            else:
                # a lattice without a name on any tile decides nothing: a room camera's wall of panels or lockers
                # is one (and under "auto" a gallery is for good); the frame is looked at as a room
                view = None
        if self.layout == "gallery":
            if grid is None:  # not a gallery right now (a shared screen, the window minimised)
                return FrameResult("gallery", None, None, FaceDetections.empty(), [], EmotionPredictions.empty())
            view = view if view is not None else self.gallery.analyse(frame, grid)
            faces, students, presence = view.faces, view.face_students, view.presence
            pending: dict[int, int] = {}
            promoted: dict[int, str] = {}
        else:
            view = None
            shift = self.motion.shift(frame.image)  # the camera's own pan: seats and known faces move with it
            self.seats.move(shift)
            self.room.move(shift, frame.image.shape)
            faces, weak = self.room.detect(frame)  # weak: heads too weak to read (yunet), never classified
            students = self.seats.assign(faces, frame.t)
            pending, promoted = self.seats.pending, dict(self.seats.promoted)
            presence = dict.fromkeys(self.seats.unreadable(weak, students), "face_not_visible")
            if resolving and (len(faces) or len(weak)):
                if self._faces_since is None or frame.t < self._faces_since:
                    self._faces_since = frame.t
                if frame.t - self._faces_since >= ROOM_AFTER_S:
                    self.layout = "room"
        # no classifier: ``monitor preview`` checks tiles, names and faces, and starts in a second without TensorFlow
        presence = dict(presence)  # the gallery view's own stays as it read the tiles
        preds = self._read(frame, faces, students, presence)
        return FrameResult("room" if self.layout == "auto" else self.layout, grid if view is not None else None, view,
                           faces, students, preds, presence, pending, promoted)

    def _read(
        self, frame: Frame, faces: FaceDetections, students: list[str | None], presence: dict[str, str]
    ) -> EmotionPredictions:
        """The expressions of the faces wide enough to read (``min_read_px``); a student whose face is narrower is
        there with the face not visible (added to ``presence``), as a head too weak to read is. Presence mode reads
        nothing from a face, so every face found is a face seen there."""
        if self.classifier is None:
            return EmotionPredictions.empty()
        small = faces.boxes[:, 2] < self.min_read_px
        if isinstance(self.classifier, PresenceOnly) or not small.any():
            return classify(frame, faces, self.classifier)
        keep = np.flatnonzero(~small)
        read = classify(frame, faces.subset(keep), self.classifier)
        preds = EmotionPredictions(read.probs, keep[read.index])
        labelled = {students[int(i)] for i in preds.index}
        for i in np.flatnonzero(small):
            student = students[int(i)]
            if student is not None and student not in labelled:
                presence.setdefault(student, "face_not_visible")
        return preds


# ---- python -m monitor analyse PATH [PATH ...] [--layout room|gallery|auto] [--json OUT] ----

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="image files, or folders whose files are all analysed (sorted by name)")
    parser.add_argument("--layout", choices=["room", "gallery", "auto"], help="room seats, Zoom gallery tiles, or "
                        "decide per image (default: the configuration's, auto)")
    parser.add_argument("--json", metavar="OUT", help="write JSON Lines, one object per image, to OUT ('-': stdout)")
    parser.add_argument("--roster", type=Path, help="gallery: CSV with columns display_name, student")
    parser.add_argument("--detector", choices=["yunet", "mtcnn", "haar"], help="face detector")
    parser.add_argument("--model", type=Path, help="emotion model file (.keras, with labels.json beside it)")
    parser.add_argument("--config", type=Path, help="TOML configuration file (the worker's)")


def image_files(paths: list[Path]) -> list[Path]:
    """The files to analyse, in order: each file given, then each folder's visible files sorted by name; raises
    ``FileNotFoundError`` naming the first path that does not exist or the first folder with no file in it."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise FileNotFoundError(f"{path}: no files in this folder")
            out.extend(inside)
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return out


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """The file as a BGR image; raises ``ValueError`` with a one-line reason when it is not one."""
    try:
        data = np.fromfile(path, np.uint8)  # cv2.imread cannot open non-ASCII paths on every platform
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror or exc}") from exc
    if data[:8].tobytes() == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-12:].tobytes():
        raise ValueError("a PNG file cut short (its end is missing)")  # libpng would say so on stderr itself
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None or image.size == 0:
        raise ValueError("not an image OpenCV can decode")
    return np.ascontiguousarray(image, np.uint8)


def _row(doc: dict[str, Any]) -> str:
    name = Path(doc["file"]).name
    name = name if len(name) <= 40 else name[:24] + "…" + name[-15:]  # the end tells apart files of one prefix
    if "error" in doc:
        return f"{name:<40} error: {doc['error']}"
    grid = doc["grid"]
    tiles = doc["tiles"]
    shape = f"{grid['rows']}x{grid['cols']} ({grid['tiles']})" if grid else "-"
    named = sum(t["name"] is not None for t in tiles)
    off = sum(t["state"] == "camera_off" for t in tiles)
    emotions = Counter(f["emotion"] for f in doc["faces"] if f["emotion"] is not None)
    unread = sum(f["emotion"] is None for f in doc["faces"])  # too small to read (or cut off by the frame)
    mood = ", ".join([f"{e} {n}" for e, n in emotions.most_common(3)] + ([f"{unread} not read"] if unread else []))
    mood = mood or "-"
    names_col = f"{named}/{len(tiles)}" if grid else "-"
    return (f"{name:<40} {doc['width']:>4}x{doc['height']:<4} {doc['layout']:<7} {shape:<10} "
            f"{names_col:>7} {off:>3} {len(doc['faces']):>5}  {mood}")


def run_analyse(args: argparse.Namespace) -> int:
    """Analyse every image like one frame of the worker; one JSON object or table row per image."""
    from models.classifier import EmotionClassifier, ModelError
    from monitor.config import ConfigError, load_config
    from monitor.detections import make_detector
    from monitor.identity import RosterError

    try:
        files = image_files(args.paths)
        if args.json not in (None, "-") and not Path(args.json).resolve().parent.is_dir():
            raise ConfigError(f"--json {args.json}: folder {Path(args.json).parent} does not exist")
        overrides: dict[str, dict[str, Any]] = {}
        for (section, key), value in {("analysis", "layout"): args.layout, ("detector", "kind"): args.detector,
                                      ("model", "path"): args.model, ("analysis", "roster"): args.roster}.items():
            if value is not None:
                overrides.setdefault(section, {})[key] = value
        cfg = load_config(args.config, overrides)
        roster = Roster.load(cfg.analysis.roster) if cfg.analysis.roster is not None else None
        classifier = EmotionClassifier(cfg.model.path, batch_size=cfg.model.batch_size, engine=cfg.model.engine)
        det = cfg.detector
        detector = make_detector(det.kind, det.min_face_px, det.max_side_px, det.min_confidence)
    except (FileNotFoundError, ConfigError, ModelError, RosterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    analyser = FrameAnalyser(detector, classifier, cfg.analysis.layout, tile_px=det.gallery_tile_px, roster=roster,
                             name_match=cfg.analysis.name_match, seat_match=cfg.analysis.seat_match,
                             seat_min_hits=1, name_confirm=1,  # one image: no second look to wait for
                             ocr=cfg.gallery.ocr, tesseract_lang=cfg.gallery.tesseract_lang,
                             min_read_px=cfg.model.min_read_px)
    out = None
    if args.json == "-":
        out = sys.stdout
    elif args.json is not None:
        out = open(args.json, "w", encoding="utf-8")  # noqa: SIM115 - closed below, after every image
    failed = 0
    header = f"{'file':<40} {'size':<9} {'layout':<7} {'grid':<10} {'names':>7} {'off':>3} {'faces':>5}  emotions"
    try:
        for i, path in enumerate(files):
            try:
                image = read_image(path)
            except ValueError as exc:
                failed += 1
                doc: dict[str, Any] = {"file": str(path), "error": str(exc)}
                print(f"error: {path}: {exc}", file=sys.stderr)
            else:
                analyser.reset()  # unrelated images: no names, seats or layout carried over
                result = analyser.analyse(Frame(image, 0.0, i))
                doc = result.to_json(str(path), int(image.shape[1]), int(image.shape[0]))
            if out is not None:
                out.write(json.dumps(doc, ensure_ascii=False) + "\n")
                out.flush()
            elif "error" not in doc:
                if header:  # above the first row only: a run whose every file failed prints no table
                    print(header)
                    header = ""
                print(_row(doc))
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
    if failed:
        if len(files) > 1:  # one file: its own error line said it all
            print(f"error: {failed} of {len(files)} file(s) could not be analysed", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
