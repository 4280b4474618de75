"""Load the shipped emotion model and run it on batches of faces through one compiled ``tf.function``.

Calling a Keras model eagerly per face runs at tens of faces per second on a laptop CPU; the compiled path with a
dynamic batch dimension runs in the thousands, so the worker, the evaluation and the benchmarks all use this class.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from models.preprocess import FACE_SIZE

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_MODEL = MODELS_DIR / "emotion.keras"
LABELS_FILE = "labels.json"


class ModelError(Exception):
    """The model file or its label map is missing or inconsistent; the message is one line for the user."""


def labels_path(model_path: Path) -> Path:
    return model_path.with_name(LABELS_FILE)


def read_labels(model_path: Path) -> tuple[str, ...]:
    path = labels_path(model_path)
    try:
        labels = tuple(json.loads(path.read_text())["labels"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read the label map {path}: {exc}") from exc
    if labels != EMOTIONS:
        raise ModelError(f"label map {path} has {list(labels)}, expected {list(EMOTIONS)}")
    return labels


def write_labels(model_path: Path) -> Path:
    path = labels_path(model_path)
    path.write_text(json.dumps({"labels": list(EMOTIONS), "input": [FACE_SIZE, FACE_SIZE, 1]}, indent=2) + "\n")
    return path


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """TensorFlow's C++ start-up lines (absl's "before InitializeLog()", oneDNN, "Could not find cuda drivers") go
    straight to file descriptor 2 before TF_CPP_MIN_LOG_LEVEL or absl logging can apply: point it at /dev/null while
    TensorFlow is imported. A Python exception still propagates; only the C++ chatter is lost."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class EmotionClassifier:
    """Wraps a Keras model file: ``predict(uint8 [N, 48, 48, 1]) -> float32 [N, 7]`` probabilities."""

    def __init__(self, model_path: str | Path = DEFAULT_MODEL, batch_size: int = 64) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        self.path = path
        self.labels = read_labels(path)
        self.batch_size = batch_size
        with native_stderr_silenced():
            import keras  # imported lazily: TensorFlow start-up takes seconds
            import tensorflow as tf

        import models.layers  # noqa: F401  (registers the shipped model's custom layers)

        try:
            self.model = keras.saving.load_model(path, compile=False)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load model {path}: {exc}") from exc
        spec = tf.TensorSpec([None, FACE_SIZE, FACE_SIZE, 1], tf.float32)
        self._fn: Any = tf.function(lambda x: self.model(x, training=False), input_signature=[spec])
        self._fn(tf.zeros([1, FACE_SIZE, FACE_SIZE, 1]))  # trace once now, not on the first real frame

    def predict(self, faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        if faces.ndim != 4 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE, 1):
            raise ValueError(f"expected faces shaped [N, 48, 48, 1], got {faces.shape}")
        if len(faces) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        out = [
            np.asarray(self._fn(faces[i : i + self.batch_size].astype(np.float32)))
            for i in range(0, len(faces), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float32)
