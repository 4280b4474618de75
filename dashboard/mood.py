"""The class mood in three groups a teacher reads at a glance: positive, neutral and negative shares, and its trend.

Positive is ``happy``; negative the four of ``db.emotions.NEGATIVE`` (angry, disgust, fear, sad); neutral the rest
(``neutral`` and ``surprise``, which on its own says nothing about how a class feels). The mood score is the
positive share minus the negative share, from -1 to 1, as the ``class_mood_drop`` rule uses it. Pure functions on
``db.queries`` DataFrames, unit-tested without a browser or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from db.emotions import EMOTIONS, NEGATIVE

MOOD_GROUPS: dict[str, tuple[str, ...]] = {
    "positive": ("happy",),
    "neutral": tuple(e for e in EMOTIONS if e != "happy" and e not in NEGATIVE),
    "negative": tuple(e for e in EMOTIONS if e in NEGATIVE),
}
STEADY_POINTS = 5.0  # a change of the mood score under 5 percentage points is shown as steady
TREND_ARROWS = {"up": "↑", "down": "↓", "steady": "→"}


@dataclass(frozen=True)
class MoodShares:
    """Shares of positive, neutral and negative among the student-intervals counted (0 when none was)."""

    positive: float
    neutral: float
    negative: float
    students: int  # student-intervals the shares rest on

    @property
    def score(self) -> float:
        return self.positive - self.negative

    @classmethod
    def from_counts(cls, counts: Mapping[str, float]) -> MoodShares:
        """From per-emotion counts (a timeline row, or its sum over rows)."""
        total = float(sum(counts.get(e, 0) for e in EMOTIONS))
        if total <= 0:
            return cls(0.0, 0.0, 0.0, 0)
        group = {g: sum(float(counts.get(e, 0)) for e in members) / total for g, members in MOOD_GROUPS.items()}
        return cls(group["positive"], group["neutral"], group["negative"], int(total))


@dataclass(frozen=True)
class ClassMood:
    """The live indicator: the mood now (the latest interval) against the ``window_min`` minutes before it."""

    now: MoodShares
    before: MoodShares | None  # None at the start of a class, with nothing before the latest interval
    window_min: float

    @property
    def delta_points(self) -> float | None:
        """Change of the mood score in percentage points (-200..200), None with nothing to compare with."""
        if self.before is None or self.before.students == 0:
            return None
        return (self.now.score - self.before.score) * 100

    @property
    def trend(self) -> str:
        """``up``, ``down`` or ``steady`` (also when there is nothing to compare with)."""
        delta = self.delta_points
        if delta is None or abs(delta) < STEADY_POINTS:
            return "steady"
        return "up" if delta > 0 else "down"


def class_mood(timeline: pd.DataFrame, *, window_min: float = 5.0) -> ClassMood | None:
    """The mood of ``timeline``'s last interval (``db.queries.class_timeline``) against the intervals that started
    in the ``window_min`` minutes before it; None for an empty timeline."""
    if timeline.empty:
        return None
    last = timeline.iloc[-1]
    now = MoodShares.from_counts({e: last[e] for e in EMOTIONS})
    start = timeline["interval_start"]
    earlier = timeline[
        (start < last["interval_start"]) & (start >= last["interval_start"] - pd.Timedelta(minutes=window_min))
    ]
    before = MoodShares.from_counts(earlier[list(EMOTIONS)].sum().to_dict()) if not earlier.empty else None
    return ClassMood(now, before, window_min)


def mood_series(timeline: pd.DataFrame, measure: str) -> list[float]:
    """Per interval: the mood ``score``, a group's share (``positive``, ``neutral``, ``negative``) or one emotion's
    share, among the students seen; 0 where nobody was seen."""
    counts = timeline[list(EMOTIONS)].astype(float)
    total = counts.sum(axis=1)
    if measure == "score":
        members_plus, members_minus = MOOD_GROUPS["positive"], MOOD_GROUPS["negative"]
        values = counts[list(members_plus)].sum(axis=1) - counts[list(members_minus)].sum(axis=1)
    elif measure in MOOD_GROUPS:
        values = counts[list(MOOD_GROUPS[measure])].sum(axis=1)
    elif measure in EMOTIONS:
        values = counts[measure]
    else:
        raise ValueError(f"unknown measure {measure!r}")
    return (values / total.where(total > 0)).fillna(0.0).astype(float).tolist()
