"""Per-interval aggregation: the ``IntervalAggregate`` container and the ``Aggregator`` that builds them.

Intervals are aligned to the session start on the source's clock: interval k covers ``[k*I, (k+1)*I)`` seconds.
A student's interval result is the mean of their per-frame probabilities; their dominant emotion is its argmax; the
class-wide row counts students per dominant emotion. In a gallery, a student present without a readable face (camera
off, or video with no face found) is counted per frame in ``PresenceAggregate``; those frames never carry emotions.
An interval with neither an analysed nor a skipped frame (the
source was offline throughout) is not stored.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from db.emotions import EMOTIONS
from db.labels import natural_key


@dataclass(frozen=True)
class StudentAggregate:
    student: str
    frames_seen: int
    probs: tuple[float, ...]  # mean probability per class, EMOTIONS order

    def __post_init__(self) -> None:
        if len(self.probs) not in (0, len(EMOTIONS)) or self.frames_seen < 1:
            raise ValueError("a student aggregate needs 7 probabilities (none in presence mode) and at least one frame")

    @property
    def dominant(self) -> str:
        """The most probable emotion; ``""`` in presence mode, where none was inferred."""
        return EMOTIONS[int(np.argmax(self.probs))] if self.probs else ""


PRESENCE_STATES = ("camera_off", "face_not_visible")


@dataclass(frozen=True)
class PresenceAggregate:
    """A student there without a readable face in some frames of an interval: how many frames in each state."""

    student: str
    frames_camera_off: int
    frames_face_not_visible: int

    def __post_init__(self) -> None:
        if min(self.frames_camera_off, self.frames_face_not_visible) < 0 or not (
            self.frames_camera_off or self.frames_face_not_visible
        ):
            raise ValueError("a presence aggregate needs non-negative counts and at least one frame")

    @property
    def state(self) -> str:
        """The state of most of the student's non-visible frames (camera off on a tie: the stronger statement)."""
        return "camera_off" if self.frames_camera_off >= self.frames_face_not_visible else "face_not_visible"


@dataclass(frozen=True)
class StudentVisibility:
    """One student's frames of an interval by state, and the share of the analysed frames with the face visible."""

    student: str
    frames_visible: int
    frames_camera_off: int
    frames_face_not_visible: int
    frames_analysed: int
    state: str  # seen, camera_off or face_not_visible: see IntervalAggregate.visibility

    @property
    def visible_share(self) -> float:
        return self.frames_visible / self.frames_analysed if self.frames_analysed else 0.0


@dataclass(frozen=True)
class IntervalAggregate:
    start: dt.datetime
    end: dt.datetime
    frames_analysed: int
    frames_skipped: int
    students: tuple[StudentAggregate, ...]
    presence: tuple[PresenceAggregate, ...] = ()
    emotions: bool = True  # False in presence mode: no probabilities, and the class's emotion counts are unknown
    per_student: bool = True  # False: only the class-level counts may be stored

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end < self.start:
            raise ValueError("interval times must be aware and ordered")
        if not self.emotions and any(st.probs for st in self.students):
            raise ValueError("a presence-mode interval cannot carry emotion probabilities")

    @property
    def students_present(self) -> int:
        """Students there, with or without a visible face."""
        return len({st.student for st in self.students} | {p.student for p in self.presence})

    def visibility(self) -> list[StudentVisibility]:
        """Per student there: frames with the face visible, camera off and face not visible, in label order.

        In expressions mode only students with a non-visible frame are listed (the others have their emotion row);
        in presence mode every student there is. ``state`` is the state of most of the student's frames (``seen``
        first, then ``camera_off`` on a tie) in presence mode; in expressions mode, as before, that of most of the
        non-visible frames.
        """
        seen = {st.student: st.frames_seen for st in self.students}
        away = {p.student: p for p in self.presence}
        names = set(away) if self.emotions else set(seen) | set(away)
        out = []
        for name in sorted(names, key=natural_key):
            p = away.get(name)
            visible, off, hidden = seen.get(name, 0), p.frames_camera_off if p else 0, p.frames_face_not_visible if p else 0
            if self.emotions and p is not None:
                state = p.state
            else:
                counts = {"seen": visible, "camera_off": off, "face_not_visible": hidden}
                state = max(counts, key=lambda k: counts[k])  # max keeps the first of equal counts
            out.append(StudentVisibility(name, visible, off, hidden, self.frames_analysed, state))
        return out

    @property
    def students_seen(self) -> int:
        return len(self.students)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(EMOTIONS, 0)
        for s in self.students:
            if s.probs:
                out[s.dominant] += 1
        return out


