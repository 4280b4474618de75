"""The read queries the dashboard and the export use, on SQLite and PostgreSQL, against the ``seeded`` sessions."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db import queries
from db.emotions import EMOTIONS
from db.schema import ClassSession, Interval, SourceEvent, SourceStatus, StudentInterval
from tests.db.builders import INJECTION, MATHS_INTERVALS, STEP, T0, Seeded, add_session, probabilities

pytestmark = pytest.mark.db

Factory = sessionmaker[OrmSession]
UTC_US = pd.DatetimeTZDtype("us", "UTC")


def test_list_sessions(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        frame = queries.list_sessions(s)
    assert list(frame.columns) == list(queries.SESSION_COLUMNS)
    assert frame["name"].tolist() == ["Art", "History", "Lab", "Maths"]  # newest first
    assert frame["id"].tolist() == [seeded.art, seeded.history, seeded.lab, seeded.maths]
    assert frame["intervals"].tolist() == [0, 2, 0, 3]
    assert frame["students"].tolist() == [0, 2, 0, 4]  # distinct labels over the whole session
    durations = frame["duration_s"].tolist()
    assert durations[0] == 60.0  # ended_at - started_at
    assert durations[1] == 20.0  # still running: last interval end - started_at
    assert math.isnan(durations[2])  # running, no interval yet
    assert durations[3] == 35.0  # ended_at wins over the last interval's end (30 s)
    assert frame["started_at"].dtype == UTC_US and frame["ended_at"].dtype == UTC_US
    assert frame["started_at"].iloc[-1] == pd.Timestamp(T0)
    assert frame["ended_at"].isna().tolist() == [False, True, True, False]


def test_list_sessions_limit_and_empty(Session: Factory) -> None:
    with Session() as s, s.begin():
        empty = queries.list_sessions(s)
        for i in range(3):
            add_session(s, f"S{i}", T0 + i * STEP)
        limited = queries.list_sessions(s, limit=2)
    assert empty.empty and list(empty.columns) == list(queries.SESSION_COLUMNS)
    assert empty["started_at"].dtype == UTC_US
    assert limited["name"].tolist() == ["S2", "S1"]


def test_get_live_latest_session(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        got = queries.get_session(s, seeded.maths)
        assert got is not None and got.name == "Maths" and got.started_at == T0
        assert queries.get_session(s, 999_999) is None
        live = queries.live_session(s)
        assert live is not None and live.id == seeded.history  # the most recently started of History and Lab
        latest = queries.latest_session(s)
        assert latest is not None and latest.id == seeded.art


def test_live_and_latest_on_an_empty_database(Session: Factory) -> None:
    with Session() as s, s.begin():
        assert queries.live_session(s) is None
        assert queries.latest_session(s) is None
        assert queries.source_status(s, 1) is None


def test_no_live_session_once_all_ended(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        for session in s.scalars(select(ClassSession).where(ClassSession.ended_at.is_(None))):
            session.ended_at = session.started_at + dt.timedelta(minutes=1)
    with Session() as s, s.begin():
        assert queries.live_session(s) is None


def test_class_timeline(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        frame = queries.class_timeline(s, seeded.maths)
        empty = queries.class_timeline(s, seeded.art)
    assert list(frame.columns) == list(queries.TIMELINE_COLUMNS)
    assert list(queries.TIMELINE_COLUMNS[5:]) == list(EMOTIONS)
    assert frame["interval_start"].tolist() == [pd.Timestamp(T0 + i * STEP) for i in range(3)]
    assert frame["interval_end"].tolist() == [pd.Timestamp(T0 + (i + 1) * STEP) for i in range(3)]
    assert frame["interval_start"].dtype == UTC_US
    assert frame["students_seen"].tolist() == [3, 2, 2]
    assert frame["frames_analysed"].tolist() == [20, 20, 20]
    assert frame["frames_skipped"].tolist() == [0, 1, 2]
    expected = [{e: list(students.values()).count(e) for e in EMOTIONS} for students in MATHS_INTERVALS]
    assert frame[list(EMOTIONS)].to_dict("records") == expected
    assert empty.empty and list(empty.columns) == list(queries.TIMELINE_COLUMNS)


def test_student_intervals(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        frame = queries.student_intervals(s, seeded.maths)
    assert list(frame.columns) == list(queries.STUDENT_COLUMNS)
    assert list(zip(frame["interval_start"], frame["student"], strict=True)) == [
        (pd.Timestamp(T0), "Seat 1"),
        (pd.Timestamp(T0), "Seat 2"),
        (pd.Timestamp(T0), "Seat 10"),
        (pd.Timestamp(T0 + STEP), "Seat 2"),
        (pd.Timestamp(T0 + STEP), "Seat 10"),
        (pd.Timestamp(T0 + 2 * STEP), INJECTION),  # "=" sorts before letters
        (pd.Timestamp(T0 + 2 * STEP), "Seat 1"),
    ]
    first = frame.iloc[0]
    assert first["dominant"] == "neutral" and first["frames_seen"] == 18
    assert first["interval_end"] == pd.Timestamp(T0 + STEP)
    assert first["p_neutral"] == pytest.approx(probabilities("neutral")["neutral"])
    assert frame[[f"p_{e}" for e in EMOTIONS]].sum(axis=1).round(9).eq(1.0).all()


def test_latest_students(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        frame = queries.latest_students(s, seeded.maths)
        history = queries.latest_students(s, seeded.history)
        empty = queries.latest_students(s, seeded.lab)
    assert list(frame.columns) == list(queries.STUDENT_COLUMNS)
    # Each student's own latest interval, naturally sorted: Seat 2 before Seat 10.
    assert frame[["student", "dominant"]].values.tolist() == [
        [INJECTION, "surprise"],
        ["Seat 1", "fear"],
        ["Seat 2", "happy"],
        ["Seat 10", "angry"],
    ]
    assert frame["interval_start"].tolist() == [pd.Timestamp(T0 + k * STEP) for k in (2, 2, 1, 1)]
    assert history[["student", "dominant"]].values.tolist() == [["Tile 1-1", "happy"], ["Tile 1-2", "happy"]]
    assert empty.empty and list(empty.columns) == list(queries.STUDENT_COLUMNS)


def test_latest_students_ignores_other_sessions(Session: Factory, seeded: Seeded) -> None:
    """A label reused in a later session must not hide the student's latest row in this one."""
    with Session() as s, s.begin():
        add_session(s, "Later", T0 + dt.timedelta(days=1), None, [{"Seat 2": "disgust"}])
    with Session() as s, s.begin():
        frame = queries.latest_students(s, seeded.maths)
    assert frame.set_index("student").loc["Seat 2", "dominant"] == "happy"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["Seat 10", "Seat 2", "Seat 1"], ["Seat 1", "Seat 2", "Seat 10"]),
        (["Tile 2-10", "Tile 2-9", "Tile 10-1", "Tile 2-1"], ["Tile 2-1", "Tile 2-9", "Tile 2-10", "Tile 10-1"]),
        (["bob", "Alice", "alice", "Bob"], ["Alice", "alice", "Bob", "bob"]),  # case-insensitive, ties by label
        (["Seat ²", "Seat 3", "Seat 03"], ["Seat 03", "Seat 3", "Seat ²"]),  # only ASCII digits are numbers
        (["10", "9", "x", ""], ["", "9", "10", "x"]),
    ],
)
def test_natural_key(labels: list[str], expected: list[str]) -> None:
    assert sorted(labels, key=queries.natural_key) == expected


