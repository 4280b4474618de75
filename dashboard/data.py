"""Database access for layouts and callbacks: a unit of work on the app's session factory, to read or to write.

The factory lives in the Flask app's ``extensions`` (set once by ``dashboard.app.create_app``), not in a module
global, so callbacks hold no state of their own and two apps in one process would not share a database.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy.orm import Session, sessionmaker

from dashboard.shared_cache import SharedCache

EXTENSION_KEY = "classmood.sessions"
CACHE_KEY = "classmood.shared_cache"


def install(server: object, sessions: sessionmaker[Session]) -> None:
    """Attach the session factory, and a fresh :class:`SharedCache`, to the Flask ``server`` of the dashboard."""
    server.extensions[EXTENSION_KEY] = sessions  # type: ignore[attr-defined]
    # CLASSMOOD_SHARED_CACHE=0 turns it off, for measuring what it saves (bench/school.py --no-cache)
    enabled = os.environ.get("CLASSMOOD_SHARED_CACHE", "1").strip() != "0"
    server.extensions[CACHE_KEY] = SharedCache(enabled=enabled)  # type: ignore[attr-defined]


def shared_cache() -> SharedCache:
    """This app's (so this process's) cache of what every viewer allowed to see it computes alike."""
    cache: SharedCache = current_app.extensions[CACHE_KEY]
    return cache


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


MAX_ID = 2**31 - 1  # PostgreSQL's INTEGER; SQLite would raise OverflowError on 2**70


def record_id(value: object) -> int | None:
    """A session (or flag) id as a callback or a URL sent it, or None for anything else: ``[2]``, ``{"a": 1}``,
    ``2**70``, ``"abc"``, ``True``, ``-1``. Callbacks take their ids from the browser, which anyone can forge, so
    a forged one must read as "not found", never as a 500 with ``invalid literal for int()`` on the page."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdecimal() and len(value) <= 12:
        number = int(value.strip())
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


def set_up_before_serving(server: Flask) -> None:
    """Let Dash finish setting the app up (its callback map, scripts, layout check) before the first real request.

    Dash does that in a ``before_request`` hook that marks itself done *before* doing it, so when a fresh gunicorn
    worker's first requests arrive together (twenty teachers at 8:00, or ``bench/school.py``'s burst), a second
    thread went on with an empty callback map: "Callback function not found for output 'school-summary...'", a 500.
    One request through the test client, here, runs the hook while nothing else can."""
    server.test_client().get("/_dash-dependencies")


def freeze_startup_objects() -> None:
    """Move everything alive once the app is built (Dash, Plotly, pandas, SQLAlchemy: ~200,000 objects) out of the
    garbage collector's reach, as CPython's ``gc.freeze`` documentation suggests for servers: a page draw allocates
    tens of thousands of objects, and each full collection it triggered walked all of those again. Measured on a
    fresh Live load of a class of 40: ~20% less CPU (55 -> 45 ms). Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()
