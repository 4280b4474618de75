"""``CameraMotion``: the translation of the whole picture between two frames (a panning or nudged camera)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from monitor.camera_motion import WIDTH, CameraMotion
from tests.helpers.classroom import background

pytestmark = pytest.mark.unit

SCENE = background(2400, 1400, seed=3)


def view(x: int, y: int, width: int = 1920, height: int = 1080) -> np.ndarray:
    """The camera's picture with its corner at (x, y) of the scene: moving the camera right moves the picture left."""
    return np.ascontiguousarray(SCENE[y : y + height, x : x + width])


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (6, 0), (0, -9), (-25, 14), (60, 40), (-3, -2)])
@pytest.mark.parametrize("size", [(1920, 1080), (640, 352)])
def test_shift_is_the_pictures_own_translation(dx: int, dy: int, size: tuple[int, int]) -> None:
    width, height = size
    motion = CameraMotion()
    assert motion.shift(view(200, 150, width, height)) == (0.0, 0.0)  # nothing to compare the first frame with
    got = motion.shift(view(200 - dx, 150 - dy, width, height))
    # compared at WIDTH px: phase correlation's sub-pixel peak is within a third of a pixel there
    assert got == pytest.approx((dx, dy), abs=0.35 * width / WIDTH)


def test_a_cut_or_a_new_frame_size_gives_no_shift() -> None:
    motion = CameraMotion()
    motion.shift(view(0, 0))
    rng = np.random.default_rng(11)  # another scene: nothing in common
    other = cv2.GaussianBlur(rng.integers(0, 256, (1080, 1920, 3), dtype=np.uint8), (0, 0), 4)
    assert motion.shift(other) == (0.0, 0.0)
    assert motion.shift(view(0, 0, 1280, 720)) == (0.0, 0.0)
    assert motion.shift(view(7, 0, 1280, 720)) == pytest.approx((-7, 0), abs=1.0)


def test_grey_and_tiny_frames() -> None:
    motion = CameraMotion()
    assert motion.shift(view(10, 10)[..., 0]) == (0.0, 0.0)
    assert motion.shift(view(4, 10)[..., 0]) == pytest.approx((6, 0), abs=1.0)
    tiny = CameraMotion()
    assert tiny.shift(np.zeros((4, 4, 3), np.uint8)) == (0.0, 0.0)
    assert tiny.shift(np.zeros((4, 4, 3), np.uint8)) == (0.0, 0.0)


def test_a_still_camera_does_not_drift() -> None:
    """Sensor noise on every frame of a camera that never moves: each measurement is off by a little, and compared
    with one reference frame those errors do not add up (frame to frame they drifted 11-12 px per 100 frames)."""
    rng = np.random.default_rng(4)
    motion = CameraMotion()
    total = np.zeros(2)
    for _ in range(200):
        noisy = np.clip(view(200, 150).astype(np.int16) + rng.normal(0, 4, (1080, 1920, 1)).astype(np.int16), 0, 255)
        total += motion.shift(noisy.astype(np.uint8))
    assert np.abs(total).max() < 1.0, total


def test_a_long_pan_adds_up_to_the_cameras_whole_turn() -> None:
    """A pan of 7 px a frame for 60 frames (420 px, past several reference frames) is reported in full."""
    motion = CameraMotion()
    total = np.zeros(2)
    for i in range(61):
        total += motion.shift(view(420 - 7 * i, 200 - i))
    assert total == pytest.approx((420, 60), abs=6.0)
