"""Face detection: the ``FaceDetections`` container and the detectors that fill it.

Each detector's raw output is wrapped once, at this boundary (``FaceDetections.from_haar``, ``from_mtcnn``); nothing
downstream touches OpenCV rectangles or MTCNN dictionaries. Frames are downscaled to ``max_side_px`` before
detection (the cost of a detector grows with the pixel count) and boxes are mapped back to frame coordinates.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from monitor.frame import Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceDetections:
    """Face boxes ``[N, 4]`` as int ``(x, y, w, h)`` in frame pixels, with a confidence per face ``[N]``."""

    boxes: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"boxes must be [N, 4], got {self.boxes.shape}")
        if self.scores.shape != (len(self.boxes),):
            raise ValueError(f"scores must be [N] with N={len(self.boxes)}, got {self.scores.shape}")

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> FaceDetections:
        return cls(np.zeros((0, 4), np.int32), np.zeros((0,), np.float32))

    @classmethod
    def from_boxes(
        cls,
        boxes: npt.ArrayLike,
        scores: npt.ArrayLike | None,
        *,
        frame_shape: tuple[int, ...],
        scale: float = 1.0,
        min_face_px: int = 1,
    ) -> FaceDetections:
        """Scale boxes back to the frame, clip them to it and drop non-finite, empty or too-small ones."""
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        s = np.ones(len(b), np.float64) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        if len(b) == 0:
            return cls.empty()
        keep = np.isfinite(b).all(axis=1) & np.isfinite(s)
        b, s = b[keep] / scale, s[keep]
        h, w = frame_shape[:2]
        x0 = np.clip(b[:, 0], 0, w)
        y0 = np.clip(b[:, 1], 0, h)
        x1 = np.clip(b[:, 0] + b[:, 2], 0, w)
        y1 = np.clip(b[:, 1] + b[:, 3], 0, h)
        out = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).round().astype(np.int32)
        ok = (out[:, 2] >= min_face_px) & (out[:, 3] >= min_face_px)
        if not ok.all():
            log.debug("dropped %d face(s) smaller than %d px or outside the frame", int((~ok).sum()), min_face_px)
        return cls(out[ok], s[ok].astype(np.float32))

    def without_nested(self, overlap: float = 0.6) -> FaceDetections:
        """Drop a box that mostly contains a smaller one: cascades often add a loose second box around a face."""
        if len(self) < 2:
            return self
        b = self.boxes.astype(np.int64)
        area = b[:, 2] * b[:, 3]
        keep = np.ones(len(b), bool)
        for i in range(len(b)):
            for j in range(len(b)):
                if i == j or area[j] >= area[i] or not keep[j]:
                    continue
                iw = min(b[i, 0] + b[i, 2], b[j, 0] + b[j, 2]) - max(b[i, 0], b[j, 0])
                ih = min(b[i, 1] + b[i, 3], b[j, 1] + b[j, 3]) - max(b[i, 1], b[j, 1])
                if iw > 0 and ih > 0 and iw * ih >= overlap * area[j]:
                    keep[i] = False  # i encloses the smaller face j
                    break
        return FaceDetections(self.boxes[keep], self.scores[keep])

    @classmethod
    def from_haar(
        cls, rects: Any, *, frame_shape: tuple[int, ...], scale: float = 1.0, min_face_px: int = 1
    ) -> FaceDetections:
        """Wrap ``CascadeClassifier.detectMultiScale`` output (a tuple or an ``[N, 4]`` array of x, y, w, h)."""
        arr = np.asarray(rects, np.float64).reshape(-1, 4) if len(rects) else np.zeros((0, 4))
        return cls.from_boxes(arr, None, frame_shape=frame_shape, scale=scale, min_face_px=min_face_px)

    @classmethod
    def from_mtcnn(
        cls,
        results: list[dict[str, Any]],
        *,
        frame_shape: tuple[int, ...],
        scale: float = 1.0,
        min_face_px: int = 1,
        min_confidence: float = 0.0,
    ) -> FaceDetections:
        """Wrap ``MTCNN.detect_faces`` JSON output (``{"box": [x, y, w, h], "confidence": c, ...}`` per face)."""
        kept = [r for r in results if float(r.get("confidence", 0.0)) >= min_confidence]
        boxes = [r["box"] for r in kept]
        scores = [float(r["confidence"]) for r in kept]
        return cls.from_boxes(boxes, scores, frame_shape=frame_shape, scale=scale, min_face_px=min_face_px)


Region = tuple[int, int, int, int]  # x, y, w, h in frame pixels: a gallery tile


class FaceDetector(Protocol):
    name: str

    def detect(self, frame: Frame) -> FaceDetections: ...

    def detect_in(self, frame: Frame, regions: Sequence[Region], height: int) -> FaceDetections:
        """Faces inside each region (each scaled to ``height`` pixels tall first), in frame coordinates."""
        ...


def _crops(
    image: npt.NDArray[np.uint8], regions: Sequence[Region], height: int
) -> tuple[list[npt.NDArray[np.uint8]], list[float]]:
    """Each region cut out and resized to ``height`` rows (one common width, so MTCNN can batch them all)."""
    w0, h0 = regions[0][2], regions[0][3]
    width = max(12, round(w0 * height / h0))
    crops: list[npt.NDArray[np.uint8]] = []
    for x, y, w, h in regions:
        crop = image[max(0, y) : y + h, max(0, x) : x + w]
        if crop.size == 0:
            crop = np.zeros((height, width, 3), np.uint8)
        interp = cv2.INTER_AREA if crop.shape[0] > height else cv2.INTER_LINEAR
        crops.append(np.asarray(cv2.resize(crop, (width, height), interpolation=interp), np.uint8))
    return crops, [float(width), float(height)]


def _to_frame(boxes: list[list[float]], region: Region, size: list[float]) -> list[list[float]]:
    x, y, w, h = region
    sx, sy = size[0] / w, size[1] / h
    return [[x + bx / sx, y + by / sy, bw / sx, bh / sy] for bx, by, bw, bh in boxes]


def _downscale(image: npt.NDArray[np.uint8], max_side: int) -> tuple[npt.NDArray[np.uint8], float]:
    side = max(image.shape[:2])
    if side <= max_side:
        return image, 1.0
    scale = max_side / side
    small = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)
    return small, scale


class HaarDetector:
    """OpenCV's Viola-Jones frontal-face cascade, shipped inside opencv-python."""

    name = "haar"

    def __init__(self, min_face_px: int = 32, max_side_px: int = 960) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.min_face_px = min_face_px
        self.max_side_px = max_side_px

    def detect(self, frame: Frame) -> FaceDetections:
        small, scale = _downscale(frame.image, self.max_side_px)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_side = max(12, int(self.min_face_px * scale))
        rects = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        faces = FaceDetections.from_haar(rects, frame_shape=frame.image.shape, scale=scale, min_face_px=self.min_face_px)
        return faces.without_nested()

    def detect_in(self, frame: Frame, regions: Sequence[Region], height: int) -> FaceDetections:
        if not regions:
            return FaceDetections.empty()
        crops, size = _crops(frame.image, regions, height)
        boxes: list[list[float]] = []
        for crop, region in zip(crops, regions, strict=True):
            gray = cv2.equalizeHist(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))
            rects = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(16, 16))
            boxes += _to_frame([list(map(float, r)) for r in np.asarray(rects).reshape(-1, 4)], region, size)
        faces = FaceDetections.from_boxes(boxes, None, frame_shape=frame.image.shape, min_face_px=self.min_face_px)
        return faces.without_nested()  # as detect(): a cascade often adds a looser box around the same face


