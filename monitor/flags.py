"""Attention flags: a pure, deterministic rules engine over closed intervals.

The worker (live) and ``monitor.reflag`` (afterwards, from the stored intervals) feed the same
:class:`~monitor.aggregate.IntervalAggregate` sequence through :class:`FlagEngine` and get the same
:class:`FlagEvent` list: the engine reads nothing but the intervals and its :class:`~db.settings.FlagSettings`, keeps
no clock and iterates students in a fixed (natural label) order.

Rules, each judged after every interval and skipped when its settings say ``enabled = False``:

* ``sustained_negative`` (per student): the expected share of negative expression over the time the student was
  seen in the last ``window_min`` minutes: each interval's calibrated probability of angry, disgust, fear or sad
  (summed), weighted by the interval's length. A face read as 40% angry and 35% neutral counts as 0.4 of its time,
  not as a whole angry interval, so an uncertain model does not turn a calm face into a flag.
* ``baseline_shift`` (per student): Jensen-Shannon distance (base 2, 0..1) between the student's mean probabilities
  (weighted by frames) over their first ``baseline_min`` minutes of presence (interval time in which they were seen)
  and over the last ``recent_min`` minutes. Judged only once that baseline is complete.
* ``not_visible`` (per student, severity ``info``): a known student (one seen for at least ``min_frames`` frames)
  absent from every analysed frame for ``minutes`` or more. Only intervals with analysed frames count as absence: an
  interval in which nothing was analysed says nothing about who was there.
* ``class_negative`` (class-wide): of all student-intervals in the last ``window_min`` minutes, the share whose
  dominant emotion is fear, surprise or sad (the issue's "negative or confused expressions").
* ``class_mood_drop`` (class-wide): mood per interval = share of students happy minus share negative (-1..1); flagged
  when the mean over the last ``window_min`` minutes is ``drop`` or more below the mean over the session's first
  ``baseline_min`` minutes (judged once those have passed).

Windows are on session time: the last W minutes are the intervals that *start* at most W minutes before the current
interval's end. A student who leaves and comes back simply contributes no data for the gap. Thresholds compare with
``>=`` (with a 1e-9 tolerance, so that 0.35 computed is 0.35 configured).

Judgement and hysteresis, the same for every rule:

* No judgement (the condition neither raises nor clears) when the window rests on fewer than ``min_frames`` analysed
  frames (a student's ``frames_seen``, or the class's ``frames_analysed``), or when a baseline is not complete yet.
* A per-student window (``sustained_negative``, ``baseline_shift``'s recent window) is judged only once the student
  was seen for ``min_seen_share`` of it and for ``min_seen_min`` minutes (the whole window if that is shorter): one
  minute seen is not "the last 10 minutes", and a class is not judged in its first minutes.
* A condition must hold for ``min_duration_min`` minutes of interval time (summed durations of consecutive judged
  intervals in which it held) before the flag opens; its ``start`` is the start of the first of those intervals.
* An open flag closes once the condition has been false for ``cooldown_min`` minutes of interval time; its ``end`` is
  the start of the first interval in which the condition no longer held. Holding again in between resets the count,
  so alternating good and bad intervals keep one flag open instead of opening and closing it over and over.
  (``not_visible`` too: its flag opens once the absence has reached ``minutes`` *and* then held ``min_duration_min``.)
* While open and holding, an ``update`` is emitted only when the severity changes or the rule's headline value has
  moved by at least :data:`UPDATE_STEP` since the last event (for ``not_visible``: every further ``minutes`` of
  absence), never for an identical or nearly identical reading.
* Severity is ``warning``, or ``alert`` when the value exceeds the threshold and reaches
  ``min(ALERT_FACTOR * threshold, maximum)``: half as much again as the threshold, or the largest value the measure
  can take when that is lower (1 for shares and distances, 2 for a mood drop). ``not_visible`` is always ``info``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from db.emotions import EMOTIONS, NEGATIVE
from db.labels import natural_key
from db.settings import FlagSettings
from monitor.aggregate import IntervalAggregate, StudentAggregate

RULES: Final[tuple[str, ...]] = (
    "sustained_negative",
    "baseline_shift",
    "not_visible",
    "class_negative",
    "class_mood_drop",
)
STUDENT_RULES: Final[tuple[str, ...]] = ("sustained_negative", "baseline_shift", "not_visible")
CLASS_RULES: Final[tuple[str, ...]] = ("class_negative", "class_mood_drop")

# The "negative or confused expressions" for the class-wide rule: surprise is how confusion shows on a face,
# and angry/disgust are rare in class and already covered per student by sustained_negative.
CONFUSED: Final[frozenset[str]] = frozenset({"fear", "surprise", "sad"})
POSITIVE: Final[frozenset[str]] = frozenset({"happy"})

ALERT_FACTOR: Final = 1.5
UPDATE_STEP: Final = 0.1
EPS: Final = 1e-9
_TIME_EPS_S: Final = 1e-6  # interval boundaries are exact datetimes, but windows come from float minutes

Severity = Literal["info", "warning", "alert"]
Evidence = dict[str, float | int | str]

ADJECTIVE: Final[dict[str, str]] = {
    "angry": "angry",
    "disgust": "disgusted",
    "fear": "afraid",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprised",
    "neutral": "neutral",
}


@dataclass(frozen=True)
class FlagEvent:
    """A change to one flag: it opened, its severity or evidence changed materially, or it closed."""

    kind: Literal["open", "update", "close"]
    rule: str
    student: str | None  # None for class-wide rules
    start: dt.datetime  # the start of the first interval in which the condition held
    end: dt.datetime | None  # set on "close"
    severity: str
    reason: str
    evidence: Evidence
    frames: int  # analysed frames the judgement rests on

    @property
    def key(self) -> tuple[str, str | None, dt.datetime]:
        """Identifies the flag across its open, update and close events."""
        return self.rule, self.student, self.start


@dataclass(frozen=True)
class Judgement:
    """One rule's reading after one interval: does the condition hold, how strongly, and on what evidence."""

    holds: bool
    value: float  # the headline number (share, distance, drop, minutes absent) that updates are measured on
    severity: Severity
    reason: str
    evidence: Evidence
    frames: int

    @classmethod
    def against(
        cls, value: float, threshold: float, cap: float, reason: str, evidence: Evidence, frames: int
    ) -> Judgement:
        """A threshold rule's reading: holds at ``value >= threshold`` (within float error), severity from how far
        past it ``value`` is (``severity_for``, ``cap`` the largest value the measure can take)."""
        return cls(value >= threshold - EPS, value, severity_for(value, threshold, cap), reason, evidence, frames)


@dataclass
class _Track:
    """Hysteresis state of one (rule, student) pair."""

    run_start: dt.datetime | None = None  # first interval of the current holding run, before the flag opens
    run_s: float = 0.0
    open_start: dt.datetime | None = None  # the open flag's start; None while no flag is open
    clear_start: dt.datetime | None = None  # when the condition stopped holding, while the open flag cools down
    clear_s: float = 0.0
    last: Judgement | None = None  # the content of the last emitted event
    step: float = UPDATE_STEP


@dataclass
class _StudentHistory:
    """What the per-student rules need beyond the recent window: baseline sums and the current absence."""

    total_frames: int = 0
    baseline_sum: list[float] = field(default_factory=lambda: [0.0] * len(EMOTIONS))
    baseline_frames: int = 0
    baseline_s: float = 0.0  # interval time seen so far that went into the baseline
    last_seen: dt.datetime | None = None  # end of the last interval the student was seen in
    absent_s: float = 0.0
    absent_frames: int = 0


class FlagEngine:
    """Feed it every closed interval of one session in time order; it returns the flag events each one causes."""

    def __init__(self, settings: FlagSettings) -> None:
        self.settings = settings
        self._window: deque[IntervalAggregate] = deque()
        self._horizon_s = 60.0 * max(
            settings.sustained_negative.window_min,
            settings.baseline_shift.recent_min,
            settings.class_negative.window_min,
            settings.class_mood_drop.window_min,
        )
        self._origin: dt.datetime | None = None
        self._students: dict[str, _StudentHistory] = {}
        self._mood_baseline: list[float] = []  # mood scores of the session's first baseline_min minutes
        self._mood_baseline_frames = 0
        self._tracks: dict[tuple[str, str | None], _Track] = {}
        self._last_end: dt.datetime | None = None

    # -- public API ------------------------------------------------------------------------------------------------
    def observe(self, interval: IntervalAggregate) -> list[FlagEvent]:
        """Judge every enabled rule after ``interval`` and return the opens, updates and closes, in rule then
        student order."""
        if self._last_end is not None and interval.start < self._last_end - dt.timedelta(seconds=_TIME_EPS_S):
            raise ValueError(f"interval at {interval.start.isoformat()} is older than the previous one")
        self._last_end = interval.end
        self._remember(interval)
        events: list[FlagEvent] = []
        for rule, student, judgement in self._judge(interval):
            event = self._step(rule, student, interval, judgement)
            if event is not None:
                events.append(event)
        return events

    def finish(self, at: dt.datetime) -> list[FlagEvent]:
        """The session ended at ``at``: close every open flag. A flag already cooling down (its condition had
        stopped) ends when the condition stopped, as it would have without the session ending; any other ends at
        ``at`` (never before its start)."""
        events: list[FlagEvent] = []
        for (rule, student), track in self._sorted_tracks():
            if track.open_start is not None and track.last is not None:
                end = track.clear_start if track.clear_start is not None else at
                events.append(_event("close", rule, student, track.open_start, track.last, max(end, track.open_start)))
            self._tracks[(rule, student)] = _Track(step=track.step)
        return events

    # -- state -----------------------------------------------------------------------------------------------------
    def _remember(self, interval: IntervalAggregate) -> None:
        if self._origin is None:
            self._origin = interval.start
        self._window.append(interval)
        horizon = interval.end - dt.timedelta(seconds=self._horizon_s + _TIME_EPS_S)
        while self._window and self._window[0].start < horizon:
            self._window.popleft()

        baseline_end = self._origin + _minutes(self.settings.class_mood_drop.baseline_min)
        mood = _mood(interval.students)
        if interval.start < baseline_end and mood is not None:
            self._mood_baseline.append(mood)
            self._mood_baseline_frames += interval.frames_analysed

        seen = {st.student: st for st in interval.students}
        duration = _seconds(interval)
        for name, st in seen.items():
            history = self._students.get(name)
            if history is None:
                history = self._students[name] = _StudentHistory()
            history.total_frames += st.frames_seen
            if history.baseline_s < 60 * self.settings.baseline_shift.baseline_min - _TIME_EPS_S:
                for i, p in enumerate(st.probs):
                    history.baseline_sum[i] += p * st.frames_seen
                history.baseline_frames += st.frames_seen
                history.baseline_s += duration
            history.last_seen = interval.end
            history.absent_s = 0.0
            history.absent_frames = 0
        for name, history in self._students.items():
            # Absence counts only where frames were analysed: an interval with none says nothing about who was there.
            if name not in seen and interval.frames_analysed > 0:
                history.absent_s += duration
                history.absent_frames += interval.frames_analysed

    def _judge(self, interval: IntervalAggregate) -> Iterable[tuple[str, str | None, Judgement | None]]:
        cfg = self.settings
        students = sorted(self._students, key=natural_key)
        if cfg.sustained_negative.enabled:
            for name in students:
                yield "sustained_negative", name, self._sustained_negative(name, interval)
        if cfg.baseline_shift.enabled:
            for name in students:
                yield "baseline_shift", name, self._baseline_shift(name, interval)
        if cfg.not_visible.enabled:
            for name in students:
                yield "not_visible", name, self._not_visible(name, interval)
        if cfg.class_negative.enabled:
            yield "class_negative", None, self._class_negative(interval)
        if cfg.class_mood_drop.enabled:
            yield "class_mood_drop", None, self._class_mood_drop(interval)

    def _recent(self, interval: IntervalAggregate, window_min: float) -> list[IntervalAggregate]:
        """The intervals starting no earlier than ``window_min`` minutes before ``interval`` ends."""
        since = interval.end - _minutes(window_min) - dt.timedelta(seconds=_TIME_EPS_S)
        return [iv for iv in self._window if iv.start >= since]

    def _student_rows(self, name: str, intervals: Sequence[IntervalAggregate]) -> list[tuple[float, StudentAggregate]]:
        """(interval seconds, the student's aggregate) for each interval in which the student was seen."""
        rows = []
        for iv in intervals:
            for st in iv.students:
                if st.student == name:
                    rows.append((_seconds(iv), st))
                    break
        return rows

    # -- rules -----------------------------------------------------------------------------------------------------
    def _seen_enough(self, rows: Sequence[tuple[float, StudentAggregate]], window_min: float) -> bool:
        """Whether the student was seen long enough in a window of ``window_min`` minutes to be judged on it."""
        seen_min = sum(s for s, _ in rows) / 60
        need = max(self.settings.min_seen_share * window_min, min(self.settings.min_seen_min, window_min))
        return seen_min >= need - 1e-6

    def _sustained_negative(self, name: str, interval: IntervalAggregate) -> Judgement | None:
        cfg = self.settings.sustained_negative
        rows = self._student_rows(name, self._recent(interval, cfg.window_min))
        frames = sum(st.frames_seen for _, st in rows)
        if not rows or frames < self.settings.min_frames or not self._seen_enough(rows, cfg.window_min):
            return None
        negative = [EMOTIONS.index(e) for e in sorted(NEGATIVE, key=EMOTIONS.index)]
        mass = {EMOTIONS[i]: sum(s * st.probs[i] for s, st in rows) / 60 for i in negative}  # minutes per emotion
        negative_min = sum(mass.values())
        seen_min = sum(s for s, _ in rows) / 60
        share = negative_min / seen_min
        # Named: the negative emotions carrying at least a fifth of the negative expression, not every trace of one.
        emotions = sorted(
            (e for e in mass if mass[e] > 0 and mass[e] >= 0.2 * negative_min), key=lambda e: (-mass[e], EMOTIONS.index(e))
        )
        feeling = " or ".join(ADJECTIVE[e] for e in emotions[:2]) or "angry, sad, afraid or disgusted"
        if seen_min >= cfg.window_min - 1e-6:
            span = f"for {_fmt_min(negative_min)} of the last {_fmt_min(cfg.window_min, unit=True)}"
        else:
            span = (
                f"for {_fmt_min(negative_min)} of the {_fmt_min(seen_min, unit=True)} seen "
                f"in the last {_fmt_min(cfg.window_min, unit=True)}"
            )
        evidence: Evidence = {
            "share": round(share, 4),
            "threshold": cfg.threshold,
            "negative_intervals": sum(st.dominant in NEGATIVE for _, st in rows),
            "seen_intervals": len(rows),
            "negative_min": round(negative_min, 4),
            "seen_min": round(seen_min, 4),
            "window_min": cfg.window_min,
            "emotions": ", ".join(emotions),
        }
        return Judgement.against(share, cfg.threshold, 1.0, f"{name}: {feeling} {span}", evidence, frames)

    def _baseline_shift(self, name: str, interval: IntervalAggregate) -> Judgement | None:
        cfg = self.settings.baseline_shift
        history = self._students[name]
        if history.baseline_s < 60 * cfg.baseline_min - _TIME_EPS_S:
            return None  # the student's baseline (their first baseline_min minutes seen) is not complete yet
        rows = self._student_rows(name, self._recent(interval, cfg.recent_min))
        recent_frames = sum(st.frames_seen for _, st in rows)
        if min(recent_frames, history.baseline_frames) < self.settings.min_frames:
            return None
        if not self._seen_enough(rows, cfg.recent_min):
            return None
        baseline = [v / history.baseline_frames for v in history.baseline_sum]
        recent = [sum(st.probs[i] * st.frames_seen for _, st in rows) / recent_frames for i in range(len(EMOTIONS))]
        distance = js_distance(baseline, recent)
        change = [r - b for r, b in zip(recent, baseline, strict=True)]
        rising = EMOTIONS[max(range(len(EMOTIONS)), key=lambda i: change[i])]
        falling = EMOTIONS[min(range(len(EMOTIONS)), key=lambda i: change[i])]
        evidence: Evidence = {
            "distance": round(distance, 4),
            "threshold": cfg.threshold,
            "baseline_min": cfg.baseline_min,
            "recent_min": cfg.recent_min,
            "baseline_frames": history.baseline_frames,
            "recent_frames": recent_frames,
            "rising": rising,
            "falling": falling,
            **{f"baseline_{e}": round(p, 4) for e, p in zip(EMOTIONS, baseline, strict=True)},
            **{f"recent_{e}": round(p, 4) for e, p in zip(EMOTIONS, recent, strict=True)},
        }
        reason = (
            f"{name}: more {ADJECTIVE[rising]} and less {ADJECTIVE[falling]} in the last "
            f"{_fmt_min(cfg.recent_min, unit=True)} than in their first {_fmt_min(cfg.baseline_min, unit=True)} "
            f"(change {distance:.2f} on a 0-1 scale)"
        )
        return Judgement.against(
            distance, cfg.threshold, 1.0, reason, evidence, recent_frames + history.baseline_frames
        )

    def _not_visible(self, name: str, interval: IntervalAggregate) -> Judgement | None:
        cfg = self.settings.not_visible
        history = self._students[name]
        if history.total_frames < self.settings.min_frames:
            return None  # a label seen in a handful of frames (a passer-by, a misdetection) is not a known student
        present = next((st for st in interval.students if st.student == name), None)
        absent_min = history.absent_s / 60
        evidence: Evidence = {
            "absent_min": round(absent_min, 4),
            "minutes": cfg.minutes,
            "last_seen": _iso(history.last_seen) if history.last_seen else "",
            "frames_analysed": history.absent_frames,
        }
        # In a gallery the tile says why: the camera is off, or the student is there but out of the picture.
        there = next((p for p in interval.presence if p.student == name), None)
        if there is not None:
            evidence["state"] = there.state
        why = "camera off" if there is not None and there.state == "camera_off" else "not visible"
        reason = f"{name}: {why} for {_fmt_min(absent_min, unit=True)}"
        if present is not None:
            return Judgement(False, 0.0, "info", reason, evidence, present.frames_seen)
        if interval.frames_analysed == 0 or history.absent_frames < self.settings.min_frames:
            return None
        # Updates come every further ``minutes`` of absence, not every interval: the value counts whole periods.
        periods = math.floor(absent_min / cfg.minutes + EPS)
        return Judgement(
            absent_min >= cfg.minutes - EPS, float(periods), "info", reason, evidence, history.absent_frames
        )

    def _class_negative(self, interval: IntervalAggregate) -> Judgement | None:
        cfg = self.settings.class_negative
        recent = self._recent(interval, cfg.window_min)
        frames = sum(iv.frames_analysed for iv in recent)
        dominants = [st.dominant for iv in recent for st in iv.students]
        if not dominants or frames < self.settings.min_frames:
            return None
        confused = [d for d in dominants if d in CONFUSED]
        share = len(confused) / len(dominants)
        emotions = _most_frequent(confused) or sorted(CONFUSED, key=EMOTIONS.index)
        named = ", ".join(ADJECTIVE[e] for e in emotions[:-1])
        feeling = f"{named} or {ADJECTIVE[emotions[-1]]}" if named else ADJECTIVE[emotions[-1]]
        evidence: Evidence = {
            "share": round(share, 4),
            "threshold": cfg.threshold,
            "flagged_student_intervals": len(confused),
            "student_intervals": len(dominants),
            "window_min": cfg.window_min,
            **{e: sum(d == e for d in confused) for e in sorted(CONFUSED, key=EMOTIONS.index)},
        }
        reason = (
            f"Class: {_percent(share)} of students looked {feeling} in the last {_fmt_min(cfg.window_min, unit=True)}"
        )
        return Judgement.against(share, cfg.threshold, 1.0, reason, evidence, frames)

    def _class_mood_drop(self, interval: IntervalAggregate) -> Judgement | None:
        cfg = self.settings.class_mood_drop
        assert self._origin is not None
        if interval.end < self._origin + _minutes(cfg.baseline_min) or not self._mood_baseline:
            return None
        scored = [
            (m, iv.frames_analysed)
            for iv in self._recent(interval, cfg.window_min)
            if (m := _mood(iv.students)) is not None
        ]
        frames = sum(f for _, f in scored)
        if not scored or min(frames, self._mood_baseline_frames) < self.settings.min_frames:
            return None
        baseline = sum(self._mood_baseline) / len(self._mood_baseline)
        recent = sum(m for m, _ in scored) / len(scored)
        drop = baseline - recent
        evidence: Evidence = {
            "drop": round(drop, 4),
            "threshold": cfg.drop,
            "baseline_mood": round(baseline, 4),
            "recent_mood": round(recent, 4),
            "baseline_min": cfg.baseline_min,
            "window_min": cfg.window_min,
            "baseline_frames": self._mood_baseline_frames,
            "recent_frames": frames,
        }
        reason = (
            f"Class: mood down from {baseline:+.2f} in the first {_fmt_min(cfg.baseline_min, unit=True)} to "
            f"{recent:+.2f} in the last {_fmt_min(cfg.window_min, unit=True)} (+1 all happy, -1 all negative)"
        )
        return Judgement.against(drop, cfg.drop, 2.0, reason, evidence, frames + self._mood_baseline_frames)

    # -- hysteresis ------------------------------------------------------------------------------------------------
    def _step(
        self, rule: str, student: str | None, interval: IntervalAggregate, judgement: Judgement | None
    ) -> FlagEvent | None:
        track = self._tracks.setdefault((rule, student), _Track(step=1.0 if rule == "not_visible" else UPDATE_STEP))
        if judgement is None:
            return None  # too little data: the condition neither continues, breaks, raises nor clears
        duration = _seconds(interval)
        min_duration_s = 60 * self.settings.min_duration_min - _TIME_EPS_S
        cooldown_s = 60 * self.settings.cooldown_min - _TIME_EPS_S
        if track.open_start is None:
            if not judgement.holds:
                track.run_start, track.run_s = None, 0.0
                return None
            if track.run_start is None:
                track.run_start, track.run_s = interval.start, 0.0
            track.run_s += duration
            if track.run_s < min_duration_s:
                return None
            track.open_start, track.run_start, track.run_s = track.run_start, None, 0.0
            track.last = judgement
            return _event("open", rule, student, track.open_start, judgement)
        if judgement.holds:
            track.clear_start, track.clear_s = None, 0.0
            last = track.last
            assert last is not None
            if judgement.severity == last.severity and abs(judgement.value - last.value) < track.step - EPS:
                return None
            track.last = judgement
            return _event("update", rule, student, track.open_start, judgement)
        if track.clear_start is None:
            track.clear_start, track.clear_s = interval.start, 0.0
        track.clear_s += duration
        if track.clear_s < cooldown_s:
            return None
        assert track.last is not None
        event = _event("close", rule, student, track.open_start, track.last, track.clear_start)
        self._tracks[(rule, student)] = _Track(step=track.step)
        return event

    def _sorted_tracks(self) -> list[tuple[tuple[str, str | None], _Track]]:
        return sorted(
            self._tracks.items(),
            key=lambda kv: (RULES.index(kv[0][0]), kv[0][1] is not None, natural_key(kv[0][1] or "")),
        )


