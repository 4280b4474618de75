"""Builders for the database tests: class sessions with intervals, students, status and events.

``seed`` writes four sessions (the ``seeded`` fixture of ``tests/db/conftest.py`` calls it on the migrated test
database from ``tests/conftest.py``):

========  ====================  ======================  ==========================================
name      started               ended                   content
========  ====================  ======================  ==========================================
Maths     T0                    T0 + 35 s               3 intervals, 4 students, status, 2 events
Lab       T0 + 30 min           running                 nothing yet
History   T0 + 1 h              running                 2 intervals, 2 students
Art       T0 + 2 h              T0 + 2 h + 60 s         nothing
========  ====================  ======================  ==========================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.emotions import EMOTIONS
from db.schema import ClassSession, Interval, SourceEvent, SourceStatus, StudentInterval

T0 = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
STEP = dt.timedelta(seconds=10)
INJECTION = '=HYPERLINK("http://evil","x")'

# Maths: one mapping per interval, student label -> dominant emotion.
MATHS_INTERVALS: list[dict[str, str]] = [
    {"Seat 10": "happy", "Seat 2": "sad", "Seat 1": "neutral"},
    {"Seat 2": "happy", "Seat 10": "angry"},
    {"Seat 1": "fear", INJECTION: "surprise"},
]
HISTORY_INTERVALS: list[dict[str, str]] = [{"Tile 1-2": "happy", "Tile 1-1": "neutral"}, {"Tile 1-1": "happy"}]


def probabilities(dominant: str) -> dict[str, float]:
    """A distribution whose argmax is ``dominant``; the odd values exercise rounding to 4 decimals."""
    rest = (1 - 0.70004) / (len(EMOTIONS) - 1)
    return {e: 0.70004 if e == dominant else rest for e in EMOTIONS}


def add_session(
    s: OrmSession,
    name: str,
    started_at: dt.datetime,
    ended_at: dt.datetime | None = None,
    intervals: Sequence[Mapping[str, str]] = (),
) -> ClassSession:
    """Add a session with back-to-back intervals of 10 s from ``started_at``, counts derived from the students."""
    session = ClassSession(
        name=name,
        source="file:demo.mp4",
        layout="room",
        interval_s=STEP.total_seconds(),
        fps=2.0,
        detector="haar",
        model="models/fer.keras",
        started_at=started_at,
        ended_at=ended_at,
    )
    for i, students in enumerate(intervals):
        counts = {f"n_{e}": sum(d == e for d in students.values()) for e in EMOTIONS}
        interval = Interval(
            start=started_at + i * STEP,
            end=started_at + (i + 1) * STEP,
            students_seen=len(students),
            frames_analysed=20,
            frames_skipped=i,
            **counts,
        )
        for label, dominant in students.items():
            p = {f"p_{e}": v for e, v in probabilities(dominant).items()}
            interval.students.append(StudentInterval(student=label, frames_seen=18, dominant=dominant, **p))
        session.intervals.append(interval)
    s.add(session)
    s.flush()
    return session


@dataclass(frozen=True)
class Seeded:
    maths: int
    lab: int
    history: int
    art: int


def seed(factory: sessionmaker[OrmSession]) -> Seeded:
    """Write the four sessions of the table above and return their ids."""
    with factory() as s, s.begin():
        maths = add_session(s, "Maths", T0, T0 + dt.timedelta(seconds=35), MATHS_INTERVALS)
        lab = add_session(s, "Lab", T0 + dt.timedelta(minutes=30))
        history = add_session(s, "History", T0 + dt.timedelta(hours=1), None, HISTORY_INTERVALS)
        art = add_session(s, "Art", T0 + dt.timedelta(hours=2), T0 + dt.timedelta(hours=2, seconds=60))
        s.add(SourceStatus(session_id=maths.id, state="ended", updated_at=T0 + dt.timedelta(seconds=35), reconnects=1))
        s.add(SourceEvent(session_id=maths.id, at=T0 + dt.timedelta(seconds=12), state="offline", detail="no frame"))
        s.add(SourceEvent(session_id=maths.id, at=T0 + dt.timedelta(seconds=15), state="online"))
        s.add(SourceStatus(session_id=history.id, state="online", updated_at=T0 + dt.timedelta(hours=1, seconds=20)))
        return Seeded(maths=maths.id, lab=lab.id, history=history.id, art=art.id)
