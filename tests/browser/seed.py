"""Deterministic class sessions written through the ORM, for the browser tests and the docs screenshots.

Each student's dominant emotion per interval follows a fixed pattern, and the interval's per-emotion counts are
computed from those rows exactly as the monitor does, so a test can say what every chart point must be.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from db.emotions import EMOTIONS
from db.schema import ClassSession, Interval, SourceStatus, StudentInterval

# Mostly calm, some happy, a little of everything else, so every colour appears somewhere.
PATTERN: tuple[str, ...] = (
    "neutral", "happy", "neutral", "happy", "surprise", "neutral", "sad", "happy", "neutral", "fear",
    "neutral", "happy", "angry", "neutral", "happy", "disgust", "neutral", "happy", "neutral", "sad",
)  # fmt: skip
LIVE_STUDENTS: tuple[str, ...] = (*(f"Seat {n}" for n in range(1, 11)), "<b>Ana</b>", "Seat 12")
PAST_STUDENTS: tuple[str, ...] = tuple(f"Tile 1-{n}" for n in range(1, 6))


@dataclass
class SeededInterval:
    start: dt.datetime
    end: dt.datetime
    students_seen: int
    counts: dict[str, int]
    dominants: dict[str, str] = field(default_factory=dict)

    def shares(self) -> dict[str, float]:
        return {e: self.counts[e] / self.students_seen if self.students_seen else 0.0 for e in EMOTIONS}


@dataclass
class SeededSession:
    id: int
    name: str
    intervals: list[SeededInterval]
    students: tuple[str, ...]

    def totals(self) -> dict[str, int]:
        return {e: sum(i.counts[e] for i in self.intervals) for e in EMOTIONS}


def dominant(student_index: int, interval_index: int) -> str:
    return PATTERN[(student_index * 7 + interval_index * 3) % len(PATTERN)]


def _probabilities(dom: str) -> dict[str, float]:
    rest = 0.4 / (len(EMOTIONS) - 1)
    return {f"p_{e}": 0.6 if e == dom else rest for e in EMOTIONS}


def add_interval(
    s: Session, session: ClassSession, index: int, students: tuple[str, ...], *, interval_s: float
) -> SeededInterval:
    """Write interval ``index`` of ``session`` with one row per present student (every 4th student skips odd
    intervals, so ``students_seen`` varies) and return what the charts should show for it."""
    start = session.started_at + dt.timedelta(seconds=index * interval_s)
    end = start + dt.timedelta(seconds=interval_s)
    present = [(i, name) for i, name in enumerate(students) if not (i % 4 == 3 and index % 2 == 1)]
    dominants = {name: dominant(i, index) for i, name in present}
    counts = {e: sum(1 for d in dominants.values() if d == e) for e in EMOTIONS}
    interval = Interval(
        session_id=session.id,
        start=start,
        end=end,
        students_seen=len(present),
        frames_analysed=int(interval_s * 2),
        frames_skipped=index % 3,
        **{f"n_{e}": counts[e] for e in EMOTIONS},
    )
    s.add(interval)
    s.flush()
    for name, dom in dominants.items():
        s.add(StudentInterval(interval_id=interval.id, student=name, frames_seen=50 + index, dominant=dom,
                              **_probabilities(dom)))  # fmt: skip
    return SeededInterval(start, end, len(present), counts, dominants)


def add_session(
    s: Session,
    *,
    name: str,
    started_at: dt.datetime,
    n_intervals: int,
    students: tuple[str, ...],
    interval_s: float = 30.0,
    running: bool,
    source: str = "screen:0,0,1280,720",
    layout: str = "gallery",
) -> SeededSession:
    session = ClassSession(
        name=name,
        source=source,
        layout=layout,
        interval_s=interval_s,
        fps=2.0,
        detector="haar",
        model="fer_cnn.keras",
        started_at=started_at,
        ended_at=None if running else started_at + dt.timedelta(seconds=n_intervals * interval_s),
    )
    s.add(session)
    s.flush()
    intervals = [add_interval(s, session, k, students, interval_s=interval_s) for k in range(n_intervals)]
    s.add(
        SourceStatus(
            session_id=session.id,
            state="online" if running else "ended",
            updated_at=dt.datetime.now(dt.UTC) if running else session.ended_at,
            frames_analysed=sum(int(interval_s * 2) for _ in intervals),
            frames_skipped=sum(k % 3 for k in range(n_intervals)),
            reconnects=0 if not running else 1,
            detail=None,
        )
    )
    return SeededSession(session.id, name, intervals, students)


@dataclass
class Seeded:
    past: SeededSession
    live: SeededSession


def seed_classroom(factory: sessionmaker[Session], *, now: dt.datetime | None = None) -> Seeded:
    """An ended session from yesterday morning and a running one that started a few minutes ago."""
    now = now or dt.datetime.now(dt.UTC)
    yesterday = (now - dt.timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    with factory() as s, s.begin():
        past = add_session(s, name="Biology 2A", started_at=yesterday, n_intervals=24, students=PAST_STUDENTS,
                           interval_s=60.0, running=False, source="video: biology.mp4", layout="room")  # fmt: skip
        live = add_session(s, name="Maths 3B", started_at=now - dt.timedelta(minutes=6), n_intervals=10,
                           students=LIVE_STUDENTS, interval_s=30.0, running=True)  # fmt: skip
    return Seeded(past, live)
