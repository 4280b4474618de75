"""The emotion model through TensorFlow Lite gives what the Keras model gives: in float to rounding, with 8-bit
weights (the worker's default) within the load-time tolerance and the same class for nearly every face, each face
reading the same whatever else is in its batch; and a model that will not convert falls back to the compiled graph
with one warning."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import models.classifier as classifier_module
from models.classifier import DEFAULT_MODEL, LITE_TOLERANCE, EmotionClassifier

pytestmark = pytest.mark.pipeline


def test_lite_and_the_compiled_graph_agree_on_real_faces(fer) -> None:  # type: ignore[no-untyped-def]
    x, _ = fer
    lite = EmotionClassifier(DEFAULT_MODEL, engine="lite")
    graph = EmotionClassifier(DEFAULT_MODEL, engine="tf")
    assert (lite.engine, graph.engine) == ("lite", "tf")
    for n in (1, 7, 64, 100):  # one face, a partial batch, a full one, more than one batch
        faces = x[:n, ..., None]
        a, b = lite.predict(faces), graph.predict(faces)
        assert a.shape == b.shape == (n, len(lite.labels))
        np.testing.assert_allclose(a, b, atol=1e-5)
        assert (a.argmax(1) == b.argmax(1)).all()


def test_the_quantized_default_stays_close_to_the_model_on_real_faces(fer, classifier) -> None:  # type: ignore[no-untyped-def]
    x, _ = fer
    assert classifier.engine == "quantized"
    graph = EmotionClassifier(DEFAULT_MODEL, engine="tf")
    faces = x[:400, ..., None]
    q, ref = classifier.predict(faces), graph.predict(faces)
    np.testing.assert_allclose(q.sum(1), 1.0, atol=1e-5)
    assert np.abs(q - ref).max() <= LITE_TOLERANCE["quantized"]
    assert (q.argmax(1) == ref.argmax(1)).mean() >= 0.97  # 99.5% on all of PublicTest (models/README.md)
    # each face's activations are quantized from its own range: alone, or in any batch, a face reads the same
    alone = np.concatenate([classifier.predict(faces[i : i + 1]) for i in range(20)])
    np.testing.assert_array_equal(alone, q[:20])
    np.testing.assert_array_equal(classifier.predict(faces[:20][::-1])[::-1], q[:20])


def test_a_model_that_will_not_convert_runs_on_the_graph(fer, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                         caplog: pytest.LogCaptureFixture) -> None:
    def refuse(model: object, quantize: bool = False) -> None:
        raise RuntimeError("converter refused an op")

    monkeypatch.setattr(classifier_module, "_LiteRunner", refuse)
    with caplog.at_level(logging.WARNING, logger="models.classifier"):
        clf = EmotionClassifier(DEFAULT_MODEL)
    assert clf.engine == "tf"
    assert "TensorFlow Lite unavailable (converter refused an op) for the quantized engine" in caplog.text
    assert "for the lite engine; using the compiled graph" in caplog.text  # 8-bit, then float, then the graph
    probs = clf.predict(fer[0][:3, ..., None])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_eight_bit_weights_that_disagree_fall_back_to_float_lite(monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                                caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(classifier_module.LITE_TOLERANCE, "quantized", 0.0)  # no 8-bit model agrees to 0
    with caplog.at_level(logging.WARNING, logger="models.classifier"):
        clf = EmotionClassifier(DEFAULT_MODEL)
    assert clf.engine == "lite"
    assert "TensorFlow Lite (quantized) disagrees with Keras" in caplog.text and "using float TensorFlow Lite" in caplog.text
