"""The dashboard as a WSGI application, for a production server: ``gunicorn dashboard.wsgi:server``.

``python -m dashboard --host 0.0.0.0 --workers 4`` runs exactly this for you (after migrating the database and
checking that an account exists). To run gunicorn yourself, migrate first (``python -m db upgrade``) and configure
by environment:

* ``DATABASE_URL``: the database (required in practice: the per-user SQLite default is for one machine);
* ``CLASSMOOD_LOGIN``: ``1`` (the default) requires a login; ``0`` only for a server bound to 127.0.0.1;
* ``CLASSMOOD_TRUSTED_PROXIES``: comma-separated addresses or networks of the reverse proxy whose
  ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed;
* ``CLASSMOOD_SECURE_COOKIES``: ``1``/``0``; default on when a trusted proxy is given.

Each worker process builds its own app; logins, the login throttle and the cookie signing key are in the database,
so every worker honours a login made, or a password guessed, through another.
"""

from __future__ import annotations

import os

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from dashboard.access import AccessConfig, parse_networks
from dashboard.app import create_app
from dashboard.data import freeze_startup_objects, set_up_before_serving
from dashboard.render_process import spawn
from db.engine import MIGRATIONS_DIR, default_url, make_engine, redact, session_factory


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value in {"1", "true", "yes", "on"}


def _check_schema(url: str) -> None:
    """Refuse to serve a database that is not migrated: N workers must not race to migrate it themselves."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    if current != head:
        raise SystemExit(
            f"error: the database {redact(url)} is at revision {current}, not {head}: run python -m db upgrade first"
        )


def build_server() -> Flask:
    url = default_url()
    _check_schema(url)
    proxies = parse_networks([p for p in os.environ.get("CLASSMOOD_TRUSTED_PROXIES", "").split(",") if p.strip()])
    access = AccessConfig(
        trusted_proxies=tuple(proxies), secure_cookies=_flag("CLASSMOOD_SECURE_COOKIES", bool(proxies))
    )
    factory = session_factory(make_engine(url))
    app = create_app(factory, require_login=_flag("CLASSMOOD_LOGIN", True), access=access)
    spawn(url)  # the Live page drawn once per change, for every viewer (dashboard.live_render)
    server: Flask = app.server
    return server


server = build_server()
set_up_before_serving(server)
freeze_startup_objects()  # in each gunicorn worker, once its app is built
