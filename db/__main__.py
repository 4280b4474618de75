"""Command line for the database: migrate it, export a session or a student as CSV, purge old sessions, erase a
student.

    python -m db upgrade [--db URL]
    python -m db export --session ID --out FILE.csv [--per-student | --flags] [--db URL]
    python -m db export --student NAME --out FILE.csv [--db URL]
    python -m db purge --older-than DAYS [--dry-run] [--db URL]
    python -m db forget --student NAME [--yes] [--db URL]

``--db`` defaults to ``DATABASE_URL``, else the default SQLite file (``db.engine.default_url``). ``--out -`` writes
the CSV to stdout. Exit status: 0 on success, 2 on a usage error or a problem the user can fix (unknown session,
bad or unreachable database, unwritable output), reported as one ``error: ...`` line on stderr without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError

from db.engine import (
    DatabaseURLError,
    MissingDatabaseError,
    default_url,
    describe_db_error,
    make_engine,
    open_existing,
    redact,
    session_factory,
    upgrade,
)
from db.export import UnknownSessionError, export_csv
from db.privacy import count_student, forget_student, purge_older_than, student_csv

EXIT_OK = 0
EXIT_ERROR = 2


class CommandError(Exception):
    """A problem the user can fix; ``main`` prints ``error: <message>`` and exits with status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse's own errors as one ``error:`` line and exit 2, like every other input error (its subcommands'
    parsers are made of the same class)."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m db", description="ClassMood database tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_help = "database URL (default: $DATABASE_URL, else the SQLite file in the user's data folder)"
    up = commands.add_parser("upgrade", help="create or migrate the schema to the latest revision")
    up.add_argument("--db", metavar="URL", help=db_help)

    ex = commands.add_parser(
        "export", help="write one session's interval aggregates or attention flags, or one student's data, as CSV"
    )
    whose = ex.add_mutually_exclusive_group(required=True)
    whose.add_argument("--session", type=int, metavar="ID", help="session id (see the dashboard)")
    whose.add_argument("--student", metavar="NAME",
                       help="everything stored about this student label in every session (a right-of-access request)")
    ex.add_argument("--out", required=True, metavar="FILE.csv", help="output file, or - for stdout")
    what = ex.add_mutually_exclusive_group()
    what.add_argument("--per-student", action="store_true", help="one row per student and interval")
    what.add_argument("--flags", action="store_true", help="the session's attention flags, one row per flag")
    ex.add_argument("--db", metavar="URL", help=db_help)

    pu = commands.add_parser("purge", help="delete sessions that ended more than DAYS days ago, with all their rows")
    pu.add_argument("--older-than", type=_days, required=True, metavar="DAYS", help="0: every ended session")
    pu.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    pu.add_argument("--db", metavar="URL", help=db_help)

    fo = commands.add_parser("forget", help="delete everything stored about one student label, in every session")
    fo.add_argument("--student", required=True, metavar="NAME", help="the label exactly as stored")
    fo.add_argument("--yes", action="store_true", help="delete without asking")
    fo.add_argument("--db", metavar="URL", help=db_help)
    return parser


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if days < 0:
        raise argparse.ArgumentTypeError("days must be 0 or more")
    return days


def cmd_upgrade(url: str) -> None:
    engine = _engine(url, must_exist=False)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    print(f"{redact(url)}: schema at revision {revision}")


def cmd_export(url: str, session_id: int, out: str, per_student: bool, flags: bool = False) -> None:
    engine = _engine(url, must_exist=True)
    try:
        with session_factory(engine)() as s, s.begin():
            text = export_csv(s, session_id, per_student=per_student, flags=flags)
    finally:
        engine.dispose()
    # Only now touch the output, so a database problem never leaves an empty or partial file behind.
    if out == "-":
        sys.stdout.write(text)
        return
    try:
        Path(out).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc
    kind = "flags" if flags else "per-student" if per_student else "class"
    print(f"wrote {kind} CSV of session {session_id} to {out} ({text.count(chr(10)) - 1} rows)", file=sys.stderr)


def _write(out: str, text: str) -> None:
    if out == "-":
        sys.stdout.write(text)
        return
    try:
        Path(out).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from exc


def cmd_export_student(url: str, student: str, out: str) -> None:
    engine = _engine(url, must_exist=True)
    try:
        with session_factory(engine)() as s, s.begin():
            text = student_csv(s, student)
    finally:
        engine.dispose()
    rows = text.count("\n") - 1
    if rows == 0:
        raise CommandError(f"nothing is stored about student {student!r} (labels match exactly)")
    _write(out, text)
    print(f"wrote {rows} row(s) about {student!r} to {out}; teachers' notes are free text and were not searched",
          file=sys.stderr)


def cmd_purge(url: str, days: int, dry_run: bool) -> None:
    engine = _engine(url, must_exist=True)
    try:
        with session_factory(engine)() as s, s.begin():
            purged = purge_older_than(s, days, dry_run=dry_run)
    finally:
        engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    for p in purged:
        print(f"{verb} {p.describe()}")
    print(f"{verb} {len(purged)} session(s) that ended {'before now' if days == 0 else f'over {days} day(s) ago'}")


def cmd_forget(url: str, student: str, yes: bool) -> None:
    engine = _engine(url, must_exist=True)
    try:
        with session_factory(engine)() as s, s.begin():
            counts = count_student(s, student)
            if counts.total == 0:
                raise CommandError(f"nothing is stored about student {student!r} (labels match exactly)")
            if not yes:
                if not sys.stdin.isatty():
                    raise CommandError(f"{student!r}: {counts.describe()} found; nothing deleted (confirm with --yes)")
                answer = input(f"delete {counts.describe()} about {student!r}? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    print("nothing deleted")
                    return
            counts = forget_student(s, student)
    finally:
        engine.dispose()
    print(f"deleted {counts.describe()} about {student!r}; class-level counts are kept (they name nobody)")
    print("teachers' notes are free text and were not searched: check them for the name by hand")


def _engine(url: str, *, must_exist: bool) -> Engine:
    """An engine for ``url``; with ``must_exist``, a missing SQLite file is an error rather than a new empty one."""
    if must_exist:
        return open_existing(url)
    try:
        return make_engine(url)
    except OSError as exc:
        raise CommandError(f"cannot create the database folder for {redact(url)}: {exc.strerror or exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url: str = args.db or default_url()
    try:
        if args.command == "upgrade":
            cmd_upgrade(url)
        elif args.command == "purge":
            cmd_purge(url, args.older_than, args.dry_run)
        elif args.command == "forget":
            cmd_forget(url, args.student, args.yes)
        elif args.student is not None:
            if args.per_student or args.flags:
                raise CommandError("--per-student and --flags are for --session; --student exports everything")
            cmd_export_student(url, args.student, args.out)
        else:
            cmd_export(url, args.session, args.out, args.per_student, args.flags)
    except (CommandError, DatabaseURLError, MissingDatabaseError, UnknownSessionError) as exc:
        return _fail(str(exc))
    except DatabaseError as exc:  # OperationalError (unreachable, locked), ProgrammingError (no schema), ...
        return _fail(f"{describe_db_error(exc)} [{redact(url)}]")
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}")
    return EXIT_OK


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
