"""Build the shipped model from a trained one: temperature scaling and class bias, in one file.

``python -m models.calibrate --model runs/x/emotion.keras --data PATH --out models/emotion.keras [--mirror]``

The worker reads every face through two crops (``models.preprocess.VIEWS``) and combines the two readings
(``combine_views``); the temperature is fitted on PublicTest seen the same way (``fer_views``) by minimising the
negative log-likelihood, so the probabilities the worker averages per interval mean what they say. ``--mirror``
also puts a mirrored second view inside the model (averaged softmax outputs; twice the passes per crop).
An optional per-class logit adjustment (``--prior-correction TAU``: ``-TAU * log(training prior)``,
Menon et al. 2021) trades a little accuracy for recall on the rare classes; it is computed from the Training
split's class counts, not tuned. ``--bias CLASS=VALUE`` adds a fixed amount to one class's log-probability (chosen on
PublicTest, the validation split; PrivateTest is never read). The result and the figures before and after go to ``<out>.calibration.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from models.classifier import DEFAULT_MODEL, ModelError, write_labels
from models.data import DataError, load_split
from models.metrics import report
from models.preprocess import VIEWS, read_fer


def calibrated(probs: npt.NDArray[np.floating], temperature: float, bias: npt.NDArray[np.floating]) -> npt.NDArray[Any]:
    """The same transform as ``models.layers.Calibration``, in numpy, for fitting and checking."""
    z = (np.log(np.clip(probs, 1e-7, 1.0)) + bias) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def nll(probs: npt.NDArray[np.floating], y: npt.NDArray[np.integer]) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)).mean())


def fit_temperature(
    probs: npt.NDArray[np.floating], y: npt.NDArray[np.integer], bias: npt.NDArray[np.floating]
) -> float:
    """Golden-section search of log T in [-2, 2] for the lowest negative log-likelihood (it is convex in 1/T)."""
    lo, hi = -2.0, 2.0
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(calibrated(probs, np.exp(a), bias), y), nll(calibrated(probs, np.exp(b), bias), y)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(calibrated(probs, np.exp(a), bias), y)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(calibrated(probs, np.exp(b), bias), y)
    return float(np.exp((lo + hi) / 2))


def prior_bias(train_y: npt.NDArray[np.integer], tau: float) -> npt.NDArray[np.float64]:
    prior = np.bincount(train_y, minlength=7).astype(np.float64)
    prior /= prior.sum()
    bias = -tau * np.log(prior)
    return bias - bias.mean()  # type: ignore[no-any-return]


def build_shipped(model_path: Path, temperature: float, bias: list[float], tta: bool) -> Any:
    import keras

    from models.layers import Calibration, HorizontalFlip

    base = keras.saving.load_model(model_path, compile=False)
    inputs = keras.Input(shape=base.input_shape[1:], name="face")
    probs = base(inputs)
    if tta:
        probs = keras.layers.Average(name="tta_mean")([probs, base(HorizontalFlip(name="mirror")(inputs))])
    outputs = Calibration(temperature, bias, name="calibration")(probs)
    return keras.Model(inputs, outputs, name="classmood_shipped")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.calibrate", description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True, help="trained model (.keras) from models.train")
    p.add_argument("--data", required=True, help="FER2013 folder, fer2013.csv, or Kaggle train/ test/ folders")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="shipped model to write (.keras)")
    p.add_argument("--mirror", action="store_true", help="also read each crop's mirror image (twice the passes)")
    p.add_argument("--prior-correction", type=float, default=0.0, metavar="TAU", help="logit adjustment strength")
    p.add_argument(
        "--bias",
        action="append",
        default=[],
        metavar="CLASS=VALUE",
        help="add VALUE to one class's log-probability (e.g. fear=0.4), chosen on PublicTest; repeatable",
    )
    args = p.parse_args(argv)
    if args.out.suffix != ".keras":
        p.error("--out must end in .keras")
    if not 0 <= args.prior_correction <= 2:
        p.error("--prior-correction must be between 0 and 2")
    extra = np.zeros(7)
    for item in args.bias:
        name, _, value = item.partition("=")
        try:
            extra[EMOTIONS.index(name.strip())] += float(value)
        except ValueError:
            p.error(f"--bias {item!r}: expected CLASS=VALUE with CLASS one of {', '.join(EMOTIONS)}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        val = load_split(args.data, "val")
        train_y = load_split(args.data, "train").y if args.prior_correction else np.zeros(1, np.int64)
        if not args.model.is_file():
            raise ModelError(f"model file not found: {args.model}")
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from models.classifier import EmotionClassifier

    bias = (prior_bias(train_y, args.prior_correction) if args.prior_correction else np.zeros(7)) + extra
    uncal = build_shipped(args.model, 1.0, [0.0] * 7, args.mirror)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".uncalibrated.keras")
    uncal.save(tmp)
    write_labels(tmp)
    try:
        clf = EmotionClassifier(tmp, batch_size=256)  # the worker's default engine: fitted on what it computes
        raw = read_fer(clf.predict, val.x)
        engine = clf.engine
    finally:
        tmp.unlink(missing_ok=True)
    y = val.y.astype(np.int64)
    before = report(calibrated(raw, 1.0, bias), y)
    t = fit_temperature(raw, y, bias)
    after_probs = calibrated(raw, t, bias)
    after = report(after_probs, y)
    shipped = build_shipped(args.model, t, [float(b) for b in bias], args.mirror)
    shipped.save(args.out)
    write_labels(args.out)
    clf = EmotionClassifier(args.out, batch_size=256, engine=engine)
    if clf.engine != engine:
        print(f"error: the shipped model runs on the {clf.engine} engine, the fit ran on {engine}", file=sys.stderr)
        return 1
    check = read_fer(clf.predict, val.x[:256])
    if not np.allclose(check, after_probs[:256], atol=1e-4):
        print("error: the saved model does not reproduce the calibrated probabilities", file=sys.stderr)
        return 1
    info = {
        "source_model": str(args.model),
        "tta": "horizontal flip" if args.mirror else "none",
        "views": [str(v) for v in VIEWS],
        "engine": engine,
        "prior_correction": args.prior_correction,
        "class_bias": args.bias,
        "bias": [round(float(b), 6) for b in bias],
        "temperature": round(t, 6),
        "fitted_on": "PublicTest",
        "accuracy": after.accuracy,
        "ece_before": before.ece,
        "ece_after": after.ece,
        "nll_before": nll(calibrated(raw, 1.0, bias), y),
        "nll_after": nll(after_probs, y),
        "recall": after.recall,
    }
    args.out.with_name(args.out.stem + ".calibration.json").write_text(json.dumps(info, indent=2) + "\n")
    print(
        f"temperature {t:.3f}: ECE {before.ece:.4f} -> {after.ece:.4f}, NLL {info['nll_before']:.4f} -> "
        f"{info['nll_after']:.4f}; accuracy {after.accuracy:.4f}"
    )
    print(after.format())
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
