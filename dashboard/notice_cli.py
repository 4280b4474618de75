"""``python -m dashboard notice --out FILE.pdf|FILE.html [--db URL]``: the one-page notice for students.

The same notice the dashboard shows at ``/notice``, with the school's stored settings (mode, retention, contact),
written to a file to print or send. Errors are one ``error: ...`` line and exit status 2.
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
from db.settings import SettingsError, load_privacy_settings


def main(argv: Sequence[str]) -> int:
    parser = OneLineParser(prog="python -m dashboard notice", description="Write the notice for students.")
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
                settings = load_privacy_settings(s)
        finally:
            engine.dispose()
    except (DatabaseURLError, MissingDatabaseError, SettingsError) as exc:
        return _fail(str(exc))
    except DatabaseError as exc:
        return _fail(f"{describe_db_error(exc)} [{redact(url)}]")
    from dashboard.notice import render_html, render_pdf

    try:
        if kind == ".pdf":
            args.out.write_bytes(render_pdf(settings))
        else:
            args.out.write_text(render_html(settings), encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {args.out}: {exc.strerror or exc}")
    print(f"wrote the notice ({settings.mode} mode) to {args.out}", file=sys.stderr)
    return 0


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR
