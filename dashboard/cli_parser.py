"""The dashboard's command-line tools: the argument parser (a usage error is one ``error:`` line and exit 2), and
``write_document``, which reads one document's data from the database and writes it as PDF or HTML (the report and
the notice)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from db.engine import (
    DatabaseURLError,
    MissingDatabaseError,
    default_url,
    describe_db_error,
    open_existing,
    redact,
    session_factory,
)
from db.settings import SettingsError

EXIT_ERROR = 2
D = TypeVar("D")


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)


def add_document_arguments(parser: argparse.ArgumentParser) -> None:
    """``--out FILE.pdf|FILE.html`` (required) and ``--db URL``."""
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.pdf|FILE.html")
    parser.add_argument("--db", metavar="URL", help="database URL (default: $DATABASE_URL or the SQLite file)")


def write_document(
    out: Path,
    db_url: str | None,
    read: Callable[[Session], D | None],
    render: Callable[[D, bool], bytes | str],
    missing: str,
    wrote: Callable[[D], str],
) -> int:
    """Read the document's data with ``read`` from an existing database (``None``: the error ``missing``), render
    it with ``render(data, pdf)`` and write it to ``out``, a ``.pdf`` or ``.html`` file; one line on stderr either
    way (``wrote(data)`` names what was written). The exit status: 0, or ``EXIT_ERROR``."""
    kind = out.suffix.lower()
    if kind not in (".pdf", ".html", ".htm"):
        return fail(f"--out must end in .pdf or .html, not {out.name!r}")
    url = db_url or default_url()
    try:
        engine = open_existing(url)
        try:
            with session_factory(engine)() as s, s.begin():
                data = read(s)
        finally:
            engine.dispose()
    except (DatabaseURLError, MissingDatabaseError, SettingsError) as exc:
        return fail(str(exc))
    except DatabaseError as exc:
        return fail(f"{describe_db_error(exc)} [{redact(url)}]")
    if data is None:
        return fail(missing)
    document = render(data, kind == ".pdf")
    try:
        if isinstance(document, bytes):
            out.write_bytes(document)
        else:
            out.write_text(document, encoding="utf-8")
    except OSError as exc:
        return fail(f"cannot write {out}: {exc.strerror or exc}")
    print(f"wrote {wrote(data)} to {out}", file=sys.stderr)
    return 0


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR
