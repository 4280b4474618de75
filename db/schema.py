"""SQLAlchemy 2.0 models: class sessions, per-interval aggregates, per-student aggregates and source status.

Nothing here can hold an image: students are known by a pseudonymous label (``Seat 3``, ``Tile 2-4``) and every
stored number is an aggregate over an interval. Times are timezone-aware UTC on the Python side on every backend.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import true
from sqlalchemy.types import TypeDecorator

from db.emotions import EMOTIONS

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Store naive UTC, return aware UTC: SQLite has no time zones, PostgreSQL's would shift with the server."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(timezone.utc)")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stored: dt.datetime = value
        if stored.tzinfo is not None:  # a driver or column type that already answers aware: convert, never relabel
            return stored.astimezone(dt.UTC)
        return stored.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ClassSession(Base):
    """One monitored class: from ``monitor run`` start to the end of the source or Ctrl+C."""

    __tablename__ = "class_session"
    # the school overview: each room's running or latest session, by a LIMIT 1 walk of this index
    __table_args__ = (Index("ix_class_session_classroom_started_at", "classroom", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500), doc="source string with any password removed")
    layout: Mapped[str] = mapped_column(String(20), doc="room or gallery (auto until the frames show a gallery with names, or faces without one)")
    interval_s: Mapped[float] = mapped_column(Float)
    fps: Mapped[float] = mapped_column(Float)
    detector: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    teacher: Mapped[str | None] = mapped_column(
        String(100), default=None, index=True, doc="account name of the teacher who owns it; NULL: admins only"
    )
    classroom: Mapped[str | None] = mapped_column(String(100), default=None, index=True, doc="room or course label")
    expected_students: Mapped[int | None] = mapped_column(
        Integer, default=None, doc="class size the teacher expects (the roster's length when one is given)"
    )
    uid: Mapped[str | None] = mapped_column(
        String(32), default=None, unique=True, doc="the worker journal's id: a replayed journal finds its session"
    )
    mode: Mapped[str] = mapped_column(
        String(20), default="expressions", server_default="expressions",
        doc="expressions (emotion model) or presence (no emotion inference: seen, camera off, face not visible)",
    )
    per_student: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true(), doc="False: class-level aggregates only, no student labels stored"
    )

    intervals: Mapped[list[Interval]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True, order_by="Interval.start"
    )
    source_status: Mapped[SourceStatus | None] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<ClassSession {self.id} {self.name!r} {self.started_at:%Y-%m-%d %H:%M}>"


class Interval(Base):
    """Class-wide aggregate of one interval: students per dominant emotion, frames analysed and skipped.

    In presence mode ``students_seen`` counts students with a visible face and every ``n_*`` is NULL (not measured).
    """

    __tablename__ = "interval"
    __table_args__ = (UniqueConstraint("session_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), index=True)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    students_seen: Mapped[int] = mapped_column(Integer)
    frames_analysed: Mapped[int] = mapped_column(Integer)
    frames_skipped: Mapped[int] = mapped_column(Integer)
    students_present: Mapped[int | None] = mapped_column(
        Integer, default=None, doc="students there, with or without a visible face (NULL: stored before 0007)"
    )
    n_angry: Mapped[int | None] = mapped_column(Integer, default=0)
    n_disgust: Mapped[int | None] = mapped_column(Integer, default=0)
    n_fear: Mapped[int | None] = mapped_column(Integer, default=0)
    n_happy: Mapped[int | None] = mapped_column(Integer, default=0)
    n_sad: Mapped[int | None] = mapped_column(Integer, default=0)
    n_surprise: Mapped[int | None] = mapped_column(Integer, default=0)
    n_neutral: Mapped[int | None] = mapped_column(Integer, default=0)

    session: Mapped[ClassSession] = relationship(back_populates="intervals")
    students: Mapped[list[StudentInterval]] = relationship(
        back_populates="interval", cascade="all, delete-orphan", passive_deletes=True
    )

    def counts(self) -> dict[str, int]:
        return {e: int(getattr(self, f"n_{e}") or 0) for e in EMOTIONS}

    def __repr__(self) -> str:
        return f"<Interval session={self.session_id} {self.start:%H:%M:%S} seen={self.students_seen}>"


class StudentInterval(Base):
    """One student's mean class probabilities over one interval, their dominant emotion and frames seen."""

    __tablename__ = "student_interval"
    # the unique constraint's index leads with interval_id, so it serves the interval lookups: no index of its own
    __table_args__ = (UniqueConstraint("interval_id", "student"), Index("ix_student_interval_student", "student"))

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_id: Mapped[int] = mapped_column(ForeignKey("interval.id", ondelete="CASCADE"))
    student: Mapped[str] = mapped_column(String(200), doc="pseudonymous label: Seat N, Tile R-C, a display name")
    frames_seen: Mapped[int] = mapped_column(Integer)
    dominant: Mapped[str] = mapped_column(String(10))
    p_angry: Mapped[float] = mapped_column(Float)
    p_disgust: Mapped[float] = mapped_column(Float)
    p_fear: Mapped[float] = mapped_column(Float)
    p_happy: Mapped[float] = mapped_column(Float)
    p_sad: Mapped[float] = mapped_column(Float)
    p_surprise: Mapped[float] = mapped_column(Float)
    p_neutral: Mapped[float] = mapped_column(Float)

    interval: Mapped[Interval] = relationship(back_populates="students")

    def probabilities(self) -> dict[str, float]:
        return {e: float(getattr(self, f"p_{e}")) for e in EMOTIONS}

    def __repr__(self) -> str:
        return f"<StudentInterval {self.student!r} {self.dominant} frames={self.frames_seen}>"


