"""Command line for the database: migrate it and export a session as CSV.

    python -m db upgrade [--db URL]
    python -m db export --session ID --out FILE.csv [--per-student | --flags] [--db URL]

``--db`` defaults to ``DATABASE_URL``, else the default SQLite file (``db.engine.default_url``). ``--out -`` writes
the CSV to stdout. Exit status: 0 on success, 2 on a usage error or a problem the user can fix (unknown session,
bad or unreachable database, unwritable output), reported as one ``error: ...`` line on stderr without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

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

EXIT_OK = 0
EXIT_ERROR = 2


class CommandError(Exception):
    """A problem the user can fix; ``main`` prints ``error: <message>`` and exits with status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m db", description="ClassMood database tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_help = "database URL (default: $DATABASE_URL, else the SQLite file in the user's data folder)"
    up = commands.add_parser("upgrade", help="create or migrate the schema to the latest revision")
    up.add_argument("--db", metavar="URL", help=db_help)

    ex = commands.add_parser("export", help="write one session's interval aggregates or attention flags as CSV")
    ex.add_argument("--session", type=int, required=True, metavar="ID", help="session id (see the dashboard)")
    ex.add_argument("--out", required=True, metavar="FILE.csv", help="output file, or - for stdout")
    what = ex.add_mutually_exclusive_group()
    what.add_argument("--per-student", action="store_true", help="one row per student and interval")
    what.add_argument("--flags", action="store_true", help="the session's attention flags, one row per flag")
    ex.add_argument("--db", metavar="URL", help=db_help)
    return parser


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
