"""Database access for layouts and callbacks: a unit of work on the app's session factory, to read or to write.

The factory lives in the Flask app's ``extensions`` (set once by ``dashboard.app.create_app``), not in a module
global, so callbacks hold no state of their own and two apps in one process would not share a database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

EXTENSION_KEY = "classmood.sessions"


def install(server: object, sessions: sessionmaker[Session]) -> None:
    """Attach the session factory to the Flask ``server`` that serves the dashboard."""
    server.extensions[EXTENSION_KEY] = sessions  # type: ignore[attr-defined]


@contextmanager
def read_session() -> Iterator[Session]:
    """``with read_session() as s:`` inside a request or callback: one short transaction, a consistent snapshot."""
    factory: sessionmaker[Session] = current_app.extensions[EXTENSION_KEY]
    with factory() as s, s.begin():
        yield s


@contextmanager
def write_session() -> Iterator[Session]:
    """``with write_session() as s:`` for the few things the dashboard writes (a flag acknowledged, the settings):
    one transaction, committed when the block ends and rolled back if it raises."""
    factory: sessionmaker[Session] = current_app.extensions[EXTENSION_KEY]
    with factory() as s, s.begin():
        yield s
