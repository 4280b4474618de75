"""Read queries for the dashboard and the CSV export.

Each ``*_stmt`` function builds a ``select()`` and nothing else, so it can be inspected, tested and reused; the public
functions run one on the caller's ``Session`` and hand back a model instance, ``None`` or a pandas DataFrame with
exactly the documented columns (present even when there are no rows). Times are timezone-aware UTC everywhere: model
attributes are aware ``datetime``s and DataFrame time columns are ``datetime64[us, UTC]``.

The same statements run on SQLite and PostgreSQL. Orders that would depend on the database's collation (student
labels) are applied in Python with :func:`natural_key`, so "Seat 2" comes before "Seat 10" on every backend.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any, cast

import pandas as pd
from sqlalchemy import ColumnElement, Row, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from db.accounts import Viewer
from db.emotions import EMOTIONS, NEGATIVE
from db.labels import natural_key
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

SESSION_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "source",
    "layout",
    "started_at",
    "ended_at",
    "intervals",
    "students",
    "duration_s",
    "mode",
)
TIMELINE_COLUMNS: tuple[str, ...] = (
    "interval_start",
    "interval_end",
    "students_seen",
    "frames_analysed",
    "frames_skipped",
    *EMOTIONS,
)
STUDENT_COLUMNS: tuple[str, ...] = (
    "interval_start",
    "interval_end",
    "student",
    "frames_seen",
    "dominant",
    *(f"p_{e}" for e in EMOTIONS),
)

FLAG_COLUMNS: tuple[str, ...] = (
    "id",
    "student",
    "rule",
    "start",
    "end",
    "severity",
    "reason",
    "frames",
    "acknowledged_at",
    "evidence",
)

NOTE_COLUMNS: tuple[str, ...] = ("id", "at", "text", "author", "created_at")
GRID_COLUMNS: tuple[str, ...] = ("interval_start", "interval_end", "student", "dominant", "frames_seen")
PRESENCE_COLUMNS: tuple[str, ...] = ("student", "state")
MOOD_COLUMNS: tuple[str, ...] = ("session_id", "students_seen", *EMOTIONS)
DOMINANT_COUNT_COLUMNS: tuple[str, ...] = ("student", "dominant", "intervals", "frames_seen")
CHOICE_COLUMNS: tuple[str, ...] = ("id", "name", "started_at")
NOTE_MAX_CHARS = 500
UNASSIGNED = "unassigned"  # how the school overview names the group of sessions started without ``--classroom``
SCHOOL_COLUMNS: tuple[str, ...] = (
    "classroom",
    "session_id",
    "name",
    "teacher",
    "started_at",
    "ended_at",
    "interval_s",
    "expected_students",
    "roster_size",
    "state",
    "status_updated_at",
    "detail",
    "interval_start",
    "interval_end",
    "students_seen",
    *EMOTIONS,
    "open_flags",
    "open_alerts",
)

_TIME_COLUMNS = frozenset(
    {
        "started_at",
        "ended_at",
        "interval_start",
        "interval_end",
        "start",
        "end",
        "acknowledged_at",
        "at",
        "created_at",
        "status_updated_at",
    }
)
# --- statements -----------------------------------------------------------------------------------------------------


def sessions_stmt(
    limit: int = 200,
    teacher: str | None = None,
    *,
    title: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[Any]:
    """Newest sessions first, with interval count, distinct students and the last interval's end; with ``teacher``
    only that teacher's sessions (see :func:`_scoped`).

    Correlated subqueries rather than joins + GROUP BY: they run only for the ``limit`` rows kept, each through the
    ``session_id`` and ``interval_id`` indexes. ``title`` keeps the sessions whose name contains it (any case);
    ``since``/``until`` (aware) keep those started in ``[since, until)``.
    """
    n_intervals = select(func.count(Interval.id)).where(Interval.session_id == ClassSession.id).scalar_subquery()
    n_students = (
        select(func.count(StudentInterval.student.distinct()))
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == ClassSession.id)
        .scalar_subquery()
    )
    last_end = select(func.max(Interval.end)).where(Interval.session_id == ClassSession.id).scalar_subquery()
    stmt = select(
        ClassSession.id,
        ClassSession.name,
        ClassSession.source,
        ClassSession.layout,
        ClassSession.started_at,
        ClassSession.ended_at,
        ClassSession.mode,
        n_intervals.label("intervals"),
        n_students.label("students"),
        last_end.label("last_interval_end"),
    )
    if title and title.strip():
        # LIKE with the wildcards escaped, lower() on both sides: the same on SQLite and PostgreSQL
        needle = title.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(func.lower(ClassSession.name).like(f"%{needle}%", escape="\\"))
    if since is not None:
        stmt = stmt.where(ClassSession.started_at >= since)
    if until is not None:
        stmt = stmt.where(ClassSession.started_at < until)
    return _scoped(stmt, teacher).order_by(ClassSession.started_at.desc(), ClassSession.id.desc()).limit(limit)


INTERRUPTED_AFTER_S = 300.0  # a worker refreshes its heartbeat every 2 s (60 s at most): 5 min of silence is death


def live_session_stmt(
    teacher: str | None = None, now: dt.datetime | None = None, *, classroom: str | None = None
) -> Select[Any]:
    """The most recently started session that has not ended (of ``teacher``, when given; in ``classroom``, when
    given, ``""`` meaning sessions without one). With ``now``, only one whose worker still reports: a session whose
    heartbeat (``source_status.updated_at``) stopped more than ``INTERRUPTED_AFTER_S`` ago was interrupted (its
    worker killed, the machine off) and is not live."""
    stmt = _in_room(_scoped(select(ClassSession), teacher), classroom).where(ClassSession.ended_at.is_(None))
    if now is not None:
        cutoff = now - dt.timedelta(seconds=INTERRUPTED_AFTER_S)
        stmt = stmt.outerjoin(SourceStatus, SourceStatus.session_id == ClassSession.id).where(
            or_(SourceStatus.updated_at >= cutoff,
                and_(SourceStatus.session_id.is_(None), ClassSession.started_at >= cutoff))
        )
    return stmt.order_by(ClassSession.started_at.desc(), ClassSession.id.desc()).limit(1)


def is_interrupted(session: ClassSession, status: SourceStatus | None, now: dt.datetime) -> bool:
    """Closed as interrupted by a journal replay, or not closed and silent for longer than ``INTERRUPTED_AFTER_S``."""
    if status is not None and status.state == "interrupted":
        return True
    if session.ended_at is not None:
        return False
    last = status.updated_at if status is not None else session.started_at
    return (now - last).total_seconds() > INTERRUPTED_AFTER_S


def latest_session_stmt(teacher: str | None = None, *, classroom: str | None = None) -> Select[Any]:
    """The most recently started session, ended or not (of ``teacher``, in ``classroom``, when given)."""
    return (
        _in_room(_scoped(select(ClassSession), teacher), classroom)
        .order_by(ClassSession.started_at.desc(), ClassSession.id.desc())
        .limit(1)
    )


def _in_room(stmt: Select[Any], classroom: str | None) -> Select[Any]:
    """Keep the sessions of ``classroom`` (None keeps all; ``""`` keeps those without a classroom)."""
    if classroom is None:
        return stmt
    if not classroom:
        return stmt.where(ClassSession.classroom.is_(None))
    return stmt.where(ClassSession.classroom == classroom)


def _scoped(stmt: Select[Any], teacher: str | None) -> Select[Any]:
    """Keep ``teacher``'s sessions only; None keeps every session (an admin, or no login on a loopback-only
    dashboard). Sessions with no teacher belong to no teacher: only admins see them."""
    return stmt if teacher is None else stmt.where(ClassSession.teacher == teacher)


def timeline_stmt(session_id: int) -> Select[Any]:
    """One row per interval of the session, oldest first, with one count column per emotion."""
    return (
        select(
            Interval.start.label("interval_start"),
            Interval.end.label("interval_end"),
            Interval.students_seen,
            Interval.frames_analysed,
            Interval.frames_skipped,
            *(getattr(Interval, f"n_{e}").label(e) for e in EMOTIONS),
        )
        .where(Interval.session_id == session_id)
        .order_by(Interval.start)
    )


def _student_columns() -> list[ColumnElement[Any]]:
    return [
        Interval.start.label("interval_start"),
        Interval.end.label("interval_end"),
        StudentInterval.student,
        StudentInterval.frames_seen,
        StudentInterval.dominant,
        *(getattr(StudentInterval, f"p_{e}") for e in EMOTIONS),
    ]


def student_intervals_stmt(session_id: int) -> Select[Any]:
    """One row per (interval, student) of the session, by interval start then label (the label order is refined
    in Python, see :func:`student_intervals`)."""
    return (
        select(*_student_columns())
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
        .order_by(Interval.start, StudentInterval.student)
    )


def latest_students_stmt(session_id: int) -> Select[Any]:
    """Each student's row from the latest interval they were seen in.

    A GROUP BY for each student's last interval start, joined back: one interval per start and session (a unique
    constraint) and one row per student and interval make that row unique. About four times faster than a
    ``row_number()`` window over a 3-hour session's 43,000 rows, which has to sort them all.
    """
    last = (
        select(StudentInterval.student.label("student"), func.max(Interval.start).label("last_start"))
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
        .group_by(StudentInterval.student)
        .subquery()
    )
    return (
        select(*_student_columns())
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .join(last, (last.c.student == StudentInterval.student) & (last.c.last_start == Interval.start))
        .where(Interval.session_id == session_id)
    )


def flags_stmt(session_id: int, open_only: bool = False) -> Select[Any]:
    """The session's attention flags by start (the student order is refined in Python, see :func:`session_flags`);
    with ``open_only`` only those whose ``end`` is NULL."""
    stmt = select(*(getattr(Flag, c) for c in FLAG_COLUMNS)).where(Flag.session_id == session_id)
    if open_only:
        stmt = stmt.where(Flag.end.is_(None))
    return stmt.order_by(Flag.start, Flag.id)


def school_stmt(teacher: str | None = None) -> Select[Any]:
    """One row per classroom (``class_session.classroom``; NULL is one group, the unassigned sessions) with the
    session it shows: its running session if it has one, else its latest; with that session's source heartbeat,
    latest interval, open flags and roster size. With ``teacher`` only that teacher's sessions count.

    Built for 50-100 rooms among a school year's sessions: the rooms come from a GROUP BY on the classroom index,
    each room's session from two correlated ``LIMIT 1`` lookups on ``(classroom, started_at)``, its latest interval
    from the ``(session_id, start)`` unique index and its open flags from ``(session_id, end)``: no step reads a
    session's intervals or student rows, so a 3-hour class costs what a 3-minute one does.
    """
    rooms = _scoped(select(ClassSession.classroom.label("room")), teacher).group_by(ClassSession.classroom).subquery()

    def pick(running: bool) -> Any:
        candidate = aliased(ClassSession)
        stmt = select(candidate.id).where(candidate.classroom.is_not_distinct_from(rooms.c.room))
        if teacher is not None:
            stmt = stmt.where(candidate.teacher == teacher)
        if running:
            stmt = stmt.where(candidate.ended_at.is_(None))
        return stmt.order_by(candidate.started_at.desc(), candidate.id.desc()).limit(1).scalar_subquery()

    chosen = select(rooms.c.room, func.coalesce(pick(True), pick(False)).label("session_id")).subquery()
    latest = aliased(Interval)  # the outer query joins Interval too: an alias keeps this one uncorrelated
    last_interval = (
        select(latest.id)
        .where(latest.session_id == chosen.c.session_id)
        .order_by(latest.start.desc())
        .limit(1)
        .correlate(chosen)
        .scalar_subquery()
    )
    open_flags = select(func.count(Flag.id)).where(Flag.session_id == chosen.c.session_id, Flag.end.is_(None))
    open_alerts = open_flags.where(Flag.severity == "alert")
    roster_size = select(func.count(RosterStudent.id)).where(RosterStudent.session_id == chosen.c.session_id)
    return (
        select(
            chosen.c.room.label("classroom"),
            ClassSession.id.label("session_id"),
            ClassSession.name,
            ClassSession.teacher,
            ClassSession.started_at,
            ClassSession.ended_at,
            ClassSession.interval_s,
            ClassSession.expected_students,
            roster_size.scalar_subquery().label("roster_size"),
            SourceStatus.state,
            SourceStatus.updated_at.label("status_updated_at"),
            SourceStatus.detail,
            Interval.start.label("interval_start"),
            Interval.end.label("interval_end"),
            Interval.students_seen,
            *(getattr(Interval, f"n_{e}").label(e) for e in EMOTIONS),
            open_flags.scalar_subquery().label("open_flags"),
            open_alerts.scalar_subquery().label("open_alerts"),
        )
        .select_from(chosen)
        .join(ClassSession, ClassSession.id == chosen.c.session_id)
        .outerjoin(SourceStatus, SourceStatus.session_id == ClassSession.id)
        .outerjoin(Interval, Interval.id == last_interval)
    )


# --- public queries ---------------------------------------------------------------------------------------------------


def list_sessions(
    s: Session,
    limit: int = 200,
    teacher: str | None = None,
    *,
    title: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> pd.DataFrame:
    """Sessions newest first: id, name, source, layout, started_at, ended_at, intervals, students, duration_s, mode.
    With ``teacher``, only the sessions that teacher owns.

    ``duration_s`` is ``ended_at`` (or, while a session runs, its last interval's end) minus ``started_at`` in
    seconds; NaN for a running session with no interval yet. ``title``, ``since`` and ``until`` filter as in
    :func:`sessions_stmt`.
    """
    records = []
    for row in s.execute(sessions_stmt(limit, teacher, title=title, since=since, until=until)):
        end = row.ended_at or row.last_interval_end
        duration = (end - row.started_at).total_seconds() if end is not None else math.nan
        records.append(
            (
                row.id,
                row.name,
                row.source,
                row.layout,
                row.started_at,
                row.ended_at,
                row.intervals,
                row.students,
                duration,
                row.mode,
            )
        )
    frame = _frame(records, SESSION_COLUMNS)
    counts = {"id": "int64", "intervals": "int64", "students": "int64", "duration_s": "float64"}
    return frame.astype({"name": "str", "source": "str", "layout": "str", **counts})


def get_session(s: Session, session_id: int) -> ClassSession | None:
    """The session with this id, or None."""
    return s.get(ClassSession, session_id)


def live_session(
    s: Session, teacher: str | None = None, now: dt.datetime | None = None, *, classroom: str | None = None
) -> ClassSession | None:
    """The most recently started session whose ``ended_at`` is NULL (of ``teacher``, in ``classroom``, when
    given; with ``now``, only one whose worker still reports), else None."""
    return s.scalars(live_session_stmt(teacher, now, classroom=classroom)).first()


def latest_session(s: Session, teacher: str | None = None, *, classroom: str | None = None) -> ClassSession | None:
    """The most recently started session in any state (of ``teacher``, in ``classroom``, when given), else None."""
    return s.scalars(latest_session_stmt(teacher, classroom=classroom)).first()


def school_overview(s: Session, teacher: str | None = None) -> pd.DataFrame:
    """One row per classroom, as :func:`school_stmt` (columns ``SCHOOL_COLUMNS``), in natural classroom order with
    the unassigned sessions (``classroom`` None) last. Counts of a session with no interval yet are 0 and its
    interval times NaT; ``state`` etc. are None before the worker's first heartbeat. Judging which rooms need a
    look is the dashboard's (``dashboard.school``): it depends on the time now and on thresholds, not on the data."""
    rows = sorted(
        s.execute(school_stmt(teacher)).all(), key=lambda r: (r.classroom is None, natural_key(r.classroom or ""))
    )
    frame = _frame(rows, SCHOOL_COLUMNS)
    counts = ["students_seen", *EMOTIONS, "open_flags", "open_alerts", "roster_size"]
    frame[counts] = frame[counts].fillna(0).astype("int64")
    frame["classroom"] = frame["classroom"].astype(object).where(frame["classroom"].notna(), None)
    return frame.astype({"session_id": "int64", "name": "str", "interval_s": "float64"})


def can_view(session: ClassSession | None, viewer: Viewer | None) -> bool:
    """Whether ``viewer`` may see ``session``: anyone when no login is in force (``viewer`` None), an admin always,
    a teacher only their own sessions. A missing session is not viewable."""
    if session is None:
        return False
    return viewer is None or viewer.is_admin or session.teacher == viewer.name


def viewable_session(s: Session, session_id: int, viewer: Viewer | None) -> ClassSession | None:
    """The session with this id if ``viewer`` may see it, else None: another teacher's session is "not found",
    exactly like an id that does not exist, so ids reveal nothing."""
    session = s.get(ClassSession, session_id)
    return session if can_view(session, viewer) else None


def class_timeline(s: Session, session_id: int) -> pd.DataFrame:
    """One row per interval ordered by start: interval_start, interval_end, students_seen, frames_analysed,
    frames_skipped and a count of students per emotion (columns ``angry`` ... ``neutral``)."""
    frame = _frame(s.execute(timeline_stmt(session_id)).all(), TIMELINE_COLUMNS)
    return frame.astype({c: "int64" for c in TIMELINE_COLUMNS if c not in _TIME_COLUMNS})


def student_interval_rows(s: Session, session_id: int) -> list[Row[Any]]:
    """The rows of :func:`student_intervals` as plain rows (the CSV export streams these)."""
    rows = s.execute(student_intervals_stmt(session_id)).all()
    keys = _natural_keys(r.student for r in rows)  # once per label, not once per row: 40 labels, 43,000 rows
    return sorted(rows, key=lambda r: (r.interval_start, keys[r.student]))


def student_intervals(s: Session, session_id: int) -> pd.DataFrame:
    """One row per (interval, student) ordered by interval_start then natural label order: interval_start,
    interval_end, student, frames_seen, dominant, p_angry ... p_neutral.

    Built for a 3-hour class (43,000 rows) to stay well under a second: the student rows are read without their
    interval's times (two datetime conversions per row were most of the time), the 1,080 intervals' times are read
    once and joined in pandas, and the natural label order is computed once per label.
    """
    conn = s.connection()  # Core results: the ORM's per-row handling of 43,000 plain rows costs more than the query
    times = conn.execute(
        select(Interval.id, Interval.start, Interval.end).where(Interval.session_id == session_id)
    ).all()
    rows = conn.execute(
        select(
            StudentInterval.interval_id,
            StudentInterval.student,
            StudentInterval.frames_seen,
            StudentInterval.dominant,
            *(getattr(StudentInterval, f"p_{e}") for e in EMOTIONS),
        )
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
    ).all()
    values = pd.DataFrame.from_records(
        [tuple(r) for r in rows], columns=["interval_id", *(c for c in STUDENT_COLUMNS if not c.startswith("interval"))]
    )
    when = _frame([tuple(t) for t in times], ("interval_id", "interval_start", "interval_end"))
    frame = values.merge(when, on="interval_id", how="inner")
    keys = _natural_keys(frame["student"].unique())
    order = {label: rank for rank, label in enumerate(sorted(keys, key=keys.__getitem__))}
    frame["_rank"] = frame["student"].map(order)
    frame = frame.sort_values(["interval_start", "_rank"], kind="stable").reset_index(drop=True)
    frame = frame[list(STUDENT_COLUMNS)]
    probabilities = {f"p_{e}": "float64" for e in EMOTIONS}
    return frame.astype({"student": "str", "dominant": "str", "frames_seen": "int64", **probabilities})


def latest_students(s: Session, session_id: int) -> pd.DataFrame:
    """Each student's latest interval row in the session (columns as :func:`student_intervals`), sorted by label
    naturally: Seat 2 before Seat 10."""
    rows = sorted(s.execute(latest_students_stmt(session_id)), key=lambda r: natural_key(r.student))
    return _student_frame(rows)


SUMMARY_COLUMNS: tuple[str, ...] = (
    "student",
    "intervals",
    "frames_seen",
    "most_frequent",
    "negative_share",
    "last_emotion",
    "last_seen",
)


def student_totals(s: Session, session_id: int) -> pd.DataFrame:
    """Per student over the whole session, aggregated in SQL (a 3-hour class's 43,000 rows never leave the
    database), in natural label order: student, intervals, frames_seen, most_frequent (ties go to the emotion
    listed first in ``EMOTIONS``), negative_share (share of the student's intervals whose dominant emotion is angry,
    disgust, fear or sad), last_emotion and last_seen (the end of the last interval they were seen in).

    The same numbers as ``dashboard.tables.student_summary(student_intervals(...))``, which tests check."""
    in_session = (StudentInterval.interval_id == Interval.id, Interval.session_id == session_id)
    negative = func.sum(case((StudentInterval.dominant.in_(sorted(NEGATIVE)), 1), else_=0))
    totals = s.execute(
        select(StudentInterval.student, func.count(), func.sum(StudentInterval.frames_seen), negative)
        .join(Interval, in_session[0])
        .where(in_session[1])
        .group_by(StudentInterval.student)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for student, dominant, n in s.execute(
        select(StudentInterval.student, StudentInterval.dominant, func.count())
        .join(Interval, in_session[0])
        .where(in_session[1])
        .group_by(StudentInterval.student, StudentInterval.dominant)
    ):
        counts.setdefault(student, {})[dominant] = int(n)
    latest = {r.student: r for r in s.execute(latest_students_stmt(session_id))}
    records = []
    for student, n, frames, n_negative in totals:
        by_emotion = counts.get(student, {})
        best = max(by_emotion.values(), default=0)
        order = (*EMOTIONS, *sorted(by_emotion))
        last = latest.get(student)
        records.append(
            (
                student,
                int(n),
                int(frames or 0),
                next(e for e in order if by_emotion.get(e, 0) == best),
                int(n_negative or 0) / int(n),
                last.dominant if last is not None else "",
                last.interval_end if last is not None else None,
            )
        )
    records.sort(key=lambda r: natural_key(r[0]))
    frame = _frame(records, SUMMARY_COLUMNS)
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True).astype("datetime64[us, UTC]")
    return frame.astype({"intervals": "int64", "frames_seen": "int64", "negative_share": "float64"})


def source_status(s: Session, session_id: int) -> SourceStatus | None:
    """The session's capture-source heartbeat row, or None before the worker wrote one."""
    return s.get(SourceStatus, session_id)


def delete_session(s: Session, session_id: int, viewer: Viewer | None = None) -> bool:
    """Delete a session and, by ``ON DELETE CASCADE``, its intervals, student rows, status and events.

    Returns False if there was no such session, or it belongs to a session ``viewer`` may not see
    (:func:`can_view`): the check sits here, with the write, so no caller can forget it. The caller's transaction
    commits it (``with Session() as s, s.begin(): delete_session(s, 3)``).
    """
    session = viewable_session(s, session_id, viewer)
    if session is None:
        return False
    s.delete(session)
    s.flush()
    return True


def flag_rows(s: Session, session_id: int, open_only: bool = False) -> list[Row[Any]]:
    """The rows of :func:`session_flags` as plain rows (the CSV export streams these)."""
    rows = s.execute(flags_stmt(session_id, open_only)).all()
    # Class-wide flags (student NULL) sort before students starting at the same time; id keeps the order total.
    return sorted(rows, key=lambda r: (r.start, r.student is not None, natural_key(r.student or ""), r.id))


def session_flags(s: Session, session_id: int, open_only: bool = False) -> pd.DataFrame:
    """The session's attention flags ordered by start then student (natural order, class-wide first): id, student
    (None for a class-wide flag), rule, start, end (NaT while open), severity, reason, frames, acknowledged_at
    (NaT until acknowledged) and evidence (a dict per row). ``open_only`` keeps the flags whose end is NULL."""
    frame = _frame(flag_rows(s, session_id, open_only), FLAG_COLUMNS)
    return frame.astype({"id": "int64", "rule": "str", "severity": "str", "reason": "str", "frames": "int64"})


def acknowledge_flag(s: Session, flag_id: int, at: dt.datetime, viewer: Viewer | None = None) -> bool:
    """Mark a flag as seen by the teacher at ``at`` (aware UTC). Returns False if there is no such flag, or it
    belongs to a session ``viewer`` may not see (:func:`can_view`).

    Acknowledging again moves the time: the latest acknowledgement is the one the teacher remembers. The caller's
    transaction commits it.
    """
    flag = s.get(Flag, flag_id)
    if flag is None or not can_view(s.get(ClassSession, flag.session_id), viewer):
        return False
    flag.acknowledged_at = at
    s.flush()
    return True


# --- student detail, presence, roster, notes, comparison -------------------------------------------------------


def grid_stmt(session_id: int) -> Select[Any]:
    """(interval id, student, dominant, frames seen) for every student row of the session: what a students x time
    heatmap and the review's students table need, not the seven probabilities."""
    columns: list[ColumnElement[Any]] = [
        StudentInterval.interval_id.label("interval_id"),
        StudentInterval.student.label("student"),
        StudentInterval.dominant.label("dominant"),
        StudentInterval.frames_seen.label("frames_seen"),
    ]
    return (
        select(*columns)
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
    )


def student_timeline_stmt(session_id: int, student: str) -> Select[Any]:
    """One student's rows of the session, oldest first (through the ``student`` index)."""
    return (
        select(*_student_columns())
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id, StudentInterval.student == student)
        .order_by(Interval.start)
    )


