"""The storage thread writes a gallery session's roster and per-student presence, on SQLite and PostgreSQL, and a
spool of those operations replays to the same rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from db.emotions import EMOTIONS
from db.engine import make_engine, session_factory
from db.schema import ClassSession, Interval, RosterStudent, StudentInterval, StudentPresence
from monitor.aggregate import IntervalAggregate, PresenceAggregate, StudentAggregate
from monitor.spool import dump, load
from monitor.storage import CloseSession, Op, OpenSession, StorageWriter

pytestmark = pytest.mark.db
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
ROSTER = ("Okafor, Ben", "Thompson, Ava", "Ahmed, Zara")


def ops() -> list[Op]:
    probs = tuple(0.7 if e == "happy" else 0.05 for e in EMOTIONS)
    return [
        OpenSession("Maths 9B", "screen", "gallery", 10.0, 2.0, "mtcnn", "emotion.keras", T0, roster=ROSTER),
        IntervalAggregate(
            T0, T0 + dt.timedelta(seconds=10), 20, 0, (StudentAggregate("Thompson, Ava", 14, probs),),
            (PresenceAggregate("Thompson, Ava", 0, 6), PresenceAggregate("Okafor, Ben", 15, 5)),
        ),
        IntervalAggregate(T0 + dt.timedelta(seconds=10), T0 + dt.timedelta(seconds=20), 20, 0, (), ()),
        CloseSession(T0 + dt.timedelta(seconds=20)),
    ]


def write(url: str, operations: list[Op], session_id: int | None = None) -> StorageWriter:
    w = StorageWriter(url, retry_initial_s=0.1, shutdown_timeout_s=10)
    w.session_id = session_id
    w.start()
    for op in operations:
        w.put(op)
    w.close(None)
    w.join(30)
    assert not w.is_alive() and w.spool_file is None
    return w


def stored(url: str) -> tuple[int | None, list[str], list[tuple[str, str, int, int]], list[str]]:
    eng = make_engine(url)
    try:
        with session_factory(eng)() as s:
            cs = s.scalars(select(ClassSession)).one()
            roster = sorted(s.scalars(select(RosterStudent.student).where(RosterStudent.session_id == cs.id)))
            presence = [
                (p.student, p.state, p.frames_camera_off, p.frames_face_not_visible)
                for p in s.scalars(select(StudentPresence).join(Interval).order_by(Interval.start, StudentPresence.student))
            ]
            faces = list(s.scalars(select(StudentInterval.student)))
            return cs.expected_students, roster, presence, faces
    finally:
        eng.dispose()


EXPECTED = (
    3,
    sorted(ROSTER),
    [("Okafor, Ben", "camera_off", 15, 5), ("Thompson, Ava", "face_not_visible", 0, 6)],
    ["Thompson, Ava"],
)


def test_roster_and_presence_are_stored(db_url: str) -> None:
    write(db_url, ops())
    assert stored(db_url) == EXPECTED


def test_a_session_without_roster_expects_nobody_in_particular(db_url: str) -> None:
    write(db_url, [OpenSession("x", "screen", "gallery", 10.0, 2.0, "mtcnn", "m", T0)])
    assert stored(db_url)[:2] == (None, [])


def test_spooled_roster_and_presence_replay_to_the_same_rows(db_url: str, tmp_path: Path) -> None:
    path = dump(ops(), None, tmp_path)
    session_id, loaded = load(path)
    assert session_id is None and loaded == ops()  # every field round-trips, presence and roster included
    write(db_url, loaded)
    assert stored(db_url) == EXPECTED