@dataclass
class _Open:
    index: int
    analysed: int = 0
    skipped: int = 0
    last_t: float = 0.0
    sums: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    frames: dict[str, int] = field(default_factory=dict)
    presence: dict[str, list[int]] = field(default_factory=dict)  # student -> [camera off, face not visible]
    waiting: dict[int, tuple[npt.NDArray[np.float64], int]] = field(default_factory=dict)  # place -> (sum, frames)


class Aggregator:
    """Feed it frames' labelled predictions and skips in time order; it returns intervals as they close."""

    def __init__(
        self,
        started_at: dt.datetime,
        interval_s: float,
        frame_period_s: float,
        *,
        emotions: bool = True,
        per_student: bool = True,
    ) -> None:
        self.started_at = started_at
        self.emotions = emotions
        self.per_student = per_student
        self.interval_s = interval_s
        self.frame_period_s = frame_period_s
        self._open: _Open | None = None
        self.total_analysed = 0
        self.total_skipped = 0
        self.last_t = 0.0

    def _roll(self, t: float) -> list[IntervalAggregate]:
        k = max(0, math.floor(t / self.interval_s))
        closed: list[IntervalAggregate] = []
        if self._open is not None and self._open.index != k:
            closed.append(self._close(self._open, full=True))
            self._open = None
        if self._open is None:
            self._open = _Open(k)
        self._open.last_t = max(self._open.last_t, t)
        self.last_t = max(self.last_t, t)
        return closed

    def add_frame(
        self,
        t: float,
        labelled: list[tuple[str, npt.NDArray[np.float32]]],
        presence: Mapping[str, str] | None = None,
        waiting: Sequence[tuple[int, npt.NDArray[np.float32]]] = (),
        promoted: Mapping[int, str] | None = None,
    ) -> list[IntervalAggregate]:
        """One analysed frame at source time ``t`` with (student, probabilities) for each labelled face, and the
        state (``camera_off`` or ``face_not_visible``) of each student there without a face.

        Room layout: ``waiting`` are faces at places not numbered yet (place, probabilities), kept aside in the open
        interval; ``promoted`` names the places numbered as new seats (so far: a promotion is not lost with a frame
        whose analysis failed), whose kept readings then count for that seat. A place not numbered by the end of the
        interval was no student (or one that arrived at its very end): its readings are dropped, as unnumbered faces
        always were."""
        closed = self._roll(t)
        o = self._open
        assert o is not None
        o.analysed += 1
        self.total_analysed += 1
        if promoted:
            for place in [p for p in o.waiting if p in promoted]:
                total, frames = o.waiting.pop(place)
                self._count(promoted[place], total, frames)
        for student, probs in labelled:
            self._count(student, np.asarray(probs, np.float64), 1)
        for place, probs in waiting:
            total, frames = o.waiting.get(place, (np.zeros(len(probs)), 0))
            o.waiting[place] = (total + probs, frames + 1)
        for student, state in (presence or {}).items():
            if state not in PRESENCE_STATES:
                raise ValueError(f"unknown presence state {state!r}")
            self._open.presence.setdefault(student, [0, 0])[PRESENCE_STATES.index(state)] += 1
        return closed

    def _count(self, student: str, total: npt.NDArray[np.float64], frames: int) -> None:
        o = self._open
        assert o is not None
        if student not in o.sums:
            o.sums[student] = np.zeros(len(total))  # no columns in presence mode
            o.frames[student] = 0
        o.sums[student] += total
        o.frames[student] += frames

    def add_skipped(self, t: float) -> list[IntervalAggregate]:
        closed = self._roll(t)
        assert self._open is not None
        self._open.skipped += 1
        self.total_skipped += 1
        return closed

    def flush(self) -> IntervalAggregate | None:
        """Close the open interval at the last frame seen (shutdown, end of source); ``None`` if nothing is open."""
        if self._open is None:
            return None
        agg = self._close(self._open, full=False)
        self._open = None
        return agg

    def _close(self, o: _Open, full: bool) -> IntervalAggregate:
        start_s = o.index * self.interval_s
        end_s = start_s + self.interval_s if full else min(start_s + self.interval_s, o.last_t + self.frame_period_s)
        students = tuple(
            StudentAggregate(name, o.frames[name], tuple(float(v) for v in o.sums[name] / o.frames[name]))
            for name in sorted(o.sums, key=natural_key)
        )
        return IntervalAggregate(
            start=self.started_at + dt.timedelta(seconds=start_s),
            end=self.started_at + dt.timedelta(seconds=end_s),
            frames_analysed=o.analysed,
            frames_skipped=o.skipped,
            students=students,
            presence=tuple(
                PresenceAggregate(name, *o.presence[name]) for name in sorted(o.presence, key=natural_key)
            ),
            emotions=self.emotions,
            per_student=self.per_student,
        )
