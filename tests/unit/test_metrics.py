"""Evaluation metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from models.metrics import confusion_matrix, expected_calibration_error, report

pytestmark = pytest.mark.unit


def test_report_by_hand() -> None:
    y = np.array([0, 0, 1, 1, 3, 3, 3, 6])
    pred = np.array([0, 1, 1, 1, 3, 3, 6, 6])
    probs = np.eye(7)[pred] * 0.9 + 0.1 / 7
    r = report(probs, y)
    assert r.accuracy == pytest.approx(6 / 8)
    assert r.recall["angry"] == 0.5 and r.recall["disgust"] == 1.0 and r.recall["happy"] == pytest.approx(2 / 3)
    assert r.precision["disgust"] == pytest.approx(2 / 3) and r.precision["neutral"] == 0.5
    f1 = [2 / 3, 0.8, 0, 0.8, 0, 0, 2 / 3]  # classes without support or predictions count as 0
    assert r.macro_f1 == pytest.approx(np.mean(f1))
    assert r.confusion[3] == [0, 0, 0, 2, 0, 0, 1]
    assert "accuracy    0.7500" in r.format()


def test_confusion_counts_and_ece() -> None:
    assert confusion_matrix([0, 1], [1, 1], k=2).tolist() == [[0, 1], [0, 1]]
    confident_right = np.eye(7)[[0, 1, 2]]
    assert expected_calibration_error(confident_right, [0, 1, 2]) == pytest.approx(0.0)
    assert expected_calibration_error(confident_right, [1, 2, 0]) == pytest.approx(1.0)
