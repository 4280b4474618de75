"""Engines for the embedded SQLite default and PostgreSQL, and schema migration to the current head.

* SQLite runs in WAL mode with a busy timeout and foreign keys on, so the dashboard can read while the worker writes.
* ``postgresql://`` URLs use the psycopg 3 driver.
* ``DATABASE_URL`` overrides the default; the default is a SQLite file in the user's data directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

APP_NAME = "classmood"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000


class DatabaseURLError(ValueError):
    """The database URL cannot be used; the message is one line for the user."""


def data_dir() -> Path:
    """The per-user folder for the default database and the demo video (``CLASSMOOD_HOME`` overrides it)."""
    return Path(os.environ.get("CLASSMOOD_HOME") or user_data_dir(APP_NAME, appauthor=False))


def default_url() -> str:
    """``DATABASE_URL`` if set, else a SQLite file in the user's data directory."""
    env = os.environ.get("DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{data_dir() / 'classmood.sqlite3'}"


def normalise_url(url: str) -> URL:
    """Parse ``url`` and pick our drivers: psycopg 3 for PostgreSQL, the stdlib driver for SQLite."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a non-numeric port such as ``host:abc``
        raise DatabaseURLError(f"not a database URL: {redact(url)!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        return parsed
    raise DatabaseURLError(f"unsupported database {backend!r}: use sqlite:///FILE or postgresql://...")


def refuse_in_memory(url: str) -> URL:
    """``normalise_url(url)``, unless it is an in-memory SQLite database, which a class cannot be stored in: it is
    gone when the worker ends, and the dashboard, another process, never sees it (the worker ran into "no such
    table" and tracebacks). Raises ``DatabaseURLError``."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite" and (
        not parsed.database or parsed.database == ":memory:" or parsed.query.get("mode") == "memory"
    ):
        raise DatabaseURLError(f"{redact(url)!r} is an in-memory database, gone when the process ends: "
                               "use sqlite:///FILE")
    return parsed


def redact(url: str) -> str:
    """Hide any password in a URL-like string before it is logged or stored."""
    return re.sub(r"(://[^:/@]+:)[^@/]*@", r"\1***@", url)


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite, create the file's folder and set WAL, busy timeout and foreign keys."""
    parsed = normalise_url(url or default_url())
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(parsed, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


class MissingDatabaseError(ValueError):
    """A command that reads a database was pointed at a SQLite file that does not exist."""


def open_existing(url: str) -> Engine:
    """An engine for a database that must already exist: a missing SQLite file is an error, never a new empty one."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database).expanduser()
        if not path.is_file():
            raise MissingDatabaseError(f"no database file at {path} (create one with: python -m db upgrade --db URL)")
    return make_engine(url)


def describe_db_error(exc: DBAPIError | SQLAlchemyError) -> str:
    """One line from a driver error: its first line, with a hint when the schema is missing."""
    orig = getattr(exc, "orig", None)
    detail = str(orig if orig is not None else exc).strip().splitlines()
    first = detail[0] if detail else type(exc).__name__
    if "no such table" in first or ("relation" in first and "does not exist" in first):
        return f"the database has no ClassMood schema, or an old one ({first}); run: python -m db upgrade --db URL"
    return f"database error: {first}"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (creates every table on a new database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
