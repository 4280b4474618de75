"""Fixtures and helpers for tests that call the dashboard's page layouts and callbacks without a browser.

Dash keeps the callbacks of its pages in a process-wide list, so a second app built in the same test process would
register every page callback again (``/_dash-dependencies`` would list each one twice). The app is therefore built
once per process (``app``, session-scoped, registered for every test by ``tests/conftest.py``), and each test points
it at its own migrated database with ``ctx`` (which also gives it a fresh shared cache and a request context).
The dashboard is imported inside the fixtures, so loading this plugin costs the other test layers nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, create_engine

from db.engine import session_factory

if TYPE_CHECKING:
    from dash import Dash


@pytest.fixture(scope="session")
def app() -> Dash:
    """The dashboard app of this test process; its database is replaced per test (``ctx``, ``install``)."""
    from dashboard.app import create_app

    return create_app(session_factory(create_engine("sqlite://")))


@pytest.fixture
def ctx(app: Dash, engine: Engine) -> Iterator[None]:
    """A request context whose session factory points at this test's migrated database, with a fresh cache."""
    from dashboard.data import install

    install(app.server, session_factory(engine))
    with app.server.test_request_context("/"):
        yield


def page(module: str) -> Any:
    """A page module of the dashboard (registered by ``app``)."""
    return sys.modules[f"dashboard.pages.{module}"]


def text_of(component: Any) -> str:
    """Every string in a component tree (a component, or the plain JSON of one a callback sends), as JSON (what a
    reader would see)."""
    from plotly.utils import PlotlyJSONEncoder

    tree = component.to_plotly_json() if hasattr(component, "to_plotly_json") else component
    return json.dumps(tree, cls=PlotlyJSONEncoder, ensure_ascii=False)
