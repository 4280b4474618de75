"""Alembic migrations: head creates exactly ``db.schema``'s tables, on SQLite and PostgreSQL, by every entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect

from db.engine import MIGRATIONS_DIR, make_engine, upgrade
from db.schema import Base

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "web_session",
    "live_render",
    "login_throttle",
    "class_session",
    "interval",
    "student_interval",
    "source_status",
    "source_event",
    "flag",
    "setting",
    "student_presence",
    "roster_student",
    "note",
    "app_user",
}


def head_revision() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_diff(engine: Engine, metadata: MetaData = Base.metadata) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(ctx, metadata))


def test_head_matches_models(engine: Engine) -> None:
    """``upgrade`` on a fresh database, then autogenerate's comparison with the models finds nothing to do."""
    assert current_revision(engine) == head_revision()
    assert schema_diff(engine) == []
    assert TABLES <= set(inspect(engine).get_table_names())


def test_comparison_is_not_vacuous(engine: Engine) -> None:
    """Against an empty MetaData the same comparison reports every table as extra: it does see the schema."""
    diffs = schema_diff(engine, MetaData())
    removed = {diff[1].name for diff in diffs if isinstance(diff, tuple) and diff[0] == "remove_table"}
    assert removed == TABLES


def test_upgrade_is_idempotent_and_downgrade_round_trips(engine: Engine) -> None:
    upgrade(engine)  # already at head: nothing to do, no error
    assert current_revision(engine) == head_revision()

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    from alembic import command

    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert TABLES.isdisjoint(inspect(engine).get_table_names())

    upgrade(engine)
    assert schema_diff(engine) == []


def test_upgrade_creates_a_new_sqlite_file_and_its_folder(tmp_path: Path) -> None:
    """``make_engine`` + ``upgrade`` is all the worker needs on first start, even if the data folder is missing."""
    path = tmp_path / "new" / "folder" / "classmood.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        assert path.is_file()
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def _alembic(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "alembic", "-c", str(ROOT / "db/migrations/alembic.ini"), *args]
    return subprocess.run(cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_alembic_command_line_with_x_url(db_url: str) -> None:
    """The standalone entry point: ``alembic -c db/migrations/alembic.ini -x url=... upgrade head``."""
    result = _alembic("-x", f"url={db_url}", "upgrade", "head")
    assert result.returncode == 0, result.stderr
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_alembic_command_line_uses_database_url(sqlite_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATABASE_URL": sqlite_url}
    result = _alembic("upgrade", "head", env=env)
    assert result.returncode == 0, result.stderr
    engine = make_engine(sqlite_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_alembic_offline_sql_for_postgresql() -> None:
    """``--sql`` renders the DDL without a server; quoted reserved words are the classic trap (``end``)."""
    result = _alembic("-x", "url=postgresql://nobody@127.0.0.1:1/none", "upgrade", "head", "--sql")
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE class_session" in result.stdout
    assert '"end" TIMESTAMP WITHOUT TIME ZONE NOT NULL' in result.stdout
    assert "ON DELETE CASCADE" in result.stdout
