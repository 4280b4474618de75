"""Sources that end: a video file and a folder of images, sampled at ``fps`` on their own clock.

A file is sampled on the video's timeline (``t = frame_index / video_fps``), so a 60 s recording yields 60 s of
intervals however fast the machine reads it. Frames that are not due are only ``grab()``-ed (demuxed, not
converted), and only due ones are ``retrieve()``-d, which keeps a 25 fps file sampled at 2 fps cheap. The frame
nearest each sampling instant is taken (within half a video frame).

``realtime=True`` paces what is yielded to the wall clock (the demo, and tests of signals); otherwise it runs as fast
as the machine allows. Paced, a frame whose time is already a whole sampling period past when the consumer asks for
the next one is dropped unread, as ``CorruptFrame(reason="stale")`` (counted in the interval's skipped frames), so
the worker always analyses the newest frame and never falls behind the wall clock. Neither source emits ``SourceState``: they are never "offline", they end.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from typing import NamedTuple

import cv2
import numpy as np

from monitor.frame import CorruptFrame, Frame, SourceEvent
from monitor.sources.base import (
    REASON_DECODE,
    REASON_EMPTY,
    REASON_READ,
    REASON_STALE,
    FrameSource,
    Image,
    one_line,
    to_bgr,
)
from monitor.sources.spec import SourceError, SourceSpec, list_images

logger = logging.getLogger(__name__)

# Give up on a file after this many grab() failures in a row: a truncated file fails on every grab after the cut,
# and without a limit a file whose header promises more frames than it holds would be retried forever.
MAX_CONSECUTIVE_READ_FAILURES = 10
# At open, look this far for one decodable frame before calling the file corrupt.
OPEN_PROBE_FRAMES = 25
# Video fps outside this range is a broken header: fall back to the container's timestamps.
_SANE_VIDEO_FPS = (0.1, 1000.0)


class _Pacer:
    """Holds back events until the wall clock reaches their ``t`` (only when ``realtime``); ``stop`` interrupts."""

    def __init__(self, realtime: bool, stop: threading.Event) -> None:
        self._realtime = realtime
        self._stop = stop
        self._origin: float | None = None

    def wait_until(self, t: float) -> bool:
        """False if ``stop`` was set (before or while waiting)."""
        if not self._realtime:
            return not self._stop.is_set()
        now = time.monotonic()
        if self._origin is None:
            self._origin = now - t  # the first event goes out at once
        delay = self._origin + t - now
        if delay > 0:
            return not self._stop.wait(delay)
        return not self._stop.is_set()

    def late(self, t: float, period: float) -> bool:
        """Realtime only: the wall clock is already a whole sampling period past ``t``. The consumer could not keep
        up, and analysing this frame would only push the newest one further back: the demo once fell 97 s behind
        real time while the Live page said LIVE. Such a frame is dropped (as a live source drops a missed slot)."""
        if not self._realtime or self._origin is None:
            return False
        return time.monotonic() - (self._origin + t) > period


class _Grab(NamedTuple):
    """One step through the file: grabbed or not, its time, and its decoded image if it was already retrieved."""

    ok: bool
    t: float
    decoded: tuple[Image | None, str] | None = None  # (image, reason if image is None); None: not retrieved yet


class FileSource(FrameSource):
    """A video file. Opening probes for a decodable frame, so a corrupt file fails at open with ``SourceError``."""

    live = False

    def __init__(self, spec: SourceSpec, fps: float, *, realtime: bool = False) -> None:
        super().__init__(spec, fps)
        self.realtime = realtime
        self._cap = _open_capture(spec)
        video_fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        sane = math.isfinite(video_fps) and _SANE_VIDEO_FPS[0] <= video_fps <= _SANE_VIDEO_FPS[1]
        self.video_fps: float | None = video_fps if sane else None
        count = float(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count: int | None = int(count) if math.isfinite(count) and count > 0 else None
        self._lock = threading.Lock()
        self._closed = False
        self._started = False
        # Frames read while probing, replayed by events(): a video cannot be rewound reliably.
        self._probed: list[_Grab] = []
        self._probe()

    def _probe(self) -> None:
        for i in range(OPEN_PROBE_FRAMES):
            if not self._cap.grab():
                break
            decoded = _retrieve(self._cap)
            self._probed.append(_Grab(ok=True, t=self._time_of(i), decoded=decoded))
            if decoded[0] is not None:
                return
        self.close()
        if not self._probed:
            raise SourceError(f"cannot read video file {self.spec.display}: it has no frames OpenCV can read")
        raise SourceError(
            f"cannot decode video file {self.spec.display}: none of its first {len(self._probed)} frames decodes"
        )

    def _time_of(self, index: int) -> float:
        if self.video_fps is not None:
            return index / self.video_fps
        # No usable frame rate in the header: trust the container's timestamp of the frame just grabbed.
        return max(0.0, float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)

    def events(self, stop: threading.Event) -> Iterator[SourceEvent]:
        if self._started:
            raise RuntimeError("FileSource.events() can be iterated only once")
        self._started = True
        pacer = _Pacer(self.realtime, stop)
        period = 1.0 / self.fps
        # Take the video frame nearest each sampling instant: a frame is due once sampling slot ``slot`` begins
        # within half a video frame of it. The epsilon absorbs float error in i / video_fps.
        tolerance = (0.5 / self.video_fps if self.video_fps else 0.0) + 1e-9
        slot = 0
        index = 0
        t = 0.0
        failures = 0
        try:
            while not stop.is_set() and not self._closed:
                step = self._next(index, t)
                if self._closed:
                    return  # closed from another thread: a failed grab now means nothing
                t = step.t
                index += 1
                if step.ok:
                    failures = 0
                    self.stats.frames_read += 1
                else:
                    failures += 1
                    at_end = self._at_end(index - 1)
                    if at_end or failures >= MAX_CONSECUTIVE_READ_FAILURES:
                        if not at_end:
                            logger.warning(
                                "%s: stopped after %d failed reads at frame %d of %d (truncated or damaged file?)",
                                self.spec.display,
                                failures,
                                index - failures,
                                self.frame_count or 0,
                            )
                        index -= 1
                        break
                if t + tolerance < slot * period:
                    continue  # not due: it was only grabbed, never converted
                slot = math.floor((t + tolerance) / period) + 1
                if not step.ok:
                    if not pacer.wait_until(t):
                        return
                    self.stats.corrupt += 1
                    yield CorruptFrame(t=t, reason=REASON_READ)
                    continue
                if pacer.late(t, period):
                    self.stats.stale += 1
                    self.stats.corrupt += 1
                    yield CorruptFrame(t=t, reason=REASON_STALE)  # never retrieved: dropping costs no decode
                    continue
                image, reason = step.decoded if step.decoded is not None else self._retrieve()
                if not pacer.wait_until(t):
                    return
                if image is None:
                    self.stats.corrupt += 1
                    yield CorruptFrame(t=t, reason=reason)
                    continue
                self.stats.frames_yielded += 1
                yield Frame(image=image, t=t, index=index - 1)
            else:
                return  # stopped or closed: no end-of-file pacing
            # Realtime: the file lasts until its last frame's period is over, so the last interval closes on time.
            if self.video_fps is not None and index > 0:
                pacer.wait_until(index / self.video_fps)
        finally:
            self.close()

    def _next(self, index: int, last_t: float) -> _Grab:
        """The next frame: probed ones first (already decoded), then grab() only; retrieve() is the caller's."""
        if self._probed:
            return self._probed.pop(0)
        with self._lock:
            if self._closed or not self._cap.grab():
                step = 1.0 / self.video_fps if self.video_fps else 0.0
                return _Grab(ok=False, t=last_t + step if index else 0.0)
            return _Grab(ok=True, t=self._time_of(index))

    def _retrieve(self) -> tuple[Image | None, str]:
        # Under the lock: close() from another thread must not release the capture in the middle of a decode.
        with self._lock:
            if self._closed:
                return None, REASON_DECODE
            return _retrieve(self._cap)

    def _at_end(self, index: int) -> bool:
        """A failed grab at (or within 1 % of) the header's frame count is the normal end of the file: containers
        often overstate the count by a frame or two, and that is no reason to warn."""
        if self.frame_count is None:
            return True
        return index >= self.frame_count - max(2, self.frame_count // 100)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._cap.release()


def _open_capture(spec: SourceSpec) -> cv2.VideoCapture:
    try:
        cap = cv2.VideoCapture(spec.target)
    except cv2.error as exc:
        raise SourceError(f"cannot open video file {spec.display}: {one_line(exc)}") from None
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"cannot open video file {spec.display}: not a video OpenCV can read (corrupt or truncated?)")
    return cap


