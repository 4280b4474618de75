"""Fixtures of the browser tests: a seeded SQLite database, the real dashboard on it, headless Chromium.

The dashboard runs as ``python -m dashboard`` in a subprocess, exactly as a teacher starts it. Without Debian's
``chromium`` and ``chromium-driver`` the tests are skipped with the reason, except under ``CI=true``, where they fail
so CI can never pass without running them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver import Chrome
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, session_factory, upgrade
from tests.browser.helpers import Server, make_driver, missing_browser, run_dashboard, severe_console_entries
from tests.browser.seed import Seeded, seed_classroom


@pytest.fixture(scope="session")
def download_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def browser(download_dir: Path) -> Iterator[Chrome]:
    """One headless Chromium for the whole run (starting one costs seconds on a 2-core machine)."""
    missing = missing_browser()
    if missing:
        reason = f"headless Chromium is not installed ({', '.join(missing)} missing): "
        reason += "apt-get install -y chromium chromium-driver"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true, so the browser tests must run)")
        pytest.skip(reason)
    driver = make_driver(download_dir)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser: Chrome) -> Iterator[Chrome]:
    """The browser, with its console drained before the test and checked for SEVERE entries after it.

    It starts on a blank page: the previous test's page, left open on a dashboard that has since stopped, would go on
    polling it and log "connection refused" into this test (seen once in CI: a test that first waits minutes for its
    workers failed on the previous test's /school page)."""
    browser.get("about:blank")
    severe_console_entries(browser)
    yield browser
    severe = severe_console_entries(browser)
    assert not severe, f"browser console errors: {severe}"


@dataclass
class Dashboard:
    server: Server
    sessions: sessionmaker[Session]
    seeded: Seeded | None

    @property
    def url(self) -> str:
        return self.server.url


def _database(tmp: Path) -> tuple[str, sessionmaker[Session]]:
    url = f"sqlite:///{tmp / 'classmood.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    return url, session_factory(engine)


@pytest.fixture(scope="module")
def seeded_dashboard(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[Dashboard]:
    """The dashboard on a database with yesterday's ended session and a running one (``seed.seed_classroom``)."""
    tmp = tmp_path_factory.mktemp("seeded")
    url, sessions = _database(tmp)
    seeded = seed_classroom(sessions)
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, seeded)


@pytest.fixture(scope="module")
def empty_dashboard(tmp_path_factory: pytest.TempPathFactory, browser: Chrome) -> Iterator[Dashboard]:
    """The dashboard on a freshly migrated, empty database; the test writes sessions into it as the monitor would."""
    tmp = tmp_path_factory.mktemp("empty")
    url, sessions = _database(tmp)
    with run_dashboard(url, tmp / "dashboard.log") as server:
        yield Dashboard(server, sessions, None)
