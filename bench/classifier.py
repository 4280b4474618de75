"""Emotion model speed on the worker's path: ``python bench/classifier.py [--engines quantized lite tf]``.

Prints milliseconds per call and crops per second (model inputs: the worker cuts two crops a face, so its faces/s
is half) at batch sizes 1, 8, 25, 32 and 64, for TensorFlow Lite with
8-bit weights (the worker's default, ``model.engine = "quantized"``), TensorFlow Lite in float and the compiled
``tf.function`` (the fallback), in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from models.classifier import DEFAULT_MODEL, EmotionClassifier


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--seconds", type=float, default=3.0, help="time spent per batch size")
    ap.add_argument("--engines", nargs="+", choices=["quantized", "lite", "tf"], default=["quantized", "lite", "tf"])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"model={args.model.name} cores={os.cpu_count()}")
    print(f"{'engine':>9} {'batch':>6} {'ms/call':>9} {'crops/s':>9}")
    for engine in args.engines:
        clf = EmotionClassifier(args.model, engine=engine)
        for batch in (1, 8, 25, 32, 64):
            faces = rng.integers(0, 256, (batch, 48, 48, 1), dtype=np.uint8)
            clf.predict(faces)  # warm-up
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                clf.predict(faces)
                calls += 1
            per_call = (time.perf_counter() - start) / calls
            print(f"{clf.engine:>9} {batch:>6} {per_call * 1000:>9.2f} {batch / per_call:>9.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