class MtcnnDetector:
    """MTCNN (the ``mtcnn`` package, weights shipped in the wheel), a CNN cascade run on TensorFlow."""

    name = "mtcnn"

    def __init__(self, min_face_px: int = 32, max_side_px: int = 960, min_confidence: float = 0.9) -> None:
        from mtcnn import MTCNN  # imports TensorFlow

        self._mtcnn = MTCNN(device="CPU:0")
        self.min_face_px = min_face_px
        self.max_side_px = max_side_px
        self.min_confidence = min_confidence

    def detect(self, frame: Frame) -> FaceDetections:
        small, scale = _downscale(frame.image, self.max_side_px)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        # mtcnn 1.0 sizes its pyramid for min_face_size <= 20 only: above that its last levels shrink below PNet's
        # 12-pixel input and the library raises, so the size is clamped and small boxes are dropped afterwards
        min_face = min(20, max(12, int(self.min_face_px * scale)))
        results = self._mtcnn.detect_faces(rgb, min_face_size=min_face)
        return FaceDetections.from_mtcnn(
            results,
            frame_shape=frame.image.shape,
            scale=scale,
            min_face_px=self.min_face_px,
            min_confidence=self.min_confidence,
        ).without_nested()

    def detect_in(self, frame: Frame, regions: Sequence[Region], height: int) -> FaceDetections:
        """All regions in one batched MTCNN call: on a 25-tile 1080p gallery about half the time of the whole frame
        at ``max_side_px``, and the pyramid only spans face sizes a tile can hold."""
        if not regions:
            return FaceDetections.empty()
        crops, size = _crops(frame.image, regions, height)
        rgb = [cv2.cvtColor(c, cv2.COLOR_BGR2RGB) for c in crops]
        results: Any = self._mtcnn.detect_faces(rgb, min_face_size=20)
        boxes: list[list[float]] = []
        scores: list[float] = []
        for found, region in zip(results, regions, strict=True):
            kept = [r for r in found if float(r.get("confidence", 0.0)) >= self.min_confidence]
            boxes += _to_frame([[float(v) for v in r["box"]] for r in kept], region, size)
            scores += [float(r["confidence"]) for r in kept]
        # A small gallery's tiles hold small faces (a 7x7 gallery in a 640x400 window: 50-px tiles): a face a
        # quarter of its tile's height is a participant, whatever ``min_face_px`` says about a room.
        min_face = min(self.min_face_px, max(12, min(h for _, _, _, h in regions) // 4))
        faces = FaceDetections.from_boxes(boxes, scores, frame_shape=frame.image.shape, min_face_px=min_face)
        return faces.without_nested()


def make_detector(kind: str, min_face_px: int, max_side_px: int, min_confidence: float) -> FaceDetector:
    if kind == "haar":
        return HaarDetector(min_face_px, max_side_px)
    if kind == "mtcnn":
        return MtcnnDetector(min_face_px, max_side_px, min_confidence)
    raise ValueError(f"unknown detector {kind!r}")
