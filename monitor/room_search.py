"""The room layout's face search over time: track, then detect, as the gallery does tile by tile.

A class sits still: between two analysed frames every face is within a fraction of its own width of where it was.
So the whole frame is searched only every ``full_search_s`` seconds of the source; in the frames between, each face
(and each weak head) known is searched for in a small window around it, shrunk so the face is at most
``detections.TRACK_FACE_PX`` wide (``YuNetDetector.detect_around``). A 1080p room of 25 students: 0.75 Mpixels for
the whole frame, about 0.3 through the windows (docs/performance.md).

A face its window does not find this frame (a student who left or turned away) stays known where it was last seen
and is looked for there again in the next frames, until the next full search decides: a student who arrives or
moves seats is found by that search, at most ``full_search_s`` later. When most known faces are lost at once (a cut,
the camera moved) the whole frame is searched at once.
Separate images (every frame at the same time, ``monitor analyse``), a new frame size and a source whose time goes
back are always searched in full, and so is a frame whose known faces are too small to track (YuNet finds a small
face only with the context of the whole frame; the real CCTV's faces) or so many that their windows would cost
nearly as much (``YuNetDetector.worth_tracking``). Detectors without ``detect_around`` (MTCNN, Haar) search every
frame in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from monitor.detections import FaceDetections, FaceDetector
from monitor.frame import Frame

FULL_SEARCH_S = 2.0  # the whole frame searched at least this often (seconds of the source), as the gallery's tiles


@dataclass
class RoomSearch:
    """Keeps the known faces and heads (where each was last seen, and whether it was readable) and when the whole
    frame was last searched."""

    detector: FaceDetector
    full_search_s: float = FULL_SEARCH_S  # 0: every frame in full
    full_searches: int = 0  # frames searched in full, and around the known faces: for the benchmarks and tests
    tracked: int = 0
    _known: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros((0, 4), np.int32))
    _eyes: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 2, 2), np.float32))  # NaN: none
    _full_at: float | None = None
    _shape: tuple[int, ...] = ()

    def move(self, shift: tuple[float, float], shape: tuple[int, ...]) -> None:
        """The known faces move by ``shift``, how far the picture moved since the last frame (``camera_motion``), as
        the seats do; one the pan took out of a ``shape`` frame is no longer looked for (its seat stays)."""
        if shift == (0.0, 0.0) or not len(self._known):
            return
        step = np.asarray(shift, np.float64)
        moved = self._known.astype(np.float64)
        moved[:, :2] += step
        cx, cy = moved[:, 0] + moved[:, 2] / 2, moved[:, 1] + moved[:, 3] / 2
        inside = (cx >= 0) & (cy >= 0) & (cx < shape[1]) & (cy < shape[0])
        self._known = np.round(moved[inside]).astype(np.int32)
        self._eyes = (self._eyes + step.astype(np.float32))[inside]

    def detect(self, frame: Frame) -> tuple[FaceDetections, FaceDetections]:
        """This frame's readable faces and the weak heads (candidates too weak to read: looking down, a profile)."""
        around = getattr(self.detector, "detect_around", None)
        if (around is not None and self.full_search_s > 0 and self._full_at is not None and len(self._known)
                and frame.image.shape == self._shape and 0 < frame.t - self._full_at < self.full_search_s):
            got = around(frame, self._known, self._eyes)
            # most known faces gone at once is a cut, a camera moved or a new scene: look at the whole frame now
            if got is not None and 2 * int(np.count_nonzero(got[2])) >= len(self._known):
                faces, weak, found = got
                self.tracked += 1
                missing = ~np.asarray(found, bool)
                self._keep(faces, weak, self._known[missing], self._eyes[missing])
                return faces, weak
        faces = self.detector.detect(frame)
        weak = getattr(self.detector, "last_weak", None)
        weak = weak if isinstance(weak, FaceDetections) else FaceDetections.empty()
        self.full_searches += 1
        self._full_at, self._shape = frame.t, frame.image.shape
        self._keep(faces, weak)
        return faces, weak

    def _keep(self, faces: FaceDetections, weak: FaceDetections,
              missing: npt.NDArray[np.int32] | None = None, missing_eyes: npt.NDArray[np.float32] | None = None) -> None:
        """Known from now: this frame's faces and heads, and the known ones not found this frame, where they were."""

        def eyes(d: FaceDetections) -> npt.NDArray[np.float32]:
            return d.eyes if d.eyes is not None else np.full((len(d), 2, 2), np.nan, np.float32)

        parts = [faces.boxes, weak.boxes] + ([missing] if missing is not None else [])
        eye_parts = [eyes(faces), eyes(weak)] + ([missing_eyes] if missing_eyes is not None else [])
        self._known = np.concatenate(parts).astype(np.int32).reshape(-1, 4)
        self._eyes = np.concatenate(eye_parts).astype(np.float32).reshape(-1, 2, 2)
