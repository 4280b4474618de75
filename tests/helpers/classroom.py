"""Compose classroom frames and videos from real FER2013 faces, at test or benchmark time only.

Faces come from ``../shared/data/fer2013`` when the test runs and are never written into the repository; videos
built from them go to a temporary folder and are deleted with it. FER2013 crops are tight 48x48 faces, so each is
upscaled and given a replicated border (hair, shoulders, background) for the detector to see a whole head.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[2]
FER_DIR = Path(os.environ.get("CLASSMOOD_FER_DIR", REPO.parent / "shared" / "data" / "fer2013"))


def fer_publictest() -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """PublicTest faces ``x`` [N, 48, 48] and labels ``y``; raises FileNotFoundError when the data is absent."""
    with np.load(FER_DIR / "fer2013_publictest.npz") as z:
        return z["x"], z["y"]


def publictest_faces(count: int, seed: int | None = None) -> list[npt.NDArray[np.uint8]]:
    """``count`` PublicTest faces (the first ones, or drawn with ``seed``) for a test: read at run time from ../shared,
    never written anywhere; a test without the data is skipped, or fails under CI, which must have it."""
    import pytest

    if not (FER_DIR / "fer2013_publictest.npz").is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"FER2013 data missing at {FER_DIR} under CI")
        pytest.skip(f"FER2013 data not found at {FER_DIR}")
    x, _ = fer_publictest()
    if seed is None:
        return list(x[:count])
    return list(x[np.random.default_rng(seed).choice(len(x), count, replace=False)])


def worker_reading(
    x: npt.NDArray[np.uint8], i: int, detector: object, classifier: object, *, seats: int = 1, width: int = 320,
    height: int = 240, cols: int | None = None,
) -> npt.NDArray[np.float64] | None:
    """What the worker's path reads in PublicTest face ``i`` in a composed room frame (``seats`` copies of it, as a
    test lays its class out; the detector's box, ``WORKER_VIEWS``, the model): one row of probabilities per copy, or
    ``None`` when the detector does not find every copy. Tests pick their faces with it (:func:`reads_surely`) so
    that what they expect is what the product's own path reads confidently, wherever the face sits."""
    from monitor.frame import Frame
    from monitor.predictions import classify

    frame = Frame(compose_class(x, [i] * seats, width, height, cols=cols or seats)[0], 0.0, 0)
    found = detector.detect(frame)  # type: ignore[attr-defined]
    if len(found) != seats:
        return None
    return classify(frame, found, classifier).probs  # type: ignore[arg-type,no-any-return]


def reads_surely(probs: npt.NDArray[np.float64] | None, k: int, at_least: float = 0.6) -> bool:
    """Whether every copy of :func:`worker_reading` reads class ``k``, each at ``at_least`` or more."""
    return probs is not None and bool((probs.argmax(axis=1) == k).all() and probs[:, k].min() >= at_least)


@dataclass(frozen=True)
class Placed:
    x: int
    y: int
    size: int
    face_index: int


def background(width: int, height: int, seed: int = 0) -> npt.NDArray[np.uint8]:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(190, 140, height, dtype=np.float32)[:, None, None]
    bg = np.broadcast_to(ramp * np.array([0.9, 0.95, 1.0], np.float32), (height, width, 3)).copy()
    noise = cv2.GaussianBlur(rng.normal(0, 12, (height, width)).astype(np.float32), (0, 0), 3)
    return np.clip(bg + noise[..., None], 0, 255).astype(np.uint8)


def paste_face(canvas: npt.NDArray[np.uint8], face: npt.NDArray[np.uint8], x: int, y: int, size: int) -> None:
    """Paste one 48x48 gray face scaled to ``size`` at (x, y), with a replicated 30% border around it."""
    big = cv2.resize(face, (size, size), interpolation=cv2.INTER_CUBIC)
    pad = int(size * 0.3)
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    bgr = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    x0, y0 = x - pad, y - pad
    h, w = canvas.shape[:2]
    sx0, sy0 = max(0, -x0), max(0, -y0)
    x0c, y0c, x1c, y1c = max(0, x0), max(0, y0), min(w, x0 + bgr.shape[1]), min(h, y0 + bgr.shape[0])
    canvas[y0c:y1c, x0c:x1c] = bgr[sy0 : sy0 + y1c - y0c, sx0 : sx0 + x1c - x0c]


def compose_class(
    faces: npt.NDArray[np.uint8],
    indices: list[int],
    width: int = 1280,
    height: int = 720,
    cols: int | None = None,
    jitter: int = 0,
    seed: int = 0,
) -> tuple[npt.NDArray[np.uint8], list[Placed]]:
    """A frame with ``faces[indices]`` seated in a grid (reading order), each as large as the cell allows."""
    n = len(indices)
    cols = cols or int(np.ceil(np.sqrt(n * width / height)))
    rows = int(np.ceil(n / cols))
    cell_w, cell_h = width / cols, height / rows
    size = int(min(cell_w, cell_h) * 0.55)
    rng = np.random.default_rng(seed)
    frame = background(width, height, seed)
    placed = []
    for k, idx in enumerate(indices):
        r, c = divmod(k, cols)
        dx, dy = (rng.integers(-jitter, jitter + 1, 2) if jitter else (0, 0))
        x = int(c * cell_w + (cell_w - size) / 2 + dx)
        y = int(r * cell_h + (cell_h - size) / 2 + dy)
        paste_face(frame, faces[idx], x, y, size)
        placed.append(Placed(x, y, size, idx))
    return frame, placed


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0, min(ax1, bx1) - max(a[0], b[0])), max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def write_video(path: Path, frames: list[npt.NDArray[np.uint8]], fps: float) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def write_h264(path: Path, frames: list[npt.NDArray[np.uint8]], fps: int, bit_rate: int) -> Path:
    """Encode ``frames`` (BGR) with libx264 through PyAV (requirements-dev.txt) at ``bit_rate`` bits/s, as Zoom
    records a meeting: the codec smears small text and faces as a real recording does."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps, 1))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
