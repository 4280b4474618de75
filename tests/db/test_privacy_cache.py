"""The admin's locked analysis mode does not fail open when the database is down at the worker's start.

The bug: ``read_privacy_settings`` fell back to the built-in defaults (expressions, unlocked) whenever the database
could not be read, so a school that had locked presence mode got emotion recognition from any worker started while
its database was restarting. The worker now keeps the last settings it read in ``privacy-cache.json`` (0600) in the
data folder and uses them then; with neither, a worker asked for expressions mode warns that the lock was not checked.
Real SQLite and PostgreSQL databases, made unreadable for real (a corrupt file; a dropped database).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from db.engine import make_engine, session_factory, upgrade
from db.settings import PrivacySettings, save_privacy_settings
from monitor.config import Config, ConfigError, load_config
from monitor.privacy import read_privacy_settings, school_privacy
from tests.pipeline.conftest import run_cli

pytestmark = pytest.mark.db

LOCKED = PrivacySettings(mode="presence", mode_locked=True, school="Lycée « Ost »")


def save(url: str, settings: PrivacySettings) -> None:
    eng = make_engine(url)
    try:
        upgrade(eng)
        with session_factory(eng)() as s, s.begin():
            save_privacy_settings(s, settings)
    finally:
        eng.dispose()


def take_down(url: str, pg_admin_engine: Engine) -> None:
    """Make the database unreadable: a SQLite file overwritten with junk, a PostgreSQL database dropped."""
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).write_bytes(b"not a database " * 100)
        return
    name = url.rsplit("/", 1)[1]
    with pg_admin_engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
        conn.execute(text(f'DROP DATABASE "{name}"'))


def unreachable(tmp_path: Path) -> str:
    """A SQLite URL that cannot be read: a corrupt file."""
    (tmp_path / "other.sqlite3").write_bytes(b"not a database either " * 100)
    return f"sqlite:///{tmp_path / 'other.sqlite3'}"


def read_through_an_engine(url: str, cache: Path) -> PrivacySettings | None:
    """``read_privacy_settings`` as the worker calls it: through the run's engine, opened on ``url``."""
    eng = make_engine(url)
    try:
        return read_privacy_settings(eng, url, cache)
    finally:
        eng.dispose()


def under_school_privacy(config: Config, cache: Path) -> Config:
    eng = make_engine(config.storage.db_url)
    try:
        return school_privacy(config, eng, cache)
    finally:
        eng.dispose()


def with_mode(url: str, mode: str | None) -> Config:
    overrides: dict[str, object] = {"storage": {"db_url": url}}
    if mode is not None:
        overrides["analysis"] = {"mode": mode}
    return load_config(None, overrides)


def test_locked_mode_holds_when_the_database_is_down(
    db_url: str, pg_admin_engine: Engine, tmp_path: Path
) -> None:
    cache = tmp_path / "home" / "privacy-cache.json"
    save(db_url, LOCKED)
    assert read_through_an_engine(db_url, cache) == LOCKED
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert "Ost" in cache.read_text(encoding="utf-8") and db_url not in cache.read_text(encoding="utf-8")

    take_down(db_url, pg_admin_engine)
    assert read_through_an_engine(db_url, cache) == LOCKED
    with pytest.raises(ConfigError, match="locked the analysis mode to presence"):
        under_school_privacy(with_mode(db_url, "expressions"), cache)
    assert under_school_privacy(with_mode(db_url, None), cache).analysis.mode == "presence"
    # the copy belongs to that database: another one that cannot be read is not under its lock
    assert read_through_an_engine(unreachable(tmp_path), cache) is None


@pytest.mark.parametrize("mode, warns", [("expressions", True), ("presence", False)])
def test_no_database_and_no_copy_starts_the_class_and_warns_for_expressions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: str, warns: bool
) -> None:
    url = unreachable(tmp_path)
    with caplog.at_level(logging.WARNING, logger="monitor.privacy"):
        config = under_school_privacy(with_mode(url, mode), tmp_path / "privacy-cache.json")
    assert config.analysis.mode == mode  # the class still starts
    warned = [r.getMessage() for r in caplog.records if "without checking" in r.getMessage()]
    assert bool(warned) is warns, caplog.text


def test_a_corrupt_copy_is_no_copy(tmp_path: Path) -> None:
    cache = tmp_path / "privacy-cache.json"
    url = unreachable(tmp_path)
    cache.write_text("{not json", encoding="utf-8")
    assert read_through_an_engine(url, cache) is None


def test_worker_refuses_an_override_of_the_kept_lock_while_the_database_is_down(
    pg_url: str, pg_admin_engine: Engine, tmp_path: Path
) -> None:
    """The whole command: a worker started once while the database was up keeps the lock; the next one, started
    while the database is gone, still refuses expressions mode with one ``error:`` line and exit 2."""
    home = {"CLASSMOOD_HOME": str(tmp_path)}
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 64)  # the settings are read before the source is opened: any file will do
    save(pg_url, LOCKED)
    first = run_cli("monitor", "run", "--source", str(clip), "--db", pg_url, env=home)
    assert first.returncode == 2 and "cannot open video file" in first.stderr, first.stderr  # after the settings
    take_down(pg_url, pg_admin_engine)
    done = run_cli("monitor", "run", "--source", str(clip), "--db", pg_url, "--mode",
                   "expressions", env=home)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: analysis.mode:") and "locked" in last, done.stderr
    assert stat.S_IMODE(os.stat(tmp_path / "privacy-cache.json").st_mode) == 0o600
