"""Figures of a model's results: the PublicTest confusion matrix and the training curves, as PNG files in docs/.

Written by ``python -m models.evaluate --record``; matplotlib is imported only here.
"""

from __future__ import annotations

from pathlib import Path

from db.emotions import EMOTIONS
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
            ax.text(
                j,
                i,
                f"{int(cm[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if norm[i, j] > 0.55 else "black",
            )
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=40, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"PublicTest confusion (accuracy {rep.accuracy:.1%}, macro-F1 {rep.macro_f1:.3f})")
    fig.colorbar(im, ax=ax, fraction=0.046, label="share of the true class")
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def plot_curves(history: dict[str, list[float]] | list[dict[str, float]], out: Path) -> None:
    """Training curves from either history shape: Keras' ``fit`` history (a dict of per-epoch lists) or the
    resumable run's ``history.json`` (one record per epoch: training loss and PublicTest accuracy with the flip)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    if isinstance(history, list):
        epochs = [int(h["epoch"]) for h in history]
        a.plot(epochs, [h["loss"] for h in history], label="training (cutmix, label smoothing)")
        b.plot(epochs, [h["val_accuracy_flip"] for h in history], label="PublicTest (with the mirrored view)")
    else:
        epochs = list(range(1, len(history["loss"]) + 1))
        a.plot(epochs, history["loss"], label="training")
        a.plot(epochs, history["val_loss"], label="PublicTest")
        b.plot(epochs, history["categorical_accuracy"], label="training (augmented)")
        b.plot(epochs, history["val_categorical_accuracy"], label="PublicTest")
    a.set_title("loss")
    b.set_title("accuracy")
    for ax in (a, b):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
