"""Flags and the database: write engine events as ``Flag`` rows, and re-evaluate a stored session's flags.

``python -m monitor reflag --session ID [--db URL]`` rebuilds one session's flags from its stored intervals with the
flag settings stored now (``db.settings``), for instance after a teacher changed a threshold: the session's existing
flags (acknowledged or not) are deleted and replaced, in one transaction, so running it twice gives the same rows.
The intervals go through the same :class:`~monitor.flags.FlagEngine` the worker uses live, rebuilt from the rows by
:func:`interval_from_row`, so a session re-evaluated with unchanged settings gets the flags the worker wrote.

:func:`apply_flag_event` is the one place an event becomes a row; the worker's storage thread uses it too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Iterable, Sequence
from typing import NoReturn

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from db.emotions import EMOTIONS
from db.engine import (
    DatabaseURLError,
    MissingDatabaseError,
    default_url,
    describe_db_error,
    open_existing,
    redact,
    session_factory,
)
from db.labels import natural_key
from db.schema import ClassSession, Flag, Interval, StudentInterval, StudentPresence
from db.settings import FlagSettings, SettingsError, load_flag_settings
from monitor.aggregate import IntervalAggregate, PresenceAggregate, StudentAggregate
from monitor.flags import FlagEngine, FlagEvent
from monitor.privacy import presence_rules_only

log = logging.getLogger(__name__)

EXIT_OK, EXIT_USAGE = 0, 2


class ReflagError(LookupError):
    """A problem the user can fix (no such session, no database file); the message is one line."""


# --- rows <-> engine ---------------------------------------------------------------------------------------------------


def student_from_row(row: StudentInterval) -> StudentAggregate:
    return StudentAggregate(
        student=row.student,
        frames_seen=row.frames_seen,
        probs=tuple(float(getattr(row, f"p_{e}")) for e in EMOTIONS),
    )


def interval_from_row(row: Interval) -> IntervalAggregate:
    """The worker's container for a stored interval, students in natural label order as the aggregator makes them."""
    students = sorted(row.students, key=lambda st: natural_key(st.student))
    return IntervalAggregate(
        start=row.start,
        end=row.end,
        frames_analysed=row.frames_analysed,
        frames_skipped=row.frames_skipped,
        students=tuple(student_from_row(st) for st in students),
    )


def presence_interval_from_rows(row: Interval, presence: Iterable[StudentPresence]) -> IntervalAggregate:
    """A presence-mode interval from its presence rows: the students seen with no probabilities, the others' frames
    with the camera off or the face not visible."""
    rows = sorted(presence, key=lambda p: natural_key(p.student))
    return IntervalAggregate(
        start=row.start,
        end=row.end,
        frames_analysed=row.frames_analysed,
        frames_skipped=row.frames_skipped,
        students=tuple(StudentAggregate(p.student, p.frames_visible, ()) for p in rows if p.frames_visible > 0),
        presence=tuple(
            PresenceAggregate(p.student, p.frames_camera_off, p.frames_face_not_visible)
            for p in rows if p.frames_camera_off or p.frames_face_not_visible
        ),
        emotions=False,
    )


def evaluate(
    settings: FlagSettings, intervals: Iterable[IntervalAggregate], ended_at: dt.datetime | None
) -> list[FlagEvent]:
    """Every event of a session's intervals in order, closed with ``finish(ended_at)`` if the session has ended."""
    engine = FlagEngine(settings)
    events: list[FlagEvent] = []
    for interval in intervals:
        events += engine.observe(interval)
    if ended_at is not None:
        events += engine.finish(ended_at)
    return events


def apply_flag_event(s: Session, session_id: int, event: FlagEvent) -> Flag:
    """Write one event: ``open`` adds a row, ``update`` and ``close`` change the open row of the same rule, student
    and start (adding it if it is missing, e.g. after a reflag replaced the flags of a running session)."""
    row = s.scalars(
        select(Flag).where(
            Flag.session_id == session_id,
            Flag.rule == event.rule,
            Flag.student.is_(None) if event.student is None else Flag.student == event.student,
            Flag.start == event.start,
        )
    ).first()
    if row is None:
        row = Flag(session_id=session_id, rule=event.rule, student=event.student, start=event.start)
        s.add(row)
    row.end = event.end if event.kind == "close" else None
    row.severity = event.severity
    row.reason = event.reason
    row.evidence = dict(event.evidence)
    row.frames = event.frames
    s.flush()
    return row


