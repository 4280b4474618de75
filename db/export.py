"""CSV export of one class session, for teachers' spreadsheets and for the dashboard's download buttons.

Three files, with exactly these columns:

* class level, one row per interval: ``session_id, interval_start, interval_end, students_seen, angry, disgust,
  fear, happy, sad, surprise, neutral, mode`` (emotion columns count students whose dominant emotion it was);
* per student, one row per (interval, student), by interval then natural label order: ``session_id,
  interval_start, interval_end, student, frames_seen, dominant, p_angry ... p_neutral, mode`` (mean probabilities,
  4 decimals);

``mode`` is the session's analysis mode. In ``presence`` mode no emotion was inferred and every emotion column is
empty: the class rows' ``students_seen`` counts students with a visible face, and the per-student rows come from the
presence rows (``frames_seen``: frames with the face visible).
* attention flags, one row per flag, by start then student (class-wide flags first): ``session_id, student, rule,
  start, end, severity, reason`` (``student`` empty for a class-wide flag, ``end`` empty while the flag is open).

Times are ISO 8601 in UTC with a ``Z`` suffix: ``2026-11-21T10:00:00Z``, with milliseconds
(``2026-11-21T10:00:00.250Z``) only when the stored time has a fraction of a second. Lines end in ``\\n``; the text
is UTF-8 when written to a file.

Student labels can be Zoom display names typed by participants (and flag reasons quote them), so every text cell that a spreadsheet would read as
a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from db.emotions import EMOTIONS
from db.labels import natural_key
from db.queries import flag_rows, get_session, student_interval_rows, timeline_stmt
from db.schema import Interval, StudentPresence

CLASS_HEADER: tuple[str, ...] = ("session_id", "interval_start", "interval_end", "students_seen", *EMOTIONS, "mode")
STUDENT_HEADER: tuple[str, ...] = (
    "session_id",
    "interval_start",
    "interval_end",
    "student",
    "frames_seen",
    "dominant",
    *(f"p_{e}" for e in EMOTIONS),
    "mode",
)
FLAG_HEADER: tuple[str, ...] = ("session_id", "student", "rule", "start", "end", "severity", "reason")
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float


class UnknownSessionError(LookupError):
    """No session has the requested id; the message is one line for the user."""


def iso_utc(t: dt.datetime) -> str:
    """``2026-11-21T10:00:00Z``; milliseconds only when there is a fraction of a second."""
    timespec = "seconds" if t.microsecond == 0 else "milliseconds"
    return t.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def neutralise(cell: str) -> str:
    """Prefix ``'`` to text a spreadsheet would evaluate as a formula (OWASP's CSV injection advice)."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def export_class_csv(s: Session, session_id: int) -> str:
    """The class-level CSV of a session; raises :class:`UnknownSessionError` if there is no such session."""
    mode = _require_session(s, session_id)
    rows = (
        (
            session_id,
            iso_utc(r.interval_start),
            iso_utc(r.interval_end),
            r.students_seen,
            *(r._mapping[e] for e in EMOTIONS),  # NULL (an empty cell) in presence mode
            mode,
        )
        for r in s.execute(timeline_stmt(session_id))
    )
    return _to_csv(CLASS_HEADER, rows)


def export_student_csv(s: Session, session_id: int) -> str:
    """The per-student CSV of a session; raises :class:`UnknownSessionError` if there is no such session."""
    mode = _require_session(s, session_id)
    if mode == "presence":
        empty = ("",) * (1 + len(EMOTIONS))  # dominant and p_*: nothing was inferred
        presence = (
            (session_id, iso_utc(r.start), iso_utc(r.end), r.student, r.frames_visible, *empty, mode)
            for r in presence_rows(s, session_id)
        )
        return _to_csv(STUDENT_HEADER, presence)
    rows = (
        (
            session_id,
            iso_utc(r.interval_start),
            iso_utc(r.interval_end),
            r.student,
            r.frames_seen,
            r.dominant,
            *(f"{getattr(r, f'p_{e}'):.4f}" for e in EMOTIONS),
            mode,
        )
        for r in student_interval_rows(s, session_id)
    )
    return _to_csv(STUDENT_HEADER, rows)


def presence_rows(s: Session, session_id: int) -> list[Row[Any]]:
    """A session's presence rows with their interval's times, by interval then natural label order."""
    rows: list[Row[Any]] = s.execute(
        select(Interval.start, Interval.end, StudentPresence.student, StudentPresence.frames_visible)
        .join(Interval, StudentPresence.interval_id == Interval.id)
        .where(Interval.session_id == session_id)
    ).all()  # type: ignore[assignment]
    return sorted(rows, key=lambda r: (r.start, natural_key(r.student)))


def export_flags_csv(s: Session, session_id: int) -> str:
    """The attention flags of a session; raises :class:`UnknownSessionError` if there is no such session."""
    _require_session(s, session_id)
    rows = (
        (
            session_id,
            r.student or "",
            r.rule,
            iso_utc(r.start),
            "" if r.end is None else iso_utc(r.end),
            r.severity,
            r.reason,
        )
        for r in flag_rows(s, session_id)
    )
    return _to_csv(FLAG_HEADER, rows)


def export_csv(s: Session, session_id: int, *, per_student: bool = False, flags: bool = False) -> str:
    """The class CSV, or the per-student one or the flags one as chosen (not both)."""
    if per_student and flags:
        raise ValueError("choose per_student or flags, not both")
    if flags:
        return export_flags_csv(s, session_id)
    return export_student_csv(s, session_id) if per_student else export_class_csv(s, session_id)


def _require_session(s: Session, session_id: int) -> str:
    """The session's analysis mode; raises :class:`UnknownSessionError` if there is no such session."""
    session = get_session(s, session_id)
    if session is None:
        raise UnknownSessionError(f"no session with id {session_id}")
    return session.mode


def _to_csv(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(c) if isinstance(c, str) else c for c in row])
    return buf.getvalue()
