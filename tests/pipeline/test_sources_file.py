"""File and folder sources on real media written by OpenCV: sampling on the video's clock, speed, realtime pacing,
truncated and garbage files, and a folder holding a corrupt image.

Every video frame carries its own number, written as 8 black-or-white blocks (robust to JPEG/MPEG-4 compression)
beside the digits, so a test can check that the frame yielded as ``index`` N really is frame N.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from monitor.frame import CorruptFrame, Frame, SourceEvent, SourceState
from monitor.sources import REASON_DECODE, SourceError, open_source, parse_source

pytestmark = pytest.mark.pipeline

W, H = 320, 240
BITS = 8
BLOCK = 24


def draw_frame(i: int) -> npt.NDArray[np.uint8]:
    img = np.full((H, W, 3), 90, dtype=np.uint8)
    for b in range(BITS):
        value = 255 if (i >> b) & 1 else 0
        img[0:BLOCK, b * BLOCK + 8 : (b + 1) * BLOCK + 8 - 4] = value
    cv2.putText(img, str(i), (40, 160), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255, 255, 255), 3)
    return img


def read_number(img: npt.NDArray[np.uint8]) -> int:
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    n = 0
    for b in range(BITS):
        block = gray[4 : BLOCK - 4, b * BLOCK + 12 : (b + 1) * BLOCK + 8 - 8]
        if float(block.mean()) > 128:
            n |= 1 << b
    return n


def write_video(path: Path, seconds: float, fps: float, fourcc: str) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    for i in range(round(seconds * fps)):
        writer.write(draw_frame(i))
    writer.release()
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    ten_mp4 = write_video(d / "ten.mp4", 10, 25, "mp4v")
    ten_avi = write_video(d / "ten.avi", 10, 25, "MJPG")
    two = write_video(d / "two.avi", 2, 25, "MJPG")
    data = ten_avi.read_bytes()
    truncated = d / "truncated.avi"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = d / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 64_000, dtype=np.uint8).tobytes())
    empty = d / "empty.mp4"
    empty.write_bytes(b"")
    return {
        "ten.mp4": ten_mp4,
        "ten.avi": ten_avi,
        "two.avi": two,
        "truncated.avi": truncated,
        "garbage.mp4": garbage,
        "empty.mp4": empty,
    }


def collect(path: Path, fps: float, *, realtime: bool = False, timeout_s: float = 20.0) -> list[SourceEvent]:
    """All events of a file source, stopping it (and failing) if it runs past ``timeout_s``."""
    stop = threading.Event()
    timer = threading.Timer(timeout_s, stop.set)
    timer.start()
    try:
        with open_source(parse_source(str(path)), fps, realtime=realtime) as source:
            events = list(source.events(stop))
    finally:
        timer.cancel()
    assert not stop.is_set(), f"{path.name} did not end within {timeout_s} s"
    return events


@pytest.mark.parametrize("name", ["ten.mp4", "ten.avi"])
def test_ten_seconds_at_2_fps_is_20_frames_on_the_video_clock(media: dict[str, Path], name: str) -> None:
    started = time.monotonic()
    events = collect(media[name], fps=2.0)
    elapsed = time.monotonic() - started

    assert all(isinstance(e, Frame) for e in events), events
    frames = [e for e in events if isinstance(e, Frame)]
    assert len(frames) == 20
    period = 1 / 25
    for k, frame in enumerate(frames):
        assert frame.t == pytest.approx(k * 0.5, abs=period + 1e-9)
        assert frame.t == pytest.approx(frame.index / 25)
        assert read_number(frame.image) == frame.index, "the yielded image is not the frame its index says"
        assert frame.image.shape == (H, W, 3) and frame.image.dtype == np.uint8
    assert elapsed < 3.0, f"10 s of video took {elapsed:.1f} s: not much faster than real time"


def test_sampling_faster_than_the_video_yields_every_frame_once(media: dict[str, Path]) -> None:
    frames = [e for e in collect(media["two.avi"], fps=100.0) if isinstance(e, Frame)]
    assert [f.index for f in frames] == list(range(50))


def test_realtime_paces_to_the_wall_clock(media: dict[str, Path]) -> None:
    started = time.monotonic()
    events = collect(media["two.avi"], fps=4.0, realtime=True)
    elapsed = time.monotonic() - started
    assert len(events) == 8
    assert 1.8 <= elapsed < 4.0, f"a 2 s clip took {elapsed:.2f} s in realtime mode"


def test_realtime_stops_promptly(media: dict[str, Path]) -> None:
    stop = threading.Event()
    with open_source(parse_source(str(media["ten.avi"])), 2.0, realtime=True) as source:
        events = source.events(stop)
        first = next(events)
        assert isinstance(first, Frame)
        threading.Timer(0.3, stop.set).start()
        started = time.monotonic()
        rest = list(events)
    assert time.monotonic() - started < 1.0
    assert len(rest) <= 1


def test_truncated_file_yields_frames_then_ends(media: dict[str, Path]) -> None:
    """Regression: a file cut in half promises 250 frames in its header; reading must stop at the cut, not retry
    forever, and what was decodable must still come out."""
    started = time.monotonic()
    events = collect(media["truncated.avi"], fps=2.0, timeout_s=10.0)
    assert time.monotonic() - started < 5.0
    frames = [e for e in events if isinstance(e, Frame)]
    assert 5 <= len(frames) < 20
    assert all(read_number(f.image) == f.index for f in frames)
    assert not any(isinstance(e, SourceState) for e in events)


@pytest.mark.parametrize("name", ["garbage.mp4", "empty.mp4"])
def test_undecodable_file_fails_at_open(media: dict[str, Path], name: str) -> None:
    spec = parse_source(str(media[name]))
    with pytest.raises(SourceError) as info:
        open_source(spec, 2.0)
    assert "\n" not in str(info.value)
    assert name in str(info.value)


def test_bad_fps_is_refused(media: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="fps"):
        open_source(parse_source(str(media["two.avi"])), 0.0)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """5 images in natural order: BGR jpg, grayscale png, corrupt jpg, BGRA png, 16-bit grayscale png."""
    folder = tmp_path / "frames"
    folder.mkdir()
    bgr = np.zeros((60, 80, 3), np.uint8)
    bgr[:, :, 2] = 200  # red
    cv2.imwrite(str(folder / "img1.jpg"), bgr)
    cv2.imwrite(str(folder / "img2.png"), np.full((60, 80), 100, np.uint8))
    (folder / "img3.jpg").write_bytes(os.urandom(5000))
    bgra = np.zeros((60, 80, 4), np.uint8)
    bgra[:, :, 0] = 255  # blue, opaque
    bgra[:, :, 3] = 255
    cv2.imwrite(str(folder / "img10.png"), bgra)
    cv2.imwrite(str(folder / "img11.png"), np.full((60, 80), 50000, np.uint16))
    (folder / "notes.txt").write_text("ignored")
    return folder


def test_folder_yields_one_frame_per_image_and_a_corrupt_frame(image_folder: Path) -> None:
    events = collect(image_folder, fps=2.0)
    assert [type(e) for e in events] == [Frame, Frame, CorruptFrame, Frame, Frame]
    assert [e.t for e in events] == [0.0, 0.5, 1.0, 1.5, 2.0]
    frames = [e for e in events if isinstance(e, Frame)]
    assert [f.index for f in frames] == [0, 1, 3, 4]
    for f in frames:
        assert f.image.shape == (60, 80, 3) and f.image.dtype == np.uint8
    assert frames[0].image[30, 40, 2] > 150  # red stays red: BGR order kept
    assert frames[1].image[30, 40].tolist() == [100, 100, 100]  # gray → BGR
    assert frames[2].image[30, 40].tolist() == [255, 0, 0]  # BGRA → BGR, natural order: img10 after img3
    assert abs(int(frames[3].image[30, 40, 0]) - 50000 // 256) <= 1  # 16-bit → 8-bit
    corrupt = events[2]
    assert isinstance(corrupt, CorruptFrame) and corrupt.reason == REASON_DECODE


def test_folder_realtime_paces(image_folder: Path) -> None:
    started = time.monotonic()
    events = collect(image_folder, fps=5.0, realtime=True)
    assert len(events) == 5
    assert time.monotonic() - started >= 0.9  # 5 images at 5 fps last 1 s
