"""Face preprocessing shared by training, evaluation and the worker, so that what is measured is what runs.

The model takes ``uint8`` grayscale 48x48 faces shaped ``[N, 48, 48, 1]``; scaling to [0, 1] happens inside the
network (a ``Rescaling`` layer), so there is exactly one place where pixel values are transformed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FACE_SIZE = 48


def to_gray(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Return a 2-D grayscale view of a BGR, BGRA or already-gray image."""
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY), np.uint8)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8)
    raise ValueError(f"expected a 2-D or 3-D image with 1, 3 or 4 channels, got shape {image.shape}")


@dataclass(frozen=True)
class CropSpec:
    """How a detector box becomes the model's input; one value used by the worker, training and evaluation.

    * ``margin``: the square side is ``max(w, h) * (1 + 2 * margin)``; FER2013 faces show the forehead and the chin,
      a detector's tight box does not (the figures behind the default are in models/README.md).
    * ``shift_y``: the centre moves down by this fraction of the box height (detector boxes sit high on the face).
    * ``align``: rotate the face upright from the eye landmarks when the detector gives them.
    * ``interpolation``: ``"area"`` (anti-aliased downscaling) or ``"linear"``.
    """

    margin: float = 0.0
    shift_y: float = 0.0
    align: bool = False
    interpolation: str = "area"

    def __post_init__(self) -> None:
        if not -0.25 <= self.margin <= 1.0 or not -0.5 <= self.shift_y <= 0.5:
            raise ValueError(f"crop margin {self.margin} or shift {self.shift_y} out of range")
        if self.interpolation not in _INTERP:
            raise ValueError(f"interpolation must be one of {sorted(_INTERP)}, got {self.interpolation!r}")


_INTERP = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC}
TIGHT = CropSpec()  # the detector box as it is: the crop the worker used before issue 11


def crop_geometry(
    box: tuple[float, float, float, float],
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None,
    spec: CropSpec = TIGHT,
) -> tuple[float, float, float, float]:
    """The square a face is cut from: centre ``(cx, cy)``, side in pixels and rotation in degrees.

    ``eyes`` are the (left-in-image, right-in-image) eye centres; with ``spec.align`` the crop turns by the eye
    line's angle so the eyes come out level. The centre and side come from the box only, so a landmark error can
    tilt a face but never cut it off.
    """
    x, y, w, h = (float(v) for v in box)
    if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
        raise ValueError(f"a face box needs a finite position and a positive size, got {box}")
    cx, cy = x + w / 2, y + h / 2 + spec.shift_y * h
    side = max(w, h) * (1 + 2 * spec.margin)
    angle = 0.0
    if spec.align and eyes is not None:
        (lx, ly), (rx, ry) = eyes
        if rx < lx:  # accept the eyes in either order
            (lx, ly), (rx, ry) = (rx, ry), (lx, ly)
        if rx - lx > 1e-6 or abs(ry - ly) > 1e-6:
            angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
            angle = float(np.clip(angle, -45.0, 45.0))  # beyond that the landmarks are more likely wrong
    return cx, cy, side, angle


