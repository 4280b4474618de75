"""How far the whole picture moved since the last analysed frame: a hand-held phone, a laptop nudged on its desk.

Seats are places in the picture (``identity.SeatAssigner``): when the camera pans, every student's face moves by the
same amount, each leaves its seat and starts a new one. Trackers compensate the camera's own motion before matching
(BoT-SORT's "camera motion compensation"); here the motion is the translation that phase correlation finds between
the two frames, downscaled and grey, windowed so the frame's edges do not dominate (``cv2.phaseCorrelate``, about a
millisecond a frame). A still camera gives a shift of well under a pixel, whatever the students do: the room behind
them is most of the picture. A cut (another scene) correlates weakly and gives no shift.

On the real material (``bench/seats.py``): the classroom CCTV's fixed camera keeps exactly the seats it had; two
hand-held videos of a computer lab with 2-4 people (and a poster's face) numbered 8 and 17-20 seats without it,
5 and 6-7 with it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

WIDTH = 320  # px: frames are compared at this width (a pan of a few pixels at 1080p is still a pixel here)
# phase correlation's peak below this: nothing in common (a cut), no shift. Consecutive analysed frames of the real
# room videos peak at 0.53-0.92 (hand-held, 1 s apart: the lowest), two unrelated blurred-noise pictures at 0.07-0.13
MIN_RESPONSE = 0.3


class CameraMotion:
    """``shift(image)``: (dx, dy) in the frame's pixels that the picture moved since the previous call."""

    def __init__(self) -> None:
        self._prev: npt.NDArray[np.float32] | None = None
        self._window: npt.NDArray[np.float32] | None = None
        self._shape: tuple[int, ...] = ()

    def shift(self, image: npt.NDArray[np.uint8]) -> tuple[float, float]:
        scale = min(1.0, WIDTH / image.shape[1])
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = (cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small).astype(np.float32)
        prev, self._prev = self._prev, grey
        if prev is None or image.shape != self._shape or grey.shape[0] < 8 or grey.shape[1] < 8:
            self._shape = image.shape
            self._window = cv2.createHanningWindow((grey.shape[1], grey.shape[0]), cv2.CV_32F) \
                if grey.shape[0] >= 8 and grey.shape[1] >= 8 else None
            return 0.0, 0.0
        (dx, dy), response = cv2.phaseCorrelate(prev, grey, self._window)
        if not response >= MIN_RESPONSE or not np.isfinite(dx) or not np.isfinite(dy):
            return 0.0, 0.0
        return float(dx) / scale, float(dy) / scale
