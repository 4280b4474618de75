"""Classification metrics in plain numpy (no TensorFlow), shared by evaluation, the quality gate and benchmarks."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS


@dataclass(frozen=True)
class Report:
    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    precision: dict[str, float]
    confusion: list[list[int]]  # rows: true class, columns: predicted class, EMOTIONS order
    n: int
    ece: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def format(self) -> str:
        lines = [
            f"images      {self.n}",
            f"accuracy    {self.accuracy:.4f}",
            f"macro-F1    {self.macro_f1:.4f}",
            f"ECE (15 bins) {self.ece:.4f}",
            "",
            f"{'class':<10}{'recall':>8}{'precision':>11}",
        ]
        lines += [f"{c:<10}{self.recall[c]:>8.3f}{self.precision[c]:>11.3f}" for c in EMOTIONS]
        lines += [
            "",
            "confusion (rows = true, columns = predicted)",
            " " * 10 + "".join(f"{c[:7]:>8}" for c in EMOTIONS),
        ]
        lines += [f"{c:<10}" + "".join(f"{v:>8d}" for v in row) for c, row in zip(EMOTIONS, self.confusion)]
        return "\n".join(lines)


def confusion_matrix(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, k: int = len(EMOTIONS)) -> npt.NDArray[np.int64]:
    t, p = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def expected_calibration_error(probs: npt.NDArray[np.floating], y_true: npt.ArrayLike, bins: int = 15) -> float:
    """Weighted mean gap between confidence and accuracy over equal-width confidence bins."""
    y = np.asarray(y_true)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def report(probs: npt.NDArray[np.floating], y_true: npt.ArrayLike) -> Report:
    y = np.asarray(y_true, np.int64)
    pred = probs.argmax(axis=1)
    cm = confusion_matrix(y, pred)
    tp = np.diag(cm).astype(float)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    denom = recall + precision
    f1 = np.divide(2 * recall * precision, denom, out=np.zeros_like(tp), where=denom > 0)
    return Report(
        accuracy=float((pred == y).mean()) if len(y) else 0.0,
        macro_f1=float(f1.mean()),
        recall={c: float(r) for c, r in zip(EMOTIONS, recall)},
        precision={c: float(p) for c, p in zip(EMOTIONS, precision)},
        confusion=cm.tolist(),
        n=len(y),
        ece=expected_calibration_error(probs, y),
    )
