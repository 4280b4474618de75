"""Fixtures shared by every test layer: databases on SQLite and PostgreSQL, migrated to head.

``db_url`` is parametrized: each test that uses it (directly or through ``engine``/``Session``) runs once on a fresh
SQLite file and once on a fresh PostgreSQL database. PostgreSQL comes from ``CLASSMOOD_TEST_PG_URL``, an admin URL
(``eval "$(bash .ci/postgres.sh | tail -1)"`` sets it); each test gets its own database, created from that URL and
dropped afterwards. Without the variable the PostgreSQL cases are skipped, except under ``CI=true``, where they fail
so that CI can never pass by quietly testing SQLite alone.

Keep this file light: no TensorFlow, no monitor or dashboard imports.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine, normalise_url, session_factory, upgrade

PG_ENV = "CLASSMOOD_TEST_PG_URL"
# the dashboard app, built once per process, for the page tests (it imports the dashboard only when used)
pytest_plugins = ["tests.helpers.dash_pages", "tests.helpers.school_viewers"]


def pytest_configure(config: pytest.Config) -> None:
    """Point the user data folder (default database, journals, spool, demo video) at a throwaway folder for the whole
    run, inherited by every worker subprocess: a test must never replay, or leave, a journal in the real one. A test
    that needs its own folder still sets ``CLASSMOOD_HOME`` itself. Under pytest-xdist each worker process gets a
    folder of its own inside the run's, so one worker's test never replays another's journal."""
    if "CLASSMOOD_HOME" not in os.environ:
        import tempfile

        os.environ["CLASSMOOD_HOME"] = os.environ["CLASSMOOD_TEST_HOME"] = tempfile.mkdtemp(prefix="classmood-test-home-")
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # set in each worker before its configuration is made
    if worker and os.environ["CLASSMOOD_HOME"] == os.environ.get("CLASSMOOD_TEST_HOME"):
        home = Path(os.environ["CLASSMOOD_HOME"]) / worker
        home.mkdir(exist_ok=True)
        os.environ["CLASSMOOD_HOME"] = str(home)


# Heaviest layer first: with two workers (``./test.sh``, ``--dist loadfile``) the minute-long pipeline modules then start
# early and the many short unit modules fill the end, so both workers finish together (alphabetical order left one
# worker alone on a pipeline module for the last minutes).
_LAYER_ORDER = ("pipeline", "browser", "db", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def layer(item: pytest.Item) -> int:
        folder = item.path.parent.name  # tests/<layer>/test_*.py
        return _LAYER_ORDER.index(folder) if folder in _LAYER_ORDER else len(_LAYER_ORDER)

    items.sort(key=layer)  # stable: each module's tests keep their order


@pytest.fixture(scope="session")
def pg_admin_url() -> URL:
    """The PostgreSQL admin URL from ``CLASSMOOD_TEST_PG_URL`` (skip locally, fail under CI when it is unset)."""
    raw = os.environ.get(PG_ENV)
    if not raw:
        if os.environ.get("CI") == "true":
            pytest.fail(f'{PG_ENV} is not set but CI=true: start one with eval "$(bash .ci/postgres.sh | tail -1)"')
        pytest.skip(f'{PG_ENV} not set (run: eval "$(bash .ci/postgres.sh | tail -1)")')
    return normalise_url(raw)


@pytest.fixture(scope="session")
def pg_admin_engine(pg_admin_url: URL) -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the admin database, for CREATE and DROP DATABASE."""
    engine = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin_engine: Engine, pg_admin_url: URL) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards (even if the test left connections)."""
    name = f"classmood_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_admin_url.set(database=name).render_as_string(hide_password=False)
    with pg_admin_engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file in the test's temporary folder (not created yet)."""
    return f"sqlite:///{tmp_path / 'classmood.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database's URL, once per backend."""
    url: str = request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database migrated to head with ``db.engine.upgrade``."""
    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def Session(engine: Engine) -> sessionmaker[OrmSession]:
    """The session factory for ``engine``: ``with Session() as s, s.begin(): ...``."""
    return session_factory(engine)