def flag_rows(session_id: int, events: Iterable[FlagEvent]) -> list[Flag]:
    """Fold a session's events into one row per flag (the last content of each), in order of opening."""
    rows: dict[tuple[str, str | None, dt.datetime], Flag] = {}
    for event in events:
        row = rows.get(event.key)
        if row is None:
            row = rows[event.key] = Flag(
                session_id=session_id, rule=event.rule, student=event.student, start=event.start
            )
        row.end = event.end if event.kind == "close" else None
        row.severity = event.severity
        row.reason = event.reason
        row.evidence = dict(event.evidence)
        row.frames = event.frames
    return list(rows.values())


# --- re-evaluation -----------------------------------------------------------------------------------------------------


def reflag(target: Engine | sessionmaker[Session], session_id: int) -> int:
    """Replace a session's flags by a re-evaluation of its stored intervals with the stored settings; returns the
    number of flags written. Raises :class:`ReflagError` for an unknown session and
    :class:`~db.settings.SettingsError` for stored settings that do not validate."""
    factory = session_factory(target) if isinstance(target, Engine) else target
    with factory() as s, s.begin():
        session = s.get(ClassSession, session_id)
        if session is None:
            raise ReflagError(f"no session with id {session_id}")
        settings = load_flag_settings(s)
        stored = s.scalars(
            select(Interval)
            .where(Interval.session_id == session_id)
            .order_by(Interval.start)
            .options(selectinload(Interval.students))
        )
        if session.mode == "presence":  # no probabilities were stored: rebuild from the presence rows, presence rules
            by_interval: dict[int, list[StudentPresence]] = {}
            for p in s.scalars(select(StudentPresence).join(Interval).where(Interval.session_id == session_id)):
                by_interval.setdefault(p.interval_id, []).append(p)
            intervals = [presence_interval_from_rows(r, by_interval.get(r.id, [])) for r in stored]
            events = evaluate(presence_rules_only(settings), intervals, session.ended_at)
        else:
            events = evaluate(settings, (interval_from_row(r) for r in stored), session.ended_at)
        s.execute(delete(Flag).where(Flag.session_id == session_id))
        rows = flag_rows(session_id, events)
        s.add_all(rows)
        log.info("session %d: %d flag(s) from %d event(s)", session_id, len(rows), len(events))
        return len(rows)


# --- command line ------------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line and exit 2, like every other input error
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def build_parser(prog: str = "python -m monitor reflag") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Re-evaluate one session's attention flags with the stored settings.")
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``reflag`` options, for a subparser of ``monitor.cli`` as well as :func:`build_parser`."""
    parser.add_argument("--session", type=int, required=True, metavar="ID", help="session id (see the dashboard)")
    parser.add_argument("--db", metavar="URL", help="database URL (default: $DATABASE_URL, else the SQLite file)")


def run_reflag(session_id: int, db_url: str | None) -> int:
    """Re-evaluate one session and report it on stderr; a problem is one ``error:`` line and exit status 2."""
    url = db_url or default_url()
    try:
        engine = open_existing(url)
        try:
            count = reflag(engine, session_id)
        finally:
            engine.dispose()
    except (ReflagError, DatabaseURLError, MissingDatabaseError, SettingsError) as exc:
        return _fail(str(exc))
    except DatabaseError as exc:  # unreachable, locked, no schema, ...
        return _fail(f"{describe_db_error(exc)} [{redact(url)}]")
    print(f"session {session_id}: {count} flag(s) written", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m monitor reflag --session ID [--db URL]`` (``argv`` without the ``reflag`` word)."""
    args = build_parser().parse_args(argv)
    return run_reflag(args.session, args.db)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
