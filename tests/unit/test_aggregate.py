"""Interval aggregation: alignment to the session clock, means, dominant counts, skipped frames, flush."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from db.emotions import EMOTIONS
from monitor.aggregate import Aggregator, IntervalAggregate, StudentAggregate

pytestmark = pytest.mark.unit
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)


def onehot(name: str, p: float = 1.0) -> np.ndarray:
    v = np.full(len(EMOTIONS), (1 - p) / (len(EMOTIONS) - 1), np.float32)
    v[EMOTIONS.index(name)] = p
    return v


def test_intervals_close_on_the_source_clock() -> None:
    agg = Aggregator(T0, interval_s=10, frame_period_s=0.5)
    closed = []
    for i in range(50):  # 25 s of frames at 2 fps
        closed += agg.add_frame(i * 0.5, [("Seat 1", onehot("happy"))])
    assert [c.start - T0 for c in closed] == [dt.timedelta(0), dt.timedelta(seconds=10)]
    assert all(c.end - c.start == dt.timedelta(seconds=10) and c.frames_analysed == 20 for c in closed)
    last = agg.flush()
    assert last is not None and last.start == T0 + dt.timedelta(seconds=20)
    assert last.end == T0 + dt.timedelta(seconds=25)  # last frame at 24.5 s plus one frame period
    assert last.frames_analysed == 10
    assert agg.flush() is None


def test_student_means_dominant_and_class_counts() -> None:
    agg = Aggregator(T0, 10, 0.5)
    agg.add_frame(0.0, [("Seat 1", onehot("happy", 0.6)), ("Seat 2", onehot("sad", 0.9))])
    agg.add_frame(0.5, [("Seat 1", onehot("neutral", 0.5)), ("Seat 2", onehot("sad", 0.7))])
    agg.add_frame(1.0, [("Seat 1", onehot("happy", 0.8))])
    out = agg.flush()
    assert out is not None
    s1, s2 = out.students
    assert (s1.student, s1.frames_seen, s1.dominant) == ("Seat 1", 3, "happy")
    assert s1.probs[EMOTIONS.index("happy")] == pytest.approx((0.6 + 0.5 / 6 + 0.8) / 3, abs=1e-6)
    assert (s2.frames_seen, s2.dominant) == (2, "sad")
    assert out.students_seen == 2
    assert out.counts() == {**dict.fromkeys(EMOTIONS, 0), "happy": 1, "sad": 1}


def test_skipped_frames_are_counted_in_their_interval() -> None:
    agg = Aggregator(T0, 10, 0.5)
    agg.add_skipped(1.0)
    agg.add_frame(2.0, [])
    closed = agg.add_skipped(12.0)
    assert len(closed) == 1 and closed[0].frames_skipped == 1 and closed[0].frames_analysed == 1
    assert closed[0].students_seen == 0
    last = agg.flush()
    assert last is not None and (last.frames_skipped, last.frames_analysed) == (1, 0)
    assert (agg.total_analysed, agg.total_skipped) == (1, 2)


def test_a_gap_with_no_frames_stores_no_empty_intervals() -> None:
    """A source offline for a minute leaves a gap, not six intervals of zeros that would read as an empty class."""
    agg = Aggregator(T0, 10, 0.5)
    agg.add_frame(1.0, [("Seat 1", onehot("happy"))])
    closed = agg.add_frame(65.0, [("Seat 1", onehot("happy"))])
    assert [c.start - T0 for c in closed] == [dt.timedelta(0)]


def test_students_sorted_naturally() -> None:
    agg = Aggregator(T0, 10, 0.5)
    agg.add_frame(0, [(f"Seat {i}", onehot("neutral")) for i in (10, 2, 1)])
    out = agg.flush()
    assert out is not None and [s.student for s in out.students] == ["Seat 1", "Seat 2", "Seat 10"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"student": "x", "frames_seen": 0, "probs": (1 / 7,) * 7}, ValueError),
        ({"student": "x", "frames_seen": 1, "probs": (0.5, 0.5)}, ValueError),
    ],
)
def test_student_aggregate_rejects_bad_values(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        StudentAggregate(**kwargs)


def test_interval_rejects_naive_or_reversed_times() -> None:
    with pytest.raises(ValueError):
        IntervalAggregate(T0.replace(tzinfo=None), T0.replace(tzinfo=None), 0, 0, ())
    with pytest.raises(ValueError):
        IntervalAggregate(T0, T0 - dt.timedelta(seconds=1), 0, 0, ())


def test_readings_at_a_place_numbered_later_in_the_interval_count_for_its_seat() -> None:
    agg = Aggregator(T0, 10, 0.5)
    agg.add_frame(0.0, [("Seat 1", onehot("happy"))], waiting=[(7, onehot("sad")), (8, onehot("angry"))])
    agg.add_frame(0.5, [("Seat 1", onehot("happy"))], waiting=[(7, onehot("sad")), (8, onehot("angry"))])
    agg.add_frame(1.0, [("Seat 1", onehot("happy")), ("Seat 2", onehot("neutral"))], promoted={7: "Seat 2"})
    last = agg.flush()
    assert last is not None
    by = {s.student: s for s in last.students}
    assert sorted(by) == ["Seat 1", "Seat 2"]  # place 8 was never numbered: no student
    assert by["Seat 2"].frames_seen == 3
    assert by["Seat 2"].probs[EMOTIONS.index("sad")] == pytest.approx(2 / 3)
    assert by["Seat 1"].frames_seen == 3


def test_a_promotion_reported_after_a_failed_frame_still_credits_the_waiting_readings() -> None:
    """The seat assigner reports every promotion so far on every frame: the frame in which the place was numbered
    may have failed later in its analysis (only a skip reached the aggregator)."""
    agg = Aggregator(T0, 10, 0.5)
    agg.add_frame(0.0, [], waiting=[(4, onehot("sad"))])
    agg.add_frame(0.5, [], waiting=[(4, onehot("sad"))])
    agg.add_skipped(1.0)  # numbered here, then the frame failed
    agg.add_frame(1.5, [("Seat 1", onehot("sad"))], promoted={4: "Seat 1"})
    agg.add_frame(2.0, [("Seat 1", onehot("sad"))], promoted={4: "Seat 1"})  # reported again: nothing twice
    last = agg.flush()
    assert last is not None and [(s.student, s.frames_seen) for s in last.students] == [("Seat 1", 4)]
    assert last.frames_analysed == 4 and last.frames_skipped == 1


def test_readings_waiting_when_the_interval_closes_are_dropped() -> None:
    agg = Aggregator(T0, 10, 0.5)
    closed = agg.add_frame(9.5, [], waiting=[(3, onehot("sad"))])
    closed += agg.add_frame(10.0, [("Seat 1", onehot("happy"))], promoted={3: "Seat 1"})
    assert len(closed) == 1 and closed[0].students == ()
    last = agg.flush()
    assert last is not None and [(s.student, s.frames_seen) for s in last.students] == [("Seat 1", 1)]
