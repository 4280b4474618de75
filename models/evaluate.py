"""Evaluate a model on FER2013 PublicTest: ``python -m models.evaluate --data PATH [--model FILE] [--json OUT]``.

Every face is read as the worker reads a detected face: through ``models.preprocess.VIEWS`` (``fer_views``), the
readings combined by ``combine_views``.

Prints accuracy, macro-F1, per-class recall and precision, expected calibration error and the confusion matrix.
``--record`` also writes ``metrics.json`` beside the model (the quality gate's baseline) and the confusion-matrix and
training-curve PNGs into ``docs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from models.classifier import DEFAULT_MODEL, EmotionClassifier, ModelError
from models.data import DataError, load_split
from models.metrics import Report, report
from models.preprocess import read_fer


def evaluate(model_path: Path, data: str | Path) -> Report:
    faces = load_split(data, "val")
    clf = EmotionClassifier(model_path, batch_size=256)
    return report(read_fer(clf.predict, faces.x), faces.y)  # as the worker reads


def record(rep: Report, model_path: Path) -> None:
    from models.plots import DOCS, plot_confusion, plot_curves

    metrics = rep.to_dict()
    calibration = model_path.with_name(model_path.stem + ".calibration.json")
    if calibration.is_file():  # written by models.calibrate: the figures before temperature scaling
        info = json.loads(calibration.read_text())
        keys = ("temperature", "ece_before", "ece_after", "tta", "views", "engine", "fitted_on")
        metrics["calibration"] = {k: info[k] for k in keys if k in info}
    model_path.with_name("metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    DOCS.mkdir(exist_ok=True)
    plot_confusion(rep, DOCS / "model-confusion.png")
    history = model_path.with_name(model_path.stem + ".history.json")
    if history.is_file():
        plot_curves(json.loads(history.read_text())["history"], DOCS / "model-curves.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="FER2013 folder, fer2013.csv, or Kaggle train/ test/ folders")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--json", type=Path, help="also write the report as JSON here")
    p.add_argument("--record", action="store_true", help="record as the shipped baseline: metrics.json and docs/ PNGs")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        rep = evaluate(args.model, args.data)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(rep.format())
    if args.json:
        args.json.write_text(json.dumps(rep.to_dict(), indent=2) + "\n")
    if args.record:
        record(rep, args.model)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
