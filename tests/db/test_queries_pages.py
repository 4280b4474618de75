"""The queries behind the dashboard's review, live cards, notes and compare pages, on SQLite and PostgreSQL, against
the ``seeded`` sessions of ``tests/db/builders.py``."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from dashboard.tables import student_summary, summary_from_counts, summary_from_grid
from db import queries
from db.emotions import EMOTIONS
from db.labels import natural_key
from db.schema import Interval, RosterStudent, StudentPresence
from tests.db.builders import HISTORY_INTERVALS, INJECTION, MATHS_INTERVALS, STEP, T0, Seeded, add_session

pytestmark = pytest.mark.db

Factory = sessionmaker[OrmSession]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (None, ["Art", "History", "Lab", "Maths"]),
        ("", ["Art", "History", "Lab", "Maths"]),
        ("  a  ", ["Art", "Lab", "Maths"]),  # stripped; any case
        ("MATH", ["Maths"]),
        ("%", []),  # a LIKE wildcard typed by the teacher matches itself only
        ("_", []),
    ],
)
def test_list_sessions_filters_by_title(
    Session: Factory, seeded: Seeded, title: str | None, expected: list[str]
) -> None:
    with Session() as s, s.begin():
        assert queries.list_sessions(s, title=title)["name"].tolist() == expected


def test_list_sessions_filters_by_start_time(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        since = queries.list_sessions(s, since=T0 + dt.timedelta(minutes=30))
        until = queries.list_sessions(s, until=T0 + dt.timedelta(minutes=30))
        both = queries.list_sessions(s, since=T0 + dt.timedelta(minutes=1), until=T0 + dt.timedelta(hours=2))
        underscore = add_session(s, "Year_7", T0 + dt.timedelta(hours=3))
        assert queries.list_sessions(s, title="r_7")["id"].tolist() == [underscore.id]
    assert since["name"].tolist() == ["Art", "History", "Lab"]  # since is inclusive
    assert until["name"].tolist() == ["Maths"]  # until is exclusive
    assert both["name"].tolist() == ["History", "Lab"]


def test_student_grid_has_one_row_per_student_interval(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        grid = queries.student_grid(s, seeded.maths)
        empty = queries.student_grid(s, seeded.lab)
    assert list(grid.columns) == list(queries.GRID_COLUMNS)
    expected = {(T0 + k * STEP, student, dom) for k, row in enumerate(MATHS_INTERVALS) for student, dom in row.items()}
    assert {(r.interval_start.to_pydatetime(), r.student, r.dominant) for r in grid.itertuples()} == expected
    assert grid["interval_start"].is_monotonic_increasing
    assert empty.empty and list(empty.columns) == list(queries.GRID_COLUMNS)


def test_session_students_and_one_students_timeline(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        students = queries.session_students(s, seeded.maths)
        seat2 = queries.student_timeline(s, seeded.maths, "Seat 2")
        nobody = queries.student_timeline(s, seeded.maths, "Seat 99")
        other_session = queries.student_timeline(s, seeded.history, "Seat 2")
    assert students == sorted([INJECTION, "Seat 1", "Seat 2", "Seat 10"], key=natural_key)
    assert students.index("Seat 2") < students.index("Seat 10")  # natural order
    assert list(seat2.columns) == list(queries.STUDENT_COLUMNS)
    assert seat2["dominant"].tolist() == ["sad", "happy"]
    assert seat2["interval_start"].tolist() == [T0, T0 + STEP]
    assert seat2["p_sad"].iloc[0] == pytest.approx(0.70004)
    assert nobody.empty and other_session.empty


@pytest.mark.parametrize(("n", "starts"), [(1, [2]), (2, [1, 2]), (10, [0, 1, 2])])
def test_recent_students_keeps_the_last_intervals(Session: Factory, seeded: Seeded, n: int, starts: list[int]) -> None:
    with Session() as s, s.begin():
        recent = queries.recent_students(s, seeded.maths, n)
    expected = [(T0 + k * STEP, student) for k in starts for student in MATHS_INTERVALS[k]]
    got = list(zip(recent["interval_start"].dt.to_pydatetime(), recent["student"], strict=True))
    assert sorted(got) == sorted(expected)
    assert recent["interval_start"].is_monotonic_increasing


def test_latest_presence_reads_only_the_last_interval(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        assert queries.latest_presence(s, seeded.maths) == {}
        first, last = s.scalars(
            select(Interval.id).where(Interval.session_id == seeded.maths).order_by(Interval.start)
        ).all()[::2]
        s.add(StudentPresence(interval_id=first, student="Seat 10", state="camera_off", frames_camera_off=20))
        s.add(StudentPresence(interval_id=last, student="Seat 2", state="face_not_visible", frames_face_not_visible=9))
        s.add(StudentPresence(interval_id=last, student="Seat 3", state="camera_off", frames_camera_off=20))
        s.flush()
        assert queries.latest_presence(s, seeded.maths) == {"Seat 2": "face_not_visible", "Seat 3": "camera_off"}
        assert queries.latest_presence(s, seeded.lab) == {}


def test_roster_in_natural_order(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        for name in ("Seat 10", "Seat 2", "Seat 1"):
            s.add(RosterStudent(session_id=seeded.maths, student=name))
        s.flush()
        assert queries.roster(s, seeded.maths) == ["Seat 1", "Seat 2", "Seat 10"]
        assert queries.roster(s, seeded.history) == []


def test_session_moods_sum_each_sessions_intervals(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        moods = queries.session_moods(s, [seeded.maths, seeded.history, seeded.lab])
        none = queries.session_moods(s, [])
    assert list(moods.columns) == list(queries.MOOD_COLUMNS) and none.empty
    by_id = moods.set_index("session_id")
    assert set(by_id.index) == {seeded.maths, seeded.history}  # Lab has no interval
    for sid, intervals in ((seeded.maths, MATHS_INTERVALS), (seeded.history, HISTORY_INTERVALS)):
        dominants = [d for row in intervals for d in row.values()]
        assert by_id.loc[sid, "students_seen"] == len(dominants)
        assert [by_id.loc[sid, e] for e in EMOTIONS] == [dominants.count(e) for e in EMOTIONS]


def test_notes_added_and_listed_by_time(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        late = queries.add_note(s, seeded.maths, T0 + 20 * STEP, "  quiz started  ", author="ms.k")
        early = queries.add_note(s, seeded.maths, T0 + STEP, "<b>group work</b>")
        assert queries.add_note(s, 999_999, T0, "lost") is None
    assert late is not None and early is not None
    with Session() as s, s.begin():
        notes = queries.session_notes(s, seeded.maths)
        assert queries.session_notes(s, seeded.history).empty
    assert list(notes.columns) == list(queries.NOTE_COLUMNS)
    assert notes["text"].tolist() == ["<b>group work</b>", "quiz started"]  # by time, stripped, stored as typed
    assert notes["at"].tolist() == [T0 + STEP, T0 + 20 * STEP]
    assert notes["author"].tolist() == [None, "ms.k"]
    assert notes["created_at"].notna().all()


@pytest.mark.parametrize("text", ["", "   ", "x" * (queries.NOTE_MAX_CHARS + 1)])
def test_a_note_without_text_or_too_long_is_refused(Session: Factory, seeded: Seeded, text: str) -> None:
    with Session() as s, s.begin(), pytest.raises(ValueError, match="note"):
        queries.add_note(s, seeded.maths, T0, text)


def test_dominant_counts_and_the_summary_built_from_them(Session: Factory, seeded: Seeded) -> None:
    """The review page's students table aggregated in SQL must say what the per-row summary says."""
    with Session() as s, s.begin():
        counts = queries.dominant_counts(s, seeded.maths)
        latest = queries.latest_students(s, seeded.maths)
        rows = queries.student_intervals(s, seeded.maths)
    assert list(counts.columns) == list(queries.DOMINANT_COUNT_COLUMNS)
    expected = {}
    for row in MATHS_INTERVALS:
        for student, dom in row.items():
            expected[(student, dom)] = expected.get((student, dom), 0) + 1
    assert {(r.student, r.dominant): r.intervals for r in counts.itertuples()} == expected
    assert counts["frames_seen"].sum() == rows["frames_seen"].sum()
    pd.testing.assert_frame_equal(summary_from_counts(counts, latest), student_summary(rows), check_dtype=False)


@pytest.mark.parametrize("which", ["maths", "history", "lab"])
def test_the_summary_from_the_heatmap_rows_is_the_per_row_summary(Session: Factory, seeded: Seeded, which: str) -> None:
    """The review page derives its students table from ``student_grid`` (the heatmap's rows) instead of two more
    queries over the session's student rows; it must say what the per-row summary says (lab: no intervals)."""
    sid = getattr(seeded, which)
    with Session() as s, s.begin():
        grid = queries.student_grid(s, sid)
        rows = queries.student_intervals(s, sid)
    got = summary_from_grid(grid)
    assert list(got.columns) == list(queries.SUMMARY_COLUMNS)
    if rows.empty:
        assert got.empty
    else:
        pd.testing.assert_frame_equal(got, student_summary(rows), check_dtype=False)


def test_session_choices_are_newest_first(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        choices = queries.session_choices(s, limit=3)
    assert list(choices.columns) == list(queries.CHOICE_COLUMNS)
    assert choices["id"].tolist() == [seeded.art, seeded.history, seeded.lab]
