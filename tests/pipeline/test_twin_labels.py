"""One-letter twins ("Student 06" and "Student 08") swapping places in an H.264 gallery recording: each tile keeps
its own student (``NameReader`` and ``NameBook`` as ``GalleryAnalyser`` drives them, on the decoded video).

The bug: after a reorder in the 25-tile 1080p recordings of ``bench/gallery_h264.py`` (60 s, a reorder every 15 s),
two pairs of twins were swapped for the whole phase (names matched 95.8%). The name reader gives a label whose
pixels look like one already read that read without OCR (an alias). A label moved to another tile sits on another
background behind its translucent box, and the codec smears it anew: "Student 08" in its new place came out nearer
to "Student 06"'s earlier look than to its own, whose look lay beyond the reach within which a second candidate was
weighed at all, so the alias went to the twin and the codec repeated those pixels for the whole phase. Now an alias
is given only when its name is clearly nearer than every other name's nearest look, however far; else the label is
read. Composed with the repository's own frames (no face, no shared data), so the test runs anywhere PyAV does.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from monitor.gallery import find_grid
from monitor.identity import NameBook, match_key
from monitor.names import NameReader
from tests.helpers.classroom import write_h264
from tests.helpers.gallery_frames import compose_gallery

pytestmark = [pytest.mark.pipeline]
pytest.importorskip("av", reason="PyAV (requirements-dev.txt) writes the H.264 recording")

NAMES = [f"Student {k:02d}" for k in range(1, 26)]
TWINS = ("Student 06", "Student 08", "Student 13", "Student 15")  # swapped in pairs
WIDTH, HEIGHT, FPS, FRAMES_PER_PHASE = 1920, 1080, 4, 6
BITRATE = 1_000_000 * WIDTH * HEIGHT // (1280 * 720) * FPS // 25  # Zoom's ~1 Mbit/s at 720p, 25 frames/s, per frame


def _recording(tmp_path: Path) -> tuple[list[npt.NDArray[np.uint8]], list[list[str]]]:
    """The decoded frames and each frame's names in reading order: the class, then the two pairs of twins swapped
    (the rest stay put, so only the twins' labels change background)."""
    swapped = list(NAMES)
    for a, b in zip(TWINS[::2], TWINS[1::2], strict=True):
        i, j = swapped.index(a), swapped.index(b)
        swapped[i], swapped[j] = swapped[j], swapped[i]
    rng = np.random.default_rng(0)
    frames, truths = [], []
    for order in (NAMES, swapped):
        image, _ = compose_gallery(len(order), width=WIDTH, height=HEIGHT, theme="light", names=order,
                                   font="dejavu-sans")
        for _ in range(FRAMES_PER_PHASE):  # a webcam's noise: the codec never sees two identical frames
            noisy = np.clip(image.astype(np.int16) + rng.integers(-3, 4, image.shape), 0, 255).astype(np.uint8)
            frames.append(noisy)
            truths.append(list(order))
    video = write_h264(tmp_path / "twins.mp4", frames, FPS, BITRATE)
    cap = cv2.VideoCapture(str(video))
    decoded = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        decoded.append(image)
    cap.release()
    assert len(decoded) == len(frames)
    return decoded, truths


def test_one_letter_twins_swapping_tiles_keep_their_own_names(tmp_path: Path) -> None:
    frames, truths = _recording(tmp_path)
    grid = find_grid(frames[0])
    assert grid is not None and len(grid.tiles) == len(NAMES)
    reader, book = NameReader(), NameBook()
    wrong: list[tuple[int, str, str]] = []
    last: list[str | None] = []
    for k, image in enumerate(frames):
        readings = reader.read(image, grid)
        last = book.resolve([r.name for r in readings], [r.tile.label for r in readings],
                            [r.label_box[2] if r.label_box is not None else None for r in readings],
                            [r.settled for r in readings])
        for i in book.conflicts:  # as GalleryAnalyser does
            reader.doubt(i)
        wrong += [(k, truth, student) for truth, student in zip(truths[k], last, strict=True)
                  if student is not None and match_key(student) != match_key(truth)]
    assert wrong == [], "a tile was given another student (frame, truth, given)"
    twins = [i for i, name in enumerate(truths[-1]) if name in TWINS]
    assert [last[i] for i in twins] == [truths[-1][i] for i in twins]  # each twin followed to its new tile
    assert set(book.students) <= set(NAMES)  # and nobody invented