def recent_students_stmt(session_id: int, n_intervals: int) -> Select[Any]:
    """The student rows of the session's last ``n_intervals`` intervals (a LIMIT on the interval index first, so a
    3-hour session costs the same as a 3-minute one)."""
    last = (
        select(Interval.id)
        .where(Interval.session_id == session_id)
        .order_by(Interval.start.desc())
        .limit(n_intervals)
        .subquery()
    )
    return (
        select(*_student_columns())
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(StudentInterval.interval_id.in_(select(last.c.id)))
        .order_by(Interval.start)
    )


def latest_presence_stmt(session_id: int) -> Select[Any]:
    """Presence rows (camera off, face not visible) of the session's latest interval."""
    last = (
        select(Interval.id)
        .where(Interval.session_id == session_id)
        .order_by(Interval.start.desc())
        .limit(1)
        .scalar_subquery()
    )
    columns: list[ColumnElement[Any]] = [StudentPresence.student.label("student"), StudentPresence.state.label("state")]
    return select(*columns).where(StudentPresence.interval_id == last)


def mood_stmt(session_ids: Sequence[int]) -> Select[Any]:
    """Per session: students seen and students per emotion summed over all its intervals (one GROUP BY)."""
    return (
        select(
            Interval.session_id,
            func.sum(Interval.students_seen).label("students_seen"),
            *(func.sum(getattr(Interval, f"n_{e}")).label(e) for e in EMOTIONS),
        )
        .where(Interval.session_id.in_(list(session_ids)))
        .group_by(Interval.session_id)
    )