def test_source_status(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        status = queries.source_status(s, seeded.maths)
        assert status is not None
        assert (status.state, status.reconnects, status.frames_analysed) == ("ended", 1, 0)
        assert status.updated_at == T0 + dt.timedelta(seconds=35)
        assert status.updated_at.tzinfo is dt.UTC
        assert queries.source_status(s, seeded.lab) is None


def _row_counts(s: OrmSession, session_id: int) -> dict[str, int]:
    in_session = select(Interval.id).where(Interval.session_id == session_id)
    return {
        "session": s.scalar(select(func.count()).where(ClassSession.id == session_id)) or 0,
        "interval": s.scalar(select(func.count()).where(Interval.session_id == session_id)) or 0,
        "student": s.scalar(select(func.count()).where(StudentInterval.interval_id.in_(in_session))) or 0,
        "status": s.scalar(select(func.count()).where(SourceStatus.session_id == session_id)) or 0,
        "event": s.scalar(select(func.count()).where(SourceEvent.session_id == session_id)) or 0,
    }


def test_delete_session_cascades(Session: Factory, seeded: Seeded) -> None:
    with Session() as s, s.begin():
        assert _row_counts(s, seeded.maths) == {"session": 1, "interval": 3, "student": 7, "status": 1, "event": 2}
        history_before = _row_counts(s, seeded.history)
    with Session() as s, s.begin():
        assert queries.delete_session(s, seeded.maths) is True
    with Session() as s, s.begin():
        assert _row_counts(s, seeded.maths) == dict.fromkeys(history_before, 0)
        assert _row_counts(s, seeded.history) == history_before  # other sessions untouched
        assert queries.delete_session(s, seeded.maths) is False
        assert queries.class_timeline(s, seeded.maths).empty


def test_delete_cascade_is_done_by_the_database(Session: Factory, seeded: Seeded) -> None:
    """A plain SQL DELETE (no ORM cascade) still removes the children: the FKs say ON DELETE CASCADE and SQLite has
    ``PRAGMA foreign_keys=ON`` from ``db.engine``."""
    with Session() as s, s.begin():
        s.execute(text("DELETE FROM class_session WHERE id = :id"), {"id": seeded.maths})
    with Session() as s, s.begin():
        assert set(_row_counts(s, seeded.maths).values()) == {0}


def test_utc_round_trip(Session: Factory) -> None:
    """Aware in any zone, aware UTC out, stored as naive UTC (so the server's time zone never shifts it)."""
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    local = dt.datetime(2026, 11, 21, 10, 0, 0, 250_000, tzinfo=kolkata)
    with Session() as s, s.begin():
        session_id = add_session(s, "Zoned", local, local + dt.timedelta(hours=1)).id
    with Session() as s, s.begin():
        got = queries.get_session(s, session_id)
        assert got is not None
        assert got.started_at == local
        assert got.started_at.tzinfo is dt.UTC
        assert got.started_at.hour == 4 and got.started_at.minute == 30
        assert got.ended_at is not None and got.ended_at.tzinfo is dt.UTC
        raw = s.execute(text("SELECT started_at FROM class_session WHERE id = :id"), {"id": session_id}).scalar()
        assert str(raw).startswith("2026-11-21 04:30:00.25")
        # Filtering with an aware value in another zone compares instants.
        found = s.scalars(select(ClassSession.id).where(ClassSession.started_at == local)).all()
        assert found == [session_id]


def test_naive_datetime_is_rejected(Session: Factory) -> None:
    with pytest.raises(StatementError, match="naive datetime"), Session() as s, s.begin():
        add_session(s, "Naive", dt.datetime(2026, 11, 21, 10, 0))
