"""Storage limitation and each student's rights: retention purge, and one student's data exported or erased.

* :func:`purge_ended_before` deletes the sessions that ended before a cut-off with all their rows (intervals, student
  rows, presence, flags, notes, roster, status and events go by ``ON DELETE CASCADE``); :func:`apply_retention` runs
  it for the school's ``storage.retention_days``. Sessions still running (no end time) are never purged.
* :func:`student_records` is everything stored about one student label across all sessions (GDPR Art. 15), and
  :func:`forget_student` deletes it everywhere (Art. 17): their interval rows, presence rows, flags and roster rows.
  The class-level counts that already include the student stay: they say how many, never who.

Labels are matched exactly (a Zoom display name with quotes, ``=`` or non-Latin letters is one bound parameter).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import threading
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from db.emotions import EMOTIONS
from db.export import iso_utc, neutralise
from db.schema import ClassSession, Flag, Interval, LiveRender, RosterStudent, StudentInterval, StudentPresence
from db.settings import SettingsError, load_privacy_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PurgedSession:
    id: int
    name: str
    ended_at: dt.datetime
    intervals: int

    def describe(self) -> str:
        return (f"session {self.id} {self.name!r}, ended {self.ended_at:%Y-%m-%d %H:%M} UTC, "
                f"{self.intervals} interval(s)")


def purge_ended_before(s: Session, cutoff: dt.datetime, *, dry_run: bool = False) -> list[PurgedSession]:
    """Delete (or with ``dry_run`` only list) every session that ended before ``cutoff``, oldest first."""
    n_intervals = (
        select(func.count(Interval.id)).where(Interval.session_id == ClassSession.id).correlate(ClassSession)
        .scalar_subquery()
    )
    rows = s.execute(
        select(ClassSession.id, ClassSession.name, ClassSession.ended_at, n_intervals)
        .where(ClassSession.ended_at.is_not(None), ClassSession.ended_at < cutoff)
        .order_by(ClassSession.ended_at, ClassSession.id)
    ).all()
    found = [PurgedSession(r[0], r[1], r[2], int(r[3])) for r in rows]
    if found and not dry_run:
        s.execute(delete(ClassSession).where(ClassSession.id.in_([p.id for p in found])))
    return found


def purge_older_than(
    s: Session, days: int, *, now: dt.datetime | None = None, dry_run: bool = False
) -> list[PurgedSession]:
    """Sessions that ended more than ``days`` days ago (0: every ended session)."""
    if days < 0:
        raise ValueError("days must be 0 or more")
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now + dt.timedelta(microseconds=1) if days == 0 else now - dt.timedelta(days=days)
    return purge_ended_before(s, cutoff, dry_run=dry_run)


def apply_retention(s: Session, now: dt.datetime | None = None) -> list[PurgedSession]:
    """Delete what the school's retention setting says is too old; nothing when retention is off."""
    days = load_privacy_settings(s).retention_days
    return [] if days is None else purge_older_than(s, days, now=now)


# -- one student -------------------------------------------------------------------------------------------------

RECORD_HEADER: tuple[str, ...] = (
    "record", "session_id", "session_name", "mode", "start", "end", "student", "frames_seen", "dominant",
    *(f"p_{e}" for e in EMOTIONS), "state", "frames_visible", "frames_camera_off", "frames_face_not_visible",
    "visible_share", "rule", "severity", "reason",
)


@dataclass(frozen=True)
class ForgetCounts:
    intervals: int
    presence: int
    flags: int
    roster: int

    @property
    def total(self) -> int:
        return self.intervals + self.presence + self.flags + self.roster

    def describe(self) -> str:
        return (f"{self.intervals} interval row(s), {self.presence} presence row(s), {self.flags} flag(s), "
                f"{self.roster} roster row(s)")


