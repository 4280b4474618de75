"""What the one-page session report says, read from the database in a few aggregate queries.

The dashboard renders it (``dashboard.report``: HTML with inline SVG charts, and PDF); this module only gathers it,
scoped like every other read: a session the viewer may not see is None, exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.accounts import Viewer
from db.emotions import EMOTIONS
from db.queries import class_timeline, flag_rows, presence_timeline, viewable_session
from db.schema import Interval, Note, StudentInterval, StudentPresence

PRESENCE_STATES = ("seen", "camera_off", "face_not_visible")


@dataclass(frozen=True)
class ReportNote:
    at: dt.datetime
    text: str
    author: str | None


@dataclass(frozen=True)
class ReportFlag:
    student: str | None  # None: the whole class
    rule: str
    severity: str
    reason: str
    start: dt.datetime
    end: dt.datetime | None  # None: still open (or open when the class ended)


@dataclass(frozen=True)
class SessionReport:
    session_id: int
    name: str
    teacher: str | None
    classroom: str | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    last_interval_end: dt.datetime | None
    students: int  # distinct student labels with at least one analysed interval
    intervals: int
    totals: dict[str, int]  # student-intervals per dominant emotion over the whole session
    timeline: pd.DataFrame  # db.queries.class_timeline
    notes: list[ReportNote]
    flags: list[ReportFlag]
    mode: str = "expressions"  # presence: no emotion was inferred (the totals are all 0, the timeline's counts empty)
    # presence mode's content instead: db.queries.presence_timeline, and student-intervals per presence state
    presence: pd.DataFrame | None = None
    presence_totals: dict[str, int] | None = None

    @property
    def duration_s(self) -> float | None:
        end = self.ended_at or self.last_interval_end
        return None if end is None else (end - self.started_at).total_seconds()

    def shares(self) -> dict[str, float]:
        total = sum(self.totals.values())
        return {e: (self.totals[e] / total if total else 0.0) for e in EMOTIONS}


def session_report(s: Session, session_id: int, viewer: Viewer | None) -> SessionReport | None:
    """The report's content for ``session_id``, or None if there is no such session or ``viewer`` may not see it."""
    session = viewable_session(s, session_id, viewer)
    if session is None:
        return None
    timeline = class_timeline(s, session_id)  # the counts, the totals and the last end come from it: no second pass
    last_end = None if timeline.empty else timeline["interval_end"].iloc[-1].to_pydatetime()
    presence_mode = session.mode == "presence"
    # presence mode writes no StudentInterval: its students are the labels with a presence row
    per_student = StudentPresence if presence_mode else StudentInterval
    students = s.scalar(
        select(func.count(per_student.student.distinct()))
        .join(Interval, per_student.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
    )
    presence_totals = None
    if presence_mode:
        counted = s.execute(
            select(StudentPresence.state, func.count())
            .join(Interval, StudentPresence.interval_id == Interval.id)
            .where(Interval.session_id == session_id)
            .group_by(StudentPresence.state)
        ).all()
        by_state = {str(state): int(n) for state, n in counted}
        presence_totals = {state: by_state.get(state, 0) for state in PRESENCE_STATES}
    notes = [
        ReportNote(n.at, n.text, n.author)
        for n in s.scalars(select(Note).where(Note.session_id == session_id).order_by(Note.at, Note.id))
    ]
    flags = [ReportFlag(r.student, r.rule, r.severity, r.reason, r.start, r.end) for r in flag_rows(s, session_id)]
    return SessionReport(
        session_id=session.id,
        name=session.name,
        teacher=session.teacher,
        classroom=session.classroom,
        started_at=session.started_at,
        ended_at=session.ended_at,
        last_interval_end=last_end,
        students=int(students or 0),
        intervals=len(timeline),
        totals={e: int(timeline[e].sum()) for e in EMOTIONS},
        timeline=timeline,
        notes=notes,
        flags=flags,
        mode=session.mode,
        presence=presence_timeline(s, session_id) if presence_mode else None,
        presence_totals=presence_totals,
    )
