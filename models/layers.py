"""Custom Keras layers of the shipped model, registered so the ``.keras`` file loads (safe mode, no lambdas).

Importing this module registers them; ``models.classifier`` imports it before loading any model.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="classmood")
class HorizontalFlip(keras.layers.Layer):  # type: ignore[misc]
    """Mirror the face left-right: the test-time augmentation's second view (always on, unlike RandomFlip)."""

    def call(self, inputs: Any) -> Any:
        return ops.flip(inputs, axis=2)


@keras.saving.register_keras_serializable(package="classmood")
class Calibration(keras.layers.Layer):  # type: ignore[misc]
    """Temperature scaling of averaged class probabilities: ``softmax((log p + bias) / T)``.

    ``T`` is fitted on PublicTest by minimising the negative log-likelihood (``models.calibrate``); ``bias`` is an
    optional per-class logit adjustment (zero unless asked for). The argmax, and so accuracy, is unchanged by ``T``.
    """

    def __init__(self, temperature: float = 1.0, bias: list[float] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.temperature = float(temperature)
        self.bias = [0.0] * 7 if bias is None else [float(b) for b in bias]

    def call(self, inputs: Any) -> Any:
        logits = ops.log(ops.clip(inputs, 1e-7, 1.0)) + ops.convert_to_tensor(self.bias, dtype=inputs.dtype)
        return ops.softmax(logits / self.temperature, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "temperature": self.temperature, "bias": self.bias}