def student_records(s: Session, student: str) -> list[tuple[object, ...]]:
    """Every stored row about ``student``, as :data:`RECORD_HEADER` tuples, by session then time."""
    blank_probs = ("",) * len(EMOTIONS)
    out: list[tuple[tuple[object, ...], tuple[object, ...]]] = []
    for si, iv, cs in s.execute(
        select(StudentInterval, Interval, ClassSession).join(Interval, StudentInterval.interval_id == Interval.id)
        .join(ClassSession, Interval.session_id == ClassSession.id).where(StudentInterval.student == student)
    ).all():
        row = ("interval", cs.id, cs.name, cs.mode, iso_utc(iv.start), iso_utc(iv.end), student, si.frames_seen,
               si.dominant, *(f"{p:.4f}" for p in si.probabilities().values()), "", "", "", "", "", "", "", "")
        out.append(((cs.id, iv.start, 0), row))
    for sp, iv, cs in s.execute(
        select(StudentPresence, Interval, ClassSession).join(Interval, StudentPresence.interval_id == Interval.id)
        .join(ClassSession, Interval.session_id == ClassSession.id).where(StudentPresence.student == student)
    ).all():
        share = "" if sp.visible_share is None else f"{sp.visible_share:.4f}"
        row = ("presence", cs.id, cs.name, cs.mode, iso_utc(iv.start), iso_utc(iv.end), student, "", "",
               *blank_probs, sp.state, sp.frames_visible, sp.frames_camera_off, sp.frames_face_not_visible, share,
               "", "", "")
        out.append(((cs.id, iv.start, 1), row))
    for fl, cs in s.execute(
        select(Flag, ClassSession).join(ClassSession, Flag.session_id == ClassSession.id)
        .where(Flag.student == student)
    ).all():
        row = ("flag", cs.id, cs.name, cs.mode, iso_utc(fl.start), "" if fl.end is None else iso_utc(fl.end),
               student, fl.frames, "", *blank_probs, "", "", "", "", "", fl.rule, fl.severity, fl.reason)
        out.append(((cs.id, fl.start, 2), row))
    for rs, cs in s.execute(
        select(RosterStudent, ClassSession).join(ClassSession, RosterStudent.session_id == ClassSession.id)
        .where(RosterStudent.student == student)
    ).all():
        row = ("roster", cs.id, cs.name, cs.mode, iso_utc(cs.started_at), "", student, "", "", *blank_probs,
               "", "", "", "", "", "", "", "")
        out.append(((cs.id, cs.started_at, -1), row))
    out.sort(key=lambda pair: pair[0])
    return [row for _, row in out]


def student_csv(s: Session, student: str) -> str:
    """:func:`student_records` as CSV text (formula-like cells neutralised as in every other export)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(RECORD_HEADER)
    for row in student_records(s, student):
        writer.writerow([neutralise(c) if isinstance(c, str) else c for c in row])
    return buf.getvalue()


def count_student(s: Session, student: str) -> ForgetCounts:
    def n(model: type[StudentInterval | StudentPresence | Flag | RosterStudent]) -> int:
        return int(s.scalar(select(func.count()).select_from(model).where(model.student == student)) or 0)

    return ForgetCounts(n(StudentInterval), n(StudentPresence), n(Flag), n(RosterStudent))


def forget_student(s: Session, student: str) -> ForgetCounts:
    """Delete every row naming ``student``; the caller's transaction commits it. Returns what was deleted."""
    counts = count_student(s, student)
    for model in (StudentInterval, StudentPresence, Flag, RosterStudent):
        s.execute(delete(model).where(model.student == student))
    s.execute(delete(LiveRender))  # drawn pages name students; they are redrawn from what is left
    return counts


class RetentionKeeper(threading.Thread):
    """Applies the school's retention at start and then once a day until ``stop`` is set (worker and dashboard).

    A failure (database away, a bad stored setting) is logged and tried again at the next turn: retention must never
    stop a class or the dashboard.
    """

    def __init__(self, factory: sessionmaker[Session], stop: threading.Event, period_s: float = 86400.0) -> None:
        super().__init__(name="retention", daemon=True)
        self.factory = factory
        self.stop = stop
        self.period_s = period_s
        self.purged: list[PurgedSession] = []
        self.turns = 0

    def run(self) -> None:
        while True:
            self.turn()
            if self.stop.wait(self.period_s):
                return

    def turn(self) -> None:
        try:
            with self.factory() as s, s.begin():
                purged = apply_retention(s)
        except (SQLAlchemyError, SettingsError) as exc:
            log.warning("retention not applied this time: %s", str(exc).strip().splitlines()[0] if str(exc) else exc)
            return
        finally:
            self.turns += 1
        for p in purged:
            log.info("retention: deleted %s", p.describe())
        self.purged.extend(purged)
