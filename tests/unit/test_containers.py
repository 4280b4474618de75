"""Pipeline containers validate at construction; library outputs are wrapped at the boundary with guards."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detections import FaceDetections
from monitor.frame import Frame
from monitor.predictions import EmotionPredictions, classify

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "image",
    [np.zeros((0, 10, 3), np.uint8), np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32), None],
)
def test_frame_rejects_bad_images(image: object) -> None:
    with pytest.raises(ValueError):
        Frame(image, 0.0, 0)  # type: ignore[arg-type]


def test_from_haar_clips_and_drops_bad_boxes() -> None:
    """Regression: boxes partly outside the frame, non-finite or tiny must never reach the crop step."""
    rects = np.array([[10, 10, 50, 50], [90, 90, 40, 40], [5, 5, 8, 8], [-20, 0, 60, 60]])
    d = FaceDetections.from_haar(rects, frame_shape=(100, 100, 3), min_face_px=12)
    assert d.boxes.tolist() == [[10, 10, 50, 50], [0, 0, 40, 60]]  # second clipped to 10x10 and dropped
    assert len(FaceDetections.from_haar((), frame_shape=(100, 100, 3))) == 0


def test_from_mtcnn_filters_confidence_and_rescales() -> None:
    res = [
        {"box": [10, 10, 20, 20], "confidence": 0.99},
        {"box": [50, 50, 20, 20], "confidence": 0.5},
        {"box": [float("nan"), 0, 20, 20], "confidence": 0.99},
    ]
    d = FaceDetections.from_mtcnn(res, frame_shape=(200, 200, 3), scale=0.5, min_confidence=0.9)
    assert d.boxes.tolist() == [[20, 20, 40, 40]]
    assert d.scores.tolist() == pytest.approx([0.99])


def test_from_mtcnn_keeps_the_eyes_with_their_faces() -> None:
    """The eye keypoints follow their boxes through the confidence filter, the rescaling and the nesting filter."""
    res = [
        {"box": [10, 10, 20, 20], "confidence": 0.99, "keypoints": {"left_eye": [14, 16], "right_eye": [24, 18]}},
        {"box": [50, 50, 20, 20], "confidence": 0.5, "keypoints": {"left_eye": [55, 56], "right_eye": [64, 56]}},
        {"box": [60, 10, 30, 30], "confidence": 0.95, "keypoints": {"left_eye": [66, 20], "right_eye": [80, 20]}},
    ]
    d = FaceDetections.from_mtcnn(res, frame_shape=(200, 200, 3), scale=0.5, min_confidence=0.9).without_nested()
    assert d.boxes.tolist() == [[20, 20, 40, 40], [120, 20, 60, 60]]
    assert d.eyes is not None and d.eyes.tolist() == [[[28, 32], [48, 36]], [[132, 40], [160, 40]]]
    no_keypoints = [{"box": [10, 10, 20, 20], "confidence": 0.99}]
    assert FaceDetections.from_mtcnn(no_keypoints, frame_shape=(200, 200, 3)).eyes is None
    with pytest.raises(ValueError):
        FaceDetections(np.zeros((1, 4), np.int32), np.ones(1, np.float32), np.zeros((2, 2, 2), np.float32))


class _Capture:
    def __init__(self) -> None:
        self.faces: np.ndarray | None = None

    def predict(self, faces: np.ndarray) -> np.ndarray:
        self.faces = faces
        return np.full((len(faces), 7), 1 / 7, np.float32)


def test_classify_levels_the_eyes_when_the_detector_gives_them() -> None:
    """Two dark eyes on a 20-degree line: both of the worker's crops (WORKER_VIEWS align) bring them level."""
    import cv2

    img = np.full((200, 200, 3), 160, np.uint8)
    left, right = (72, 90), (128, 110)
    for x, y in (left, right):
        cv2.circle(img, (x, y), 5, (0, 0, 0), -1)
    boxes = np.array([[50, 50, 100, 100]], np.int32)
    eyes = np.array([[left, right]], np.float32)
    clf = _Capture()
    classify(Frame(img, 0.0, 0), FaceDetections(boxes, np.ones(1, np.float32), eyes), clf)
    assert clf.faces is not None and len(clf.faces) == 2  # one face, two views
    for view in clf.faces:
        n, _, _, centres = cv2.connectedComponentsWithStats((view[:, :, 0] < 60).astype(np.uint8))
        (_, ly), (_, ry) = sorted(map(tuple, centres[1:n]))
        assert abs(ly - ry) < 1.0


def test_predictions_validate_and_normalise() -> None:
    p = EmotionPredictions.from_keras(np.full((2, 7), 2.0), [0, 1])
    assert np.allclose(p.probs.sum(axis=1), 1.0)
    with pytest.raises(ValueError):
        EmotionPredictions(np.zeros((1, 6), np.float32), np.zeros(1, np.int64))
    with pytest.raises(ValueError):
        EmotionPredictions(np.full((1, 7), np.nan, np.float32), np.zeros(1, np.int64))
    assert len(EmotionPredictions.empty()) == 0


class _Uniform:
    def predict(self, faces: np.ndarray) -> np.ndarray:
        assert faces.shape[1:] == (48, 48, 1) and faces.dtype == np.uint8
        return np.full((len(faces), 7), 1 / 7, np.float32)


def test_classify_skips_empty_crops_and_keeps_the_index() -> None:
    frame = Frame(np.zeros((100, 100, 3), np.uint8), 0.0, 0)
    faces = FaceDetections(np.array([[99, 99, 1, 1], [10, 10, 40, 40]], np.int32), np.ones(2, np.float32))
    preds = classify(frame, faces, _Uniform())
    assert preds.index.tolist() == [1]
    assert len(classify(frame, FaceDetections.empty(), _Uniform())) == 0


def test_face_detections_concat_and_subset_keep_boxes_scores_and_eyes_together() -> None:
    """The gallery joins the faces it searched with those its still tiles kept (``concat``) and keeps each tile's
    faces for later (``subset``): rows stay aligned, eyes are kept only when every part has them."""
    eyes = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    a = FaceDetections(np.array([[0, 0, 10, 10], [20, 0, 10, 10]], np.int32), np.array([0.9, 0.8], np.float32), eyes)
    b = FaceDetections(np.array([[40, 0, 12, 12]], np.int32), np.array([0.7], np.float32), eyes[:1] + 100)
    both = FaceDetections.concat([a, FaceDetections.empty(), b])
    assert both.boxes[:, 0].tolist() == [0, 20, 40] and both.scores.tolist() == pytest.approx([0.9, 0.8, 0.7])
    assert both.eyes is not None and both.eyes[2, 0, 0] == 100
    no_eyes = FaceDetections(b.boxes, b.scores)
    assert FaceDetections.concat([a, no_eyes]).eyes is None
    assert len(FaceDetections.concat([])) == 0 and len(FaceDetections.concat([FaceDetections.empty()])) == 0
    picked = both.subset([2, 0])
    assert picked.boxes[:, 0].tolist() == [40, 0] and picked.eyes is not None and picked.eyes[1, 0, 0] == 0
    assert len(both.subset(np.array([], np.int64))) == 0
