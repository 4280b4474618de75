"""Load the shipped emotion model and run it on batches of faces: through TensorFlow Lite's interpreter (XNNPACK),
converted from the Keras file at load, with its weights quantized to 8 bits (the default) or kept in float, or one
compiled ``tf.function`` where the conversion fails.

Calling a Keras model eagerly per face runs at tens of faces per second on a laptop CPU; the compiled path with a
dynamic batch dimension runs in the thousands, so the worker, the evaluation and the benchmarks all use this class.
Quantizing the weights (TensorFlow Lite's dynamic-range quantization: int8 weights, each face's activations
quantized on the fly from its own range, so a face reads the same whatever else is in the batch) ran 4-6 times the
float interpreter's crops per second on the 2-core machine in one run (docs/performance.md), for probabilities
within 0.03 of the Keras model's (PublicTest accuracy within 0.1 point, the same class for 99.5% of the faces;
models/README.md). The conversion takes one or two seconds and is checked against the Keras model before use; 8-bit
weights that disagree fall back to float TensorFlow Lite, and that to the compiled graph.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from models.preprocess import FACE_SIZE

log = logging.getLogger(__name__)

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


ENGINES = ("quantized", "lite", "tf")
# How far the converted model's probabilities may stray from the Keras model's on the load-time probe: float
# TensorFlow Lite agrees to rounding; 8-bit weights measured up to 0.03 on PublicTest's 3,589 faces.
LITE_TOLERANCE = {"lite": 1e-4, "quantized": 0.06}


class _LiteRunner:
    """The Keras model converted to TensorFlow Lite, run by its interpreter (XNNPACK on the CPU); ``quantize``: int8
    weights (dynamic-range quantization). Not thread-safe by itself: one call at a time, the input resized only when
    the batch size changes."""

    def __init__(self, model: Any, quantize: bool = False) -> None:
        import tensorflow as tf

        with tempfile.TemporaryDirectory(prefix="classmood-model-") as tmp, native_stderr_silenced():
            model.export(tmp, format="tf_saved_model", verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            if quantize:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            content = converter.convert()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TF 2.21 points to ai_edge_litert; the interpreter it ships still runs
            self._it = tf.lite.Interpreter(model_content=content, num_threads=min(4, os.cpu_count() or 1))
        self._in = self._it.get_input_details()[0]["index"]
        self._out = self._it.get_output_details()[0]["index"]
        self._shape: tuple[int, ...] = ()
        self._lock = threading.Lock()

    def __call__(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        with self._lock:
            if x.shape != self._shape:
                self._it.resize_tensor_input(self._in, list(x.shape))
                self._it.allocate_tensors()
                self._shape = x.shape
            self._it.set_tensor(self._in, np.ascontiguousarray(x, np.float32))
            self._it.invoke()
            return np.array(self._it.get_tensor(self._out), np.float32)


class EmotionClassifier:
    """Wraps a Keras model file: ``predict(uint8 [N, 48, 48, 1]) -> float32 [N, 7]`` probabilities. ``engine``:
    ``"quantized"`` (TensorFlow Lite with 8-bit weights, the default), ``"lite"`` (TensorFlow Lite in float) or
    ``"tf"`` (the compiled graph). A TensorFlow Lite engine that will not convert, or whose conversion disagrees with
    the Keras model, falls back (8-bit to float, float to the graph) with a warning; ``engine`` says what runs."""

    def __init__(
        self, model_path: str | Path = DEFAULT_MODEL, batch_size: int = 64, engine: str = "quantized"
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
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
        self.engine = "tf"
        chain = {"quantized": ("quantized", "lite"), "lite": ("lite",), "tf": ()}[engine]
        for i, candidate in enumerate(chain):  # 8-bit, else float TensorFlow Lite, else the compiled graph
            if self._use_lite(candidate, "float TensorFlow Lite" if i + 1 < len(chain) else "the compiled graph"):
                break
        if self.engine == "tf":
            self._fn(tf.zeros([1, FACE_SIZE, FACE_SIZE, 1]))  # trace once now, not on the first real frame

    def _use_lite(self, engine: str, otherwise: str) -> bool:
        """Run through TensorFlow Lite (``engine``: quantized or lite) if the model converts and the converted model
        agrees with it on a few faces (pixel noise, a flat grey face, a black one) within ``LITE_TOLERANCE``; else
        say why, naming what runs instead (``otherwise``), and return False."""
        try:
            lite = _LiteRunner(self.model, quantize=engine == "quantized")
            probe = np.random.default_rng(0).integers(0, 256, (4, FACE_SIZE, FACE_SIZE, 1)).astype(np.float32)
            probe[2], probe[3] = 128.0, 0.0
            with native_stderr_silenced():  # the interpreter's "Created TensorFlow Lite XNNPACK delegate" line
                got = lite(probe)
            gap = float(np.abs(got - np.asarray(self.model(probe, training=False))).max())
        except Exception as exc:  # noqa: BLE001 (any failure of the converter: the graph path still works)
            log.warning("emotion model: TensorFlow Lite unavailable (%s) for the %s engine; using %s", exc, engine,
                        otherwise)
            return False
        if gap > LITE_TOLERANCE[engine]:
            log.warning("emotion model: TensorFlow Lite (%s) disagrees with Keras by %.2g (allowed %.2g); using %s",
                        engine, gap, LITE_TOLERANCE[engine], otherwise)
            return False
        self._lite = lite
        self.engine = engine
        return True

    def predict(self, faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        if faces.ndim != 4 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE, 1):
            raise ValueError(f"expected faces shaped [N, 48, 48, 1], got {faces.shape}")
        if len(faces) == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        run = self._fn if self.engine == "tf" else self._lite
        out = [
            np.asarray(run(faces[i : i + self.batch_size].astype(np.float32)))
            for i in range(0, len(faces), self.batch_size)
        ]
        return np.concatenate(out).astype(np.float32)
