"""The shipped model: a quality gate against its recorded PublicTest accuracy, and the train/evaluate commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.classifier import DEFAULT_MODEL, EmotionClassifier, ModelError
from models.metrics import report
from models.preprocess import VIEWS, read_fer, to_batch
from tests.helpers.classroom import FER_DIR
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.pipeline
BASELINE = DEFAULT_MODEL.with_name("metrics.json")


def test_quality_gate_publictest_accuracy(fer, classifier) -> None:  # type: ignore[no-untyped-def]
    """Fails if the shipped model, reading PublicTest through the worker's two views, drops more than half a point
    below the accuracy recorded when it was shipped."""
    recorded = json.loads(BASELINE.read_text())
    assert classifier.engine == recorded["calibration"]["engine"]  # measured on the engine it was calibrated on
    x, y = fer
    rep = report(read_fer(classifier.predict, x), y)
    assert rep.n == 3589
    assert rep.accuracy >= recorded["accuracy"] - 0.005, (rep.accuracy, recorded["accuracy"])
    assert rep.accuracy >= 0.60
    assert rep.macro_f1 >= recorded["macro_f1"] - 0.01
    assert rep.recall["disgust"] >= 0.45 and rep.recall["fear"] >= 0.45, rep.recall  # the rare classes hold up
    assert rep.ece <= recorded["calibration"]["ece_after"] + 0.01  # the shipped probabilities stay calibrated


def test_shipped_model_is_one_network_with_its_recorded_view_and_temperature(classifier) -> None:  # type: ignore[no-untyped-def]
    from models.layers import Calibration

    recorded = json.loads(BASELINE.read_text())["calibration"]
    layer = classifier.model.get_layer("calibration")
    assert isinstance(layer, Calibration)
    assert layer.temperature == pytest.approx(recorded["temperature"])
    names = {lyr.name for lyr in classifier.model.layers}
    assert ("mirror" in names) == (recorded["tta"] != "none")  # the mirrored view is in the file iff it was recorded
    nets = [lyr for lyr in classifier.model.layers if lyr.__class__.__name__ in ("Functional", "Model")]
    assert len(nets) == 1  # both views go through the same weights: one network, not an ensemble
    assert DEFAULT_MODEL.stat().st_size <= 20 * 2**20


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

    shipped = tmp_path / "shipped" / "emotion.keras"
    r = run_cli("models.calibrate", "--model", str(out), "--data", str(tmp_path), "--bias", "fear=0.2", "--mirror",
                "--out", str(shipped), timeout=300)
    assert r.returncode == 0, r.stderr
    info = json.loads(shipped.with_name("emotion.calibration.json").read_text())
    # Temperature scaling minimises the NLL on the set it is fitted on (T = 1 is among the candidates), so that is
    # what it guarantees; a lower ECE on 64 faces is not (this assertion failed 4 runs in 5 before issue 11).
    assert info["nll_after"] <= info["nll_before"] + 1e-9 and info["bias"][2] == pytest.approx(0.2)
    assert info["views"] == [str(v) for v in VIEWS] and info["tta"] == "horizontal flip"
    mirrored = EmotionClassifier(shipped).predict(to_batch(x[:5])[:, :, ::-1])
    assert np.allclose(EmotionClassifier(shipped).predict(to_batch(x[:5])), mirrored, atol=1e-5)  # flip-invariant
    r = run_cli("models.calibrate", "--model", str(out), "--data", str(tmp_path), "--bias", "joy=1", timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_train_cli_bad_data_is_one_line(tmp_path: Path) -> None:
    r = run_cli("models.train", "--data", str(tmp_path / "nope"), timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_model_with_wrong_label_map_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "emotion.keras"
    bad.write_bytes(DEFAULT_MODEL.read_bytes())
    (tmp_path / "labels.json").write_text(json.dumps({"labels": ["happy", "sad"]}))
    with pytest.raises(ModelError, match="label map"):
        EmotionClassifier(bad)


def _run(tmp_path: Path, run_dir: str, *extra: str) -> None:
    r = run_cli("models.train", "--data", str(FER_DIR), "--limit", "192", "--epochs", "3", "--batch-size", "32",
                "--width", "4", "--run-dir", str(tmp_path / run_dir), *extra, timeout=300)
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_resume_continues_bit_for_bit(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A run stopped after epoch 1 and resumed (twice) ends with exactly the weights, optimiser state, history and
    random-generator state of the same run left uninterrupted: CPU training spans sessions without drifting."""
    _run(tmp_path, "straight")
    _run(tmp_path, "interrupted", "--stop-after", "1")
    with np.load(tmp_path / "interrupted" / "checkpoint.npz") as z:
        assert json.loads(str(z["meta"]))["epoch"] == 1
    _run(tmp_path, "interrupted", "--resume", "--stop-after", "2")
    _run(tmp_path, "interrupted", "--resume", "--epochs", "99", "--lr", "9")  # the saved recipe wins
    with np.load(tmp_path / "straight" / "checkpoint.npz") as a, np.load(tmp_path / "interrupted" / "checkpoint.npz") as b:
        assert sorted(a.files) == sorted(b.files) and len(a.files) > 40
        for key in a.files:
            if key != "meta":
                assert np.array_equal(a[key], b[key]), key
        ma, mb = json.loads(str(a["meta"])), json.loads(str(b["meta"]))
    assert ma["epoch"] == mb["epoch"] == 3 and ma["rng"] == mb["rng"]
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in ma["history"]]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in mb["history"]]
    assert (tmp_path / "interrupted" / "best.keras").is_file()


