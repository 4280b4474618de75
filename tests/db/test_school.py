"""The school overview (``db.queries.school_overview`` judged by ``dashboard.school.room_rows``) on SQLite and
PostgreSQL: one row per classroom showing its running (else latest) session, each room in the right state, rooms
needing a look first, and a teacher seeing only their own rooms."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from dashboard.school import room_rows, school_summary
from db import queries
from db.schema import ClassSession, Flag, RosterStudent, SourceStatus
from tests.db.builders import add_session

pytestmark = pytest.mark.db

Factory = sessionmaker[OrmSession]
NOW = dt.datetime(2026, 11, 30, 10, 0, tzinfo=dt.UTC)
CLASS = [{"Seat 1": "happy", "Seat 2": "sad", "Seat 3": "neutral", "Seat 4": "happy"}]


def room(
    s: OrmSession,
    name: str,
    classroom: str | None,
    *,
    started_min_ago: float,
    ended: bool = False,
    teacher: str | None = None,
    intervals: list[dict[str, str]] | None = None,
    state: str | None = "online",
    heartbeat_s_ago: float = 2.0,
    now: dt.datetime = NOW,
) -> ClassSession:
    """A session in ``classroom`` whose last interval ends 5 s ago (when it has ``intervals``), with a heartbeat."""
    rows = intervals if intervals is not None else CLASS
    started = now - dt.timedelta(minutes=started_min_ago)
    ended_at = now - dt.timedelta(minutes=1) if ended else None
    if rows:  # back-to-back 10-s intervals from the start: the last one ends at the session's end, or 5 s ago
        started = (ended_at or now - dt.timedelta(seconds=5)) - dt.timedelta(seconds=10 * len(rows))
    session = add_session(s, name, started, ended_at, rows)
    session.classroom, session.teacher = classroom, teacher
    if state is not None:
        s.add(SourceStatus(session_id=session.id, state=state, updated_at=now - dt.timedelta(seconds=heartbeat_s_ago)))
    s.flush()
    return session


def seed_school(factory: Factory, now: dt.datetime = NOW) -> dict[str, int]:
    """Ten rooms, one in each state (see the first test), at ``now``."""
    with factory() as s, s.begin():
        ok = room(s, "Maths 7B", "Room 2", started_min_ago=20, teacher="smith", now=now)
        ok.expected_students = 6
        offline = room(s, "Physics", "Room 10", started_min_ago=20, state="offline", teacher="jones", now=now)
        stale = room(s, "Chemistry", "Lab 1", started_min_ago=30, heartbeat_s_ago=300, now=now)
        alert = room(s, "History", "Room 3", started_min_ago=20, now=now)
        s.add_all(
            [
                Flag(session_id=alert.id, rule="class_negative", start=now, severity="alert", reason="r"),
                Flag(session_id=alert.id, rule="not_visible", start=now, severity="info", reason="r", student="Seat 1"),
                Flag(session_id=alert.id, rule="x", start=now, end=now, severity="alert", reason="closed, not counted"),
            ]
        )
        flagged = room(s, "Art", "Room 4", started_min_ago=20, now=now)
        s.add(Flag(session_id=flagged.id, rule="not_visible", start=now, severity="warning", reason="r"))
        s.add_all(RosterStudent(session_id=flagged.id, student=f"Seat {n}") for n in range(1, 9))
        # running for 20 minutes and no interval written yet
        behind = room(s, "Music", "Room 5", started_min_ago=20, intervals=[], now=now)
        # Room 6: yesterday's class and one that ended a minute ago; the overview shows the latest
        room(
            s,
            "Old",
            "Room 6",
            started_min_ago=60 * 26,
            ended=True,
            intervals=[],
            state="ended",
            teacher="smith",
            now=now,
        )
        ended = room(s, "Geography", "Room 6", started_min_ago=90, ended=True, state="ended", teacher="smith", now=now)
        # Room 7: a running class and a short one started later and already ended: the running one is shown
        running_7 = room(s, "Biology", "Room 7", started_min_ago=40, now=now)
        room(s, "Test run", "Room 7", started_min_ago=10, ended=True, intervals=[], state="ended", now=now)
        # left open by a crash yesterday: history, not an emergency
        crashed = room(
            s, "Crashed", "Room 8", started_min_ago=60 * 20, intervals=[], heartbeat_s_ago=20 * 3600, now=now
        )
        room(s, "Early", None, started_min_ago=200, ended=True, state="ended", now=now)
        unassigned = room(s, "Drop-in", None, started_min_ago=15, now=now)
        return {
            "Room 2": ok.id,
            "Room 10": offline.id,
            "Lab 1": stale.id,
            "Room 3": alert.id,
            "Room 4": flagged.id,
            "Room 5": behind.id,
            "Room 6": ended.id,
            "Room 7": running_7.id,
            "Room 8": crashed.id,
            "unassigned": unassigned.id,
        }


def test_each_room_shows_its_running_or_latest_session_in_the_right_state(Session: Factory) -> None:
    expected_ids = seed_school(Session)
    with Session() as s, s.begin():
        overview = queries.school_overview(s)
    assert list(overview.columns) == list(queries.SCHOOL_COLUMNS)
    # natural classroom order, unassigned last
    assert overview["classroom"].tolist() == [
        "Lab 1", "Room 2", "Room 3", "Room 4", "Room 5", "Room 6", "Room 7", "Room 8", "Room 10", None,
    ]  # fmt: skip
    rows = room_rows(overview, NOW)
    by_room = {r["classroom"]: r for r in rows}
    assert {name: r["session_id"] for name, r in by_room.items()} == expected_ids
    assert {name: r["state"] for name, r in by_room.items()} == {
        "Lab 1": "offline",
        "Room 10": "offline",
        "Room 3": "alert",
        "Room 4": "flagged",
        "Room 5": "behind",
        "Room 2": "running",
        "Room 7": "running",
        "unassigned": "running",
        "Room 6": "ended",
        "Room 8": "ended",
    }
    # rooms needing a look first, then by label within a state
    assert [r["classroom"] for r in rows] == [
        "Lab 1", "Room 10", "Room 3", "Room 4", "Room 5", "Room 2", "Room 7", "unassigned", "Room 6", "Room 8",
    ]  # fmt: skip
    assert by_room["Room 2"]["seen"] == "4 of 6"  # the class size given
    assert by_room["Room 4"]["seen"] == "4 of 8"  # the roster's length
    assert by_room["Room 7"]["seen"] == "4"  # unknown class size
    assert by_room["Room 5"]["seen"] == "—" and by_room["Room 5"]["mood"] is None
    assert by_room["Room 3"]["flags"] == "2 open (1 alert)"  # the closed flag is not counted
    assert by_room["Room 4"]["flags"] == "1 open"
    assert by_room["Room 2"]["flags"] == "none"
    mood = by_room["Room 2"]["mood"]
    assert (mood.positive, mood.neutral, mood.negative) == (0.5, 0.25, 0.25)
    assert by_room["Lab 1"]["source"] == "no heartbeat for 5 min"
    assert by_room["Room 10"]["source"] == "offline"
    assert by_room["Room 2"]["lag"] == "5 s"
    assert by_room["Room 5"]["lag"] == "20 min"
    assert by_room["Room 6"]["lag"] == "—" and by_room["Room 8"]["source"] == "not closed"
    assert by_room["Room 2"]["href"] == "/?classroom=Room+2"
    assert by_room["unassigned"]["href"] == f"/?session={expected_ids['unassigned']}"
    assert school_summary(rows) == "10 classrooms · 8 running · 5 need a look"


def test_a_teacher_sees_only_their_own_rooms_and_sessions(Session: Factory) -> None:
    ids = seed_school(Session)
    with Session() as s, s.begin():
        mine = queries.school_overview(s, teacher="smith")
        nobody = queries.school_overview(s, teacher="nobody")
        # a room smith shares with another teacher: smith sees their own session there, not the newer one
        shared = room(s, "Jones in Room 2", "Room 2", started_min_ago=1, teacher="jones")
        still_mine = queries.school_overview(s, teacher="smith")
        jones = queries.school_overview(s, teacher="jones")
    assert mine["classroom"].tolist() == ["Room 2", "Room 6"]
    assert mine["session_id"].tolist() == [ids["Room 2"], ids["Room 6"]]
    assert nobody.empty and list(nobody.columns) == list(queries.SCHOOL_COLUMNS)
    assert still_mine["session_id"].tolist() == [ids["Room 2"], ids["Room 6"]]
    assert jones["session_id"].tolist() == [shared.id, ids["Room 10"]]


def test_an_empty_school(Session: Factory) -> None:
    with Session() as s, s.begin():
        overview = queries.school_overview(s)
    assert overview.empty and room_rows(overview, NOW) == []
    assert school_summary([]) == "0 classrooms · 0 running · 0 need a look"


def test_live_session_of_a_classroom(Session: Factory) -> None:
    ids = seed_school(Session)
    with Session() as s, s.begin():
        assert queries.live_session(s, classroom="Room 7").id == ids["Room 7"]
        assert queries.live_session(s, classroom="Room 6") is None
        assert queries.latest_session(s, classroom="Room 6").id == ids["Room 6"]
        assert queries.live_session(s, classroom="").id == ids["unassigned"]
        assert queries.latest_session(s, classroom="Room 99") is None
        assert queries.live_session(s, "smith", classroom="Room 10") is None  # jones's room
