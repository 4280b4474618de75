"""Face preprocessing shared by training, evaluation and the worker, so that what is measured is what runs.

The model takes ``uint8`` grayscale 48x48 faces shaped ``[N, 48, 48, 1]``; scaling to [0, 1] happens inside the
network (a ``Rescaling`` layer), so there is exactly one place where pixel values are transformed.
"""

from __future__ import annotations

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


def crop_face(
    gray: npt.NDArray[np.uint8], box: tuple[int, int, int, int], margin: float = 0.0
) -> npt.NDArray[np.uint8] | None:
    """Cut one face out of a grayscale frame and resize it to 48x48.

    ``box`` is ``(x, y, w, h)`` in pixels. ``margin`` widens the box by that fraction of its size on every side
    (FER2013 crops are tight, so the default is none). Returns ``None`` when the clipped crop is empty.
    """
    x, y, w, h = box
    dx, dy = round(w * margin), round(h * margin)
    x0, y0 = max(0, x - dx), max(0, y - dy)
    x1, y1 = min(gray.shape[1], x + w + dx), min(gray.shape[0], y + h + dy)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = gray[y0:y1, x0:x1]
    interp = cv2.INTER_AREA if (x1 - x0) >= FACE_SIZE else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(crop, (FACE_SIZE, FACE_SIZE), interpolation=interp), np.uint8)


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
