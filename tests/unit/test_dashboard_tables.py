"""Table rows and text formatting of the dashboard (``dashboard.tables``, ``dashboard.formatting``), no database."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dashboard.downloads import csv_filename
from dashboard.formatting import fmt_datetime, fmt_duration, fmt_share, to_local
from dashboard.tables import current_students, session_rows, student_summary, summary_rows
from db.emotions import EMOTIONS

pytestmark = pytest.mark.unit

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def student_frame(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """``db.queries.student_intervals``-shaped rows from (interval index, student, dominant)."""
    records = []
    for k, student, dominant in rows:
        start = T0 + dt.timedelta(minutes=k)
        probs = {f"p_{e}": (0.7 if e == dominant else 0.05) for e in EMOTIONS}
        records.append(
            {
                "interval_start": start,
                "interval_end": start + dt.timedelta(minutes=1),
                "student": student,
                "frames_seen": 10,
                "dominant": dominant,
                **probs,
            }
        )
    columns = ["interval_start", "interval_end", "student", "frames_seen", "dominant", *(f"p_{e}" for e in EMOTIONS)]
    return pd.DataFrame.from_records(records, columns=columns)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (42.4, "42 s"),
        (60, "1 min"),
        (59 * 60 + 59, "59 min"),
        (3600, "1 h 00 min"),
        (3600 + 5 * 60, "1 h 05 min"),
        (None, "—"),
        (math.nan, "—"),
        (-3, "—"),
    ],
)
def test_fmt_duration(seconds: float | None, text: str) -> None:
    assert fmt_duration(seconds) == text


@pytest.mark.parametrize(("share", "text"), [(0.0, "0%"), (0.256, "26%"), (1.0, "100%"), (math.nan, "—")])
def test_fmt_share(share: float, text: str) -> None:
    assert fmt_share(share) == text


def test_times_are_shown_in_the_local_zone() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert fmt_datetime(T0, tokyo) == "2026-03-02 17:00"
    assert fmt_datetime(None) == "—"
    assert to_local(T0.replace(tzinfo=None), UTC) == T0  # naive means UTC, as stored


def test_current_students_rows_are_text_with_the_dominant_confidence() -> None:
    rows = current_students(student_frame([(0, "<b>Ana</b>", "happy"), (0, "Seat 2", "sad")]), tz=UTC)
    assert rows[0] == {
        "Student": "<b>Ana</b>",  # kept literally: the table renders it as text
        "Emotion": "happy",
        "Confidence": "70%",
        "Frames seen": "10",
        "Last seen": "08:01:00",
    }
    assert all(isinstance(v, str) for row in rows for v in row.values())


def test_student_summary_counts_and_orders_naturally() -> None:
    frame = student_frame(
        [
            (0, "Seat 10", "happy"),
            (0, "Seat 2", "sad"),
            (1, "Seat 2", "angry"),
            (2, "Seat 2", "happy"),
            (1, "Seat 10", "neutral"),
        ]
    )
    summary = student_summary(frame)
    assert list(summary["student"]) == ["Seat 2", "Seat 10"]
    seat2 = summary.iloc[0]
    assert (seat2["intervals"], seat2["frames_seen"]) == (3, 30)
    assert seat2["negative_share"] == pytest.approx(2 / 3)
    assert seat2["last_emotion"] == "happy"
    # a 1-1-1 tie goes to the emotion listed first in EMOTIONS, so the table does not flicker between runs
    assert seat2["most_frequent"] == "angry"
    assert summary.iloc[1]["most_frequent"] == "happy"
    rows = summary_rows(summary, tz=UTC)
    assert rows[0]["Negative share"] == "67%" and rows[0]["Last seen"] == "08:03:00"


def test_student_summary_of_nobody_is_empty_with_columns() -> None:
    summary = student_summary(student_frame([]))
    assert summary.empty and "most_frequent" in summary.columns
    assert summary_rows(summary) == []


def test_session_rows_mark_running_sessions_and_keep_the_id_for_links() -> None:
    sessions = pd.DataFrame(
        {
            "id": [2, 1],
            "name": ["Maths", "Art"],
            "source": ["0", "art.mp4"],
            "layout": ["room", "gallery"],
            "started_at": [T0, T0 - dt.timedelta(days=1)],
            "ended_at": [None, T0 - dt.timedelta(days=1) + dt.timedelta(minutes=45)],
            "intervals": [3, 45],
            "students": [4, 20],
            "duration_s": [math.nan, 2700.0],
        }
    )
    moods = pd.DataFrame({"session_id": [1], "students_seen": [4], **{e: [2 if e == "happy" else 0] for e in EMOTIONS}})
    moods.loc[0, "sad"] = 1
    moods.loc[0, "neutral"] = 1
    rows = session_rows(sessions, tz=UTC, moods=moods)
    assert rows[0]["id"] == "2" and rows[0]["Duration"] == "— (running)"
    assert rows[0]["Overall mood"] == "—"  # no interval yet
    assert rows[1] == {
        "id": "1",
        "Started": "2026-03-01 08:00",
        "Name": "Art",
        "Duration": "45 min",
        "Students": "20",
        "Intervals": "45",
        "Overall mood": "😊 50% · 😐 25% · ☹ 25%",
        "Source": "art.mp4",
    }


@pytest.mark.parametrize(
    ("name", "filename"),
    [
        ("Maths 3B", "classmood-7-maths-3b-class.csv"),
        ("../../etc/passwd", "classmood-7-etc-passwd-class.csv"),
        ("Ελληνικά", "classmood-7-class.csv"),
    ],
)
def test_csv_filename_is_a_safe_slug(name: str, filename: str) -> None:
    assert csv_filename(7, name, "class") == filename
