"""Viewers of ``tests.db.test_school.seed_school``'s school, and the request context each one's page load runs in,
for tests that call the dashboard's page callbacks as a teacher or the head would (the shared cache, the Live
renders). The ``school`` fixture seeds a fresh school into the test's database with a fresh cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from db.accounts import Viewer
from db.engine import session_factory

if TYPE_CHECKING:
    from dash import Dash

    from dashboard.shared_cache import SharedCache

ADMIN = Viewer("head", "admin")
SMITH = Viewer("smith", "teacher")  # seed_school: Room 2 (running) and Room 6
JONES = Viewer("jones", "teacher")  # seed_school: Room 10


@pytest.fixture
def school(app: Dash, engine: Engine) -> dict[str, int]:
    from dashboard.data import install
    from tests.db.test_school import seed_school

    install(app.server, session_factory(engine))  # a fresh cache per test
    return seed_school(session_factory(engine), now=dt.datetime.now(dt.UTC))


@contextmanager
def as_viewer(app: Dash, viewer: Viewer) -> Iterator[None]:
    from flask import g

    from dashboard.access import LOGIN_KEY

    app.server.extensions[LOGIN_KEY] = True  # the process's one app: switched off again for the other tests
    try:
        with app.server.test_request_context("/"):
            g.classmood_viewer = viewer
            yield
    finally:
        app.server.extensions.pop(LOGIN_KEY, None)


def cache_of(app: Dash) -> SharedCache:
    from dashboard.data import CACHE_KEY

    cache: SharedCache = app.server.extensions[CACHE_KEY]
    return cache
