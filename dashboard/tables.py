"""Table builders: pure functions from ``db.queries`` DataFrames to the rows the tables and the flag list show.

Every cell comes out as a plain string; ``dashboard.components.text_table`` renders them as text nodes, so a Zoom
display name such as ``<b>Bob</b>`` or ``[x](http://…)`` is shown literally, never interpreted as HTML or markdown.
The same holds for a flag's reason, which the worker builds from a student's label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Row

from dashboard.formatting import fmt_datetime, fmt_duration, fmt_share, fmt_time
from dashboard.mood import MoodShares
from dashboard.rules import rule_label, severity_rank
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
SESSION_COLUMNS: tuple[str, ...] = ("Started", "Name", "Duration", "Students", "Intervals", "Overall mood", "Source")
FLAG_COLUMNS: tuple[str, ...] = ("#", "Student", "Rule", "Start", "End", "Severity", "Reason", "Frames")
WHOLE_CLASS = "Whole class"
FLAG_MARK = "_flag"  # row key (not a column) carrying the severity of a student's open flag, for the table's badge


def current_students(
    latest: pd.DataFrame, *, tz: dt.tzinfo | None = None, flagged: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """One row per student from ``db.queries.latest_students``: their emotion in the latest interval they were in.

    ``flagged`` (from :func:`flagged_students`) maps a student with an open flag to its severity; their row gets it
    under ``FLAG_MARK`` so the table can show a badge.
    """
    flagged = flagged or {}
    rows = []
    for rec in latest.to_dict("records"):
        dominant = str(rec["dominant"])
        confidence = rec.get(f"p_{dominant}")
        student = str(rec["student"])
        row = {
            "Student": student,
            "Emotion": dominant,
            "Confidence": fmt_share(float(confidence)) if confidence is not None else "—",
            "Frames seen": str(int(rec["frames_seen"])),
            "Last seen": fmt_time(rec["interval_end"], tz),
        }
        if student in flagged:
            row[FLAG_MARK] = flagged[student]
        rows.append(row)
    return rows


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))


def flag_who(student: object) -> str:
    """A flag's student label as text, or "Whole class" for a class-wide flag (student NULL)."""
    return WHOLE_CLASS if _missing(student) else str(student)


def flagged_students(flags: pd.DataFrame) -> dict[str, str]:
    """Each student with an open flag in ``flags`` (``db.queries.session_flags``) and the most severe one's
    severity; class-wide flags name no student and are left out."""
    flagged: dict[str, str] = {}
    for rec in flags.to_dict("records"):
        if not _missing(rec["end"]) or _missing(rec["student"]):
            continue
        student, severity = str(rec["student"]), str(rec["severity"])
        if student not in flagged or severity_rank(severity) > severity_rank(flagged[student]):
            flagged[student] = severity
    return flagged


def _age(seconds: float) -> str:
    """Minutes only, so the live panel's text (and so its redraw) changes at most once a minute."""
    return "under a minute" if seconds < 60 else fmt_duration(seconds)


def _frames(n: int) -> str:
    return f"based on {n:,} analysed frame{'' if n == 1 else 's'}"


def attention_items(
    flags: pd.DataFrame | Sequence[Row[Any]], *, now: dt.datetime, tz: dt.tzinfo | None = None
) -> list[dict[str, Any]]:
    """The live "Needs attention" list from ``db.queries.session_flags(..., open_only=True)``, or its plain rows
    (``flag_rows``: what the Live page reads on every poll, without building a DataFrame).

    Closed flags are skipped. Order: not yet acknowledged before acknowledged, then alert before warning before
    info, then the oldest first. Each item holds the flag ``id`` (an int, for the Acknowledge button) and strings.
    """
    rows = flags.to_dict("records") if isinstance(flags, pd.DataFrame) else [dict(r._mapping) for r in flags]
    records = [r for r in rows if _missing(r["end"])]
    records.sort(
        key=lambda r: (
            not _missing(r["acknowledged_at"]),
            -severity_rank(str(r["severity"])),
            r["start"],
            natural_key(flag_who(r["student"])),
        )
    )
    items = []
    for rec in records:
        start = rec["start"]
        acknowledged = rec["acknowledged_at"]
        items.append(
            {
                "id": int(rec["id"]),
                "who": flag_who(rec["student"]),
                "class_wide": _missing(rec["student"]),
                "severity": str(rec["severity"]),
                "rule": rule_label(str(rec["rule"])),
                "reason": str(rec["reason"]),
                "since": f"since {fmt_time(start, tz)} ({_age((now - start).total_seconds())})",
                "frames": _frames(int(rec["frames"])),
                "acknowledged": "" if _missing(acknowledged) else f"Acknowledged at {fmt_time(acknowledged, tz)}",
            }
        )
    return items


