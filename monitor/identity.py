"""Give every detected face a stable, pseudonymous student label.

* Room layout: a ``Seat`` is a place in the room. A face is matched to the nearest known seat (within
  ``seat_match`` face widths of its centre); an unmatched face starts a tentative seat that is numbered (``Seat 1``,
  ``Seat 2``, ... in order of first appearance) once it has been seen in ``min_hits`` frames, so a one-frame false
  detection never takes a number. Seats are kept for the whole session: a student who looks away or steps out gets
  their own seat back.
* Gallery layout: the Zoom tile containing the face's centre (``Tile R-C``), from ``monitor.gallery``.
Nothing biometric is computed or kept: only positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from monitor.detections import FaceDetections

if TYPE_CHECKING:
    from monitor.gallery import GalleryGrid


@dataclass
class _Seat:
    cx: float
    cy: float
    size: float
    hits: int = 1
    number: int = 0  # 0 while tentative

    def update(self, cx: float, cy: float, size: float, alpha: float = 0.3) -> None:
        self.cx += alpha * (cx - self.cx)
        self.cy += alpha * (cy - self.cy)
        self.size += alpha * (size - self.size)
        self.hits += 1


class SeatAssigner:
    """Room layout: match faces to seats by position; labels are ``Seat N`` or ``None`` while tentative."""

    def __init__(self, seat_match: float = 1.0, min_hits: int = 2) -> None:
        self.seat_match = seat_match
        self.min_hits = min_hits
        self._seats: list[_Seat] = []
        self._numbered = 0

    @property
    def seats(self) -> int:
        return self._numbered

    def assign(self, faces: FaceDetections) -> list[str | None]:
        labels: list[str | None] = [None] * len(faces)
        if len(faces) == 0:
            return labels
        b = faces.boxes.astype(np.float64)
        cx, cy, size = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2, np.maximum(b[:, 2], b[:, 3])
        pairs: list[tuple[float, int, int]] = []
        for si, seat in enumerate(self._seats):
            dist = np.hypot(cx - seat.cx, cy - seat.cy) / np.maximum(size, seat.size)
            pairs += [(float(d), fi, si) for fi, d in enumerate(dist) if d <= self.seat_match]
        pairs.sort()
        used_faces: set[int] = set()
        used_seats: set[int] = set()
        matched: dict[int, int] = {}
        for _, fi, si in pairs:
            if fi not in used_faces and si not in used_seats:
                used_faces.add(fi)
                used_seats.add(si)
                matched[fi] = si
        # new seats in reading order (top to bottom, left to right) so numbering is deterministic
        new = sorted((fi for fi in range(len(faces)) if fi not in matched), key=lambda i: (round(float(cy[i] / size[i])), float(cx[i])))
        for fi in new:
            if any(np.hypot(cx[fi] - st.cx, cy[fi] - st.cy) < 0.5 * max(size[fi], st.size) for st in self._seats):
                continue  # a second box on an existing seat's face (a duplicate detection), not a new student
            self._seats.append(_Seat(float(cx[fi]), float(cy[fi]), float(size[fi]), hits=0))
            matched[fi] = len(self._seats) - 1
        # seats are numbered in creation order (itself reading order within a frame), not in matching order
        for fi, si in sorted(matched.items(), key=lambda item: item[1]):
            seat = self._seats[si]
            if seat.hits == 0:
                seat.hits = 1
            else:
                seat.update(float(cx[fi]), float(cy[fi]), float(size[fi]))
            if seat.number == 0 and seat.hits >= self.min_hits:
                self._numbered += 1
                seat.number = self._numbered
            if seat.number:
                labels[fi] = f"Seat {seat.number}"
        return labels


class TileAssigner:
    """Gallery layout: the label of the tile that holds each face's centre (one student per tile)."""

    def assign(self, faces: FaceDetections, grid: GalleryGrid) -> list[str | None]:
        taken: set[str] = set()
        # the largest face in a tile wins it; a second face in the same tile (a poster, a sibling) is ignored
        areas = faces.boxes[:, 2].astype(np.int64) * faces.boxes[:, 3]
        order = [int(i) for i in np.argsort(-areas)]
        result: dict[int, str | None] = {}
        for i in order:
            x, y, w, h = (int(v) for v in faces.boxes[i])
            label = grid.label_for_box(x, y, w, h)
            if label is not None and label in taken:
                label = None
            if label is not None:
                taken.add(label)
            result[i] = label
        return [result[i] for i in range(len(faces))]
