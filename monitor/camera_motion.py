"""How far the whole picture moved since the last analysed frame: a hand-held phone, a laptop nudged on its desk.

Seats are places in the picture (``identity.SeatAssigner``): when the camera pans, every student's face moves by the
same amount, each leaves its seat and starts a new one. Trackers compensate the camera's own motion before matching
(BoT-SORT's "camera motion compensation"); here the motion is the translation that phase correlation finds between
the frame and a reference frame, downscaled and grey, windowed so the frame's edges do not dominate
(``cv2.phaseCorrelate``, 1-3 ms a frame on the 2-core machine). A still camera gives a shift of well under a pixel,
whatever the students do: the room behind them is most of the picture. A cut (another scene) correlates weakly and
gives no shift.

On the real material (``bench/seats.py``): the classroom CCTV's fixed camera keeps exactly the seats it had; two
hand-held videos of a computer lab with 2-4 people (and a poster's face) numbered 6-8 and 12-20 seats without it
(every 10th frame, every 4th, every frame), 5 and 6-7 with it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

WIDTH = 320  # px: frames are compared at this width (a pan of a few pixels at 1080p is still a pixel here)
# phase correlation's peak below this: nothing in common (a cut), no shift. Consecutive analysed frames of the real
# room videos peak at 0.50-0.92 (hand-held, 1 s apart: the lowest), unrelated blurred-noise pictures at 0.01-0.05
MIN_RESPONSE = 0.3
REANCHOR = 0.1  # of the compared width: the reference frame is replaced once the picture moved this far from it


class CameraMotion:
    """``shift(image)``: (dx, dy) in the frame's pixels that the picture moved since the previous call.

    Each frame is compared with a reference frame, not with the one before: the small error of each measurement then
    stays small instead of adding up into a drift of every seat on a camera that never moves (measured frame to
    frame on a still composed class with sensor noise: 11-12 px per 100 frames). The reference is replaced by the
    current frame when the picture has moved a tenth of its width from it (so the two keep most of the view in
    common), when the frame no longer correlates with it but does with the frame before (the room changed slowly:
    the step from that frame is reported), and after a cut."""

    def __init__(self) -> None:
        self._ref: npt.NDArray[np.float32] | None = None
        self._prev: npt.NDArray[np.float32] | None = None
        self._window: npt.NDArray[np.float32] | None = None
        self._shape: tuple[int, ...] = ()
        self._told = (0.0, 0.0)  # the reference's offset already reported, in compared pixels

    def shift(self, image: npt.NDArray[np.uint8]) -> tuple[float, float]:
        scale = min(1.0, WIDTH / image.shape[1])
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.shape[2] >= 3 else small[..., 0]
        grey = small.astype(np.float32)
        if image.shape != self._shape:  # the first frame, or another size: nothing to compare with
            self._shape = image.shape
            self._window = (cv2.createHanningWindow((grey.shape[1], grey.shape[0]), cv2.CV_32F)
                            if min(grey.shape[:2]) >= 8 else None)
            self._restart(grey)
            return 0.0, 0.0
        if self._window is None or self._ref is None:  # too small to say
            return 0.0, 0.0
        prev, self._prev = self._prev, grey
        found = self._measure(self._ref, grey)
        if found is not None:
            step = (found[0] - self._told[0], found[1] - self._told[1])
            self._told = found
            if np.hypot(*found) > REANCHOR * grey.shape[1]:
                self._restart(grey)
            return step[0] / scale, step[1] / scale
        found = self._measure(prev, grey) if prev is not None and prev is not self._ref else None
        self._restart(grey)  # the reference is lost: this frame is the new one
        return (0.0, 0.0) if found is None else (found[0] / scale, found[1] / scale)

    def _measure(self, ref: npt.NDArray[np.float32], grey: npt.NDArray[np.float32]) -> tuple[float, float] | None:
        """The translation from ``ref`` to ``grey`` in compared pixels; ``None`` where the two have too little in
        common to say (a cut)."""
        # OpenCV 4.14's phaseCorrelate writes the windowed image into its inputs: the reference must stay unwindowed
        (dx, dy), response = cv2.phaseCorrelate(ref.copy(), grey.copy(), self._window)
        if not response >= MIN_RESPONSE or not np.isfinite(dx) or not np.isfinite(dy):
            return None
        return float(dx), float(dy)

    def _restart(self, grey: npt.NDArray[np.float32]) -> None:
        self._ref, self._prev, self._told = grey, grey, (0.0, 0.0)
