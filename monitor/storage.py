"""The one storage thread: every database write of a worker goes through it, in order, buffered while it fails.

The worker ``put``s operations (open the session, store an interval, record a source change, refresh the status
heartbeat, close the session). With a journal (``monitor.journal``) each operation but the heartbeat is on disk,
fsynced, before it is queued, and marked done once committed. The thread applies them in order, each one idempotent
on its natural key, so a retry or a replay never writes a row twice. Errors are of two kinds:

* transient (the database locked, busy, down, restarting, the disk full): the failed operation and everything
  behind it stay buffered and are retried with exponential backoff that new work does not cut short; status
  heartbeats are coalesced (only the newest one matters);
* permanent (a value the schema refuses, a constraint, a bug): reported once, that operation set aside (marked
  ``rejected`` in the journal), and the rest written. Strings are fitted to their columns (length, NUL bytes) before
  they reach the database, so a long video path or an odd roster name is not one.

On ``close`` the thread keeps retrying until everything is written or ``shutdown_timeout_s`` passes, and reports
what could not be written: it stays in the journal for ``python -m monitor replay --pending``.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import queue
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, null, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session

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

if TYPE_CHECKING:
    from monitor.journal import Journal

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
    uid: str | None = None  # the journal's session id: a replay finds the session instead of opening a second one
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
    state: str = "ended"  # "interrupted": closed by a replay after its worker died


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
FINAL_STATES = ("ended", "interrupted")  # a session's source status once it is closed


class UnwritableDatabase(Exception):
    """The database answers but refuses writes (read-only file or server, no privilege); one line for the user."""


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the connection, a lock, the server or the disk, not the data. IntegrityError, DataError
    (value too long, a NUL byte), ProgrammingError and anything that is not a database error are permanent."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | OSError)


def fit(column: InstrumentedAttribute[Any], value: str) -> str:
    """``value`` as ``column`` can store it: NUL bytes removed (PostgreSQL refuses them in text) and cut to the
    column's length with an ellipsis (PostgreSQL refuses a longer VARCHAR; SQLite would store it silently)."""
    value = value.replace("\x00", "")
    length = getattr(column.property.columns[0].type, "length", None)
    if length is not None and len(value) > length:
        value = value[: length - 1] + "\u2026"
    return value


def fit_opt(column: InstrumentedAttribute[Any], value: str | None) -> str | None:
    return None if value is None else fit(column, value)


