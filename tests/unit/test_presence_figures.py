"""Presence mode's figure builders, without a browser: what is drawn for present and visible students."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from dashboard.figures import ComparedSession
from dashboard.presence_figures import compare_presence_figure, presence_now_figure, presence_timeline_figure

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)


def timeline(present: list[float | None], visible: list[int]) -> pd.DataFrame:
    starts = [T0 + dt.timedelta(seconds=10 * i) for i in range(len(visible))]
    return pd.DataFrame({
        "interval_start": starts, "interval_end": [t + dt.timedelta(seconds=10) for t in starts],
        "students_present": present, "students_visible": visible,
    })


def test_timeline_draws_present_and_visible() -> None:
    fig = presence_timeline_figure(timeline([3, 3, None], [2, 3, 1]))
    traces = {t.name: list(t.y) for t in fig.data}
    # an interval stored before students_present existed counts its visible students as present
    assert traces == {"present": [3, 3, 1], "face visible": [2, 3, 1]}
    assert "no emotion" in fig.layout.title.text


def test_empty_timeline_says_so() -> None:
    fig = presence_timeline_figure(timeline([], []))
    assert not fig.data and fig.layout.annotations[0].text == "No intervals recorded yet"


def test_latest_interval_by_state() -> None:
    fig = presence_now_figure({"Seat 1": "seen", "Seat 2": "camera_off", "Seat 3": "seen", "Tile 1-1": "face_not_visible"})
    assert list(fig.data[0].x) == [2, 1, 1] and list(fig.data[0].y) == ["seen", "camera off", "face not visible"]
    assert presence_now_figure({}).layout.annotations[0].text.startswith("Nobody")


def test_compare_draws_each_presence_session_on_lesson_minutes() -> None:
    later = T0 + dt.timedelta(days=2)
    shifted = timeline([4, None], [4, 2])
    shifted["interval_start"] += dt.timedelta(days=2)
    fig = compare_presence_figure([
        ComparedSession("Mon <b>3B</b>", T0, timeline([3, 3, None], [2, 3, 1])),
        ComparedSession("Wed", later, shifted),
        ComparedSession("Fri (nothing yet)", later, timeline([], [])),
    ])
    traces = {t.name: (list(t.x), list(t.y)) for t in fig.data}
    assert set(traces) == {"Mon &lt;b&gt;3B&lt;/b&gt;: present", "Mon &lt;b&gt;3B&lt;/b&gt;: face visible",
                           "Wed: present", "Wed: face visible"}
    assert traces["Wed: present"] == ([0.0, 0.17], [4.0, 2.0])  # minutes since its own start; NULL present = visible
    assert traces["Mon &lt;b&gt;3B&lt;/b&gt;: face visible"][1] == [2.0, 3.0, 1.0]
    assert not compare_presence_figure([]).data
