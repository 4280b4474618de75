"""Temperature scaling and logit adjustment (models.calibrate), as pure numpy and as the shipped Keras layer."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibrate import calibrated, fit_temperature, nll, prior_bias
from models.metrics import expected_calibration_error

pytestmark = pytest.mark.unit


def overconfident(n: int = 4000, t_true: float = 2.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that are right when rescaled by ``1/t_true``: labels drawn from softmax(z), reported at z*t."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, 7))
    p_true = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(7, p=p) for p in p_true])
    sharp = np.exp(z * t_true)
    return sharp / sharp.sum(axis=1, keepdims=True), y


def test_fit_recovers_the_temperature_and_lowers_ece_and_nll() -> None:
    probs, y = overconfident()
    t = fit_temperature(probs, y, np.zeros(7))
    assert t == pytest.approx(2.0, rel=0.1)
    after = calibrated(probs, t, np.zeros(7))
    assert expected_calibration_error(after, y) < expected_calibration_error(probs, y) / 2
    assert nll(after, y) < nll(probs, y)
    assert (after.argmax(1) == probs.argmax(1)).all()  # temperature never changes the prediction


def test_a_calibrated_model_keeps_temperature_near_one() -> None:
    probs, y = overconfident(t_true=1.0, seed=1)
    assert fit_temperature(probs, y, np.zeros(7)) == pytest.approx(1.0, rel=0.1)


def test_prior_bias_favours_rare_classes_and_sums_to_zero() -> None:
    y = np.repeat(np.arange(7), [4000, 400, 4000, 7000, 4800, 3200, 5000])
    bias = prior_bias(y, 1.0)
    assert bias.sum() == pytest.approx(0, abs=1e-9)
    assert bias.argmax() == 1 and bias.argmin() == 3
    assert not prior_bias(y, 0.0).any()


def test_the_keras_layer_matches_numpy() -> None:
    from models.layers import Calibration

    probs, _ = overconfident(n=64)
    bias = [0.3, -0.1, 0.2, 0.0, -0.4, 0.1, -0.1]
    out = np.asarray(Calibration(1.7, bias)(probs.astype(np.float32)))
    assert np.allclose(out, calibrated(probs, 1.7, np.array(bias)), atol=1e-5)
    assert Calibration.from_config(Calibration(1.7, bias).get_config()).temperature == 1.7