def dominant_counts_stmt(session_id: int) -> Select[Any]:
    """Per student and dominant emotion: intervals and frames seen (one GROUP BY; at most students x 7 rows)."""
    columns: list[ColumnElement[Any]] = [
        StudentInterval.student.label("student"),
        StudentInterval.dominant.label("dominant"),
        func.count(StudentInterval.id).label("intervals"),
        func.sum(StudentInterval.frames_seen).label("frames_seen"),
    ]
    return (
        select(*columns)
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
        .group_by(StudentInterval.student, StudentInterval.dominant)
    )


def dominant_counts(s: Session, session_id: int) -> pd.DataFrame:
    """student, dominant, intervals, frames_seen: how often each student's dominant emotion was each one."""
    frame = _frame(s.execute(dominant_counts_stmt(session_id)).all(), DOMINANT_COUNT_COLUMNS)
    return frame.astype({"student": "str", "dominant": "str", "intervals": "int64", "frames_seen": "int64"})


def session_choices(s: Session, limit: int = 500, teacher: str | None = None) -> pd.DataFrame:
    """id, name, started_at of the newest sessions (``teacher``'s only, when given), for pickers: none of
    :func:`list_sessions`' per-session counts."""
    choices = cast(Select[Any], select(ClassSession.id, ClassSession.name, ClassSession.started_at))
    stmt = (
        _scoped(choices, teacher)
        .order_by(ClassSession.started_at.desc(), ClassSession.id.desc())
        .limit(limit)
    )
    frame = _frame(s.execute(stmt).all(), CHOICE_COLUMNS)
    return frame.astype({"id": "int64", "name": "str"})


