"""The demo class: a real video file the real worker analyses, built only from what ships with our dependencies.

The only photograph of a face that ships in our dependencies is matplotlib's sample portrait of Grace Hopper, so the
demo seats her in six places of a drawn classroom (mirrored, scaled, lit differently, each swaying a little, one
leaving for a while and coming back) and writes that as an MJPG video into the user's data folder. The worker then
reads it like any other file, with ``--realtime`` so the dashboard fills in live. Nothing is simulated downstream:
detection, classification, seating and aggregation are the product's own, and the emotions shown are what the model
reads in the portrait.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from db.engine import data_dir

WIDTH, HEIGHT, VIDEO_FPS = 960, 540, 4
SEATS = [  # (centre x, centre y, face height px, mirrored, brightness)
    (170, 170, 110, False, 1.00),
    (480, 165, 104, True, 0.92),
    (790, 172, 112, False, 1.08),
    (170, 390, 124, True, 1.05),
    (480, 395, 118, False, 0.96),
    (790, 388, 126, True, 1.00),
]


def _portrait() -> npt.NDArray[np.uint8]:
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    img = cv2.imread(str(path))
    if img is None:
        raise RuntimeError(f"cannot read matplotlib's sample portrait {path}")
    # head and shoulders around the face (the face is at about x 155-377, y 105-327 in the 512x600 image)
    return np.asarray(img[40:470, 70:462], np.uint8)


def _background() -> npt.NDArray[np.uint8]:
    bg = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    ramp = np.linspace(205, 160, HEIGHT, dtype=np.float32)[:, None]
    bg[:] = np.stack([ramp * 0.92, ramp * 0.97, ramp], axis=-1).astype(np.uint8)
    cv2.rectangle(bg, (40, 20), (WIDTH - 40, 60), (70, 90, 60), -1)  # the board
    for _, cy, fh, _, _ in SEATS:
        y = int(cy + fh * 0.95)
        cv2.rectangle(bg, (0, y), (WIDTH, y + 14), (60, 95, 140), -1)  # desks
    return bg


def render_frame(i: int, portrait: npt.NDArray[np.uint8], background: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    frame = background.copy()
    t = i / VIDEO_FPS
    for seat, (cx, cy, fh, mirrored, gain) in enumerate(SEATS):
        if seat == 4 and 40 <= t % 120 < 55:
            continue  # this student steps out for 15 s and comes back to the same seat
        scale = fh / 222 * (1 + 0.03 * math.sin(t / 3 + seat))
        w, h = int(portrait.shape[1] * scale), int(portrait.shape[0] * scale)
        person = cv2.resize(portrait, (w, h), interpolation=cv2.INTER_AREA)
        if mirrored:
            person = person[:, ::-1]
        person = np.clip(person.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        x0 = int(cx - w / 2 + 6 * math.sin(t / 2 + seat * 1.7))
        y0 = int(cy - h * 0.42 + 3 * math.cos(t / 2.5 + seat))
        sx0, sy0 = max(0, -x0), max(0, -y0)
        x0c, y0c = max(0, x0), max(0, y0)
        x1c, y1c = min(WIDTH, x0 + w), min(HEIGHT, y0 + h)
        patch = person[sy0 : sy0 + (y1c - y0c), sx0 : sx0 + (x1c - x0c)].astype(np.float32)
        alpha = _mask(w, h)[sy0 : sy0 + (y1c - y0c), sx0 : sx0 + (x1c - x0c), None]
        region = frame[y0c:y1c, x0c:x1c].astype(np.float32)
        frame[y0c:y1c, x0c:x1c] = (alpha * patch + (1 - alpha) * region).astype(np.uint8)
    return frame


_MASKS: dict[tuple[int, int], npt.NDArray[np.float32]] = {}


def _mask(w: int, h: int) -> npt.NDArray[np.float32]:
    """A soft head-and-shoulders silhouette, so people sit in the room rather than in picture frames."""
    if (w, h) not in _MASKS:
        m = np.zeros((h, w), np.float32)
        cv2.ellipse(m, (w // 2, int(h * 0.40)), (int(w * 0.30), int(h * 0.36)), 0, 0, 360, 1.0, -1)
        cv2.ellipse(m, (w // 2, h), (int(w * 0.50), int(h * 0.30)), 0, 0, 360, 1.0, -1)
        _MASKS[(w, h)] = np.asarray(cv2.GaussianBlur(m, (0, 0), max(1.0, w / 40)), np.float32)
    return _MASKS[(w, h)]


def demo_video(seconds: int = 180, folder: Path | None = None) -> Path:
    """Write (once) and return the demo video: ``seconds`` long, 960x540, MJPG in an AVI container."""
    if seconds < 10:
        raise ValueError("the demo needs at least 10 seconds")
    folder = folder or data_dir() / "demo"
    path = folder / f"classroom-demo-{seconds}s.avi"
    if path.is_file() and path.stat().st_size > 0:
        return path
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.avi")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"MJPG"), VIDEO_FPS, (WIDTH, HEIGHT))
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 75)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write the demo video {tmp}")
    portrait, background = _portrait(), _background()
    try:
        for i in range(seconds * VIDEO_FPS):
            writer.write(render_frame(i, portrait, background))
    finally:
        writer.release()
    tmp.replace(path)
    return path
