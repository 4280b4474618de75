"""Figure builders (``dashboard.figures``) and the emotion colour map, without a browser or a database."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._utils import to_json

from dashboard.colours import EMOTION_COLOURS
from dashboard.figures import (
    distribution_figure,
    emotion_shares,
    empty_figure,
    heatmap_figure,
    iso_times,
    probabilities_figure,
    student_figure,
    timeline_figure,
)
from db.emotions import EMOTIONS

pytestmark = pytest.mark.unit

UTC = dt.UTC
T0 = dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)


def timeline(rows: list[dict[str, int]], *, step_s: int = 30) -> pd.DataFrame:
    """A ``db.queries.class_timeline``-shaped frame; each row gives students_seen and some emotion counts."""
    records = []
    for k, row in enumerate(rows):
        start = T0 + dt.timedelta(seconds=k * step_s)
        records.append(
            {
                "interval_start": start,
                "interval_end": start + dt.timedelta(seconds=step_s),
                "students_seen": row["seen"],
                "frames_analysed": 60,
                "frames_skipped": 0,
                **{e: row.get(e, 0) for e in EMOTIONS},
            }
        )
    columns = ["interval_start", "interval_end", "students_seen", "frames_analysed", "frames_skipped", *EMOTIONS]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in ("interval_start", "interval_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


SAMPLE = timeline(
    [
        {"seen": 4, "happy": 2, "neutral": 1, "sad": 1},
        {"seen": 5, "happy": 1, "neutral": 3, "angry": 1},
        {"seen": 0},
    ]
)


def test_colour_map_covers_every_emotion_with_distinct_colours() -> None:
    assert tuple(EMOTION_COLOURS) == EMOTIONS
    assert len(set(EMOTION_COLOURS.values())) == len(EMOTIONS)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"seen": 4, "happy": 2, "neutral": 1, "sad": 1}, {"happy": 0.5, "neutral": 0.25, "sad": 0.25}),
        ({"seen": 3, "fear": 3}, {"fear": 1.0}),
        ({"seen": 0}, {}),  # nobody seen: all shares 0, not NaN or a division error
    ],
)
def test_emotion_shares_are_counts_over_students_seen(row: dict[str, int], expected: dict[str, float]) -> None:
    shares = emotion_shares(timeline([row])).iloc[0].to_dict()
    assert shares == pytest.approx({e: expected.get(e, 0.0) for e in EMOTIONS})


def test_timeline_has_one_stacked_trace_per_emotion_in_label_order_and_colour() -> None:
    fig = timeline_figure(SAMPLE, tz=UTC)
    assert [t.name for t in fig.data] == list(EMOTIONS)
    for trace in fig.data:
        assert trace.stackgroup == "mood"
        assert trace.fillcolor == EMOTION_COLOURS[trace.name]


def test_timeline_y_values_are_shares_and_customdata_the_counts() -> None:
    fig = timeline_figure(SAMPLE, tz=UTC)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["happy"].y) == pytest.approx([0.5, 0.2, 0.0])
    assert list(by_name["neutral"].y) == pytest.approx([0.25, 0.6, 0.0])
    assert list(by_name["happy"].customdata) == [2, 1, 0]
    # NumPy arrays, which Plotly takes without checking each number: a list cost half a second for a 3-hour session
    assert isinstance(by_name["happy"].y, np.ndarray) and isinstance(by_name["happy"].x, np.ndarray)


def test_timeline_x_is_interval_start_in_the_given_local_zone() -> None:
    fig = timeline_figure(SAMPLE, tz=ZoneInfo("Europe/Berlin"))
    first = pd.Timestamp(fig.data[0].x[0])
    assert first == pd.Timestamp("2026-01-15 10:00")  # 09:00 UTC is 10:00 in Berlin in winter
    assert first.tzinfo is None  # naive, so Plotly draws it as written instead of shifting it


def test_timeline_uirevision_keeps_user_zoom_across_refreshes() -> None:
    """Regression: without a stable uirevision every 3-s refresh of the live page reset the user's zoom."""
    first = timeline_figure(SAMPLE.iloc[:2], tz=UTC, uirevision=7)
    later = timeline_figure(SAMPLE, tz=UTC, uirevision=7)
    assert first.layout.uirevision == later.layout.uirevision == 7


def test_timeline_of_no_intervals_says_so() -> None:
    fig = timeline_figure(timeline([]), tz=UTC)
    assert len(fig.data) == 0
    assert "No intervals" in fig.layout.annotations[0].text


def test_distribution_of_one_interval() -> None:
    fig = distribution_figure(SAMPLE.tail(2).head(1))  # seen 5: happy 1, neutral 3, angry 1
    (bar,) = fig.data
    assert list(bar.x) == list(EMOTIONS)
    assert list(bar.customdata) == [1, 0, 0, 1, 0, 0, 3]
    assert list(bar.y) == pytest.approx([0.2, 0, 0, 0.2, 0, 0, 0.6])
    assert list(bar.marker.color) == [EMOTION_COLOURS[e] for e in EMOTIONS]