def student_grid(s: Session, session_id: int) -> pd.DataFrame:
    """interval_start, interval_end, student, dominant, frames_seen for each (interval, student) of the session, by
    interval start: the heatmap, and the students table (``dashboard.tables.summary_from_grid``) without two more
    passes over a 3-hour session's 43,000 rows.

    The rows carry the interval's id, mapped to its times through a second, small query: converting 43,000
    timestamps one by one costs more than the rest of the query.
    """
    intervals = _frame(
        [tuple(r) for r in s.execute(select(Interval.id, Interval.start, Interval.end)
                                     .where(Interval.session_id == session_id))],
        ("interval_id", "interval_start", "interval_end"),
    )  # fmt: skip
    frame = pd.DataFrame.from_records(
        [tuple(r) for r in s.execute(grid_stmt(session_id))], columns=["interval_id", "student", "dominant", "frames_seen"]
    )
    frame = frame.merge(intervals, on="interval_id", how="inner", sort=False)
    frame = frame.sort_values("interval_start", kind="stable", ignore_index=True)
    return frame[list(GRID_COLUMNS)].astype({"student": "str", "dominant": "str", "frames_seen": "int64"})


def grid_version(s: Session, session_id: int) -> tuple[int | None, int, int]:
    """What :func:`student_grid` reads, as one small value that changes whenever its result could: the session's
    newest interval id, its interval count and its student-row count. Student rows are written with their interval
    and never updated, only deleted (a forgotten student, retention), so an equal version means an equal grid. Three
    indexed counts, ~2 ms on a 3-hour class where the grid itself costs ~60 ms: the review page caches on it."""
    in_session = Interval.session_id == session_id
    row = s.execute(
        select(
            select(func.max(Interval.id)).where(in_session).scalar_subquery(),
            select(func.count(Interval.id)).where(in_session).scalar_subquery(),
            select(func.count(StudentInterval.id))
            .join(Interval, StudentInterval.interval_id == Interval.id)
            .where(in_session)
            .scalar_subquery(),
        )
    ).one()
    return (None if row[0] is None else int(row[0])), int(row[1] or 0), int(row[2] or 0)


