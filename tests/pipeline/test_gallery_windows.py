"""Track, then detect, in the gallery: a tile whose face is known is searched in a window around it (YuNet), every
tile in full again on a clock, when its window finds nothing and when the grid moves. Real YuNet on composed 1080p
galleries of FER2013 faces."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.detections import FaceDetections, YuNetDetector, make_detector
from monitor.frame import Frame
from monitor.gallery import find_grid
from monitor.gallery_view import GalleryAnalyser
from monitor.identity import NameBook
from tests.helpers.classroom import iou
from tests.helpers.gallery_frames import compose_gallery

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def yunet() -> YuNetDetector:
    det = make_detector("yunet", 0, 960)
    assert isinstance(det, YuNetDetector)
    return det


def _tile_of(boxes: np.ndarray, regions: list[tuple[int, int, int, int]]) -> list[int]:
    out = []
    for x, y, w, h in boxes.tolist():
        cx, cy = x + w / 2, y + h / 2
        out.append(next(i for i, (tx, ty, tw, th) in enumerate(regions) if tx <= cx < tx + tw and ty <= cy < ty + th))
    return out


def _by_tile(faces: FaceDetections, regions: list[tuple[int, int, int, int]]) -> dict[int, np.ndarray]:
    return dict(zip(_tile_of(faces.boxes, regions), faces.boxes, strict=True))


def test_a_window_around_the_face_finds_the_face_the_whole_tile_search_finds(yunet: YuNetDetector, fer) -> None:  # type: ignore[no-untyped-def]
    """The window is cut from the tile as resized for the full search, on YuNet's stride: the same faces, in the same
    tiles, each box overlapping the full search's by IoU 0.75 or more (the window's edges are nearer: a few pixels)."""
    x, _ = fer
    image, truth = compose_gallery(25, 5, 1920, 1080, faces=list(x[:25]))
    regions = [(t.x, t.y, t.w, t.h) for t in truth]
    frame = Frame(image, 0.0, 0)
    full = yunet.detect_in(frame, regions, 112)
    assert len(full) >= 18
    known = _by_tile(full, regions)
    windows = []
    for i, (tx, ty, tw, th) in enumerate(regions):
        if i not in known:
            windows.append(None)
            continue
        bx, by, bw, bh = (int(v) for v in known[i])
        x0, y0 = max(tx, bx - 3 * bw // 4), max(ty, by - bh // 2)
        windows.append((x0, y0, min(tx + tw, bx + bw + 3 * bw // 4) - x0, min(ty + th, by + bh + bh // 2) - y0))
    windowed = yunet.detect_in(frame, regions, 112, windows=windows)
    found = _by_tile(windowed, regions)
    assert sorted(found) == sorted(known)
    for i, box in found.items():
        assert iou(tuple(box.tolist()), tuple(known[i].tolist())) >= 0.75, (i, box, known[i])
    assert windowed.eyes is not None and len(windowed.eyes) == len(windowed)


def test_a_window_that_finds_no_face_has_its_tile_searched_in_full(yunet: YuNetDetector, fer) -> None:  # type: ignore[no-untyped-def]
    """A face that moved out of its window (here: every window on the tile's empty top-left corner) is not lost for
    a frame: the tile is searched again in full in the same call, with the full search's boxes exactly."""
    x, _ = fer
    image, truth = compose_gallery(16, 4, 1280, 720, faces=list(x[30:46]))
    regions = [(t.x, t.y, t.w, t.h) for t in truth]
    frame = Frame(image, 0.0, 0)
    full = yunet.detect_in(frame, regions, 112)
    assert len(full) >= 10
    corners = [(tx, ty, tw // 3, th // 3) for tx, ty, tw, th in regions]
    again = yunet.detect_in(frame, regions, 112, windows=corners)
    assert np.array_equal(np.sort(again.boxes, axis=0), np.sort(full.boxes, axis=0))


def test_gallery_searches_windows_between_full_searches_on_its_clock(yunet: YuNetDetector, fer) -> None:  # type: ignore[no-untyped-def]
    """The first frame searches every tile in full; the next ones search a window around each tile's face, until
    ``full_search_s`` of the source has passed; a moved grid, a source time that went back and the other detectors
    get full searches. Every frame attributes its faces to the same tiles as searching in full every frame does."""
    x, _ = fer
    frames = [compose_gallery(25, 5, 1920, 1080, faces=list(x[k : k + 25]))[0] for k in (0, 0, 0, 0)]
    grid = find_grid(frames[0])
    assert grid is not None
    tracked = GalleryAnalyser(yunet, 112, NameBook(None, 80.0), full_search_s=2.0)
    always = GalleryAnalyser(yunet, 112, NameBook(None, 80.0), full_search_s=0.0)
    tiles = list(grid.tiles)
    assert tracked._windows(0.0, tiles) == [None] * 25  # nothing known yet
    for t, image in zip((0.0, 0.5, 1.0, 1.9), frames, strict=True):
        windows = tracked._windows(t, tiles)
        if t > 0:
            assert sum(w is not None for w in windows) >= 18
            for w, tile in zip(windows, tiles, strict=True):
                assert w is None or (tile.x <= w[0] and w[0] + w[2] <= tile.x + tile.w and w[2] * w[3] < tile.w * tile.h)
        a = tracked.analyse(Frame(image, t, 0), grid)
        b = always.analyse(Frame(image, t, 0), grid)
        assert sorted(s for s in a.face_tiles if s) == sorted(s for s in b.face_tiles if s)
        assert len(a.faces) >= 18
    assert tracked._windows(2.0, tiles) == [None] * 25  # the clock: every tile in full again
    assert tracked._windows(-1.0, tiles) == [None] * 25  # another source's time
    assert all(w is None for w in always._windows(0.5, tiles))
    moved = [type(t)(t.row, t.col, t.x + 40, t.y, t.w, t.h) for t in tiles]
    assert tracked._windows(0.5, moved) == [None] * 25
    haar = GalleryAnalyser(make_detector("haar", 0, 960), 112, NameBook(None, 80.0))
    haar.seen = tracked.seen
    assert haar._windows(0.5, tiles) == [None] * 25


def test_a_still_tile_is_not_searched_again_until_its_clock_runs_out(yunet: YuNetDetector, fer) -> None:  # type: ignore[no-untyped-def]
    """Screen capture and H.264 repeat still regions: a tile whose thumbnail has not moved since its last search
    keeps that search's faces (its emotion is still read from the new pixels) and is not searched again; a tile
    whose face changed is, and after ``full_search_s`` every tile is."""
    x, _ = fer
    faces = list(x[50:75])
    image, truth = compose_gallery(25, 5, 1920, 1080, faces=faces)
    grid = find_grid(image)
    assert grid is not None
    rng = np.random.default_rng(0)
    noisy = np.clip(image.astype(np.int16) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8)
    changed_faces = [*faces[:7], x[200], *faces[8:]]  # tile 8's student changed their face (another person)
    changed, _ = compose_gallery(25, 5, 1920, 1080, faces=changed_faces)
    g = GalleryAnalyser(yunet, 112, NameBook(None, 80.0), full_search_s=2.0)
    first = g.analyse(Frame(image, 0.0, 0), grid)
    assert len(first.faces) >= 18 and {t.label for t in grid.tiles} == set(g.searched)
    again = g.analyse(Frame(noisy, 0.5, 1), grid)  # the same picture, with webcam-like noise
    assert {s.at for s in g.searched.values()} == {0.0}  # nothing searched again
    assert sorted(map(tuple, again.faces.boxes.tolist())) == sorted(map(tuple, first.faces.boxes.tolist()))
    assert sorted(s for s in again.face_tiles if s) == sorted(s for s in first.face_tiles if s)
    g.analyse(Frame(changed, 1.0, 2), grid)
    moved = {label for label, s in g.searched.items() if s.at == 1.0}
    assert moved == {truth[7].label}
    g.analyse(Frame(changed, 2.5, 3), grid)  # the clock: every tile searched again 2 s after its last search
    assert {label: s.at for label, s in g.searched.items()} == {t.label: 1.0 if t.label == truth[7].label else 2.5 for t in truth}