# --- pure helpers -------------------------------------------------------------------------------------------------------


def js_distance(p: Sequence[float], q: Sequence[float]) -> float:
    """Jensen-Shannon distance with base-2 logarithms: 0 for identical distributions, 1 for disjoint ones.

    Both inputs are normalised first (stored means can sum to 0.9999); the result is clamped to [0, 1] against
    rounding.
    """
    if len(p) != len(q) or not p:
        raise ValueError("distributions must be non-empty and of equal length")
    sp, sq = sum(p), sum(q)
    if sp <= 0 or sq <= 0 or any(v < 0 for v in (*p, *q)):
        raise ValueError("distributions must be non-negative with a positive sum")
    pn = [v / sp for v in p]
    qn = [v / sq for v in q]
    m = [(a + b) / 2 for a, b in zip(pn, qn, strict=True)]
    divergence = 0.5 * _kl2(pn, m) + 0.5 * _kl2(qn, m)
    return math.sqrt(min(1.0, max(0.0, divergence)))


def _kl2(p: Sequence[float], m: Sequence[float]) -> float:
    return sum(a * math.log2(a / b) for a, b in zip(p, m, strict=True) if a > 0)


def severity_for(value: float, threshold: float, maximum: float) -> Severity:
    """``alert`` when ``value`` exceeds ``threshold`` and reaches ``min(ALERT_FACTOR * threshold, maximum)``, else
    ``warning`` (only asked for a condition that holds; ``not_visible`` is ``info`` without asking)."""
    alert_at = min(ALERT_FACTOR * threshold, maximum)
    return "alert" if value > threshold + EPS and value >= alert_at - EPS else "warning"


