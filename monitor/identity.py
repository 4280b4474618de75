"""Give every detected face a stable, pseudonymous student label.

* Room layout: a ``Seat`` is a place in the room. A face is matched to the nearest known seat (within
  ``seat_match`` face widths of its centre); an unmatched face starts a tentative seat that is numbered (``Seat 1``,
  ``Seat 2``, ... in order of first appearance) once it has been seen in ``min_hits`` frames, so a one-frame false
  detection never takes a number. Seats are kept for the whole session: a student who looks away or steps out gets
  their own seat back.
* Gallery layout: the Zoom tile containing the face's centre, from ``monitor.gallery``; the tile's student is the
  display name read on it (``monitor.names``), matched fuzzily to names seen before and to the roster
  (``NameBook``), so students keep their identity when tiles reorder; ``Tile R-C`` when a name cannot be read.
Nothing biometric is computed or kept: only positions and display names.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
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

    def unreadable(self, heads: FaceDetections, taken: Collection[str | None] = ()) -> list[str]:
        """The numbered seats (not in ``taken``) where one of ``heads`` sits: a face-like shape too weak to read (a
        student looking down at a book, a profile). Such a student is present with the face not visible; it never
        creates, moves or numbers a seat, and never gets an emotion."""
        found: list[str] = []
        skip = set(taken)
        for x, y, w, h in heads.boxes.astype(np.float64).tolist():
            cx, cy, size = x + w / 2, y + h / 2, max(w, h)
            near = [
                (float(np.hypot(cx - st.cx, cy - st.cy)) / max(size, st.size), st.number)
                for st in self._seats
                if st.number
            ]
            near = [(d, n) for d, n in near if d <= self.seat_match and f"Seat {n}" not in skip]
            if near:
                label = f"Seat {min(near)[1]}"
                skip.add(label)
                found.append(label)
        return found


class TileAssigner:
    """Gallery layout: the label of the tile that holds each face's centre (one student per tile)."""

    def assign(self, faces: FaceDetections, grid: GalleryGrid, skip: Collection[str] = ()) -> list[str | None]:
        """The tile label for each face; ``None`` off the tiles, for a second face in a tile, and in the tiles of
        ``skip`` (camera off: an avatar picture is not the student's face)."""
        taken: set[str] = set(skip)
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


_DIGITS = re.compile(r"\d+")


def _same_digits(a: str, b: str) -> bool:
    """Names that carry different numbers ("Ben 2", "Ben 12") are different people, however similar the rest."""
    da, db = _DIGITS.findall(a), _DIGITS.findall(b)
    return not (da and db) or da == db


def best_match(name: str, choices: Sequence[str], cutoff: float) -> tuple[str, float] | None:
    """The choice most like ``name`` (rapidfuzz's ``WRatio`` on case-folded text) scoring at least ``cutoff``."""
    from rapidfuzz import fuzz, process, utils

    folded = [c for c in choices if _same_digits(name, c)]
    hit = process.extractOne(name, folded, scorer=fuzz.ratio, processor=utils.default_process, score_cutoff=cutoff)
    return (str(hit[0]), float(hit[1])) if hit is not None else None


@dataclass(frozen=True)
class Roster:
    """The class list: display names as they appear on Zoom, and the student each one is (``--roster FILE``)."""

    entries: tuple[tuple[str, str], ...]  # (display_name, student)

    @property
    def students(self) -> list[str]:
        """Each student once, in the file's order."""
        return list(dict.fromkeys(student for _, student in self.entries))

    @classmethod
    def load(cls, path: Path) -> Roster:
        """Read a CSV with columns ``display_name`` and ``student``; raises ``RosterError`` with one line."""
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh, skipinitialspace=True)
                fields = {(f or "").strip().lower() for f in reader.fieldnames or []}
                if not {"display_name", "student"} <= fields:
                    raise RosterError(f"roster {path}: needs a header with columns display_name, student")
                entries: list[tuple[str, str]] = []
                for line, row in enumerate(reader, start=2):
                    clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
                    display, student = clean.get("display_name", ""), clean.get("student", "")
                    if not display and not student:
                        continue
                    if not display or not student:
                        raise RosterError(f"roster {path}, line {line}: display_name and student must both be given")
                    entries.append((display, student))
        except OSError as exc:
            raise RosterError(f"cannot read roster {path}: {exc.strerror or exc}") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise RosterError(f"roster {path} is not a CSV file: {exc}") from None
        if not entries:
            raise RosterError(f"roster {path} lists no students")
        seen: set[str] = set()
        for display, _ in entries:
            if display.casefold() in seen:
                raise RosterError(f"roster {path}: display name {display!r} is listed twice")
            seen.add(display.casefold())
        return cls(tuple(entries))


class RosterError(ValueError):
    """A roster file that cannot be used; the message is one line."""


class NameBook:
    """Gallery identities: a tile's student is the display name read on it, the same student when read a little
    differently (fuzzy against the names already seen), mapped to the class list when a roster is given.

    ``resolve`` takes one frame's names at once, so two tiles of one frame never become one student.
    """

    def __init__(self, roster: Roster | None = None, cutoff: float = 80.0) -> None:
        self.roster = roster
        self.cutoff = cutoff
        self._known: list[str] = []  # students named so far (roster students or display names as first read)
        self._memo: dict[str, tuple[str, float]] = {}

    def _match(self, display: str) -> tuple[str, float]:
        """The student for a display name and how sure (100 = exact), memoised: OCR output repeats."""
        memo = self._memo.get(display)
        if memo is not None:
            return memo
        result: tuple[str, float] | None = None
        if self.roster is not None:
            lookup = dict(self.roster.entries)
            hit = best_match(display, list(lookup), self.cutoff)
            if hit is not None:
                result = (lookup[hit[0]], hit[1])
        if result is None:
            hit = best_match(display, self._known, self.cutoff)
            result = hit if hit is not None else (display, 100.0)
        self._memo[display] = result
        return result

    def resolve(self, names: Sequence[str | None]) -> list[str | None]:
        """The student for each name of one frame (``None`` stays ``None``); best matches claim a student first,
        and a tile whose student was claimed by a better match keeps its own display name."""
        out: list[str | None] = [None] * len(names)
        candidates = sorted(
            ((self._match(n), i, n) for i, n in enumerate(names) if n is not None), key=lambda c: -c[0][1]
        )
        taken: set[str] = set()
        for (student, _), i, display in candidates:
            if student in taken:
                student = display if display not in taken else f"{display} ({i + 1})"
            taken.add(student)
            out[i] = student
            if student not in self._known:
                self._known.append(student)
        return out
