"""Alembic environment for the ClassMood schema (``db.schema``).

Two ways in:

* programmatically, from ``db.engine.upgrade(engine)``: the caller's open connection arrives in
  ``config.attributes["connection"]`` and the migrations run inside the caller's transaction;
* from the ``alembic`` command line, e.g.
  ``alembic -c db/migrations/alembic.ini -x url=postgresql://user@host/classmood upgrade head``: the URL comes from
  ``-x url=...``, else ``sqlalchemy.url`` in the ini file, else ``db.engine.default_url()`` (``DATABASE_URL`` or the
  default SQLite file). ``--sql`` (offline mode) prints the DDL instead of running it.

SQLite gets ``render_as_batch=True``: it cannot ALTER most things, so later migrations copy the table instead.
"""

from __future__ import annotations

import logging.config
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from db.engine import default_url, make_engine, normalise_url
from db.schema import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.file_config.has_section("loggers"):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render ``UTCDateTime`` as plain ``sa.DateTime()``: a migration must not import application code that changes."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
        "render_item": render_item,
    }


def _url() -> str:
    x_args = context.get_x_argument(as_dictionary=True)
    return x_args.get("url") or config.get_main_option("sqlalchemy.url") or default_url()


def run_migrations_offline() -> None:
    """Emit the DDL as SQL text for the URL's dialect, without connecting."""
    url = normalise_url(_url())
    context.configure(
        url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_options(url.get_backend_name())
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    # Inside the caller's transaction (db.engine.upgrade) this is a no-op and the caller commits.
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run on the connection handed in by ``db.engine.upgrade``, else on a fresh engine for the command line's URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
