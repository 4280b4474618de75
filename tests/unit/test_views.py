"""Two views of every face (``models.preprocess.VIEWS``): how a FER2013 picture is re-cut as the worker would cut it,
how the readings combine, and that ``classify`` reads every face through every view."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.calibrate import calibrated
from models.preprocess import FER_BOX, VIEWS, CropSpec, combine_views, crop_face, fer_views
from monitor.detections import FaceDetections
from monitor.frame import Frame
from monitor.predictions import WORKER_CROP, classify

pytestmark = pytest.mark.unit


def _face(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (48, 48), dtype=np.uint8)
    cv2.circle(img, (24, 24), 10, 255, -1)
    return img


def test_the_fer_box_cut_the_reference_way_gives_the_picture_back() -> None:
    """FER2013's framing is the worker's reference crop of ``FER_BOX``: re-cutting it with that crop is the identity,
    so the other views show a PublicTest face closer or wider exactly as they would a detected face."""
    img = _face()
    spec = CropSpec(WORKER_CROP.margin, WORKER_CROP.shift_y, False, WORKER_CROP.interpolation)
    cut = crop_face(img, FER_BOX, None, spec)
    assert cut is not None
    np.testing.assert_array_equal(cut, img)
    (x, y, w, h), (cx, cy) = FER_BOX, (24.0, 24.0)
    assert (x + w / 2, y + h / 2 + WORKER_CROP.shift_y * h, max(w, h) * (1 + 2 * WORKER_CROP.margin)) == (cx, cy, 48)


def test_fer_views_cut_every_face_once_per_view() -> None:
    faces = np.stack([_face(i) for i in range(5)])
    views = fer_views(faces)
    assert len(views) == len(VIEWS) == 2
    for spec, batch in zip(VIEWS, views, strict=True):
        assert batch.shape == (5, 48, 48, 1) and batch.dtype == np.uint8
        for i in range(5):
            np.testing.assert_array_equal(batch[i, :, :, 0], crop_face(faces[i], FER_BOX, None, spec))
    close, wide = views
    # the wide view shrinks the face: the bright disc covers fewer pixels than in the close view
    assert (wide[0] > 250).sum() < (close[0] > 250).sum()
    assert [v.shape for v in fer_views(np.zeros((0, 48, 48), np.uint8))] == [(0, 48, 48, 1)] * 2


def test_combining_views_commutes_with_the_shipped_calibration() -> None:
    """The geometric mean of calibrated readings is the calibration of the geometric mean: what models.calibrate
    fits on PublicTest is what the worker reports."""
    rng = np.random.default_rng(1)
    raw = [rng.dirichlet(np.ones(7), 50) for _ in range(2)]
    bias, t = np.array([-0.4, 0.6, 0.4, 0.0, 0.0, 1.2, 0.4]), 0.79
    per_view = combine_views([calibrated(r, t, bias) for r in raw])
    np.testing.assert_allclose(per_view, calibrated(combine_views(raw), t, bias), atol=1e-5)
    np.testing.assert_allclose(per_view.sum(1), 1.0, atol=1e-5)
    one = rng.dirichlet(np.ones(7), 4)
    np.testing.assert_allclose(combine_views([one, one]), one, atol=1e-6)  # agreeing views: the same reading
    assert combine_views([np.zeros((3, 0), np.float32)] * 2).shape == (3, 0)  # presence mode: nothing inferred
    with pytest.raises(ValueError):
        combine_views([])


class _Brightness:
    """Reads a crop by what it shows: a bright crop (mean over 128) angry, a dark one happy; a confident 0.7 either
    way. Crops given to the wrong face would change that face's reading."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def predict(self, faces: np.ndarray) -> np.ndarray:
        self.calls.append(faces)
        out = np.full((len(faces), 7), 0.05, np.float32)
        bright = faces.reshape(len(faces), -1).mean(1) > 128
        out[bright, 0] = 0.7
        out[~bright, 3] = 0.7
        return out / out.sum(1, keepdims=True)


def test_classify_reads_every_face_through_every_view_in_one_call() -> None:
    """Three faces on a mid-grey frame: a white square (both views bright: angry), a black square (both dark: happy),
    and a small white square on black, bright in the close view and dark in the wide one (the two readings tie);
    a one-pixel box cuts nothing and is skipped."""
    img = np.full((240, 400, 3), 128, np.uint8)
    img[20:80, 20:80] = 250
    img[20:80, 150:210] = 5
    img[130:230, 270:370] = 0
    img[164:200, 302:338] = 255  # the close view (5% margin, 10% lower) is mostly white; the wide one mostly black
    faces = FaceDetections(np.array([[20, 20, 60, 60], [399, 239, 1, 1], [150, 20, 60, 60], [300, 160, 40, 40]],
                                    np.int32), np.ones(4, np.float32))
    clf = _Brightness()
    preds = classify(Frame(img, 0.0, 0), faces, clf)
    assert len(clf.calls) == 1 and clf.calls[0].shape == (6, 48, 48, 1)  # three faces x two views; the dot skipped
    assert preds.index.tolist() == [0, 2, 3]
    assert preds.dominant()[:2] == ["angry", "happy"]
    mixed = preds.probs[2]
    assert mixed[0] == pytest.approx(mixed[3]) and mixed[0] > 2 * np.delete(mixed, [0, 3]).max()
    one = _Brightness()  # one view: one crop a face, each face its own reading
    assert classify(Frame(img, 0.0, 0), faces, one, views=(WORKER_CROP,)).dominant() == ["angry", "happy", "angry"]
    assert one.calls[0].shape == (3, 48, 48, 1)
    with pytest.raises(ValueError):
        classify(Frame(img, 0.0, 0), faces, one, views=())