def flag_rows(flags: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[dict[str, str]]:
    """The review page's flag table from ``db.queries.session_flags``, in its order; ``#`` numbers the flags as the
    timeline's shaded ranges do (``dashboard.figures.flag_ranges``)."""
    return [
        {
            "#": str(n),
            "Student": flag_who(rec["student"]),
            "Rule": rule_label(str(rec["rule"])),
            "Start": fmt_time(rec["start"], tz),
            "End": "open" if _missing(rec["end"]) else fmt_time(rec["end"], tz),
            "Severity": str(rec["severity"]),
            "Reason": str(rec["reason"]),
            "Frames": f"{int(rec['frames']):,}",
        }
        for n, rec in enumerate(flags.to_dict("records"), start=1)
    ]


def rows_fingerprint(rows: Sequence[Mapping[str, Any]]) -> str:
    """A short, stable digest of what a list of rows shows: the live page redraws a panel only when it changes."""
    text = json.dumps(list(rows), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def summary_from_counts(counts: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """:func:`student_summary`'s frame from what the database aggregated: ``db.queries.dominant_counts`` (intervals
    and frames per student and dominant emotion) and ``db.queries.latest_students`` (the last emotion), so a
    3-hour session's 43,000 rows never leave the database."""
    columns = ["student", "intervals", "frames_seen", "most_frequent", "negative_share", "last_emotion", "last_seen"]
    if counts.empty:
        return pd.DataFrame(columns=columns)
    last = {str(r["student"]): r for r in latest.to_dict("records")}
    records = []
    for student, group in counts.groupby("student", sort=False):
        per_emotion = dict(zip(group["dominant"], group["intervals"], strict=True))
        n = int(group["intervals"].sum())
        best = max(per_emotion.values())
        rec = last.get(str(student))
        records.append(
            {
                "student": str(student),
                "intervals": n,
                "frames_seen": int(group["frames_seen"].sum()),
                "most_frequent": next(e for e in (*EMOTIONS, *sorted(per_emotion)) if per_emotion.get(e, 0) == best),
                "negative_share": sum(v for e, v in per_emotion.items() if e in NEGATIVE) / n,
                "last_emotion": str(rec["dominant"]) if rec is not None else "",
                "last_seen": rec["interval_end"] if rec is not None else pd.NaT,
            }
        )
    records.sort(key=lambda r: natural_key(r["student"]))
    return pd.DataFrame.from_records(records, columns=columns)


def summary_from_grid(grid: pd.DataFrame) -> pd.DataFrame:
    """:func:`summary_from_counts` from ``db.queries.student_grid``, which the review page reads for its heatmap
    anyway: the per-student counts and each student's last interval come from it in pandas instead of two more
    queries over every student row of the session (~40 ms of a 3-hour class's review)."""
    if grid.empty:
        return summary_from_counts(pd.DataFrame(columns=["student", "dominant", "intervals", "frames_seen"]), grid)
    counts = (
        grid.groupby(["student", "dominant"], sort=False)
        .agg(intervals=("dominant", "size"), frames_seen=("frames_seen", "sum"))
        .reset_index()
    )
    latest = grid.sort_values("interval_start", kind="stable").drop_duplicates("student", keep="last")
    return summary_from_counts(counts, latest)


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


def mood_text(counts: Mapping[str, float] | None) -> str:
    """``😊 30% · 😐 55% · ☹ 15%``: a session's overall positive, neutral and negative shares; — when unknown."""
    if counts is None:
        return "—"
    shares = MoodShares.from_counts(counts)
    if shares.students == 0:
        return "—"
    return f"😊 {shares.positive:.0%} · 😐 {shares.neutral:.0%} · ☹ {shares.negative:.0%}"


def session_rows(
    sessions: pd.DataFrame, *, tz: dt.tzinfo | None = None, moods: pd.DataFrame | None = None
) -> list[dict[str, str]]:
    """Rows for the Sessions page from ``db.queries.list_sessions``; ``id`` is kept for the link. ``moods``
    (``db.queries.session_moods``) fills the overall mood column."""
    by_id: dict[int, dict[str, Any]] = {}
    if moods is not None and not moods.empty:
        by_id = {int(rec["session_id"]): rec for rec in moods.to_dict("records")}
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
                "Overall mood": "presence mode: none inferred" if rec.get("mode") == "presence"
                else mood_text(by_id.get(int(rec["id"]))),
                "Source": str(rec["source"]),
            }
        )
    return rows


PRESENCE_LABELS: dict[str, str] = {"camera_off": "camera off", "face_not_visible": "face not visible"}
# The stored probabilities are calibrated: below one half the model's leading emotion is more likely wrong than right,
# so the card says "uncertain" instead of showing it as a confident reading.
UNCERTAIN_BELOW = 0.5


def student_cards(
    latest: pd.DataFrame,
    recent: pd.DataFrame,
    *,
    flagged: Mapping[str, str] | None = None,
    presence: Mapping[str, str] | None = None,
    tz: dt.tzinfo | None = None,
) -> list[dict[str, Any]]:
    """One card per student for the live grid, in natural label order.

    ``latest`` is ``db.queries.latest_students`` (current emotion), ``recent`` ``db.queries.recent_students`` (the
    sparkline: one entry per recent interval, None where the student was not seen), ``flagged`` as
    :func:`flagged_students`, ``presence`` ``db.queries.latest_presence`` (a student without a readable face in the
    latest interval; such a student gets a card even if never seen with a face). ``stale`` marks a student missing
    from the latest interval, whose emotion is from ``last_seen``; ``uncertain`` a reading whose leading emotion has
    a mean probability under ``UNCERTAIN_BELOW``. Values are strings, lists and those flags.
    """
    flagged = flagged or {}
    presence = presence or {}
    starts = sorted(recent["interval_start"].unique()) if not recent.empty else []
    by_student: dict[str, dict[Any, tuple[str, float]]] = {}
    for start, student, dominant, *ps in recent[
        ["interval_start", "student", "dominant", *(f"p_{e}" for e in EMOTIONS)]
    ].itertuples(index=False):
        p = dict(zip(EMOTIONS, ps, strict=True)).get(dominant, 0.0)
        by_student.setdefault(str(student), {})[start] = (str(dominant), float(p))
    at = {start: fmt_time(start, tz) for start in starts}  # once per interval, not once per student and interval
    current = {str(rec["student"]): rec for rec in latest.to_dict("records")}
    newest = latest["interval_end"].max() if not latest.empty else None
    cards = []
    for student in sorted(set(current) | set(presence), key=natural_key):
        rec = current.get(student)
        dominant = str(rec["dominant"]) if rec is not None else ""
        confidence = rec.get(f"p_{dominant}") if rec is not None else None
        spark: list[dict[str, Any] | None] = []
        for start in starts:
            seen = by_student.get(student, {}).get(start)
            if seen is None:
                spark.append(None)
            else:
                emotion, p = seen
                spark.append({"emotion": emotion, "p": p, "title": f"{at[start]} {emotion} {p:.0%}"})
        cards.append(
            {
                "student": student,
                "emotion": dominant,
                "confidence": fmt_share(float(confidence)) if confidence is not None else "",
                "uncertain": confidence is not None and float(confidence) < UNCERTAIN_BELOW,
                "last_seen": fmt_time(rec["interval_end"], tz) if rec is not None else "",
                # not in the latest interval: the emotion shown is from when they were last seen
                "stale": rec is not None and rec["interval_end"] != newest,
                "flag": flagged.get(student, ""),
                "presence": PRESENCE_LABELS.get(presence.get(student, ""), presence.get(student, "")),
                "spark": spark,
            }
        )
    return cards


def attendance(
    seen_now: int,
    seen_session: Sequence[str],
    *,
    roster: Sequence[str],
    expected: int | None,
    presence: Mapping[str, str],
) -> dict[str, Any]:
    """Students seen against those expected: ``expected`` is the session's ``expected_students``, else the roster's
    length, else None (unknown). ``never_seen`` lists roster students neither seen with a face nor reported without
    one (camera off), in natural order."""
    known = set(seen_session) | set(presence)
    return {
        "seen_now": seen_now,
        "seen_session": len(set(seen_session)),
        "expected": expected if expected is not None else (len(roster) or None),
        "never_seen": sorted((s for s in roster if s not in known), key=natural_key),
    }


def note_rows(notes: pd.DataFrame, *, tz: dt.tzinfo | None = None) -> list[dict[str, str]]:
    """The notes list from ``db.queries.session_notes``, numbered as the charts' note lines are."""
    return [
        {
            "#": str(n),
            "Time": fmt_time(rec["at"], tz),
            "Note": str(rec["text"]),
            "Author": "" if _missing(rec["author"]) else str(rec["author"]),
        }
        for n, rec in enumerate(notes.to_dict("records"), start=1)
    ]


NOTE_COLUMNS: tuple[str, ...] = ("#", "Time", "Note", "Author")
