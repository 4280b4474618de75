"""The shipped model: a quality gate against its recorded PublicTest accuracy, and the train/evaluate commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.classifier import DEFAULT_MODEL, EmotionClassifier, ModelError
from models.metrics import report
from models.preprocess import to_batch
from tests.helpers.classroom import FER_DIR
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.pipeline
BASELINE = DEFAULT_MODEL.with_name("metrics.json")


def test_quality_gate_publictest_accuracy(fer, classifier) -> None:  # type: ignore[no-untyped-def]
    """Fails if the shipped model drops more than half a point below the accuracy recorded when it was trained."""
    recorded = json.loads(BASELINE.read_text())
    x, y = fer
    rep = report(classifier.predict(to_batch(x)), y)
    assert rep.n == 3589
    assert rep.accuracy >= recorded["accuracy"] - 0.005, (rep.accuracy, recorded["accuracy"])
    assert rep.accuracy >= 0.60
    assert rep.macro_f1 >= recorded["macro_f1"] - 0.01


def test_evaluate_cli_prints_the_report(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "report.json"
    r = run_cli("models.evaluate", "--data", str(FER_DIR), "--json", str(out), timeout=180)
    assert r.returncode == 0, r.stderr
    for heading in ("accuracy", "macro-F1", "recall", "confusion"):
        assert heading in r.stdout
    rep = json.loads(out.read_text())
    assert rep["n"] == 3589 and np.array(rep["confusion"]).sum() == 3589
    assert rep["accuracy"] == pytest.approx(json.loads(BASELINE.read_text())["accuracy"], abs=0.005)


def test_train_cli_on_a_small_kaggle_csv(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """One epoch on 256 faces written as Kaggle's fer2013.csv: the command runs and its model loads for inference."""
    x, y = fer
    rows = ["emotion,pixels,Usage"]
    for i in range(320):
        rows.append(f"{y[i]},{' '.join(map(str, x[i].ravel()))},{'Training' if i < 256 else 'PublicTest'}")
    (tmp_path / "fer2013.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "m" / "emotion.keras"
    r = run_cli("models.train", "--data", str(tmp_path), "--epochs", "1", "--batch-size", "32", "--out", str(out),
                timeout=300)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and out.with_name("labels.json").is_file() and out.with_name("emotion.history.json").is_file()
    probs = EmotionClassifier(out).predict(to_batch(x[:5]))
    assert probs.shape == (5, 7) and np.allclose(probs.sum(axis=1), 1, atol=1e-4)


def test_train_cli_bad_data_is_one_line(tmp_path: Path) -> None:
    r = run_cli("models.train", "--data", str(tmp_path / "nope"), timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_model_with_wrong_label_map_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "emotion.keras"
    bad.write_bytes(DEFAULT_MODEL.read_bytes())
    (tmp_path / "labels.json").write_text(json.dumps({"labels": ["happy", "sad"]}))
    with pytest.raises(ModelError, match="label map"):
        EmotionClassifier(bad)
