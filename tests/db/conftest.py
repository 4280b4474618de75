"""Fixtures of the database tests; the data builders live in ``tests/db/builders.py``."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from tests.db.builders import Seeded, seed


@pytest.fixture
def seeded(Session: sessionmaker[OrmSession]) -> Seeded:
    """Four sessions (Maths, Lab, History, Art) in a fresh migrated database, on each backend."""
    return seed(Session)
