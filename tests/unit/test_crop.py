"""The crop that turns a detector box (and eye landmarks) into the model's input: geometry checked on drawn faces."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.preprocess import FACE_SIZE, TIGHT, CropSpec, crop_face, crop_geometry

pytestmark = pytest.mark.unit


def _eyes_image(left: tuple[int, int], right: tuple[int, int], shape: tuple[int, int] = (200, 200)) -> np.ndarray:
    img = np.full(shape, 128, np.uint8)
    for x, y in (left, right):
        cv2.circle(img, (x, y), 4, 0, -1)
    return img


def _dark_centres(crop: np.ndarray) -> list[tuple[float, float]]:
    """Centres of the two dark blobs in a crop, left to right."""
    n, _, _, centroids = cv2.connectedComponentsWithStats((crop < 64).astype(np.uint8))
    pts = sorted((float(c[0]), float(c[1])) for c in centroids[1:n])
    assert len(pts) == 2, pts
    return pts


@pytest.mark.parametrize(
    ("box", "spec", "expected"),
    [
        ((10, 20, 100, 100), TIGHT, (60.0, 70.0, 100.0, 0.0)),
        ((10, 20, 100, 100), CropSpec(margin=0.2), (60.0, 70.0, 140.0, 0.0)),
        ((10, 20, 80, 100), CropSpec(margin=0.1), (50.0, 70.0, 120.0, 0.0)),  # squared on the longer side
        ((10, 20, 100, 100), CropSpec(shift_y=0.1), (60.0, 80.0, 100.0, 0.0)),
    ],
)
def test_geometry_from_the_box(box, spec, expected) -> None:  # type: ignore[no-untyped-def]
    assert crop_geometry(box, None, spec) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("left", "right", "angle"),
    [((0, 0), (10, 0), 0.0), ((0, 0), (10, 10), 45.0), ((0, 10), (10, 0), -45.0), ((10, 10), (0, 0), 45.0),
     ((0, 0), (1, 30), 45.0)],  # eyes in either order; an implausible tilt is capped
)
def test_angle_from_the_eye_line(left, right, angle) -> None:  # type: ignore[no-untyped-def]
    assert crop_geometry((0, 0, 50, 50), (left, right), CropSpec(align=True))[3] == pytest.approx(angle)


def test_eyes_are_ignored_unless_alignment_is_on() -> None:
    assert crop_geometry((0, 0, 50, 50), ((0, 0), (10, 10)), TIGHT)[3] == 0.0


@pytest.mark.parametrize("tilt", [-20, -8, 0, 8, 20])
def test_alignment_levels_the_eyes_and_keeps_them_centred(tilt: int) -> None:
    """Eyes drawn on a tilted line through the box centre come out level, symmetric about the crop's centre."""
    t = np.radians(tilt)
    c, d = np.array([100.0, 100.0]), 30.0
    left = tuple(np.round(c - d * np.array([np.cos(t), np.sin(t)])).astype(int))
    right = tuple(np.round(c + d * np.array([np.cos(t), np.sin(t)])).astype(int))
    img = _eyes_image(left, right)
    crop = crop_face(img, (50, 50, 100, 100), (left, right), CropSpec(align=True, interpolation="linear"))
    assert crop is not None and crop.shape == (FACE_SIZE, FACE_SIZE)
    (lx, ly), (rx, ry) = _dark_centres(crop)
    assert abs(ly - ry) < 1.0 and (ly + ry) / 2 == pytest.approx(FACE_SIZE / 2, abs=1.0)
    assert (lx + rx) / 2 == pytest.approx(FACE_SIZE / 2, abs=1.0)
    assert rx - lx == pytest.approx(2 * d * FACE_SIZE / 100, abs=1.0)  # scaled by 48 / box side, not distorted


def test_without_alignment_a_tilted_face_stays_tilted() -> None:
    img = _eyes_image((70, 75), (130, 105))
    (_, ly), (_, ry) = _dark_centres(crop_face(img, (50, 50, 100, 100), ((70, 75), (130, 105)), TIGHT))  # type: ignore[arg-type]
    assert ry - ly > 10


def test_margin_shows_more_of_the_frame() -> None:
    img = _eyes_image((80, 100), (120, 100))
    tight = _dark_centres(crop_face(img, (50, 50, 100, 100)))  # type: ignore[arg-type]
    wide = _dark_centres(crop_face(img, (50, 50, 100, 100), spec=CropSpec(margin=0.25)))  # type: ignore[arg-type]
    assert wide[1][0] - wide[0][0] == pytest.approx((tight[1][0] - tight[0][0]) / 1.5, abs=0.7)


def test_a_face_at_the_border_keeps_its_framing() -> None:
    """Outside the frame the border repeats: the crop is still square and the face is not stretched."""
    img = np.zeros((100, 100), np.uint8)
    img[:, :20] = 255
    crop = crop_face(img, (-30, 10, 60, 60))  # x from -30 to 30: white to x = 20, i.e. 40 of the 48 columns
    assert crop is not None and crop.shape == (FACE_SIZE, FACE_SIZE)
    assert (crop[:, :38] == 255).all() and (crop[:, -6:] == 0).all()  # the white part ends where it should


@pytest.mark.parametrize("box", [(500, 500, 40, 40), (-100, -100, 20, 20), (10, 10, 1, 1)])
def test_boxes_outside_or_too_small_give_no_crop(box) -> None:  # type: ignore[no-untyped-def]
    assert crop_face(np.zeros((100, 100), np.uint8), box) is None


@pytest.mark.parametrize("box", [(0, 0, 0, 10), (0, 0, -5, 10), (float("nan"), 0, 10, 10)])
def test_invalid_boxes_are_refused(box) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        crop_geometry(box)


def test_area_interpolation_smooths_a_fine_pattern() -> None:
    """A 1-pixel stripe pattern shrunk 6x: anti-aliased it averages to grey, point-sampled it aliases."""
    img = np.zeros((288, 288), np.uint8)
    img[:, ::2] = 255
    area = crop_face(img, (0, 0, 288, 288), spec=CropSpec(interpolation="area"))
    assert area is not None and area.std() < 5


@pytest.mark.parametrize("spec", [{"margin": 2.0}, {"shift_y": 0.9}, {"interpolation": "nearest-ish"}])
def test_bad_specs_are_refused(spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        CropSpec(**spec)