def test_distribution_of_a_whole_session_sums_the_intervals() -> None:
    (bar,) = distribution_figure(SAMPLE).data
    counts = dict(zip(bar.x, bar.customdata, strict=True))
    assert counts == {"angry": 1, "disgust": 0, "fear": 0, "happy": 3, "sad": 1, "surprise": 0, "neutral": 4}
    assert sum(bar.y) == pytest.approx(1.0)


@pytest.mark.parametrize("frame", [timeline([{"seen": 0}]), timeline([])])
def test_distribution_without_students_is_an_empty_figure(frame: pd.DataFrame) -> None:
    fig = distribution_figure(frame)
    assert len(fig.data) == 0
    assert "No students" in fig.layout.annotations[0].text


def test_empty_figure_hides_axes() -> None:
    fig = empty_figure("nothing")
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False


def _student_rows() -> pd.DataFrame:
    rows = [
        {"interval_start": T0 + dt.timedelta(seconds=30 * k), "interval_end": T0 + dt.timedelta(seconds=30 * k + 30),
         "student": "Seat 1", "frames_seen": 60, "dominant": "happy",
         **{f"p_{e}": (0.7 if e == "happy" else 0.05) for e in EMOTIONS}}
        for k in range(3)
    ]  # fmt: skip
    frame = pd.DataFrame(rows)
    for col in ("interval_start", "interval_end"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


NOTES = pd.DataFrame(
    {"id": [1], "at": pd.to_datetime([T0 + dt.timedelta(seconds=40)], utc=True), "text": ["quiz <b>started</b>"],
     "author": [None], "created_at": pd.to_datetime([T0], utc=True)}
)  # fmt: skip
FLAGS = pd.DataFrame(
    {"start": pd.to_datetime([T0], utc=True), "end": pd.to_datetime([None], utc=True), "severity": ["alert"]}
)


@pytest.mark.parametrize(
    "build",
    [
        lambda: timeline_figure(SAMPLE, uirevision=7, notes=NOTES, flags=FLAGS),
        lambda: timeline_figure(SAMPLE),
        lambda: timeline_figure(timeline([])),
        lambda: distribution_figure(SAMPLE.tail(1)),
        lambda: distribution_figure(timeline([])),
        lambda: empty_figure("Loading…"),
        lambda: student_figure(_student_rows(), notes=NOTES),
        lambda: probabilities_figure(_student_rows()),
        lambda: heatmap_figure(_student_rows(), ["Seat 1", "Seat 2"], notes=NOTES),
    ],
    ids=["timeline+flags+notes", "timeline", "timeline-empty", "distribution", "distribution-empty", "empty", "student",
         "probabilities", "heatmap"],
)
def test_figures_built_without_validation_are_what_plotly_validation_makes(build: Callable[[], go.Figure]) -> None:
    """The builders hand Plotly their dicts unvalidated (``figures._figure``: validating cost a Live draw ~20 ms);
    rebuilt with validation, which raises on a misspelt property and rewrites shorthand such as a ``title`` string
    (which plotly.js 3 no longer reads) into its full form, the JSON sent to the browser must be the same."""
    fig = build()
    validated = go.Figure(fig.to_plotly_json())
    assert json.loads(to_json(fig)) == json.loads(to_json(validated))


def test_iso_times_are_sent_as_local_iso_strings_to_the_second() -> None:
    times = pd.Series(pd.to_datetime([T0, T0 + dt.timedelta(seconds=10.6)], utc=True))
    fig = go.Figure({"data": [{"type": "scatter", "x": iso_times(times, ZoneInfo("Europe/Berlin")), "y": [1, 2]}]})
    assert json.loads(to_json(fig))["data"][0]["x"] == ["2026-01-15T10:00:00", "2026-01-15T10:00:10"]


def test_heatmap_cells_are_each_students_dominant_emotion_at_its_interval() -> None:
    """The cells are placed by index arithmetic (the unstack it replaced was most of the Review page's time): each
    student's row, each interval's column, blank (NaN, no name) where the student was not seen."""
    t = [T0 + dt.timedelta(seconds=30 * k) for k in range(3)]
    grid = pd.DataFrame(
        {"interval_start": pd.to_datetime([t[2], t[0], t[0], t[1]], utc=True),
         "student": ["Seat 2", "Seat 10", "Seat 2", "Seat 2"], "dominant": ["sad", "happy", "angry", "neutral"]}
    )  # fmt: skip
    fig = heatmap_figure(grid, ["Seat 2", "Seat 10"], tz=UTC)
    (trace,) = fig.data
    code = {e: float(i) for i, e in enumerate(EMOTIONS)}
    np.testing.assert_array_equal(
        trace.z, [[code["angry"], code["neutral"], code["sad"]], [code["happy"], np.nan, np.nan]]
    )
    assert trace.customdata.tolist() == [["angry", "neutral", "sad"], ["happy", "", ""]]
    assert json.loads(to_json(fig))["data"][0]["x"] == ["2026-01-15T09:00:00", "2026-01-15T09:00:30", "2026-01-15T09:01:00"]
    validated = go.Figure(fig.to_plotly_json())
    assert json.loads(to_json(fig)) == json.loads(to_json(validated))
