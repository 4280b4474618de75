"""The database layer shared by the monitor (the only writer) and the dashboard (a reader).

SQLAlchemy 2.0 models (``db.schema``), engine set-up for SQLite and PostgreSQL (``db.engine``), Alembic migrations
(``db/migrations``), read queries (``db.queries``) and CSV export (``db.export``). Only aggregates are stored.
"""