@pytest.mark.slow
def test_a_distilled_run_records_its_teacher_and_resumes_bit_for_bit(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A distilled run (the shipped model, with its own layers, as the teacher) records its teacher and resumes with
    it, bit for bit too; the teacher changes what is learnt."""
    teacher = str(DEFAULT_MODEL.resolve())
    _run(tmp_path, "taught", "--teacher", teacher, "--distill-weight", "0.7", "--epochs", "2")
    _run(tmp_path, "taught_stop", "--teacher", teacher, "--distill-weight", "0.7", "--epochs", "2", "--stop-after", "1")
    _run(tmp_path, "taught_stop", "--resume")
    config = json.loads((tmp_path / "taught_stop" / "config.json").read_text())
    assert config["teacher"] == teacher and config["distill_weight"] == 0.7
    with np.load(tmp_path / "taught" / "checkpoint.npz") as a, np.load(tmp_path / "taught_stop" / "checkpoint.npz") as b:
        for key in a.files:
            if key != "meta":
                assert np.array_equal(a[key], b[key]), key
    _run(tmp_path, "untaught", "--epochs", "2")
    with np.load(tmp_path / "untaught" / "checkpoint.npz") as plain, np.load(tmp_path / "taught" / "checkpoint.npz") as b:
        assert not np.array_equal(plain["m0"], b["m0"])  # the teacher changed what was learnt


@pytest.mark.slow
def test_weight_averaging_resumes_bit_for_bit_and_averages_the_last_epochs(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``--swa-epochs 2`` of 3: the running average is part of the checkpoint (a run stopped between the two averaged
    epochs ends exactly as an uninterrupted one, the averaged network's PublicTest figures included), it is the mean
    of the weights after epochs 2 and 3, and the averaged network is judged on PublicTest beside each epoch's. The
    compact network has a dropout before a BatchNorm, which the statistics' refresh must not depend on."""
    swa = ("--swa-epochs", "2", "--swa-lr", "0.01", "--arch", "compact")
    _run(tmp_path, "straight", *swa)
    _run(tmp_path, "stopped", *swa, "--stop-after", "2")
    with np.load(tmp_path / "stopped" / "checkpoint.npz") as z:
        after_2 = {k: z[k] for k in z.files if k.startswith("m")}
        first_average = {k: z[k] for k in z.files if k.startswith("s")}
    _run(tmp_path, "stopped", "--resume")
    with np.load(tmp_path / "straight" / "checkpoint.npz") as a, np.load(tmp_path / "stopped" / "checkpoint.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            if key != "meta":
                assert np.array_equal(a[key], b[key]), key
        history = json.loads(str(a["meta"]))["history"]
        resumed = json.loads(str(b["meta"]))["history"]
        assert [{k: v for k, v in h.items() if k != "seconds"} for h in history] == \
            [{k: v for k, v in h.items() if k != "seconds"} for h in resumed]
        averaged = [k for k in a.files if k.startswith("s")]
        assert len(averaged) == len(first_average) > 4
        # s{i} is trainable variable i; the first conv kernel is both m-variable and s-variable 0 here
        kernel = next(k for k in after_2 if after_2[k].shape == first_average["s0"].shape)
        assert np.array_equal(first_average["s0"], after_2[kernel])  # one epoch averaged: its own weights
        mean = (after_2[kernel] + a[kernel]) / 2
        assert np.allclose(a["s0"], mean, atol=1e-6) and not np.allclose(a["s0"], a[kernel])
    assert "val_accuracy_swa" not in history[0] and all("val_accuracy_swa" in h for h in history[1:])
    config = json.loads((tmp_path / "stopped" / "config.json").read_text())
    assert config["swa_epochs"] == 2 and config["swa_lr"] == 0.01
    r = run_cli("models.train", "--data", str(FER_DIR), "--epochs", "3", "--swa-epochs", "3",
                "--run-dir", str(tmp_path / "bad"))
    assert r.returncode == 2 and "--swa-epochs" in r.stderr and "Traceback" not in r.stderr


def test_train_refuses_to_overwrite_a_run_and_bad_options(fer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.npz").write_bytes(b"")
    r = run_cli("models.train", "--data", str(FER_DIR), "--run-dir", str(tmp_path / "run"))
    assert r.returncode == 2 and r.stderr.startswith("error:") and "--resume" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("models.train", "--data", str(tmp_path / "missing"), "--run-dir", str(tmp_path / "other"))
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr
    r = run_cli("models.train", "--data", str(FER_DIR), "--run-dir", str(tmp_path / "other"), "--distill-weight", "0.7")
    assert r.returncode == 2 and "need --teacher" in r.stderr and "Traceback" not in r.stderr
    # a distilled run whose teacher has gone cannot continue as it began: one line, no traceback
    (tmp_path / "taught").mkdir()
    (tmp_path / "taught" / "checkpoint.npz").write_bytes(b"")
    from models.train import RECIPE, parse_args

    recipe = vars(parse_args(["--data", str(FER_DIR), "--run-dir", str(tmp_path / "taught")]))
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in recipe.items() if k in RECIPE}
    (tmp_path / "taught" / "config.json").write_text(json.dumps(config | {"teacher": str(tmp_path / "gone.keras")}))
    r = run_cli("models.train", "--data", str(FER_DIR), "--run-dir", str(tmp_path / "taught"), "--resume")
    assert r.returncode == 2 and r.stderr.startswith("error:") and "teacher" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_distill_loss_is_cross_entropy_plus_the_softened_teacher_term() -> None:
    import keras

    from models.train import distill_loss

    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(7), 5).astype(np.float32)
    teacher = rng.dirichlet(np.ones(7), 5).astype(np.float32)
    t = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 5)]
    w = np.array([1, 2, 1, 1, 0.5], np.float32)
    ce = float(keras.losses.CategoricalCrossentropy()(t, p, sample_weight=w))
    assert float(distill_loss(t, p, teacher, w, 0.0, 2.0)) == pytest.approx(ce, rel=1e-5)
    # the soft term alone: zero when the student already says what the teacher says, positive otherwise
    assert float(distill_loss(t, teacher, teacher, w, 1.0, 2.0)) == pytest.approx(0.0, abs=1e-5)
    soft = float(distill_loss(t, p, teacher, w, 1.0, 3.0))
    pt = np.exp(np.log(teacher) / 3) / np.exp(np.log(teacher) / 3).sum(1, keepdims=True)
    ps = np.exp(np.log(p) / 3) / np.exp(np.log(p) / 3).sum(1, keepdims=True)
    expected = float(np.mean(9 * (pt * (np.log(pt) - np.log(ps))).sum(1) * w))
    assert soft == pytest.approx(expected, rel=1e-4) and soft > 0
    half = float(distill_loss(t, p, teacher, w, 0.5, 3.0))
    assert half == pytest.approx(0.5 * ce + 0.5 * expected, rel=1e-4)
