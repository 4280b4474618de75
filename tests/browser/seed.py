"""Deterministic class sessions written through the ORM, for the browser tests and the docs screenshots.

Each student's dominant emotion per interval follows a fixed pattern, and the interval's per-emotion counts are
computed from those rows exactly as the monitor does, so a test can say what every chart point must be.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.emotions import EMOTIONS
from db.schema import (
    ClassSession,
    Flag,
    Interval,
    Note,
    RosterStudent,
    SourceStatus,
    StudentInterval,
    StudentPresence,
)

# Mostly calm, some happy, a little of everything else, so every colour appears somewhere.
PATTERN: tuple[str, ...] = (
    "neutral", "happy", "neutral", "happy", "surprise", "neutral", "sad", "happy", "neutral", "fear",
    "neutral", "happy", "angry", "neutral", "happy", "disgust", "neutral", "happy", "neutral", "sad",
)  # fmt: skip
LIVE_STUDENTS: tuple[str, ...] = (*(f"Seat {n}" for n in range(1, 11)), "<b>Ana</b>", "Seat 12")
PAST_STUDENTS: tuple[str, ...] = tuple(f"Tile 1-{n}" for n in range(1, 6))
NEVER_SEEN: tuple[str, ...] = ("Seat 13", "Seat 14")  # on the running class's roster, never seen
CAMERA_OFF = "Seat 12"  # not seen in the running class's last interval: camera off there
LIVE_NOTE = ("quiz started", 5)  # text, interval index it is pinned to (that interval's start)
PAST_NOTES = (("group work", 8), ("test handed back", 16))


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
    s: Session, session: ClassSession, index: int, students: tuple[str, ...], *, interval_s: float, offset: int = 0
) -> SeededInterval:
    """Write interval ``index`` of ``session`` with one row per present student (every 4th student skips odd
    intervals, so ``students_seen`` varies) and return what the charts should show for it."""
    start = session.started_at + dt.timedelta(seconds=index * interval_s)
    end = start + dt.timedelta(seconds=interval_s)
    present = [(i, name) for i, name in enumerate(students) if not (i % 4 == 3 and index % 2 == 1)]
    dominants = {name: dominant(i, index + offset) for i, name in present}
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
    offset: int = 0,
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
    intervals = [
        add_interval(s, session, k, students, interval_s=interval_s, offset=offset) for k in range(n_intervals)
    ]
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


def add_note(s: Session, session: SeededSession, text: str, interval: int) -> None:
    at = session.intervals[interval].start
    s.add(Note(session_id=session.id, at=at, text=text, author=None, created_at=at))


def seed_classroom(factory: sessionmaker[Session], *, now: dt.datetime | None = None) -> Seeded:
    """An ended session from yesterday morning and a running one that started a few minutes ago."""
    now = now or dt.datetime.now(dt.UTC)
    yesterday = (now - dt.timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    with factory() as s, s.begin():
        past = add_session(s, name="Biology 2A", started_at=yesterday, n_intervals=24, students=PAST_STUDENTS,
                           interval_s=60.0, running=False, source="video: biology.mp4", layout="room")  # fmt: skip
        # its newest interval ends now: the Live page says LIVE until that is three intervals (90 s) old
        live = add_session(s, name="Maths 3B", started_at=now - dt.timedelta(minutes=5), n_intervals=10,
                           students=LIVE_STUDENTS, interval_s=30.0, running=True)  # fmt: skip
        # the running class: a roster with two students never seen, the class size, one camera off now, a note
        live_row = s.get(ClassSession, live.id)
        assert live_row is not None
        live_row.expected_students = len(LIVE_STUDENTS) + len(NEVER_SEEN)
        for name in (*LIVE_STUDENTS, *NEVER_SEEN):
            s.add(RosterStudent(session_id=live.id, student=name))
        last = s.scalars(
            select(Interval.id).where(Interval.session_id == live.id).order_by(Interval.start.desc())
        ).first()
        s.add(StudentPresence(interval_id=last, student=CAMERA_OFF, state="camera_off", frames_camera_off=60))
        add_note(s, live, *LIVE_NOTE)
        for text, k in PAST_NOTES:
            add_note(s, past, text, k)
    return Seeded(past, live)


@dataclass
class SeededFlag:
    id: int
    session_id: int
    student: str | None
    rule: str
    start: dt.datetime
    end: dt.datetime | None
    severity: str
    reason: str
    frames: int


@dataclass
class SeededFlags:
    live_open: list[SeededFlag]  # open flags of the running session, in the order the live panel lists them
    live_closed: list[SeededFlag]
    past: list[SeededFlag]  # the ended session's flags, in db.queries.session_flags order (start, then student)


def add_flag(
    s: Session,
    session: SeededSession,
    *,
    student: str | None,
    rule: str,
    start_interval: int,
    end_interval: int | None,
    severity: str,
    reason: str,
    frames: int,
    evidence: dict[str, object] | None = None,
) -> SeededFlag:
    """A flag as the worker writes it: from the start of one seeded interval to the end of another (or open)."""
    start = session.intervals[start_interval].start
    end = None if end_interval is None else session.intervals[end_interval].end
    flag = Flag(session_id=session.id, student=student, rule=rule, start=start, end=end, severity=severity,
                reason=reason, evidence=evidence or {}, frames=frames)  # fmt: skip
    s.add(flag)
    s.flush()
    return SeededFlag(flag.id, session.id, student, rule, start, end, severity, reason, frames)


def seed_flags(factory: sessionmaker[Session], seeded: Seeded) -> SeededFlags:
    """Attention flags on both seeded sessions: on the running one an open alert for Seat 4, an open class-wide
    warning, an open flag on the ``<b>Ana</b>`` label (whose reason must show literally) and a closed one; on the
    ended one three closed flags and one left open when the class ended."""
    live, past = seeded.live, seeded.past
    with factory() as s, s.begin():
        seat4 = add_flag(s, live, student="Seat 4", rule="sustained_negative", start_interval=3, end_interval=None,
                         severity="alert", reason="Seat 4: sad or angry in 7 of the last 10 minutes", frames=184,
                         evidence={"share": 0.7, "window_min": 10})  # fmt: skip
        ana = add_flag(s, live, student="<b>Ana</b>", rule="not_visible", start_interval=6, end_interval=None,
                       severity="info", reason="<b>Ana</b>: face not visible for 4 minutes <img src=x>",
                       frames=96)  # fmt: skip
        whole = add_flag(s, live, student=None, rule="class_negative", start_interval=7, end_interval=None,
                         severity="warning", reason="6 of 12 students looked confused or sad in the last 2 minutes",
                         frames=240)  # fmt: skip
        closed = add_flag(s, live, student="Seat 2", rule="baseline_shift", start_interval=1, end_interval=2,
                          severity="warning", reason="Seat 2: expressions differ from their own start",
                          frames=60)  # fmt: skip
        past_flags = [
            add_flag(s, past, student=None, rule="class_mood_drop", start_interval=4, end_interval=8,
                     severity="warning", reason="Class mood fell 0.4 below the start of the lesson", frames=300),
            add_flag(s, past, student="Tile 1-2", rule="sustained_negative", start_interval=10, end_interval=15,
                     severity="alert", reason="Tile 1-2: sad or angry in 6 of the last 10 minutes", frames=420),
            add_flag(s, past, student="Tile 1-4", rule="not_visible", start_interval=10, end_interval=12,
                     severity="info", reason="Tile 1-4: face not visible for 3 minutes", frames=180),
            add_flag(s, past, student="Tile 1-5", rule="baseline_shift", start_interval=20, end_interval=None,
                     severity="warning", reason="Tile 1-5: expressions differ from their own start", frames=240),
        ]  # fmt: skip
    # the live panel lists alert, then warning, then info (none is acknowledged yet)
    return SeededFlags(live_open=[seat4, whole, ana], live_closed=[closed], past=past_flags)


@dataclass
class SeededRoom:
    classroom: str
    session_id: int
    name: str
    state: str  # what the school overview must show (dashboard.school.room_state)
    seen_now: int  # students seen in the latest interval


SCHOOL_ROOMS: tuple[tuple[str, str, str], ...] = (
    # classroom, session title, expected state; in the order the overview must list them
    ("Room 14", "Physics 5A", "offline"),
    ("Room 3", "History 2C", "alert"),
    ("Lab 2", "Chemistry 4B", "flagged"),
    ("Room 9", "Music 1A", "behind"),
    ("Lab 1", "Biology 3A", "running"),
    ("Room 2", "Maths 3B", "running"),
    ("Room 5", "English 2A", "running"),
    ("Room 10", "French 4C", "running"),
    ("Room 11", "Geography 1B", "ended"),
    ("Room 12", "Art 2B", "ended"),
)


def seed_school(factory: sessionmaker[Session], *, now: dt.datetime | None = None) -> list[SeededRoom]:
    """A school morning: ten classrooms of 24 students at 30-s intervals, one in each state of the overview and a
    few running calmly, in the order of ``SCHOOL_ROOMS``."""
    now = now or dt.datetime.now(dt.UTC)
    students = tuple(f"Seat {n}" for n in range(1, 25))
    n_intervals, interval_s = 12, 30.0
    rooms = []
    with factory() as s, s.begin():
        for k, (classroom, name, state) in enumerate(SCHOOL_ROOMS):
            running = state != "ended"
            behind = 5 * 60 if state == "behind" else 5  # the last interval ended this long ago
            start = now - dt.timedelta(seconds=behind + n_intervals * interval_s)
            if not running:
                start = now - dt.timedelta(hours=2)
            seeded = add_session(s, name=name, started_at=start, n_intervals=n_intervals, students=students,
                                 interval_s=interval_s, running=running, source=f"rtsp://camera-{k}/stream",
                                 layout="room", offset=k * 5)  # fmt: skip
            row = s.get(ClassSession, seeded.id)
            status = s.get(SourceStatus, seeded.id)
            assert row is not None and status is not None
            row.classroom, row.expected_students = classroom, 26
            if state == "offline":
                status.state, status.detail = "offline", "no frame for 5 s; reconnecting"
            if state in ("alert", "flagged"):
                add_flag(s, seeded, student="Seat 4" if state == "alert" else None, rule="sustained_negative",
                         start_interval=8, end_interval=None, severity="alert" if state == "alert" else "warning",
                         reason="Seat 4: sad or angry in 7 of the last 10 minutes", frames=120)  # fmt: skip
            rooms.append(SeededRoom(classroom, seeded.id, name, state, seeded.intervals[-1].students_seen))
    return rooms
