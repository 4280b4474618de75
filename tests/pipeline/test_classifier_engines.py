"""The emotion model through TensorFlow Lite (the worker's default) gives what the Keras model gives, and a model
that will not convert falls back to the compiled graph with one warning."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import models.classifier as classifier_module
from models.classifier import DEFAULT_MODEL, EmotionClassifier

pytestmark = pytest.mark.pipeline


def test_lite_and_the_compiled_graph_agree_on_real_faces(fer, classifier) -> None:  # type: ignore[no-untyped-def]
    x, _ = fer
    assert classifier.engine == "lite"
    graph = EmotionClassifier(DEFAULT_MODEL, engine="tf")
    assert graph.engine == "tf"
    for n in (1, 7, 64, 100):  # one face, a partial batch, a full one, more than one batch
        faces = x[:n, ..., None]
        lite, tf = classifier.predict(faces), graph.predict(faces)
        assert lite.shape == tf.shape == (n, len(classifier.labels))
        np.testing.assert_allclose(lite, tf, atol=1e-5)
        assert (lite.argmax(1) == tf.argmax(1)).all()


def test_a_model_that_will_not_convert_runs_on_the_graph(fer, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                         caplog: pytest.LogCaptureFixture) -> None:
    def refuse(model: object) -> None:
        raise RuntimeError("converter refused an op")

    monkeypatch.setattr(classifier_module, "_LiteRunner", refuse)
    with caplog.at_level(logging.WARNING, logger="models.classifier"):
        clf = EmotionClassifier(DEFAULT_MODEL)
    assert clf.engine == "tf"
    assert "TensorFlow Lite unavailable (converter refused an op)" in caplog.text
    probs = clf.predict(fer[0][:3, ..., None])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