def crop_face(
    gray: npt.NDArray[np.uint8],
    box: tuple[float, float, float, float],
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None,
    spec: CropSpec = TIGHT,
    size: int = FACE_SIZE,
) -> npt.NDArray[np.uint8] | None:
    """Cut one face out of a grayscale frame as the model sees it: a ``size`` x ``size`` uint8 square.

    ``box`` is ``(x, y, w, h)`` in pixels; see ``CropSpec`` for the geometry. Parts of the square outside the frame
    repeat the border pixels (a face at the edge keeps its framing instead of being stretched). Returns ``None`` when
    the box is too small or lies outside the frame.
    """
    cx, cy, side, angle = crop_geometry(box, eyes, spec)
    hgt, wid = gray.shape[:2]
    if side < 2 or cx < 0 or cy < 0 or cx > wid or cy > hgt:
        return None
    # Warp at the source resolution first (rotation and centring, no scaling), then resize: warpAffine cannot
    # anti-alias, and a 300-pixel face shrunk to 48 by bilinear sampling alone comes out noisy.
    inter = max(size, round(side))
    m = cv2.getRotationMatrix2D((cx, cy), angle, inter / side)
    m[0, 2] += inter / 2 - cx
    m[1, 2] += inter / 2 - cy
    square = cv2.warpAffine(gray, m, (inter, inter), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if inter == size:
        return np.asarray(square, np.uint8)
    return np.asarray(cv2.resize(square, (size, size), interpolation=_INTERP[spec.interpolation]), np.uint8)


def to_batch(faces: npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.uint8]:
    """Stack 48x48 grayscale faces into the model's input layout ``[N, 48, 48, 1]`` (uint8)."""
    arr = np.asarray(faces, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3 or arr.shape[1:] != (FACE_SIZE, FACE_SIZE):
        raise ValueError(f"expected faces shaped [N, {FACE_SIZE}, {FACE_SIZE}], got {arr.shape}")
    return arr[..., None]


# The worker reads each face through two crops of its detector box, a close one and a wide one, and combines the
# model's two readings (``combine_views``). Two views of different framing agreed with the label on 2-3 points more
# of the real photos than one crop, or one crop and its mirror image, for the same two passes of the network; chosen
# on half A of the real development photos, checked on half B (models/README.md, "Then: two crops instead of the mirror image").
# The shipped file also reads each crop's mirror image (``models.calibrate --mirror``): four passes a face.
VIEWS = (
    CropSpec(margin=0.05, shift_y=0.1, align=True, interpolation="area"),
    CropSpec(margin=0.2, shift_y=0.0, align=True, interpolation="area"),
)
# The detector box a FER2013 picture stands for: cut with a 10% margin and 10% lower (the single crop the worker used
# before ``VIEWS``, and the frame training's jittered crops start from), this 40-pixel box gives back the 48x48
# picture itself. Re-cutting it with each of ``VIEWS`` shows the network a PublicTest face as the worker would.
FER_BOX = (4.0, 0.0, 40.0, 40.0)


def fer_views(faces: npt.NDArray[np.uint8], views: tuple[CropSpec, ...] = VIEWS) -> list[npt.NDArray[np.uint8]]:
    """Each of ``views`` cut from every FER2013 face ``[N, 48, 48]`` (or ``[N, 48, 48, 1]``): one ``[N, 48, 48, 1]``
    batch per view, for evaluation and calibration on the worker's own views."""
    flat = to_batch(faces)[..., 0]
    out = []
    for spec in views:
        batch = np.zeros((len(flat), FACE_SIZE, FACE_SIZE, 1), np.uint8)
        for i, face in enumerate(flat):
            cut = crop_face(face, FER_BOX, None, spec)
            assert cut is not None  # the box's centre is the picture's: always inside
            batch[i, :, :, 0] = cut
        out.append(batch)
    return out


def combine_views(readings: list[npt.NDArray[np.floating]]) -> npt.NDArray[np.float32]:
    """One reading per face from the model's readings of its views ``[N, 7]`` each: the geometric mean of the
    probabilities, renormalised. A temperature and class bias applied to each view's reading (the shipped model's
    calibration layer) then equal the same calibration applied to the geometric mean of the uncalibrated readings, so
    the calibration fitted on PublicTest through ``fer_views`` holds for what the worker reports."""
    if not readings:
        raise ValueError("combine_views needs at least one reading")
    if readings[0].shape[-1] == 0:  # presence mode: no emotion columns
        return np.asarray(readings[0], np.float32)
    logs = np.mean([np.log(np.clip(np.asarray(r, np.float64), 1e-7, 1.0)) for r in readings], axis=0)
    e = np.exp(logs - logs.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True), np.float32)


def read_fer(predict: Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.floating]],
             faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """FER2013 faces read as the worker reads a detected face: ``predict`` on each of ``fer_views``, combined."""
    return combine_views([predict(view) for view in fer_views(faces)])
