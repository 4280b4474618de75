"""The one storage thread: every database write of a worker goes through it, in order, buffered while it fails.

The worker ``put``s operations (open the session, store an interval, record a source change, refresh the status
heartbeat, close the session). The thread applies them in order. When the database is locked, busy or down, the
failed operation and everything behind it stay buffered in memory and are retried with exponential backoff, so no
measured interval is lost; status heartbeats are coalesced (only the newest one matters). On ``close`` the thread
keeps retrying until everything is written or ``shutdown_timeout_s`` passes, and reports what could not be written.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, null, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from db.emotions import EMOTIONS
from db.engine import make_engine, upgrade
from db.schema import (
    ClassSession,
    Flag,
    Interval,
    RosterStudent,
    SourceEvent,
    SourceStatus,
    StudentInterval,
    StudentPresence,
)
from monitor.aggregate import IntervalAggregate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenSession:
    name: str
    source: str
    layout: str
    interval_s: float
    fps: float
    detector: str
    model: str
    started_at: dt.datetime
    teacher: str | None = None  # the dashboard account that owns the session (defaults: older spool files load)
    classroom: str | None = None
    roster: tuple[str, ...] = ()  # the class list's students (``--roster``); its length is the expected class size
    mode: str = "expressions"  # or presence: no emotion inference
    per_student: bool = True  # False: no student label is stored (class-level aggregates only)


@dataclass(frozen=True)
class SetLayout:
    layout: str


@dataclass(frozen=True)
class Status:
    state: str
    at: dt.datetime
    frames_analysed: int
    frames_skipped: int
    reconnects: int
    detail: str | None = None
    event: bool = False  # also record a SourceEvent (a change of state, not a heartbeat)


@dataclass(frozen=True)
class CloseSession:
    ended_at: dt.datetime


@dataclass(frozen=True)
class FlagOp:
    """A flag opened, updated or closed by the flag engine (``monitor.flags.FlagEvent``'s fields, flat for the spool).

    Updates and closes find their row as the session's open flag of the same rule and student, so a spool replayed
    after a restart still lands on the right row.
    """

    kind: str
    rule: str
    student: str | None
    start: dt.datetime
    end: dt.datetime | None
    severity: str
    reason: str
    evidence: dict[str, float | int | str]
    frames: int


Op = OpenSession | SetLayout | IntervalAggregate | Status | CloseSession | FlagOp
_TRANSIENT = (OperationalError, DBAPIError)


class StorageWriter(threading.Thread):
    """Owns the engine and all writes; ``put`` never blocks the analysis loop."""

    def __init__(
        self,
        db_url: str,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        shutdown_timeout_s: float = 60.0,
    ) -> None:
        super().__init__(name="storage", daemon=True)
        self.db_url = db_url
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self._inbox: queue.Queue[Op] = queue.Queue()
        self._pending: collections.deque[Op] = collections.deque()
        self._closing = threading.Event()
        self._wake = threading.Event()
        self._engine: Engine | None = None
        self._migrated = False
        self.session_id: int | None = None
        self.intervals_written = 0
        self.failures = 0
        self.last_error: str | None = None
        self.spool_file: Path | None = None

    # -- worker side -------------------------------------------------------------------------------------------
    def put(self, op: Op) -> None:
        self._inbox.put(op)
        self._wake.set()

    def close(self, ended_at: dt.datetime | None) -> None:
        """Queue the session's end (if given) and ask the thread to finish once everything is written (or time
        runs out)."""
        if ended_at is not None:
            self.put(CloseSession(ended_at))
        self._closing.set()
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._pending) + self._inbox.qsize()

    # -- storage thread ----------------------------------------------------------------------------------------
    def run(self) -> None:
        delay = self.retry_initial_s
        deadline: float | None = None
        while True:
            self._drain_inbox()
            if self._closing.is_set() and deadline is None:
                deadline = time.monotonic() + self.shutdown_timeout_s
            if self._pending:
                try:
                    self._write_pending()
                    delay = self.retry_initial_s
                except _TRANSIENT as exc:
                    self.failures += 1
                    self.last_error = _one_line(exc)
                    log.warning(
                        "database unavailable (%s); %d operation(s) buffered, retrying in %.1f s",
                        self.last_error, len(self._pending), delay,
                    )
                    if deadline is not None and time.monotonic() + delay > deadline:
                        break
                    self._wake.wait(delay)  # close() cuts a long backoff short for one last prompt try
                    self._wake.clear()
                    delay = min(delay * 2, self.retry_max_s)
                    continue
            if self._closing.is_set() and not self._pending and self._inbox.empty():
                break
            self._wake.wait(0.5)
            self._wake.clear()
        self._drain_inbox()
        if self._pending:
            from monitor.spool import dump

            lost = sum(isinstance(op, IntervalAggregate) for op in self._pending)
            try:
                self.spool_file = dump(list(self._pending), self.session_id)
                log.error("database still unavailable (%s): %d interval(s) saved to %s; write them later with "
                          "python -m monitor replay %s", self.last_error, lost, self.spool_file, self.spool_file)
            except OSError as exc:
                log.error("could not write %d interval(s) anywhere: %s; %s", lost, self.last_error, exc)
        if self._engine is not None:
            self._engine.dispose()

    def unwritten_intervals(self) -> int:
        return sum(isinstance(op, IntervalAggregate) for op in self._pending) + sum(
            isinstance(op, IntervalAggregate) for op in list(self._inbox.queue)
        )

    def _drain_inbox(self) -> None:
        while True:
            try:
                op = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(op, Status) and not op.event and self._pending and _is_heartbeat(self._pending[-1]):
                self._pending[-1] = op  # coalesce heartbeats: only the newest matters
            else:
                self._pending.append(op)

    def _write_pending(self) -> None:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        if not self._migrated:
            upgrade(self._engine)
            self._migrated = True
        while self._pending:
            op = self._pending[0]
            with Session(self._engine) as s, s.begin():
                self._apply(s, op)
            self._pending.popleft()
            if isinstance(op, IntervalAggregate):
                self.intervals_written += 1

    def _apply(self, s: Session, op: Op) -> None:
        if isinstance(op, OpenSession):
            if self.session_id is not None:
                return  # replaying a spool into a session the database already has
            row = ClassSession(
                name=op.name, source=op.source, layout=op.layout, interval_s=op.interval_s, fps=op.fps,
                detector=op.detector, model=op.model, started_at=op.started_at,
                teacher=op.teacher, classroom=op.classroom,
                expected_students=len(op.roster) or None, mode=op.mode, per_student=op.per_student,
            )
            s.add(row)
            s.flush()
            self.session_id = row.id
            if op.per_student:
                s.add_all(RosterStudent(session_id=row.id, student=student) for student in op.roster)
            s.add(SourceStatus(session_id=row.id, state="starting", updated_at=op.started_at))
            return
        if self.session_id is None:
            raise RuntimeError("storage operation before OpenSession")
        sid = self.session_id
        if isinstance(op, SetLayout):
            cs = s.get(ClassSession, sid)
            assert cs is not None
            cs.layout = op.layout
        elif isinstance(op, IntervalAggregate):
            counts = op.counts()
            interval = Interval(
                session_id=sid, start=op.start, end=op.end, students_seen=op.students_seen,
                students_present=op.students_present,
                frames_analysed=op.frames_analysed, frames_skipped=op.frames_skipped,
                # null(), not None: None would let the column's default (0) fire, and 0 angry is a measurement
                **{f"n_{e}": counts[e] if op.emotions else null() for e in EMOTIONS},
            )
            if op.per_student and op.emotions:
                interval.students = [
                    StudentInterval(
                        student=st.student, frames_seen=st.frames_seen, dominant=st.dominant,
                        **{f"p_{e}": p for e, p in zip(EMOTIONS, st.probs)},
                    )
                    for st in op.students
                ]
            s.add(interval)
            visibility = op.visibility() if op.per_student else []
            if visibility:
                s.flush()
                s.add_all(
                    StudentPresence(
                        interval_id=interval.id, student=v.student, state=v.state,
                        frames_camera_off=v.frames_camera_off, frames_face_not_visible=v.frames_face_not_visible,
                        frames_visible=v.frames_visible, visible_share=round(v.visible_share, 4),
                    )
                    for v in visibility
                )
        elif isinstance(op, Status):
            found = s.get(SourceStatus, sid)
            status = found if found is not None else SourceStatus(session_id=sid)
            status.state = op.state
            status.updated_at = op.at
            status.frames_analysed = op.frames_analysed
            status.frames_skipped = op.frames_skipped
            status.reconnects = op.reconnects
            if op.detail is not None or op.event:
                status.detail = op.detail
            s.add(status)
            if op.event:
                s.add(SourceEvent(session_id=sid, at=op.at, state=op.state, detail=op.detail))
        elif isinstance(op, FlagOp):
            self._apply_flag(s, sid, op)
        elif isinstance(op, CloseSession):
            cs = s.get(ClassSession, sid)
            assert cs is not None
            cs.ended_at = op.ended_at
            final = s.scalar(select(SourceStatus).where(SourceStatus.session_id == sid))
            if final is not None:
                final.state = "ended"
                final.updated_at = op.ended_at


    @staticmethod
    def _apply_flag(s: Session, sid: int, op: FlagOp) -> None:
        if op.kind == "open":
            s.add(Flag(session_id=sid, student=op.student, rule=op.rule, start=op.start, end=op.end,
                       severity=op.severity, reason=op.reason, evidence=dict(op.evidence), frames=op.frames))
            return
        student = Flag.student.is_(None) if op.student is None else Flag.student == op.student
        row = s.scalars(
            select(Flag).where(Flag.session_id == sid, Flag.rule == op.rule, student, Flag.end.is_(None))
            .order_by(Flag.start.desc())
        ).first()
        if row is None:
            log.warning("no open %s flag for %s to %s; ignored", op.rule, op.student or "the class", op.kind)
            return
        row.severity, row.reason, row.evidence, row.frames = op.severity, op.reason, dict(op.evidence), op.frames
        if op.kind == "close":
            row.end = op.end


def _is_heartbeat(op: Op) -> bool:
    return isinstance(op, Status) and not op.event


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
