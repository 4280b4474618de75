"""Record a trained model's PublicTest results: ``python -m models.report --data PATH [--model FILE]``.

Writes ``metrics.json`` beside the model (the quality gate's baseline), and a confusion-matrix PNG and a
training-curves PNG (from the ``*.history.json`` that training wrote) into ``docs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from db.emotions import EMOTIONS
from models.classifier import DEFAULT_MODEL, ModelError
from models.data import DataError
from models.evaluate import evaluate
from models.metrics import Report

DOCS = Path(__file__).resolve().parents[1] / "docs"


def plot_confusion(rep: Report, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cm = np.array(rep.confusion, dtype=float)
    norm = cm / np.clip(cm.sum(axis=1, keepdims=True), 1, None)
    fig, ax = plt.subplots(figsize=(6.4, 5.4), dpi=110)
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.55 else "black")
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=40, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"PublicTest confusion (accuracy {rep.accuracy:.1%}, macro-F1 {rep.macro_f1:.3f})")
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_curves(history: dict[str, list[float]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    epochs = range(1, len(history["loss"]) + 1)
    a.plot(epochs, history["loss"], label="training")
    a.plot(epochs, history["val_loss"], label="PublicTest")
    a.set_title("loss")
    b.plot(epochs, history["categorical_accuracy"], label="training (augmented)")
    b.plot(epochs, history["val_categorical_accuracy"], label="PublicTest")
    b.set_title("accuracy")
    for ax in (a, b):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.report", description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        rep = evaluate(args.model, args.data)
    except (DataError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.model.with_name("metrics.json").write_text(json.dumps(rep.to_dict(), indent=2) + "\n")
    DOCS.mkdir(exist_ok=True)
    plot_confusion(rep, DOCS / "model-confusion.png")
    history_file = args.model.with_name(args.model.stem + ".history.json")
    if history_file.is_file():
        plot_curves(json.loads(history_file.read_text())["history"], DOCS / "model-curves.png")
    print(rep.format())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