def session_students(s: Session, session_id: int) -> list[str]:
    """The distinct student labels seen in the session, in natural order."""
    stmt = (
        select(StudentInterval.student)
        .join(Interval, StudentInterval.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
        .distinct()
    )
    return sorted(s.scalars(stmt), key=natural_key)


def student_timeline(s: Session, session_id: int, student: str) -> pd.DataFrame:
    """One student's rows of the session (columns as :func:`student_intervals`), oldest first."""
    return _student_frame(s.execute(student_timeline_stmt(session_id, student)).all())


def recent_students(s: Session, session_id: int, n_intervals: int = 12) -> pd.DataFrame:
    """The student rows of the last ``n_intervals`` intervals (columns as :func:`student_intervals`), by interval
    start then natural label order: what the live page's sparklines show."""
    rows: list[Any] = list(s.execute(recent_students_stmt(session_id, n_intervals)).all())
    keys = _natural_keys(r.student for r in rows)  # once per label, not once per row (40 labels, 480 rows)
    ordered = sorted(rows, key=lambda r: (r.interval_start, keys[r.student]))
    return _student_frame(ordered)


def latest_presence(s: Session, session_id: int) -> dict[str, str]:
    """Student label -> ``camera_off`` or ``face_not_visible`` for those without a readable face in the session's
    latest interval."""
    return {row.student: row.state for row in s.execute(latest_presence_stmt(session_id))}


def roster(s: Session, session_id: int) -> list[str]:
    """The class list given for the session (``roster_student``), in natural order; empty when none was given."""
    stmt = select(RosterStudent.student).where(RosterStudent.session_id == session_id)
    return sorted(s.scalars(stmt), key=natural_key)


def session_moods(s: Session, session_ids: Sequence[int]) -> pd.DataFrame:
    """session_id, students_seen and one column per emotion: each session's counts summed over its intervals.
    A session without intervals has no row."""
    if not session_ids:
        return _frame([], MOOD_COLUMNS)
    frame = _frame(s.execute(mood_stmt(session_ids)).all(), MOOD_COLUMNS)
    return frame.astype({c: "int64" for c in MOOD_COLUMNS})


def session_notes(s: Session, session_id: int) -> pd.DataFrame:
    """The session's teacher notes by time: id, at, text, author (None when unknown), created_at."""
    stmt = (
        select(Note.id, Note.at, Note.text, Note.author, Note.created_at)
        .where(Note.session_id == session_id)
        .order_by(Note.at, Note.id)
    )
    frame = _frame(s.execute(stmt).all(), NOTE_COLUMNS).astype({"id": "int64", "text": "str"})
    frame["author"] = frame["author"].astype(object).where(frame["author"].notna(), None)
    return frame


def add_note(s: Session, session_id: int, at: dt.datetime, text: str, *, author: str | None = None) -> Note | None:
    """Pin ``text`` to the moment ``at`` (aware) of a session; None when there is no such session.

    The text is stripped; empty text or more than ``NOTE_MAX_CHARS`` characters raise ValueError. The caller's
    transaction commits it.
    """
    text = text.strip()
    if not text:
        raise ValueError("a note needs some text")
    if len(text) > NOTE_MAX_CHARS:
        raise ValueError(f"a note is at most {NOTE_MAX_CHARS} characters")
    if s.get(ClassSession, session_id) is None:
        return None
    note = Note(session_id=session_id, at=at, text=text, author=author, created_at=dt.datetime.now(dt.UTC))
    s.add(note)
    s.flush()
    return note


# --- helpers ----------------------------------------------------------------------------------------------------------


def _natural_keys(labels: Iterable[str]) -> dict[str, tuple[tuple[str | int, ...], str]]:
    return {label: natural_key(label) for label in set(labels)}


def _frame(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame with exactly ``columns`` (also when empty) and UTC-aware time columns."""
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))
    for col in _TIME_COLUMNS.intersection(columns):
        frame[col] = pd.to_datetime(frame[col], utc=True).astype("datetime64[us, UTC]")
    return frame


def _student_frame(rows: Iterable[Sequence[Any]]) -> pd.DataFrame:
    frame = _frame(rows, STUDENT_COLUMNS)
    probabilities = {f"p_{e}": "float64" for e in EMOTIONS}
    return frame.astype({"student": "str", "dominant": "str", "frames_seen": "int64", **probabilities})


def presence_timeline(s: Session, session_id: int) -> pd.DataFrame:
    """Presence mode's class timeline: interval_start, interval_end, students_present, students_visible, by start.

    ``students_present`` is NULL (NaN) for intervals stored before it existed; ``students_visible`` is the interval's
    ``students_seen`` (in presence mode: students with a visible face)."""
    rows = s.execute(
        select(
            Interval.start.label("interval_start"),
            Interval.end.label("interval_end"),
            Interval.students_present,
            Interval.students_seen.label("students_visible"),
        )
        .where(Interval.session_id == session_id)
        .order_by(Interval.start)
    ).all()
    return _frame(rows, ["interval_start", "interval_end", "students_present", "students_visible"])