def folder_takes_files(folder: Path) -> bool:
    """Whether a new file can be made (and removed) in ``folder``: the test that permissions alone do not give (an
    administrator passes ``os.access``; an immutable or read-only mounted folder still refuses)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".classmood-probe-"):
            return True
    except OSError:
        return False


def probe_writable(engine: Engine) -> bool:
    """Bring the schema to head and raise UnwritableDatabase if the database answers but refuses a write (a
    read-only SQLite file or URI, a read-only PostgreSQL server or account). A database that does not answer passes
    (False: not migrated yet): the storage thread migrates and writes once it is back, as during a class. True: the
    schema is at head."""
    from alembic.util.exc import CommandError

    from db.engine import describe_db_error

    try:
        upgrade(engine)
        with engine.connect() as conn, conn.begin() as tx:
            # a real write of every row of a one-row table, rolled back: SQLite checks the file, PostgreSQL the
            # transaction mode and the privileges
            conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            tx.rollback()
    except (OperationalError, InterfaceError) as exc:
        message = str(getattr(exc, "orig", exc)).lower()
        if any(k in message for k in ("readonly", "read-only", "read only", "permission denied")):
            raise UnwritableDatabase(f"the database cannot be written: {describe_db_error(exc)}") from exc
        if engine.dialect.name == "sqlite" and engine.url.database and Path(engine.url.database).is_dir():
            # a folder is a setting to fix, not a database that is away for a while (a disk I/O error, a share
            # not mounted yet or a full disk may pass: the class goes on into its journal)
            raise UnwritableDatabase(f"the database {engine.url.database} is a folder, not a file") from exc
        if engine.dialect.name == "sqlite" and engine.url.database:
            # SQLite writes its file and a journal beside it: a folder that is there but takes no new file (read-only,
            # another owner's) is a setting to fix too; a folder not there yet (a share not mounted) passes
            folder = Path(engine.url.database).resolve().parent
            if folder.is_dir() and not folder_takes_files(folder):
                raise UnwritableDatabase(
                    f"the database cannot be written: its folder {folder} takes no new file (read-only?)"
                ) from exc
        log.warning("database not reachable at start (%s); the class goes on and is written when it is back",
                    _one_line(exc))
        return False
    except SQLAlchemyError as exc:
        raise UnwritableDatabase(f"the database cannot be written: {describe_db_error(exc)}") from exc
    except CommandError as exc:  # a revision this version does not know: a newer ClassMood migrated it
        raise UnwritableDatabase(f"the database's schema cannot be brought up to date: {exc}") from exc
    return True


class StorageWriter(threading.Thread):
    """Owns all writes; ``put`` never blocks the analysis loop.

    ``engine``: one the caller opened on ``db_url`` and disposes (the worker's, shared with its other parts), with
    ``migrated`` when its schema is already at head; without it the thread opens (and disposes) its own.
    """

    def __init__(
        self,
        db_url: str,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        shutdown_timeout_s: float = 60.0,
        journal: Journal | None = None,
        engine: Engine | None = None,
        migrated: bool = False,
    ) -> None:
        super().__init__(name="storage", daemon=True)
        self.db_url = db_url
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self.journal = journal
        self._inbox: queue.Queue[tuple[Op, int | None]] = queue.Queue()
        self._pending: collections.deque[tuple[Op, int | None]] = collections.deque()
        self._closing = threading.Event()
        self._wake = threading.Event()  # new work: ends the idle wait
        self._kick = threading.Event()  # close(): ends a backoff wait early, once
        self._engine = engine
        self._own_engine = engine is None
        self._migrated = migrated
        self.session_id: int | None = None
        self.intervals_written = 0
        self.failures = 0
        self.last_error: str | None = None
        self.rejected: list[tuple[Op, str]] = []  # operations the database refused for good
        self._reported: set[str] = set()
        self.spool_file: Path | None = None

    # -- worker side -------------------------------------------------------------------------------------------
    def put(self, op: Op, seq: int | None = None) -> None:
        """Queue ``op``; with a journal it is appended and fsynced first (``seq``: already journaled, a replay)."""
        if seq is None and self.journal is not None and not _is_heartbeat(op):
            seq = self.journal.append(op)
        self._inbox.put((op, seq))
        self._wake.set()

    def close(self, ended_at: dt.datetime | None) -> None:
        """Queue the session's end (if given) and ask the thread to finish once everything is written (or time
        runs out)."""
        if ended_at is not None:
            self.put(CloseSession(ended_at))
        self._closing.set()
        self._wake.set()
        self._kick.set()

    @property
    def backlog(self) -> int:
        return len(self._pending) + self._inbox.qsize()

    # -- storage thread ----------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # never die silently: say so, then save what is left
            log.critical("storage thread failed (%s): saving what is unwritten", _one_line(exc), exc_info=True)
        finally:
            self._finish()

    def _loop(self) -> None:
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
                except Exception as exc:  # transient, or the engine/migration failing: retry
                    self.failures += 1
                    self.last_error = _one_line(exc)
                    wait = delay
                    if deadline is not None:
                        wait = min(wait, deadline - time.monotonic())
                        if wait <= 0:
                            break
                    log.warning(
                        "database unavailable (%s); %d operation(s) buffered%s, retrying in %.1f s",
                        self.last_error, len(self._pending), " and journaled" if self._journal_ok() else "", wait,
                    )
                    if not is_transient(exc):
                        log.debug("unexpected error while connecting or migrating", exc_info=True)
                    self._kick.wait(wait)  # close() cuts one long backoff short for a prompt last try; put() does not
                    self._kick.clear()
                    delay = min(delay * 2, self.retry_max_s)
                    continue
            if self._closing.is_set() and not self._pending and self._inbox.empty():
                break
            self._wake.wait(0.5)
            self._wake.clear()

    def _journal_ok(self) -> bool:
        return self.journal is not None and self.journal.broken is None

    def _finish(self) -> None:
        self._drain_inbox()
        if self._engine is not None and self._own_engine:
            self._engine.dispose()
        lost = sum(isinstance(op, IntervalAggregate) for op, _ in self._pending)
        if self.journal is not None:
            if not self._pending and self.rejected and self.journal.broken is None:
                kept = self.journal.set_aside()
                log.error("%d operation(s) the database refused for good are kept in %s", len(self.rejected), kept)
                return
            if not self._pending:
                self.journal.finish()
                return
            self.journal.release()
            if self._journal_ok() and all(seq is not None for _, seq in self._pending):
                self.spool_file = self.journal.path
                log.error("database still unavailable (%s): %d interval(s) kept in the journal %s; they are written "
                          "at the next start of a worker, or now with: python -m monitor replay --pending",
                          self.last_error, lost, self.spool_file)
                return
        if self._pending:
            from monitor.spool import dump

            try:
                self.spool_file = dump([op for op, _ in self._pending], self.session_id)
                log.error("database still unavailable (%s): %d interval(s) saved to %s; write them later with "
                          "python -m monitor replay %s", self.last_error, lost, self.spool_file, self.spool_file)
            except OSError as exc:
                log.error("could not write %d interval(s) anywhere: %s; %s", lost, self.last_error, exc)

    def unwritten_intervals(self) -> int:
        return sum(isinstance(op, IntervalAggregate) for op, _ in self._pending) + sum(
            isinstance(op, IntervalAggregate) for op, _ in list(self._inbox.queue)
        )

    def _drain_inbox(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if _is_heartbeat(item[0]) and self._pending and _is_heartbeat(self._pending[-1][0]):
                self._pending[-1] = item  # coalesce heartbeats: only the newest matters
            else:
                self._pending.append(item)

    def _connect(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        if not self._migrated:
            upgrade(self._engine)
            self._migrated = True
        return self._engine

    def _write_pending(self) -> None:
        engine = self._connect()
        while self._pending:
            op, seq = self._pending[0]
            try:
                with Session(engine) as s, s.begin():
                    opened = self._apply(s, op)
            except Exception as exc:  # sorted below: retry the transient, set aside the rest
                if is_transient(exc):
                    raise
                self._set_aside(op, seq, exc)
            else:
                if opened is not None:
                    self.session_id = opened  # only once committed: a failed open never leaves a stale id
                if seq is not None and self.journal is not None:
                    self.journal.done(seq)
                if isinstance(op, IntervalAggregate):
                    self.intervals_written += 1
            self._pending.popleft()

    def _set_aside(self, op: Op, seq: int | None, exc: BaseException) -> None:
        error = _one_line(exc) or type(exc).__name__
        self.rejected.append((op, error))
        if seq is not None and self.journal is not None:
            self.journal.rejected(seq, error)
        if error not in self._reported:  # once per distinct error, not once per interval
            self._reported.add(error)
            log.error("the database refused a %s for good (%s); it is set aside and the rest is written",
                      type(op).__name__, error)

    def _apply(self, s: Session, op: Op) -> int | None:
        """Apply one operation, idempotently; the new session's id for an OpenSession."""
        if isinstance(op, OpenSession):
            return self._open(s, op)
        if self.session_id is None:
            raise RuntimeError("storage operation before the session was opened")
        sid = self.session_id
        if isinstance(op, SetLayout):
            cs = s.get(ClassSession, sid)
            if cs is None:
                raise RuntimeError(f"session {sid} is gone")
            cs.layout = fit(ClassSession.layout, op.layout)
        elif isinstance(op, IntervalAggregate):
            self._interval(s, sid, op)
        elif isinstance(op, Status):
            found = s.get(SourceStatus, sid)
            detail = fit_opt(SourceStatus.detail, op.detail)
            if found is None or found.state not in FINAL_STATES:  # a replayed status never reopens a closed one
                status = found if found is not None else SourceStatus(session_id=sid)
                status.state = fit(SourceStatus.state, op.state)
                status.updated_at = op.at
                status.frames_analysed = op.frames_analysed
                status.frames_skipped = op.frames_skipped
                status.reconnects = op.reconnects
                if detail is not None or op.event:
                    status.detail = detail
                s.add(status)
            if op.event and s.scalar(
                select(SourceEvent.id).where(SourceEvent.session_id == sid, SourceEvent.at == op.at,
                                             SourceEvent.state == op.state)
            ) is None:
                s.add(SourceEvent(session_id=sid, at=op.at, state=fit(SourceEvent.state, op.state), detail=detail))
        elif isinstance(op, FlagOp):
            self._apply_flag(s, sid, op)
        elif isinstance(op, CloseSession):
            cs = s.get(ClassSession, sid)
            if cs is None:
                raise RuntimeError(f"session {sid} is gone")
            cs.ended_at = op.ended_at
            final = s.get(SourceStatus, sid)
            if final is None:
                final = SourceStatus(session_id=sid)
                s.add(final)
            final.state = op.state
            final.updated_at = op.ended_at
            if op.state != "ended" and s.scalar(
                select(SourceEvent.id).where(SourceEvent.session_id == sid, SourceEvent.state == op.state)
            ) is None:
                s.add(SourceEvent(session_id=sid, at=op.ended_at, state=op.state,
                                  detail="the worker stopped without closing the session"))
        return None

    def _open(self, s: Session, op: OpenSession) -> int:
        if self.session_id is not None:
            return self.session_id  # replaying a spool into a session the database already has
        if op.uid is not None:
            existing = s.scalar(select(ClassSession.id).where(ClassSession.uid == op.uid))
            if existing is not None:
                return int(existing)  # a replay, or a retry after a commit whose answer was lost
        roster = list(dict.fromkeys(fit(RosterStudent.student, st) for st in op.roster))
        row = ClassSession(
            name=fit(ClassSession.name, op.name), source=fit(ClassSession.source, op.source),
            layout=fit(ClassSession.layout, op.layout), interval_s=op.interval_s, fps=op.fps,
            detector=fit(ClassSession.detector, op.detector), model=fit(ClassSession.model, op.model),
            started_at=op.started_at, teacher=fit_opt(ClassSession.teacher, op.teacher),
            classroom=fit_opt(ClassSession.classroom, op.classroom), expected_students=len(roster) or None,
            uid=op.uid, mode=fit(ClassSession.mode, op.mode), per_student=op.per_student,
        )
        s.add(row)
        s.flush()
        if op.per_student:  # class-level storage keeps no student label, the roster's included
            s.add_all(RosterStudent(session_id=row.id, student=student) for student in roster)
        s.add(SourceStatus(session_id=row.id, state="starting", updated_at=op.started_at))
        return row.id

    @staticmethod
    def _interval(s: Session, sid: int, op: IntervalAggregate) -> None:
        if s.scalar(select(Interval.id).where(Interval.session_id == sid, Interval.start == op.start)) is not None:
            return  # written before the worker died or the answer was lost: never twice
        counts = op.counts()
        interval = Interval(
            session_id=sid, start=op.start, end=op.end, students_seen=op.students_seen,
            students_present=op.students_present,
            frames_analysed=op.frames_analysed, frames_skipped=op.frames_skipped,
            # null(), not None: None would let the column's default (0) fire, and 0 angry is a measurement
            **{f"n_{e}": counts[e] if op.emotions else null() for e in EMOTIONS},
        )
        if op.per_student and op.emotions:
            students = {fit(StudentInterval.student, st.student): st for st in op.students}
            interval.students = [
                StudentInterval(
                    student=label, frames_seen=st.frames_seen, dominant=fit(StudentInterval.dominant, st.dominant),
                    **{f"p_{e}": p for e, p in zip(EMOTIONS, st.probs)},
                )
                for label, st in students.items()
            ]
        s.add(interval)
        visibility = op.visibility() if op.per_student else []
        if visibility:
            s.flush()
            rows = {fit(StudentPresence.student, v.student): v for v in visibility}
            s.add_all(
                StudentPresence(
                    interval_id=interval.id, student=label, state=v.state,
                    frames_camera_off=v.frames_camera_off, frames_face_not_visible=v.frames_face_not_visible,
                    frames_visible=v.frames_visible, visible_share=round(v.visible_share, 4),
                )
                for label, v in rows.items()
            )

    @staticmethod
    def _apply_flag(s: Session, sid: int, op: FlagOp) -> None:
        student_label = fit_opt(Flag.student, op.student)
        student = Flag.student.is_(None) if student_label is None else Flag.student == student_label
        rule = fit(Flag.rule, op.rule)
        same = s.scalars(
            select(Flag).where(Flag.session_id == sid, Flag.rule == rule, student, Flag.start == op.start)
        ).first()
        if op.kind == "open":
            if same is None:  # else: a replay of an open already written
                s.add(Flag(session_id=sid, student=student_label, rule=rule, start=op.start, end=op.end,
                           severity=fit(Flag.severity, op.severity), reason=fit(Flag.reason, op.reason),
                           evidence=dict(op.evidence), frames=op.frames))
            return
        row = same or s.scalars(
            select(Flag).where(Flag.session_id == sid, Flag.rule == rule, student, Flag.end.is_(None))
            .order_by(Flag.start.desc())
        ).first()
        if row is None:
            log.warning("no open %s flag for %s to %s; ignored", op.rule, op.student or "the class", op.kind)
            return
        row.severity, row.reason = fit(Flag.severity, op.severity), fit(Flag.reason, op.reason)
        row.evidence, row.frames = dict(op.evidence), op.frames
        if op.kind == "close":
            row.end = op.end


def _is_heartbeat(op: Op) -> bool:
    return isinstance(op, Status) and not op.event


def _one_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
