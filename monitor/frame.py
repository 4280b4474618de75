"""What a capture source yields: analysed frames, corrupt frames to skip and count, and changes of its state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Frame:
    """One decoded frame due for analysis.

    ``image`` is BGR ``uint8`` ``[H, W, 3]``. ``t`` is seconds since the source started, on the source's own clock:
    the video's timeline for a file (so a 60 s file yields 60 s of intervals however fast it is read), the wall
    clock for cameras, streams and the screen.
    """

    image: npt.NDArray[np.uint8]
    t: float
    index: int

    def __post_init__(self) -> None:
        img = self.image
        if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"Frame.image must be uint8 [H, W, 3], got {getattr(img, 'shape', type(img))}")
        if img.shape[0] == 0 or img.shape[1] == 0:
            raise ValueError("Frame.image is empty")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True)
class CorruptFrame:
    """A frame that was due but could not be used (undecodable, empty, wrong shape, or dropped as stale)."""

    t: float
    reason: str


@dataclass(frozen=True)
class SourceState:
    """The source went offline (with the reason) or came back online; emitted once per change."""

    online: bool
    t: float
    detail: str = ""


SourceEvent = Frame | CorruptFrame | SourceState
