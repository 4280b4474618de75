"""Strings fitted to their columns before they reach the database, and the default session name (issue 13 item 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from db.schema import ClassSession, SourceStatus, StudentInterval
from monitor.storage import fit, is_transient
from monitor.worker import default_session_name

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (ClassSession.name, "Maths 9B", "Maths 9B"),
        (ClassSession.name, "x" * 200, "x" * 200),
        (ClassSession.name, "x" * 201, "x" * 199 + "\u2026"),
        (StudentInterval.student, "Ava\x00 Stone", "Ava Stone"),
        (SourceStatus.detail, "\x00" + "d" * 5000, "d" * 5000),  # TEXT: no length, NUL bytes still removed
    ],
    ids=["short", "exactly-200", "201", "nul", "text-column"],
)
def test_fit(column: object, value: str, expected: str) -> None:
    assert fit(column, value) == expected  # type: ignore[arg-type]


def test_a_long_video_path_makes_a_name_that_fits_and_keeps_the_file_name() -> None:
    """A video path over ~183 characters without --name overflowed VARCHAR(200) on PostgreSQL."""
    path = "/srv/recordings/" + "term-1/" * 40 + "maths-9b-2026-11-21.mp4"
    name = default_session_name(dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC), path)
    assert len(name) == 200 and name.endswith("maths-9b-2026-11-21.mp4") and "\u2026" in name
    short = default_session_name(dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC), "0")
    assert short.endswith(" 0") and len(short) < 30


def test_what_is_worth_retrying() -> None:
    from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError

    assert is_transient(OperationalError("INSERT", {}, Exception("database is locked")))
    assert is_transient(OSError(28, "No space left on device"))
    assert not is_transient(IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_transient(DataError("INSERT", {}, Exception("value too long for type character varying(200)")))
    assert not is_transient(StatementError("bad parameter", "INSERT", {}, TypeError("set is not JSON")))
    assert not is_transient(ValueError("a bug"))
