"""Give every detected face a stable, pseudonymous student label.

* Room layout: a ``Seat`` is a place in the room. A face is matched to the nearest known seat (within
  ``seat_match`` face widths of its centre); an unmatched face starts a tentative place that is numbered (``Seat 1``,
  ``Seat 2``, ... in order of first appearance) once it has been seen in ``min_hits`` frames (and a tenth of the
  frames) over at least ``min_age_s`` seconds, so a false detection that comes and goes (a hand over a book, a
  chair's back) never takes a number; the readings of its faces meanwhile are kept by the aggregator and given to
  the seat when it is numbered.
  Seats are kept for the whole session: a student who looks away or steps out gets their own seat back.
* Gallery layout: the Zoom tile containing the face's centre, from ``monitor.gallery``; the tile's student is the
  display name read on it (``monitor.names``), matched fuzzily to names seen before and to the roster
  (``NameBook``), so students keep their identity when tiles reorder; ``Tile R-C`` when a name cannot be read.
Nothing biometric is computed or kept: only positions and display names.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter, deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

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
    second: bool = False  # a second place of a numbered seat's student: it shares that seat's number
    first_t: float = 0.0  # source time of its first sighting
    first_frame: int = 0  # and the assigner's frame count then
    seen: deque[int] = field(default_factory=deque)  # tentative: the frames (counts) it held a face in, recent ones
    last_t: float = 0.0  # and of its last
    together: Counter[int] = field(default_factory=Counter)  # seat index -> frames both held a face

    def update(self, cx: float, cy: float, size: float, alpha: float = 0.3) -> None:
        self.cx += alpha * (cx - self.cx)
        self.cy += alpha * (cy - self.cy)
        self.size += alpha * (size - self.size)
        self.hits += 1


def _reading_order(
    indices: list[int], cx: npt.NDArray[np.float64], cy: npt.NDArray[np.float64], size: npt.NDArray[np.float64]
) -> list[int]:
    """``indices`` in reading order: rows top to bottom, each left to right. A face joins the current row when its
    centre is within half a face of the row's first centre (a row of students is never perfectly level), so three
    students side by side are numbered left to right whatever a few pixels of height say."""
    rows: list[list[int]] = []
    for i in sorted(indices, key=lambda k: float(cy[k])):
        if rows and abs(float(cy[i]) - float(cy[rows[-1][0]])) <= 0.5 * max(float(size[i]), float(size[rows[-1][0]])):
            rows[-1].append(i)
        else:
            rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda k: float(cx[k]))]


SEAT_MERGE = 2.0  # face widths: a new place this near a seat that was (almost) never filled in the same frame is that seat
SEAT_SHARED = 0.1  # "almost never": in at most this share of the new place's frames (a stray second box on a head)
TENTATIVE_S = 5.0  # a place not numbered yet that held no face for this long is forgotten: its sightings must recur
# and it must have held a face in this share of the frames of the last TENTATIVE_S (or since its first sighting): at 2
# frames/s ``min_hits`` says as much, at 20 frames/s two stray boxes in 2 s would be enough without it (the evidence
# follows the frame rate). Over a recent window, not its whole life: a stray spot seen now and then for minutes must
# not make a student who then sits there wait for its share to recover
SEAT_MIN_SHARE = 0.1


class SeatAssigner:
    """Room layout: match faces to seats by position; labels are ``Seat N`` or ``None`` while tentative.

    A student whose head moves further than ``seat_match`` (looking down at a book, then up: on the real classroom
    CCTV's 12-20 px faces that is one or two face widths) starts a second, tentative place. When it is due for a
    number, a numbered seat within ``SEAT_MERGE`` face widths that never held a face in the same frame as it is the
    same student: the place takes that seat's number instead of a new one. If both places then hold a face in the
    same frame more often than a stray second box would (``SEAT_SHARED``), they are two students after all, and the
    later place gets a number of its own from then on."""

    def __init__(self, seat_match: float = 1.0, min_hits: int = 2, min_age_s: float = 0.0) -> None:
        """``min_age_s`` 0 numbers a place on hits alone (a single image, a test); the worker passes
        ``AnalysisConfig.seat_min_age`` (2 s by default)."""
        self.seat_match = seat_match
        self.min_hits = min_hits
        self.min_age_s = min_age_s
        self._seats: list[_Seat] = []
        self._numbered = 0
        # indices into ``_seats``: the numbered places (seats and second places), and the tentative places seen within
        # ``TENTATIVE_S``; a tentative place that expired leaves ``_tentative`` and is never looked at again
        self._held: list[int] = []
        self._tentative: list[int] = []
        self._frames = 0  # frames assigned so far, faces or not
        self._recent: deque[tuple[int, float]] = deque()  # (frame count, time) of the frames of the last TENTATIVE_S
        # the last frame's faces at places not numbered yet (face index -> place), and every place numbered as a new
        # seat so far (place -> label): their readings until then belong to that seat (``Aggregator.add_frame``). All
        # of them, every frame: a frame whose analysis failed after its places were numbered loses no promotion.
        self.pending: dict[int, int] = {}
        self.promoted: dict[int, str] = {}

    @property
    def seats(self) -> int:
        return self._numbered

    def move(self, shift: tuple[float, float]) -> None:
        """Every seat moves by ``shift``: how far the picture moved since the last frame (``camera_motion``), so a
        panning camera keeps each student in their seat. Called before the frame's faces are found, so a frame whose
        analysis then fails leaves the seats where the picture is."""
        for si in self._held + self._tentative:  # an expired place is never matched again
            seat = self._seats[si]
            seat.cx += shift[0]
            seat.cy += shift[1]

    def assign(self, faces: FaceDetections, t: float | None = None) -> list[str | None]:
        """Each face's seat label (``None`` at a place not numbered yet), ``t`` the frame's source time. A new place
        is numbered once it has held a face in ``min_hits`` frames, and in ``SEAT_MIN_SHARE`` of the frames, over
        ``min_age_s`` seconds since its first, none of them ``TENTATIVE_S`` apart: a student stays in their seat, a
        hand over a book or a chair's back taken for a face comes and goes. ``pending`` says which faces wait at such
        places, ``promoted`` which places became new seats."""
        if t is None:
            if self.min_age_s > 0:
                raise ValueError("SeatAssigner.assign needs the frame's time when min_age_s > 0")
            t = 0.0
        self._frames += 1
        self._recent.append((self._frames, t))
        while t - self._recent[0][1] > TENTATIVE_S:
            self._recent.popleft()
        labels: list[str | None] = [None] * len(faces)
        self.pending = {}
        if len(faces) == 0:
            return labels
        b = faces.boxes.astype(np.float64)
        cx, cy, size = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2, np.maximum(b[:, 2], b[:, 3])
        pairs: list[tuple[float, int, int]] = []
        self._tentative = [si for si in self._tentative if t - self._seats[si].last_t <= TENTATIVE_S]
        live = self._held + self._tentative
        for si in live:
            seat = self._seats[si]
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
        new = _reading_order([fi for fi in range(len(faces)) if fi not in matched], cx, cy, size)
        created = len(self._seats)
        for fi in new:
            near = live + list(range(created, len(self._seats)))  # and the places this frame started
            if any(np.hypot(cx[fi] - self._seats[si].cx, cy[fi] - self._seats[si].cy)
                   < 0.5 * max(size[fi], self._seats[si].size) for si in near):
                continue  # a second box on an existing seat's face (a duplicate detection), not a new student
            self._seats.append(_Seat(float(cx[fi]), float(cy[fi]), float(size[fi]), hits=0, first_t=t, last_t=t,
                                     first_frame=self._frames))
            matched[fi] = len(self._seats) - 1
            self._tentative.append(matched[fi])
        filled = set(matched.values())
        for si in filled:
            self._seats[si].together.update(filled - {si})
        # seats are numbered in creation order (itself reading order within a frame), not in matching order
        for fi, si in sorted(matched.items(), key=lambda item: item[1]):
            seat = self._seats[si]
            seat.last_t = t
            if seat.hits == 0:
                seat.hits = 1
            else:
                seat.update(float(cx[fi]), float(cy[fi]), float(size[fi]))
            if seat.number == 0:
                seat.seen.append(self._frames)
            if seat.second and self._shared(seat, seat.number) > SEAT_SHARED * seat.hits:
                self._numbered += 1  # a second place shared frames with its first: another student, a new seat
                seat.number, seat.second = self._numbered, False
            if seat.number == 0 and self._confirmed(seat, t):
                same = self._same_student(si)
                self._numbered += 0 if same else 1
                seat.number, seat.second = same or self._numbered, bool(same)
                self._tentative.remove(si)
                self._held.append(si)
                seat.seen.clear()  # only a tentative place's sightings are counted
                if not same:  # a second place of a seat's student: its waiting readings could count a frame twice
                    self.promoted[si] = f"Seat {seat.number}"
            if seat.number:
                labels[fi] = f"Seat {seat.number}"
            else:
                self.pending[fi] = si
        # both places of one student filled in one frame (a stray second box): the face at the first place counts
        for fi, si in matched.items():
            if self._seats[si].second and labels.count(labels[fi]) > 1:
                labels[fi] = None
        return labels

    def _confirmed(self, seat: _Seat, t: float) -> bool:
        """A tentative place has shown a student: ``min_hits`` faces over ``min_age_s`` seconds, and a face in at least
        ``SEAT_MIN_SHARE`` of the frames of the last ``TENTATIVE_S`` (since its first sighting, if later)."""
        start = max(seat.first_frame, self._recent[0][0])
        while seat.seen and seat.seen[0] < start:
            seat.seen.popleft()
        frames = self._frames - start + 1
        return (seat.hits >= self.min_hits and len(seat.seen) >= SEAT_MIN_SHARE * frames
                and t - seat.first_t >= self.min_age_s)

    def _shared(self, seat: _Seat, number: int) -> int:
        """In how many frames ``seat`` and a place numbered ``number`` (other than ``seat``) both held a face."""
        return sum(n for o, n in seat.together.items() if self._seats[o].number == number and self._seats[o] is not seat)

    def _same_student(self, si: int) -> int:
        """The number of the nearest numbered seat within ``SEAT_MERGE`` face widths of seat ``si`` whose places (almost)
        never held a face in a frame with it (0: none, a new student)."""
        seat = self._seats[si]
        best, number = SEAT_MERGE, 0
        for other in (self._seats[oi] for oi in self._held):
            if self._shared(seat, other.number) > SEAT_SHARED * seat.hits:
                continue
            d = float(np.hypot(seat.cx - other.cx, seat.cy - other.cy)) / max(seat.size, other.size)
            if d <= best:
                best, number = d, other.number
        return number

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
                for st in (self._seats[si] for si in self._held)
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
_MISREAD_SCORE = 60.0  # a stranger's read this like the tile's own student is a misread of that student
_AS_ZERO = str.maketrans({"o": "0", "O": "0", "Q": "0", "D": "0"})
_AS_ONE = str.maketrans({"l": "1", "I": "1", "i": "1", "|": "1", "!": "1"})
_WORD = re.compile(r"[^\W_]+|[|!]+")  # letters and digits between spaces, "_" and punctuation
_ELLIPSIS = re.compile(r"(\s*(\u2026|\.{2,}))+$")


def normalise_name(text: str) -> str:
    """A display name as names are compared: NFKC, a trailing "…" or "..." dropped (Zoom cuts long names),
    whitespace collapsed, case folded, and in a word that holds a digit the letters OCR confuses with digits read
    as those digits ("O7" -> "07", "l5" -> "15"); a word of letters keeps its letters ("Olivia" stays; a student ID
joined by "_" is a word of its own)."""
    text = " ".join(_ELLIPSIS.sub("", unicodedata.normalize("NFKC", text)).split())
    return _WORD.sub(lambda m: _as_number(m.group()), text).casefold()


def match_key(text: str) -> str:
    """``normalise_name`` without spaces: how reads are matched, since OCR drops the narrow space of a small label
    ("LeaKissner" is Lea Kissner). The display text keeps the spaces as read."""
    return normalise_name(text).replace(" ", "")


def _as_number(word: str) -> str:
    return word.translate(_AS_ZERO).translate(_AS_ONE) if any(ch.isdigit() for ch in word) else word


def _same_digits(a: str, b: str) -> bool:
    """Names that carry different numbers ("Ben 2", "Ben 12") are different people, however similar the rest;
    numbers are compared as numbers, so a doubled leading zero ("007" for "07") is the same one."""
    da, db = _DIGITS.findall(a), _DIGITS.findall(b)
    return not (da and db) or [int(d) for d in da] == [int(d) for d in db]


def best_match(name: str, choices: Sequence[str], cutoff: float) -> tuple[str, float] | None:
    """The choice most like ``name`` (rapidfuzz's ``ratio`` on ``match_key`` text) scoring at least ``cutoff``."""
    from rapidfuzz import fuzz, process, utils

    key = match_key(name)
    folded = {c: match_key(c) for c in choices}
    folded = {c: f for c, f in folded.items() if _same_digits(key, f)}
    if not folded:
        return None
    hit = process.extractOne(key, folded, scorer=fuzz.ratio, processor=utils.default_process, score_cutoff=cutoff)
    return (str(hit[2]), float(hit[1])) if hit is not None else None


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


@dataclass
class _TileHistory:
    """What a tile showed last frame: its student and how wide its label was (a stand-in for the label's pixels)."""

    student: str | None
    label_w: int | None
    streak_key: str | None = None  # the normalised text read there in consecutive frames, not yet a student
    streak: int = 0


class NameBook:
    """Gallery identities: a student is a person in a tile over time, not whatever OCR returned this frame.

    * A display name becomes a student when the class list (roster) knows it, or when the same normalised text is
      read on one tile in ``confirm`` consecutive frames; until then that tile's read attaches to nothing new.
    * A read like a known student's (``normalise_name`` then ``best_match``) is that student; one unlike any (a
      misread) is the tile's own student of the last frame, if its position and label width are unchanged, else no
      one this frame. So a reorder moves the student with the name, and a misread never invents a student.
    * Two tiles of one frame on one student is a read error: the tile that held that student last frame keeps it
      (else the better match), the other falls back to its own last student or to no one, never ``Name (8)``.
    * ``resolve`` returns ``None`` for a tile with no student this frame; ``pending`` says which of those had a
      name read (so a caller does not label them ``Tile R-C``: that is for a tile never readable).
    """

    def __init__(self, roster: Roster | None = None, cutoff: float = 80.0, confirm: int = 2) -> None:
        self.roster = roster
        self.cutoff = cutoff
        self.confirm = confirm
        self._known: list[str] = []  # students named so far (roster students or display names as first read)
        self._memo: dict[str, tuple[str, float] | None] = {}
        self._tiles: dict[str, _TileHistory] = {}
        self.pending: set[int] = set()  # indices of the last resolve's tiles with a name read but no student yet
        self.conflicts: set[int] = set()  # indices of the last resolve's tiles whose read another tile's won

    @property
    def students(self) -> list[str]:
        return list(self._known)

    def _match(self, display: str) -> tuple[str, float] | None:
        """The known or roster student for a display name and how sure (100 = exact); ``None`` for a stranger."""
        if display in self._memo:
            return self._memo[display]
        result: tuple[str, float] | None = None
        if self.roster is not None:
            lookup = dict(self.roster.entries)
            hit = best_match(display, list(lookup), self.cutoff)
            if hit is not None:
                result = (lookup[hit[0]], hit[1])
        if result is None:
            result = best_match(display, self._known, self.cutoff)
        if result is not None:  # a stranger is not memoised: it may become a student later
            self._memo[display] = result
        return result

    def resolve(
        self,
        names: Sequence[str | None],
        tiles: Sequence[str] | None = None,
        label_widths: Sequence[int | None] | None = None,
        settled: Sequence[bool] | None = None,
    ) -> list[str | None]:
        """The student on each tile of one frame (``names``: the text read there, ``None`` unreadable). ``tiles``
        are the tiles' positions (``Tile R-C``) and ``label_widths`` the widths of their labels in px, to tell a
        tile that still shows the same label; without them each index is its own position. ``settled[i]`` False
        (the reader has read that label once only) keeps a stranger's read from counting towards a new student."""
        n = len(names)
        where = list(tiles) if tiles is not None else [f"#{i}" for i in range(n)]
        widths = list(label_widths) if label_widths is not None else [None] * n
        before = {t: self._tiles.get(t) for t in where}
        claims: list[tuple[int, float, int, str]] = []  # (held here last frame, score, index, student)
        new_here: dict[int, str] = {}
        for i, name in enumerate(names):
            if name is None:
                continue
            hit = self._match(name)
            if hit is not None:
                prev = before[where[i]]
                claims.append((int(prev is not None and prev.student == hit[0]), hit[1], i, hit[0]))
                continue
            key = match_key(name)
            prev = before[where[i]]
            if prev is not None and prev.student is not None and _stable(prev, widths[i]) and \
                    _resembles(key, match_key(prev.student)):
                continue  # the tile's own student, misread: never a new student, however often
            streak = prev.streak + 1 if prev is not None and prev.streak_key == key else 1
            if settled is not None and not settled[i] and self.confirm > 1:  # one image (confirm 1): no 2nd look
                streak = min(streak, self.confirm - 1)
            if streak >= self.confirm:
                new_here[i] = name
            self._tiles[where[i]] = _TileHistory(prev.student if prev else None, widths[i], key, streak)
        for i, name in new_here.items():  # confirmed this frame: a student from now on
            if self._match(name) is None:
                self._known.append(name)
                self._memo.pop(name, None)
            hit = self._match(name)
            assert hit is not None
            claims.append((1, 100.0, i, hit[0]))
        out: list[str | None] = [None] * n
        taken: dict[str, int] = {}  # student -> the tile given it this frame
        self.conflicts = set()
        # an exact read first (a student who moved tiles takes her name with her, even from a tile that held her
        # last frame and now reads a look-alike), then the tile that held the student, then the better match
        for _, _, i, student in sorted(claims, key=lambda c: (-(c[1] >= 100.0), -c[0], -c[1], c[2])):
            if student not in taken:
                out[i] = student
                taken[student] = i
            else:
                self.conflicts.add(i)
        alike = self._like_named(names, where, widths, settled, out, taken, before)
        self.pending = set()
        for i in range(n):
            if out[i] is not None:
                continue
            prev = before[where[i]]
            if prev is not None and _stable(prev, widths[i]) and prev.student is not None and prev.student not in taken:
                out[i] = prev.student  # a misread or an unreadable frame of the tile's own student
                taken[prev.student] = i
            elif names[i] is not None:
                self.pending.add(i)
        for i, name in enumerate(names):
            old = self._tiles.get(where[i])
            stranger = old is not None and name is not None and (self._match(name) is None or i in alike)
            streak_key, streak = (old.streak_key, old.streak) if old is not None and stranger else (None, 0)
            label_w = widths[i] if widths[i] is not None else old.label_w if old is not None else None
            self._tiles[where[i]] = _TileHistory(out[i], label_w, streak_key, streak)
        return out


    def _like_named(
        self, names: Sequence[str | None], where: list[str], widths: list[int | None], settled: Sequence[bool] | None,
        out: list[str | None], taken: dict[str, int], before: dict[str, _TileHistory | None],
    ) -> set[int]:
        """Conflict losers that are another student with a like name ("Ella Okafor" and "Ava Okafor" beside
        "Laila Okafor", all three within the match cutoff): the loser's label is read the same way every time
        (settled) and is not the winner's text, and that has held on its tile for ``max(2, confirm)`` frames. One
        person cannot be in two tiles at once, so such a loser becomes a student of its own name, given in
        ``out`` from then on; the same text twice ("Student 05" on two tiles) stays a read error, and one image
        (``confirm`` 1) never splits a student. Returns the losers still counting their frames."""
        counting: set[int] = set()
        for i in sorted(self.conflicts):
            name = names[i]
            if name is None:
                continue
            hit = self._match(name)
            winner = taken.get(hit[0]) if hit is not None else None
            rival = names[winner] if winner is not None else None
            key = match_key(name)
            if hit is None or hit[1] >= 100.0 or rival is None or match_key(rival) == key:
                continue  # its read is the student's own name: a read error of one of the two, not a new student
            if any(match_key(known) == key for known in self._known):
                continue
            prev = before[where[i]]
            if (prev is not None and prev.student is not None and prev.student not in taken
                    and _stable(prev, widths[i]) and _resembles(key, match_key(prev.student))):
                continue  # a misread of the tile's own student ("Lalla" for Ella): she keeps the tile below
            if settled is not None and not settled[i]:
                # read afresh this frame (the reader doubts a conflict's loser): the count so far stands
                if prev is not None and prev.streak_key == key:
                    counting.add(i)
                continue
            streak = prev.streak + 1 if prev is not None and prev.streak_key == key else 1
            self._tiles[where[i]] = _TileHistory(prev.student if prev else None, widths[i], key, streak)
            if streak < max(2, self.confirm):
                counting.add(i)
                continue
            self._known.append(name)
            self._memo[name] = (name, 100.0)  # its own name from now on, before any look-alike (or roster entry)
            out[i] = name
            taken[name] = i
            self.conflicts.discard(i)
        return counting


def _stable(prev: _TileHistory, label_w: int | None) -> bool:
    """Whether a tile still shows the label it showed last frame, as far as its width tells."""
    return label_w is None or prev.label_w is None or abs(label_w - prev.label_w) <= max(4, 0.15 * prev.label_w)


def _resembles(read: str, student: str) -> bool:
    """A read close enough to a tile's own student to be a misread of it (extra or garbled digits included)."""
    from rapidfuzz import fuzz

    return fuzz.ratio(read, student) >= _MISREAD_SCORE