def _retrieve(cap: cv2.VideoCapture) -> tuple[Image | None, str]:
    """Decode the grabbed frame: ``(image, "")``, or ``(None, reason)`` if it does not decode or is empty."""
    try:
        ok, image = cap.retrieve()
    except cv2.error as exc:
        logger.debug("retrieve failed: %s", one_line(exc))
        return None, REASON_DECODE
    if not ok or image is None:
        return None, REASON_DECODE
    bgr = to_bgr(image)
    return (bgr, "") if bgr is not None else (None, REASON_EMPTY)


class FolderSource(FrameSource):
    """A folder of images: image ``i`` (natural name order) is the frame at ``t = i / fps``."""

    live = False

    def __init__(self, spec: SourceSpec, fps: float, *, realtime: bool = False) -> None:
        super().__init__(spec, fps)
        self.realtime = realtime
        try:
            self.paths = list_images(spec.target)
        except OSError as exc:
            raise SourceError(f"cannot list folder {spec.display}: {exc.strerror or exc}") from None
        if not self.paths:
            raise SourceError(f"folder {spec.display} has no images")
        self._closed = threading.Event()

    def events(self, stop: threading.Event) -> Iterator[SourceEvent]:
        pacer = _Pacer(self.realtime, stop)
        try:
            for i, path in enumerate(self.paths):
                if self._closed.is_set():
                    return
                t = i / self.fps
                if pacer.late(t, 1.0 / self.fps):
                    self.stats.stale += 1
                    self.stats.corrupt += 1
                    yield CorruptFrame(t=t, reason=REASON_STALE)
                    continue
                image = _read_image(str(path))
                if not pacer.wait_until(t):
                    return
                if image is None:
                    logger.debug("%s: cannot decode %s", self.spec.display, path.name)
                    self.stats.corrupt += 1
                    yield CorruptFrame(t=t, reason=REASON_DECODE)
                    continue
                self.stats.frames_read += 1
                self.stats.frames_yielded += 1
                yield Frame(image=image, t=t, index=i)
            pacer.wait_until(len(self.paths) / self.fps)
        finally:
            self.close()

    def close(self) -> None:
        self._closed.set()


def _read_image(path: str) -> Image | None:
    """Decode one image as BGR (EXIF orientation applied, gray/BGRA/16-bit converted); ``None`` if unusable."""
    try:
        data = np.fromfile(path, dtype=np.uint8)  # not cv2.imread: it cannot open non-ASCII paths on Windows
    except OSError as exc:
        logger.debug("cannot read %s: %s", path, exc)
        return None
    if data.size == 0:
        return None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        logger.debug("cannot decode %s: %s", path, one_line(exc))
        return None
    return to_bgr(image)


__all__ = ["FileSource", "FolderSource"]
