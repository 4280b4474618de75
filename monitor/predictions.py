"""Emotion classification of detected faces: the ``EmotionPredictions`` container and the classify step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from models.preprocess import VIEWS, CropSpec, combine_views, crop_face, to_batch, to_gray
from monitor.detections import FaceDetections
from monitor.frame import Frame

# The single crop that frames a detector's box the way FER2013 frames its faces: squared on its longer side, 10%
# wider on every side, moved down by 10% of the box height and turned so the eyes are level (where the detector gives
# landmarks: YuNet and MTCNN). Chosen on the real labelled photos of one half of the identities and checked on the
# other half (models/README.md). The worker reads two views around it (``WORKER_VIEWS``), a closer and a wider crop.
WORKER_CROP = CropSpec(margin=0.1, shift_y=0.1, align=True, interpolation="area")
WORKER_VIEWS: tuple[CropSpec, ...] = VIEWS


@dataclass(frozen=True)
class EmotionPredictions:
    """Per-face class probabilities ``[N, 7]`` (``EMOTIONS`` order), row i for detection ``index[i]``.

    ``index`` maps back into the frame's ``FaceDetections``: a face whose crop was empty is skipped, never guessed.
    In presence mode ``probs`` has no columns (``[N, 0]``): the faces were readable, and nothing was inferred.
    """

    probs: npt.NDArray[np.float32]
    index: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        if self.probs.ndim != 2 or self.probs.shape[1] not in (0, len(EMOTIONS)):
            raise ValueError(f"probs must be [N, {len(EMOTIONS)}] (or [N, 0] in presence mode), got {self.probs.shape}")
        if self.index.shape != (len(self.probs),):
            raise ValueError("index must have one entry per row of probs")
        if len(self.probs) and not np.isfinite(self.probs).all():
            raise ValueError("probabilities must be finite")

    def __len__(self) -> int:
        return len(self.probs)

    @classmethod
    def empty(cls) -> EmotionPredictions:
        return cls(np.zeros((0, len(EMOTIONS)), np.float32), np.zeros((0,), np.int64))

    @classmethod
    def from_keras(cls, output: npt.ArrayLike, index: npt.ArrayLike) -> EmotionPredictions:
        """Wrap a softmax output ``[N, 7]``; rows are renormalised so that float error never leaks downstream."""
        idx = np.asarray(index, np.int64).reshape(-1)
        raw = np.asarray(output, np.float32)
        if raw.size == 0 and raw.ndim == 2:  # presence mode: no emotion columns at all
            return cls(raw.reshape(len(idx), 0), idx)
        probs = raw.reshape(-1, len(EMOTIONS))
        probs = probs / np.clip(probs.sum(axis=1, keepdims=True), 1e-12, None)
        return cls(probs, idx)

    def dominant(self) -> list[str]:
        return [EMOTIONS[i] for i in self.probs.argmax(axis=1)]


class Classifier(Protocol):
    def predict(self, faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]: ...


def classify(
    frame: Frame, faces: FaceDetections, classifier: Classifier, views: tuple[CropSpec, ...] = WORKER_VIEWS
) -> EmotionPredictions:
    """Cut each detected face once per view with the shared preprocessing, classify every cut in one batch, and
    combine each face's readings (``models.preprocess.combine_views``). A face any of whose cuts is empty (a box
    outside the frame) is skipped."""
    if not views:
        raise ValueError("classify needs at least one view")
    if len(faces) == 0:
        return EmotionPredictions.empty()
    gray = to_gray(frame.image)
    crops: list[npt.NDArray[np.uint8]] = []
    index = []
    for i, box in enumerate(faces.boxes):
        eyes = None
        if faces.eyes is not None:
            (lx, ly), (rx, ry) = (tuple(map(float, e)) for e in faces.eyes[i])
            eyes = ((lx, ly), (rx, ry))
        cuts = [crop_face(gray, (int(box[0]), int(box[1]), int(box[2]), int(box[3])), eyes, spec) for spec in views]
        if all(c is not None for c in cuts):
            crops += [c for c in cuts if c is not None]
            index.append(i)
    if not crops:
        return EmotionPredictions.empty()
    out = np.asarray(classifier.predict(to_batch(crops)), np.float32)
    k = len(views)
    return EmotionPredictions.from_keras(combine_views([out[v::k] for v in range(k)]), index)
