"""What every source shares: the ``FrameSource`` interface, its counters, and image normalisation to BGR."""

from __future__ import annotations

import math
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

import cv2
import numpy as np
import numpy.typing as npt

from monitor.frame import SourceEvent
from monitor.sources.spec import SourceSpec

# ``CorruptFrame.reason`` values: short and stable so the worker can count them by reason.
REASON_DECODE = "decode failed"  # a file frame or folder image that OpenCV could not decode
REASON_READ = "read failed"  # a file frame that could not be grabbed (damaged or truncated data)
REASON_EMPTY = "empty frame"  # decoded, but zero-sized or of an unusable shape
REASON_STALE = "stale"  # a live sampling slot that passed while the consumer was still busy with the last frame

Image = npt.NDArray[np.uint8]


@dataclass
class SourceStats:
    """Counters a source keeps for the worker's heartbeat (read them any time; they only grow).

    ``frames_read``: frames decoded (files: grabbed) or captured. ``frames_yielded``: ``Frame`` events handed out.
    ``frames_dropped``: live frames replaced in the tiny queue by a newer one before they were sampled (normal when
    the device is faster than ``fps``). ``corrupt``: ``CorruptFrame`` events, ``stale`` included. ``stale``:
    live sampling slots missed because the consumer was slower than ``fps``. ``offline``: times the source went
    offline. ``reconnects``: reopen attempts.
    """

    frames_read: int = 0
    frames_yielded: int = 0
    frames_dropped: int = 0
    corrupt: int = 0
    stale: int = 0
    offline: int = 0
    reconnects: int = 0


class FrameSource(ABC):
    """An opened source. Iterate ``events(stop)`` once; it ends at the end of a file or folder, or once ``stop`` is
    set (or ``close()`` is called), and releases the source when it ends."""

    live: bool = False

    def __init__(self, spec: SourceSpec, fps: float) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.spec = spec
        self.fps = fps
        self.stats = SourceStats()

    @abstractmethod
    def events(self, stop: threading.Event) -> Iterator[SourceEvent]:
        """Frames due at ``fps``, corrupt frames to count, and (live sources) online/offline changes."""

    @abstractmethod
    def close(self) -> None:
        """Release the device, file or connection; safe to call more than once and from any thread."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.display!r}, fps={self.fps:g})"


def to_bgr(image: object) -> Image | None:
    """``image`` as BGR ``uint8 [H, W, 3]``, converting grayscale, BGRA and 16-bit; ``None`` if unusable."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        return None
    if image.dtype == np.uint16:
        img: Image = (image >> 8).astype(np.uint8)
    elif image.dtype == np.uint8:
        img = image
    else:
        return None
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        out = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        out = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.ndim == 3 and img.shape[2] == 3:
        out = img
    else:
        return None
    if out.shape[0] == 0 or out.shape[1] == 0:
        return None
    return np.ascontiguousarray(out, dtype=np.uint8)


def one_line(text: object, limit: int = 200) -> str:
    """Collapse whitespace (OpenCV errors span several lines) and shorten, for logs and ``SourceState.detail``."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
