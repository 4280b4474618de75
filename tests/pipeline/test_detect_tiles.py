"""Gallery face search tile by tile (``detect_in``), on every detector, against the truth the composer drew."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detections import make_detector
from monitor.frame import Frame
from tests.helpers.gallery_frames import compose_gallery

pytestmark = pytest.mark.pipeline


@pytest.mark.parametrize("kind", ["yunet", "mtcnn", "haar"])
def test_faces_are_found_inside_their_own_tile_and_never_in_a_skipped_one(kind: str, fer) -> None:  # type: ignore[no-untyped-def]
    x, _ = fer
    image, truth = compose_gallery(16, width=1920, height=1080, faces=list(x[:16]), camera_off={5}, faceless={9})
    detector = make_detector(kind, 32, 960)
    searched = [t for i, t in enumerate(truth) if i != 5]
    faces = detector.detect_in(Frame(image, 0.0, 0), [(t.x, t.y, t.w, t.h) for t in searched], 112)
    assert len(faces) >= (6 if kind == "haar" else 10)
    drawn = [t for t in truth if t.face is not None]
    for bx, by, bw, bh in faces.boxes.tolist():
        cx, cy = bx + bw / 2, by + bh / 2
        owner = [t for t in truth if t.x <= cx < t.x + t.w and t.y <= cy < t.y + t.h]
        assert len(owner) == 1 and owner[0].face is not None, (bx, by, bw, bh)  # on a drawn face, not a skipped tile
        fx, fy, fw, fh = owner[0].face
        assert abs(cx - (fx + fw / 2)) < fw / 2 and abs(cy - (fy + fh / 2)) < fh / 2  # mapped back to frame pixels
    assert all(t.face is not None for t in drawn)
    assert not len(detector.detect_in(Frame(image, 0.0, 0), [], 112))
    assert np.all(faces.boxes[:, 2:] >= 32)
