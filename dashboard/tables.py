"""Table builders: pure functions from ``db.queries`` DataFrames to the rows the student tables show.

Every cell comes out as a plain string; ``dashboard.components.text_table`` renders them as text nodes, so a Zoom
display name such as ``<b>Bob</b>`` or ``[x](http://…)`` is shown literally, never interpreted as HTML or markdown.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.formatting import fmt_datetime, fmt_duration, fmt_share, fmt_time
from db.emotions import EMOTIONS, NEGATIVE
from db.queries import natural_key

CURRENT_COLUMNS: tuple[str, ...] = ("Student", "Emotion", "Confidence", "Frames seen", "Last seen")
SUMMARY_COLUMNS: tuple[str, ...] = (
    "Student",
    "Intervals",
    "Frames seen",
    "Most frequent",
    "Negative share",
    "Last emotion",
    "Last seen",
)
SESSION_COLUMNS: tuple[str, ...] = ("Started", "Name", "Duration", "Students", "Intervals", "Source")


def current_students(latest: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[dict[str, str]]:
    """One row per student from ``db.queries.latest_students``: their emotion in the latest interval they were in."""
    rows = []
    for rec in latest.to_dict("records"):
        dominant = str(rec["dominant"])
        confidence = rec.get(f"p_{dominant}")
        rows.append(
            {
                "Student": str(rec["student"]),
                "Emotion": dominant,
                "Confidence": fmt_share(float(confidence)) if confidence is not None else "—",
                "Frames seen": str(int(rec["frames_seen"])),
                "Last seen": fmt_time(rec["interval_end"], tz),
            }
        )
    return rows


def _most_frequent(dominants: pd.Series) -> str:
    """The most frequent label; a tie goes to the emotion listed first in ``EMOTIONS`` so the result is stable."""
    counts = dominants.value_counts()
    best = counts.max()
    return next(e for e in (*EMOTIONS, *sorted(counts.index)) if counts.get(e, 0) == best)


def student_summary(intervals: pd.DataFrame) -> pd.DataFrame:
    """Per student over a whole session (``db.queries.student_intervals``), in natural label order.

    Columns: student, intervals, frames_seen, most_frequent, negative_share (share of the student's intervals whose
    dominant emotion is angry, disgust, fear or sad), last_emotion, last_seen.
    """
    columns = ["student", "intervals", "frames_seen", "most_frequent", "negative_share", "last_emotion", "last_seen"]
    if intervals.empty:
        return pd.DataFrame(columns=columns)
    records = []
    for student, group in intervals.sort_values("interval_start").groupby("student", sort=False):
        last = group.iloc[-1]
        records.append(
            {
                "student": str(student),
                "intervals": len(group),
                "frames_seen": int(group["frames_seen"].sum()),
                "most_frequent": _most_frequent(group["dominant"]),
                "negative_share": float(group["dominant"].isin(NEGATIVE).mean()),
                "last_emotion": str(last["dominant"]),
                "last_seen": last["interval_end"],
            }
        )
    records.sort(key=lambda r: natural_key(r["student"]))
    return pd.DataFrame.from_records(records, columns=columns)


def summary_rows(summary: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[dict[str, str]]:
    return [
        {
            "Student": rec["student"],
            "Intervals": str(rec["intervals"]),
            "Frames seen": str(rec["frames_seen"]),
            "Most frequent": rec["most_frequent"],
            "Negative share": fmt_share(rec["negative_share"]),
            "Last emotion": rec["last_emotion"],
            "Last seen": fmt_time(rec["last_seen"], tz),
        }
        for rec in summary.to_dict("records")
    ]


def _count(value: object) -> str:
    return "0" if value is None or pd.isna(value) else str(int(value))  # type: ignore[call-overload]


def session_rows(sessions: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[dict[str, str]]:
    """Rows for the Sessions page from ``db.queries.list_sessions``; ``id`` is kept for the link."""
    rows = []
    for rec in sessions.to_dict("records"):
        running = rec["ended_at"] is None or pd.isna(rec["ended_at"])
        rows.append(
            {
                "id": str(int(rec["id"])),
                "Started": fmt_datetime(rec["started_at"], tz),
                "Name": str(rec["name"]),
                "Duration": fmt_duration(rec["duration_s"]) + (" (running)" if running else ""),
                "Students": _count(rec["students"]),
                "Intervals": _count(rec["intervals"]),
                "Source": str(rec["source"]),
            }
        )
    return rows