class SourceStatus(Base):
    """The capture source's live state for a session: a heartbeat row the worker updates, one per session."""

    __tablename__ = "source_status"

    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), doc="starting, online, offline or ended")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    frames_analysed: Mapped[int] = mapped_column(Integer, default=0)
    frames_skipped: Mapped[int] = mapped_column(Integer, default=0)
    reconnects: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text, default=None, doc="last error, one line")

    session: Mapped[ClassSession] = relationship(back_populates="source_status")

    def __repr__(self) -> str:
        return f"<SourceStatus session={self.session_id} {self.state}>"


class SourceEvent(Base):
    """A change of the source's state (online/offline), recorded once per change."""

    __tablename__ = "source_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text, default=None)

    def __repr__(self) -> str:
        return f"<SourceEvent session={self.session_id} {self.state} at {self.at:%H:%M:%S}>"


class Flag(Base):
    """A student (or the whole class, ``student`` NULL) flagged as needing attention by one rule, with its evidence.

    Open while ``end`` is NULL. ``evidence`` holds the numbers that triggered it (shares, distances, minutes) and
    ``frames`` how many analysed frames the judgement rests on, so the dashboard can say how sure it is.
    """

    __tablename__ = "flag"
    # open flags of a session (end NULL): the live panel and the school overview's count per room
    __table_args__ = (Index("ix_flag_session_id_end", "session_id", "end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), index=True)
    student: Mapped[str | None] = mapped_column(String(200), default=None, doc="NULL for a class-wide flag")
    rule: Mapped[str] = mapped_column(String(40))
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    severity: Mapped[str] = mapped_column(String(10), doc="info, warning or alert")
    reason: Mapped[str] = mapped_column(Text, doc="plain-language reason shown to the teacher")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    frames: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    def __repr__(self) -> str:
        who = self.student or "class"
        return f"<Flag {self.rule} {who!r} {self.start:%H:%M:%S}{'' if self.end else ' open'}>"


class Setting(Base):
    """A named group of settings stored in the database (e.g. ``flags``), read by the worker at session start."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Setting {self.key}>"


class StudentPresence(Base):
    """A student who was there in an interval without a readable face: camera off, or video with no face found.

    In presence mode (no emotion model) every student there gets a row, ``seen`` when their face was visible in most
    analysed frames, with ``frames_visible`` and ``visible_share``; no ``StudentInterval`` row is written at all.

    Kept apart from ``StudentInterval`` (which always has probabilities) so every emotion query stays as it is.
    ``state`` is the state held for most of the student's non-visible frames; the two counters say how many frames
    of the interval were in each state. A student can have both a ``StudentInterval`` and a presence row in one
    interval (the camera went off half way).
    """

    __tablename__ = "student_presence"
    __table_args__ = (UniqueConstraint("interval_id", "student"),)  # its index serves interval_id lookups too

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_id: Mapped[int] = mapped_column(ForeignKey("interval.id", ondelete="CASCADE"))
    student: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), doc="seen (presence mode only), camera_off or face_not_visible")
    frames_camera_off: Mapped[int] = mapped_column(Integer, default=0)
    frames_face_not_visible: Mapped[int] = mapped_column(Integer, default=0)
    frames_visible: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    visible_share: Mapped[float | None] = mapped_column(
        Float, default=None, doc="share of the interval's analysed frames with the student's face visible"
    )

    def __repr__(self) -> str:
        return f"<StudentPresence {self.student!r} {self.state}>"


class RosterStudent(Base):
    """A student on the class list given for a session (``--roster``), so those never seen can be shown."""

    __tablename__ = "roster_student"
    __table_args__ = (UniqueConstraint("session_id", "student"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), index=True)
    student: Mapped[str] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<RosterStudent session={self.session_id} {self.student!r}>"


class Note(Base):
    """A teacher's note pinned to a moment of a session ("quiz started"), added live or afterwards."""

    __tablename__ = "note"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, doc="the moment of the session the note is about")
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Note session={self.session_id} {self.at:%H:%M:%S} {self.text[:20]!r}>"


class LiveRender(Base):
    """The Live page of a running session as every viewer allowed to see it is first shown it, drawn once when its
    data changes (``dashboard.live_render``) and served as stored JSON to each fresh viewer, in any dashboard
    process. Derived data only (the same aggregates and labels as the tables it is drawn from); one row per
    session, replaced at each change, deleted with the session and whenever a student is forgotten."""

    __tablename__ = "live_render"

    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[str] = mapped_column(String(200), default="", doc="the session's data version it was drawn for")
    rendered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(
        UTCDateTime, default=None, doc="set while one dashboard process draws it, so the others do not"
    )
    payload: Mapped[bytes | None] = mapped_column(
        LargeBinary, default=None, doc="the drawn outputs and fingerprint, zlib-compressed JSON"
    )

    def __repr__(self) -> str:
        return f"<LiveRender session={self.session_id} {self.version!r}>"


class User(Base):
    """A dashboard account: a teacher (sees their own sessions) or an admin (sees all). Password hashed, never kept."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), doc="teacher or admin")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        return f"<User {self.name!r} {self.role}>"


class WebSession(Base):
    """A dashboard login, kept server-side so logging out ends it everywhere and every worker process agrees.

    The browser's cookie carries a random token; only its SHA-256 is stored here, so reading this table does not
    give anyone a usable cookie. ``expires_at`` is fixed at login (an absolute lifetime: polling does not extend it).
    """

    __tablename__ = "web_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    password_tag: Mapped[str] = mapped_column(String(64), doc="password_fingerprint at login: a new password ends it")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)

    def __repr__(self) -> str:
        return f"<WebSession {self.user_name!r} until {self.expires_at:%Y-%m-%d %H:%M}>"


class LoginThrottle(Base):
    """Failed logins counted per key (an address, an address and account, an account) in a fixed window, shared by
    every dashboard process on the database. An attempt is charged before its password is checked and refunded when
    it succeeds, so requests in flight cannot get past the limit."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<LoginThrottle {self.key!r} {self.failures} since {self.window_start:%H:%M:%S}>"