def _mood(students: Sequence[StudentAggregate]) -> float | None:
    """Share of students happy minus share negative, -1..1; None with nobody seen."""
    if not students:
        return None
    positive = sum(st.dominant in POSITIVE for st in students)
    negative = sum(st.dominant in NEGATIVE for st in students)
    return (positive - negative) / len(students)


def _most_frequent(emotions: Iterable[str]) -> list[str]:
    """Distinct emotions, most frequent first, ties in EMOTIONS order."""
    counts = Counter(emotions)
    return sorted(counts, key=lambda e: (-counts[e], EMOTIONS.index(e)))


def _event(
    kind: Literal["open", "update", "close"],
    rule: str,
    student: str | None,
    start: dt.datetime,
    judgement: Judgement,
    end: dt.datetime | None = None,
) -> FlagEvent:
    return FlagEvent(
        kind=kind,
        rule=rule,
        student=student,
        start=start,
        end=end,
        severity=judgement.severity,
        reason=judgement.reason,
        evidence=dict(judgement.evidence),
        frames=judgement.frames,
    )


def _seconds(interval: IntervalAggregate) -> float:
    return (interval.end - interval.start).total_seconds()


def _minutes(value: float) -> dt.timedelta:
    return dt.timedelta(minutes=value)


def _fmt_min(value: float, unit: bool = False) -> str:
    """``7``, ``2.5``; with ``unit``, ``1 minute`` / ``7 minutes``."""
    rounded = round(value, 1)
    text = f"{rounded:.0f}" if rounded == int(rounded) else f"{rounded:.1f}"
    if not unit:
        return text
    return f"{text} minute" if text == "1" else f"{text} minutes"


def _percent(share: float) -> str:
    return f"{round(100 * share)}%"


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
