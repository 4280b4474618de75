"""``python -m dashboard report --session ID --out FILE.pdf|FILE.html [--db URL]``: a session's one-page report.

The same report the dashboard serves at ``/report/<id>.pdf`` and ``.html``, written to a file without starting the
server (for a cron job or an email). Run on the server's own machine it sees every session, like the loopback
dashboard. Errors are one ``error: ...`` line and exit status 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import DatabaseError

from dashboard.cli_parser import EXIT_ERROR, OneLineParser
from db.engine import (
    DatabaseURLError,
    MissingDatabaseError,
    default_url,
    describe_db_error,
    open_existing,
    redact,
    session_factory,
)
from db.report import session_report


def main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog="python -m dashboard report", description="Write a session's one-page report.")
    parser.add_argument("--session", type=int, required=True, metavar="ID")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.pdf|FILE.html")
    parser.add_argument("--db", metavar="URL", help="database URL (default: $DATABASE_URL or the SQLite file)")
    args = parser.parse_args(argv)
    kind = args.out.suffix.lower()
    if kind not in (".pdf", ".html", ".htm"):
        return _fail(f"--out must end in .pdf or .html, not {args.out.name!r}")
    url: str = args.db or default_url()
    try:
        engine = open_existing(url)
        try:
            with session_factory(engine)() as s, s.begin():
                report = session_report(s, args.session, None)
        finally:
            engine.dispose()
    except (DatabaseURLError, MissingDatabaseError) as exc:
        return _fail(str(exc))
    except DatabaseError as exc:
        return _fail(f"{describe_db_error(exc)} [{redact(url)}]")
    if report is None:
        return _fail(f"no session with id {args.session}")
    from dashboard.report import render_html, render_pdf

    try:
        if kind == ".pdf":
            args.out.write_bytes(render_pdf(report))
        else:
            args.out.write_text(render_html(report), encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(f"wrote the report of session {args.session} to {args.out}", file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR
